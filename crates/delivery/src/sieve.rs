//! Sieve at delivery: which scripts run for a local account, running them, and what
//! their actions become.
//!
//! For each local account a message goes to, the scripts run in this order (Dovecot's
//! `sieve_before`/`sieve_after`): the server-wide `sieve:before`, the domain's
//! `sieve:before:DOMAIN`, the account's active script, `sieve:after:DOMAIN`,
//! `sieve:after` (settings kept in the store, so every node sees the same). Their
//! explicit actions add up; the implicit keep stays only if no script cancelled it.
//! A script that fails at run time (or no longer compiles) costs the user nothing:
//! the message is kept in the default mailbox and an event says why (RFC 5228
//! §2.10.6).
//!
//! The engine is pure and asks its host synchronously (duplicate ids, mailbox
//! existence, included scripts), while the answers live in the store. A run therefore
//! records what it asked that was not known yet, the answers are fetched, and the
//! script runs again with them, until nothing new is asked (bounded): the engine is
//! deterministic, so the last run is the one every answer was known for.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use pillarbox_sieve::{Action, Host, IncludeLocation, Notification, Script, VacationReply};
use pillarbox_store::{AccountId, SieveForDelivery, Store, StoreError, flags};

/// How long a duplicate id is remembered when the script does not say (RFC 7352
/// §3.1 leaves the default to the implementation; Pigeonhole's is 12 hours).
const DUPLICATE_DEFAULT_SECONDS: u64 = 12 * 3600;

/// Runs of one script before its answers are all known (each run can only ask more
/// because an answer changed the path taken).
const MAX_PASSES: usize = 6;

/// One copy of the message to store for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FiledCopy {
    /// The mailbox; `None` for the default mailbox.
    pub mailbox: Option<String>,
    /// Create it when missing (`fileinto :create`).
    pub create: bool,
    pub flags: u32,
    pub keywords: String,
    /// The message as `editheader` left it, when it changed.
    pub edited: Option<Arc<[u8]>>,
}

/// What the scripts decided for one account.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub copies: Vec<FiledCopy>,
    /// Addresses to forward to, with the edited message when it changed.
    pub redirects: Vec<(String, Option<Arc<[u8]>>)>,
    /// The reason, when a script refused the message (`reject`/`ereject`).
    pub reject: Option<String>,
    pub vacations: Vec<VacationReply>,
    pub notifications: Vec<Notification>,
    /// `(key, expires_at)` to remember once the message is stored.
    pub memory: Vec<(String, i64)>,
    /// What to say in the event log about the run.
    pub summary: Vec<String>,
    /// Set when a script failed and the message was kept instead.
    pub failure: Option<String>,
}

impl Decision {
    /// The implicit keep alone (no script, or a failed one).
    pub(crate) fn keep() -> Decision {
        Decision {
            copies: vec![FiledCopy {
                mailbox: None,
                create: false,
                flags: 0,
                keywords: String::new(),
                edited: None,
            }],
            ..Decision::default()
        }
    }
}

/// Compiled scripts by source, shared by every delivery of the process.
#[derive(Default, Clone)]
pub(crate) struct ScriptCache {
    inner: Arc<Mutex<HashMap<u64, CachedScript>>>,
}

impl std::fmt::Debug for ScriptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptCache")
    }
}

/// A script's source and what compiling it gave.
type CachedScript = (String, Result<Arc<Script>, String>);

/// Scripts kept compiled at most; the cache starts over when it is full.
const CACHE_MAX: usize = 4096;

impl ScriptCache {
    fn get(&self, source: &str) -> Result<Arc<Script>, String> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut h);
        let key = h.finish();
        if let Ok(map) = self.inner.lock()
            && let Some((src, compiled)) = map.get(&key)
            && src == source
        {
            return compiled.clone();
        }
        let compiled = pillarbox_sieve::compile(source.as_bytes(), &Default::default())
            .map(Arc::new)
            .map_err(|e| e.to_string());
        if let Ok(mut map) = self.inner.lock() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(key, (source.to_string(), compiled.clone()));
        }
        compiled
    }
}

/// The scripts that apply to an account, in the order they run: `(label, source)`.
pub(crate) fn scripts_for(
    found: &SieveForDelivery,
    account: AccountId,
    domain: &str,
) -> Vec<(String, String)> {
    let server = |name: &str| {
        found
            .server
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, v)| (n.clone(), v.clone()))
    };
    let mut out = Vec::new();
    out.extend(server("sieve:before"));
    out.extend(server(&format!("sieve:before:{domain}")));
    if let Some((_, s)) = found.personal.iter().find(|(a, _)| *a == account) {
        out.push((s.name.clone(), s.content.clone()));
    }
    out.extend(server(&format!("sieve:after:{domain}")));
    out.extend(server("sieve:after"));
    out
}

/// What a run may ask, answered from what was fetched; what was not fetched yet is
/// noted in `missing_*` and answered "no".
struct Answers<'a> {
    found: &'a SieveForDelivery,
    seen: HashMap<String, bool>,
    mailboxes: Option<HashSet<String>>,
    personal: Option<HashMap<String, String>>,
    missing_seen: Vec<String>,
    missing_mailboxes: bool,
    missing_personal: bool,
}

fn duplicate_key(handle: &str, id: &str) -> String {
    format!("duplicate:{handle}:{id}")
}

impl Host for Answers<'_> {
    fn duplicate_seen(&mut self, handle: &str, id: &str) -> bool {
        let key = duplicate_key(handle, id);
        match self.seen.get(&key) {
            Some(s) => *s,
            None => {
                if !self.missing_seen.contains(&key) {
                    self.missing_seen.push(key);
                }
                false
            }
        }
    }

    fn mailbox_exists(&mut self, name: &str) -> bool {
        match &self.mailboxes {
            Some(m) => m.contains(name) || (name.eq_ignore_ascii_case("INBOX")),
            None => {
                self.missing_mailboxes = true;
                false
            }
        }
    }

    fn include(&mut self, name: &str, location: IncludeLocation) -> Option<String> {
        match location {
            IncludeLocation::Global => self
                .found
                .server
                .iter()
                .find(|(n, _)| n.strip_prefix("sieve:global:") == Some(name))
                .map(|(_, v)| v.clone()),
            IncludeLocation::Personal => match &self.personal {
                Some(p) => p.get(name).cloned(),
                None => {
                    self.missing_personal = true;
                    None
                }
            },
        }
    }
}

/// The facts about one delivery every script of it sees.
pub(crate) struct RunContext<'a> {
    pub store: &'a Store,
    pub cache: &'a ScriptCache,
    pub found: &'a SieveForDelivery,
    pub raw: &'a [u8],
    pub sender: &'a str,
    pub hostname: &'a str,
    pub now: i64,
    /// The scanners' verdicts, for `spamtest` and `virustest`.
    pub spam: Option<pillarbox_sieve::SpamScore>,
    pub virus: Option<u8>,
}

/// Runs the scripts that apply to `account` (whose address is `address`, reached as
/// the envelope recipient `rcpt`) and returns what they decided.
pub(crate) async fn decide(
    cx: &RunContext<'_>,
    account: AccountId,
    address: &str,
    rcpt: &str,
) -> Result<Decision, StoreError> {
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
    let scripts = scripts_for(cx.found, account, domain);
    if scripts.is_empty() {
        return Ok(Decision::keep());
    }
    let mut answers = Answers {
        found: cx.found,
        seen: HashMap::new(),
        mailboxes: None,
        personal: None,
        missing_seen: Vec::new(),
        missing_mailboxes: false,
        missing_personal: false,
    };
    let mut input = pillarbox_sieve::Input::new(cx.raw, cx.sender, rcpt);
    input.now = cx.now;
    input.spam = cx.spam;
    input.virus = cx.virus;
    input.environment = vec![
        ("domain".to_string(), domain.to_string()),
        ("host".to_string(), cx.hostname.to_string()),
    ];
    let mut outcomes = Vec::with_capacity(scripts.len());
    for (label, source) in &scripts {
        let script = match cx.cache.get(source) {
            Ok(s) => s,
            Err(e) => return Ok(failed(format!("script {label:?} does not compile: {e}"))),
        };
        let mut pass = 0;
        let outcome = loop {
            pass += 1;
            let result = script.run(&input, &mut answers);
            let asked = !answers.missing_seen.is_empty()
                || answers.missing_mailboxes
                || answers.missing_personal;
            if !asked || pass >= MAX_PASSES {
                break result;
            }
            fetch(cx.store, account, &mut answers, cx.now).await?;
        };
        match outcome {
            Ok(o) => outcomes.push((label.clone(), o)),
            Err(e) => return Ok(failed(format!("script {label:?} stopped: {e}"))),
        }
    }
    Ok(combine(outcomes, cx.now))
}

/// Fetches the answers the last run asked for.
async fn fetch(
    store: &Store,
    account: AccountId,
    answers: &mut Answers<'_>,
    now: i64,
) -> Result<(), StoreError> {
    if !answers.missing_seen.is_empty() {
        let keys = std::mem::take(&mut answers.missing_seen);
        let known = store.sieve_memory_has(account, keys.clone(), now).await?;
        for k in keys {
            let seen = known.contains(&k);
            answers.seen.insert(k, seen);
        }
    }
    if answers.missing_mailboxes {
        answers.missing_mailboxes = false;
        let list = store.mailbox_list(account).await?;
        answers.mailboxes = Some(list.into_iter().map(|m| m.name).collect());
    }
    if answers.missing_personal {
        answers.missing_personal = false;
        let list = store.sieve_list(account).await?;
        answers.personal = Some(list.into_iter().map(|s| (s.name, s.content)).collect());
    }
    Ok(())
}

fn failed(why: String) -> Decision {
    let mut d = Decision::keep();
    d.failure = Some(why);
    d
}

/// Adds up the outcomes of the scripts that ran, in order.
fn combine(outcomes: Vec<(String, pillarbox_sieve::Outcome)>, now: i64) -> Decision {
    let mut d = Decision::default();
    let mut keep_implicit = true;
    let mut implicit_flags: Vec<String> = Vec::new();
    let mut implicit_edit: Option<Arc<[u8]>> = None;
    for (label, o) in outcomes {
        if !o.implicit_keep() {
            keep_implicit = false;
        }
        for a in o.actions {
            match a {
                Action::Keep {
                    flags,
                    implicit: true,
                    message,
                } => {
                    implicit_flags = flags;
                    implicit_edit = message;
                }
                Action::Keep {
                    flags,
                    implicit: false,
                    message,
                } => {
                    d.summary.push(format!("{label}: keep"));
                    file(&mut d.copies, None, false, &flags, message);
                }
                Action::FileInto {
                    mailbox,
                    flags,
                    create,
                    message,
                    ..
                } => {
                    d.summary.push(format!("{label}: fileinto {mailbox:?}"));
                    file(&mut d.copies, Some(mailbox), create, &flags, message);
                }
                Action::Redirect {
                    address, message, ..
                } => {
                    d.summary.push(format!("{label}: redirect to {address}"));
                    if !d
                        .redirects
                        .iter()
                        .any(|(a, _)| a.eq_ignore_ascii_case(&address))
                    {
                        d.redirects.push((address, message));
                    }
                }
                Action::Reject { reason, .. } => {
                    d.summary.push(format!("{label}: reject"));
                    d.reject.get_or_insert(reason);
                }
                Action::Discard => d.summary.push(format!("{label}: discard")),
                Action::Vacation(v) => {
                    d.summary
                        .push(format!("{label}: vacation to {}", v.recipient));
                    d.vacations.push(*v);
                }
                Action::Notify(n) => {
                    d.summary.push(format!("{label}: notify {}", n.method));
                    d.notifications.push(*n);
                }
            }
        }
        for dup in o.duplicates {
            let secs = dup.seconds.unwrap_or(DUPLICATE_DEFAULT_SECONDS);
            d.memory.push((
                duplicate_key(&dup.handle, &dup.id),
                now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
            ));
        }
    }
    if keep_implicit && d.reject.is_none() {
        file(&mut d.copies, None, false, &implicit_flags, implicit_edit);
    }
    d
}

/// Adds a copy to `mailbox`, or merges its flags into the copy already going there
/// (filing twice into one mailbox stores one copy, RFC 5228 §2.10.3).
fn file(
    copies: &mut Vec<FiledCopy>,
    mailbox: Option<String>,
    create: bool,
    given: &[String],
    edited: Option<Arc<[u8]>>,
) {
    let (bits, keywords) = split_flags(given);
    let same = |c: &FiledCopy| match (&c.mailbox, &mailbox) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if let Some(c) = copies.iter_mut().find(|c| same(c)) {
        c.flags |= bits;
        for k in keywords.split(' ').filter(|k| !k.is_empty()) {
            if !c.keywords.split(' ').any(|x| x.eq_ignore_ascii_case(k)) {
                if !c.keywords.is_empty() {
                    c.keywords.push(' ');
                }
                c.keywords.push_str(k);
            }
        }
        c.create |= create;
        return;
    }
    copies.push(FiledCopy {
        mailbox,
        create,
        flags: bits,
        keywords,
        edited,
    });
}

/// IMAP system flags to their bits, keywords (valid atoms) to a list.
fn split_flags(given: &[String]) -> (u32, String) {
    let mut bits = 0;
    let mut keywords: Vec<&str> = Vec::new();
    for f in given {
        match f.to_ascii_lowercase().as_str() {
            "\\seen" => bits |= flags::SEEN,
            "\\answered" => bits |= flags::ANSWERED,
            "\\flagged" => bits |= flags::FLAGGED,
            "\\deleted" => bits |= flags::DELETED,
            "\\draft" => bits |= flags::DRAFT,
            _ if !f.starts_with('\\')
                && !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
                && !keywords.iter().any(|k| k.eq_ignore_ascii_case(f)) =>
            {
                keywords.push(f);
            }
            _ => {}
        }
    }
    (bits, keywords.join(" "))
}

/// The key under which a vacation reply to `recipient` is remembered.
pub(crate) fn vacation_key(handle: &str, recipient: &str) -> String {
    format!("vacation:{handle}:{}", recipient.to_ascii_lowercase())
}

/// An auto-reply (RFC 5230 §5, RFC 3834 §3): `Auto-Submitted: auto-replied`,
/// In-Reply-To and References to the original.
pub(crate) fn vacation_message(v: &VacationReply, hostname: &str, now: i64) -> Vec<u8> {
    let mut m = String::new();
    m.push_str(&format!("Date: {}\r\n", crate::dsn::rfc5322(now)));
    m.push_str(&format!("From: {}\r\n", header_safe(&v.from)));
    m.push_str(&format!("To: <{}>\r\n", header_safe(&v.recipient)));
    m.push_str(&format!("Subject: {}\r\n", encode_word(&v.subject)));
    m.push_str(&format!(
        "Message-ID: <{:016x}.{now}@{hostname}>\r\n",
        rand::random::<u64>()
    ));
    if let Some(id) = &v.in_reply_to {
        m.push_str(&format!("In-Reply-To: {}\r\n", header_safe(id)));
        let refs = match &v.references {
            Some(r) => format!("{} {id}", r.trim()),
            None => id.clone(),
        };
        m.push_str(&format!("References: {}\r\n", header_safe(&refs)));
    }
    m.push_str("Auto-Submitted: auto-replied (vacation)\r\n");
    m.push_str("Precedence: bulk\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    if v.mime {
        // The reason is a MIME entity: its own header, a blank line, its body.
        m.push_str(&crlf(v.reason.trim_start_matches(['\r', '\n'])));
    } else {
        m.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        m.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
        m.push_str(&crlf(&v.reason));
    }
    if !m.ends_with("\r\n") {
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// A notification by mail (RFC 5436): to the URI's recipients, `Auto-Submitted:
/// auto-notified`.
pub(crate) fn notification_message(
    n: &Notification,
    from: &str,
    hostname: &str,
    now: i64,
) -> Vec<u8> {
    let uri = |name: &str| {
        n.uri_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let subject = uri("subject").unwrap_or_else(|| n.message.clone());
    let body = uri("body").unwrap_or_else(|| n.message.clone());
    let mut m = String::new();
    m.push_str(&format!("Date: {}\r\n", crate::dsn::rfc5322(now)));
    m.push_str(&format!("From: {}\r\n", header_safe(from)));
    let to: Vec<String> = n
        .recipients
        .iter()
        .map(|r| format!("<{}>", header_safe(r)))
        .collect();
    m.push_str(&format!("To: {}\r\n", to.join(", ")));
    m.push_str(&format!("Subject: {}\r\n", encode_word(&subject)));
    m.push_str(&format!(
        "Message-ID: <{:016x}.{now}@{hostname}>\r\n",
        rand::random::<u64>()
    ));
    let importance = match n.importance {
        1 => Some("high"),
        3 => Some("low"),
        _ => None,
    };
    if let Some(i) = importance {
        m.push_str(&format!("Importance: {i}\r\n"));
    }
    m.push_str("Auto-Submitted: auto-notified\r\n");
    m.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
    m.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    m.push_str(&crlf(&body));
    if !m.ends_with("\r\n") {
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// A header value with line breaks removed (a script's text never adds fields).
fn header_safe(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// A header value with its non-ASCII words encoded (RFC 2047).
fn encode_word(s: &str) -> String {
    pillarbox_mime::encode_unstructured(&header_safe(s))
}

/// Bare LF to CRLF.
fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_split_into_bits_and_keywords() {
        let (bits, kw) = split_flags(&[
            "\\Seen".into(),
            "\\flagged".into(),
            "$Label1".into(),
            "$label1".into(),
            "bad(".into(),
            "\\Recent".into(),
        ]);
        assert_eq!(bits, flags::SEEN | flags::FLAGGED);
        assert_eq!(kw, "$Label1");
    }

    #[test]
    fn filing_twice_into_one_mailbox_is_one_copy() {
        let mut c = Vec::new();
        file(&mut c, Some("A".into()), false, &["\\Seen".into()], None);
        file(&mut c, Some("A".into()), true, &["x".into()], None);
        file(&mut c, None, false, &[], None);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].flags, flags::SEEN);
        assert_eq!(c[0].keywords, "x");
        assert!(c[0].create);
    }

    #[test]
    fn vacation_reply_is_marked_and_threads() {
        let v = VacationReply {
            recipient: "a@example.org".into(),
            from: "b@example.com".into(),
            subject: "Abwesend: Grüße".into(),
            subject_given: true,
            reason: "Away\nback Monday".into(),
            mime: false,
            handle: String::new(),
            period: 86400,
            addresses: vec![],
            in_reply_to: Some("<1@x>".into()),
            references: None,
            suppressed: None,
        };
        let m = String::from_utf8(vacation_message(&v, "mx.example.com", 0)).unwrap();
        assert!(m.contains("Auto-Submitted: auto-replied"));
        assert!(m.contains("In-Reply-To: <1@x>\r\nReferences: <1@x>\r\n"));
        assert!(m.contains("Subject: Abwesend: =?UTF-8?B?"), "{m}");
        assert!(m.ends_with("Away\r\nback Monday\r\n"));
        assert!(m.starts_with("Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"));
    }
}
