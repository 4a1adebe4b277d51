//! The IMAP client session a collector needs (RFC 9051, RFC 3501): dial (proxies and
//! implicit TLS come from `pillarbox_net::dial`), greeting, CAPABILITY, STARTTLS by
//! policy (RFC 9051 §6.2.1), login by AUTHENTICATE (PLAIN for passwords, XOAUTH2 /
//! OAUTHBEARER for tokens, SASL-IR when offered, RFC 4959) or LOGIN, SELECT/EXAMINE,
//! UID SEARCH, UID FETCH streamed one message at a time, UID STORE, UID EXPUNGE
//! (RFC 4315) or EXPUNGE, and LOGOUT.
//!
//! Never trusts bytes received before a TLS handshake, never waits without a timeout,
//! never logs credentials, and never buffers a literal above the configured maximum.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pillarbox_net::ClientTlsMode;
use pillarbox_net::dial::{self, DialError, DialOptions, DialReport, Dialed, Target, TlsReport};

use super::command::{Arg, SearchCriteria, mailbox_arg, string_arg, uid_set};
use super::error::{ImapError, ImapStage, conn_error};
use super::response::{
    Code, FetchAttrs, Frame, Response, Status, StatusLine, Untagged, frame, parse,
};
use crate::conn::Conn;
use crate::policy::TlsPolicy;
use crate::sasl::{self, Credentials, Mechanism, SaslClient, Secret, ServerHint};

/// Most SASL challenge rounds answered.
const MAX_ROUNDS: usize = 8;
/// Literals up to this size go without waiting for `+` when the server has LITERAL-.
const LITERAL_MINUS_MAX: usize = 4096;

/// How the IMAP client connects.
#[derive(Debug, Clone)]
pub struct ImapClientConfig {
    /// Connect timeout, proxy, TLS mode (none / implicit / STARTTLS), verification.
    pub dial: DialOptions,
    /// STARTTLS behaviour; only consulted when `dial.tls.mode` is STARTTLS.
    pub tls_policy: TlsPolicy,
    /// Time allowed for each server answer (each read).
    pub timeout: Duration,
    /// SASL mechanisms in order of preference; LOGIN is the fallback for passwords.
    pub mechanisms: Vec<Mechanism>,
    /// Largest literal (message) accepted.
    pub max_literal: u64,
}

impl Default for ImapClientConfig {
    fn default() -> Self {
        ImapClientConfig {
            dial: DialOptions::default(),
            tls_policy: TlsPolicy::Required,
            timeout: Duration::from_secs(60),
            mechanisms: vec![Mechanism::OAuthBearer, Mechanism::XOAuth2, Mechanism::Plain],
            max_literal: 256 * 1024 * 1024,
        }
    }
}

/// How the session logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapLogin {
    Sasl(Mechanism),
    Login,
    /// The greeting was PREAUTH.
    PreAuth,
}

impl std::fmt::Display for ImapLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImapLogin::Sasl(m) => write!(f, "AUTHENTICATE {}", m.name()),
            ImapLogin::Login => f.write_str("LOGIN"),
            ImapLogin::PreAuth => f.write_str("PREAUTH"),
        }
    }
}

/// What the session learned while connecting and logging in.
#[derive(Debug, Clone)]
pub struct ImapSessionInfo {
    pub target: Target,
    pub dial: DialReport,
    pub greeting: StatusLine,
    /// The capabilities in force (refreshed after STARTTLS and login).
    pub capabilities: Vec<String>,
    pub tls: Option<TlsReport>,
    /// Why opportunistic STARTTLS was not used, when it was not.
    pub tls_skipped: Option<String>,
    pub login: Option<ImapLogin>,
}

/// A selected mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedMailbox {
    pub name: String,
    pub exists: u32,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub read_only: bool,
}

/// One message of a UID FETCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub uid: u32,
    pub size: Option<u64>,
    pub internal_date: Option<String>,
    pub flags: Vec<String>,
    pub body: Vec<u8>,
}

/// One mailbox of a LIST response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMailbox {
    /// As sent (modified UTF-7, RFC 3501 §5.1.3), hierarchy by `delimiter`.
    pub name: String,
    pub delimiter: Option<char>,
    /// Name attributes and special uses (`\Noselect`, `\Sent`, ...).
    pub attributes: Vec<String>,
}

/// Parses the text of a LIST response: `(attributes) delimiter name`.
pub fn parse_list(text: &str) -> Option<ListedMailbox> {
    let text = text.trim();
    let rest = text.strip_prefix('(')?;
    let close = rest.find(')')?;
    let attributes = rest[..close]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let rest = rest[close + 1..].trim_start();
    let (delimiter, rest) = if let Some(r) = rest.strip_prefix("NIL") {
        (None, r)
    } else {
        let r = rest.strip_prefix('"')?;
        let (d, r) = if let Some(r2) = r.strip_prefix("\\\\") {
            (Some('\\'), r2)
        } else {
            let c = r.chars().next()?;
            (Some(c), &r[c.len_utf8()..])
        };
        (d, r.strip_prefix('"')?)
    };
    let rest = rest.trim();
    let name = if let Some(q) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.chars();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => out.push(chars.next()?),
                c => out.push(c),
            }
        }
        out
    } else {
        rest.split_whitespace().next()?.to_string()
    };
    if name.is_empty() {
        return None;
    }
    Some(ListedMailbox {
        name,
        delimiter,
        attributes,
    })
}

/// An IMAP client connection.
#[derive(Debug)]
pub struct ImapClient {
    conn: Conn,
    info: ImapSessionInfo,
    timeout: Duration,
    mechanisms: Vec<Mechanism>,
    max_literal: u64,
    server_name: String,
    next_tag: u32,
    /// The tag of a UID FETCH whose responses are being read.
    fetching: Option<String>,
    broken: bool,
}

impl ImapClient {
    /// Dials, reads the greeting, learns the capabilities and starts TLS as configured.
    pub async fn connect(
        target: &Target,
        config: &ImapClientConfig,
    ) -> Result<ImapClient, ImapError> {
        let dialed = dial::connect(target, &config.dial).await?;
        ImapClient::connect_dialed(target, config, dialed).await
    }

    /// [`ImapClient::connect`] on a connection already dialed (the connection test
    /// dials itself to report each step).
    pub async fn connect_dialed(
        target: &Target,
        config: &ImapClientConfig,
        dialed: Dialed,
    ) -> Result<ImapClient, ImapError> {
        let tls = dialed.report.tls.clone();
        let mut client = ImapClient {
            conn: Conn::new(dialed.stream),
            info: ImapSessionInfo {
                target: target.clone(),
                dial: dialed.report,
                greeting: StatusLine {
                    status: Status::Ok,
                    code: None,
                    text: String::new(),
                },
                capabilities: Vec::new(),
                tls,
                tls_skipped: None,
                login: None,
            },
            timeout: config.timeout,
            mechanisms: config.mechanisms.clone(),
            max_literal: config.max_literal,
            server_name: config.dial.server_name(target).to_string(),
            next_tag: 1,
            fetching: None,
            broken: false,
        };
        // RFC 9051 §7.1: the greeting is OK, PREAUTH or BYE.
        let greeting = match client.read_response(ImapStage::Greeting).await? {
            Response::Untagged(Untagged::Status(s)) => s,
            other => {
                client.broken = true;
                return Err(ImapError::Greeting(Box::new(StatusLine {
                    status: Status::Bad,
                    code: None,
                    text: format!("not a greeting: {other:?}"),
                })));
            }
        };
        match greeting.status {
            Status::Ok | Status::PreAuth => {}
            _ => return Err(ImapError::Greeting(Box::new(greeting))),
        }
        if greeting.status == Status::PreAuth {
            client.info.login = Some(ImapLogin::PreAuth);
        }
        match &greeting.code {
            Some(Code::Capability(caps)) => client.info.capabilities = caps.clone(),
            _ => client.capability().await?,
        }
        client.info.greeting = greeting;
        if config.dial.tls.mode == ClientTlsMode::StartTls && config.tls_policy != TlsPolicy::None {
            client.starttls(target, config).await?;
        }
        Ok(client)
    }

    pub fn info(&self) -> &ImapSessionInfo {
        &self.info
    }

    /// Whether the server announced `name` (case-insensitive).
    pub fn has_capability(&self, name: &str) -> bool {
        self.info
            .capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// The SASL mechanisms the server offers (`AUTH=` capabilities).
    pub fn sasl_mechanisms(&self) -> Vec<String> {
        self.info
            .capabilities
            .iter()
            .filter_map(|c| {
                c.get(..5)
                    .filter(|p| p.eq_ignore_ascii_case("AUTH="))
                    .map(|_| c[5..].to_ascii_uppercase())
            })
            .collect()
    }

    /// Asks CAPABILITY again.
    pub async fn capability(&mut self) -> Result<(), ImapError> {
        let (untagged, status) = self
            .run(ImapStage::Capability, vec![Arg::Text("CAPABILITY".into())])
            .await?;
        self.expect_ok(ImapStage::Capability, status)?;
        for u in untagged {
            if let Untagged::Capability(caps) = u {
                self.info.capabilities = caps;
            }
        }
        Ok(())
    }

    /// STARTTLS (required) on a client connected without it, for the connection test.
    pub async fn start_tls(
        &mut self,
        target: &Target,
        config: &ImapClientConfig,
    ) -> Result<(), ImapError> {
        let mut required = config.clone();
        required.tls_policy = TlsPolicy::Required;
        self.starttls(target, &required).await
    }

    /// RFC 9051 §6.2.1: STARTTLS, the handshake, CAPABILITY again.
    async fn starttls(
        &mut self,
        target: &Target,
        config: &ImapClientConfig,
    ) -> Result<(), ImapError> {
        let opportunistic = config.tls_policy == TlsPolicy::Opportunistic;
        if !self.has_capability("STARTTLS") {
            if opportunistic {
                self.info.tls_skipped = Some("the server does not offer STARTTLS".into());
                return Ok(());
            }
            return Err(ImapError::StartTlsUnavailable);
        }
        let (_, status) = self
            .run(ImapStage::StartTls, vec![Arg::Text("STARTTLS".into())])
            .await?;
        if status.status != Status::Ok {
            if opportunistic {
                self.info.tls_skipped = Some(format!("STARTTLS refused: {status}"));
                return Ok(());
            }
            return Err(ImapError::StartTlsUnavailable);
        }
        if !self.conn.buffer().is_empty() {
            self.broken = true;
            return Err(ImapError::StartTlsInjection);
        }
        let name = config.dial.server_name(target);
        match self
            .conn
            .start_tls(name, &config.dial.tls, self.timeout)
            .await
        {
            Ok(report) => self.info.tls = Some(report),
            Err(e) => {
                self.broken = true;
                return Err(match e {
                    DialError::Timeout { after, .. } => ImapError::Timeout {
                        stage: ImapStage::StartTls,
                        after,
                    },
                    e => e.into(),
                });
            }
        }
        self.info.capabilities.clear();
        self.capability().await
    }

    /// Logs in: AUTHENTICATE with the first configured mechanism the server offers
    /// that fits the secret, or LOGIN for passwords (unless LOGINDISABLED).
    pub async fn login(&mut self, credentials: &Credentials) -> Result<(), ImapError> {
        if self.info.login == Some(ImapLogin::PreAuth) {
            return Ok(());
        }
        if credentials.username.is_empty() {
            return Err(ImapError::Config("the IMAP user name is empty".into()));
        }
        let offered = self.sasl_mechanisms();
        let mechanism = sasl::choose(&self.mechanisms, &offered, &credentials.secret);
        let status = match (mechanism, &credentials.secret) {
            (Some(m), _) => self.authenticate(m, credentials).await?,
            (None, Secret::Password(p)) => {
                if self.has_capability("LOGINDISABLED") {
                    return Err(ImapError::LoginDisabled);
                }
                let args = vec![
                    Arg::Text("LOGIN".into()),
                    string_arg(credentials.username.as_bytes()),
                    string_arg(p.as_bytes()),
                ];
                let (_, status) = self.run(ImapStage::Login, args).await?;
                if status.status != Status::Ok {
                    return Err(ImapError::LoginFailed {
                        method: "LOGIN",
                        status: Box::new(status),
                        detail: None,
                    });
                }
                self.info.login = Some(ImapLogin::Login);
                status
            }
            (None, Secret::BearerToken(_)) => {
                return Err(ImapError::Config(format!(
                    "the server offers no token mechanism (AUTH=: {})",
                    if offered.is_empty() {
                        "none".to_string()
                    } else {
                        offered.join(" ")
                    }
                )));
            }
        };
        // The capabilities may change after login (RFC 9051 §6.2.2).
        match status.code {
            Some(Code::Capability(caps)) => self.info.capabilities = caps,
            _ => self.capability().await?,
        }
        Ok(())
    }

    /// RFC 9051 §6.2.2 AUTHENTICATE with RFC 4959 SASL-IR when offered.
    async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        credentials: &Credentials,
    ) -> Result<StatusLine, ImapError> {
        let hint = ServerHint {
            host: self.server_name.clone(),
            port: self.info.target.port,
        };
        let mut sasl = SaslClient::new(mechanism, credentials.clone(), hint)?;
        let mut line = format!("AUTHENTICATE {}", mechanism.name());
        let initial = sasl.initial_response();
        let mut pending_initial = None;
        match initial {
            Some(ir) if self.has_capability("SASL-IR") => {
                line.push(' ');
                line.push_str(&if ir.is_empty() {
                    "=".to_string()
                } else {
                    B64.encode(ir)
                });
            }
            Some(ir) => pending_initial = Some(ir),
            None => {}
        }
        let tag = self.send(ImapStage::Login, vec![Arg::Text(line)]).await?;
        for _ in 0..MAX_ROUNDS {
            match self.read_response(ImapStage::Login).await? {
                Response::Continue(challenge) => {
                    let reply = match pending_initial.take() {
                        Some(ir) => B64.encode(ir),
                        None => {
                            let decoded = B64.decode(challenge.trim()).map_err(|_| ());
                            match decoded.and_then(|c| sasl.respond(&c).map_err(|_| ())) {
                                Ok(r) => B64.encode(r),
                                Err(()) => "*".to_string(),
                            }
                        }
                    };
                    self.write_line(ImapStage::Login, &reply).await?;
                }
                Response::Tagged { tag: t, status } if t == tag => {
                    if status.status == Status::Ok {
                        self.info.login = Some(ImapLogin::Sasl(mechanism));
                        return Ok(status);
                    }
                    return Err(ImapError::LoginFailed {
                        method: mechanism.name(),
                        status: Box::new(status),
                        detail: sasl.server_error().map(str::to_string),
                    });
                }
                Response::Untagged(Untagged::Status(s)) if s.status == Status::Bye => {
                    self.broken = true;
                    return Err(ImapError::Bye(Box::new(s)));
                }
                _ => {}
            }
        }
        self.broken = true;
        Err(ImapError::LoginFailed {
            method: mechanism.name(),
            status: Box::new(StatusLine {
                status: Status::No,
                code: None,
                text: "too many challenges".into(),
            }),
            detail: None,
        })
    }

    /// SELECT (or EXAMINE when `read_only`) a mailbox (RFC 9051 §6.3.2).
    pub async fn select(
        &mut self,
        name: &str,
        read_only: bool,
    ) -> Result<SelectedMailbox, ImapError> {
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let args = vec![Arg::Text(verb.into()), mailbox_arg(name)];
        let (untagged, status) = self.run(ImapStage::Select, args).await?;
        let status = self.expect_ok(ImapStage::Select, status)?;
        let mut mb = SelectedMailbox {
            name: name.to_string(),
            exists: 0,
            uidvalidity: None,
            uidnext: None,
            read_only: read_only || status.code == Some(Code::ReadOnly),
        };
        for u in untagged {
            match u {
                Untagged::Exists(n) => mb.exists = n,
                Untagged::Status(StatusLine {
                    code: Some(Code::UidValidity(v)),
                    ..
                }) => mb.uidvalidity = Some(v),
                Untagged::Status(StatusLine {
                    code: Some(Code::UidNext(v)),
                    ..
                }) => mb.uidnext = Some(v),
                _ => {}
            }
        }
        Ok(mb)
    }

    /// `LIST "" "*"` (with `RETURN (SPECIAL-USE)` when the server has it, RFC 6154):
    /// every mailbox.
    pub async fn list(&mut self) -> Result<Vec<ListedMailbox>, ImapError> {
        let line = if self.has_capability("SPECIAL-USE") {
            "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
        } else {
            "LIST \"\" \"*\""
        };
        let (untagged, status) = self
            .run(ImapStage::Command, vec![Arg::Text(line.into())])
            .await?;
        self.expect_ok(ImapStage::Command, status)?;
        Ok(untagged
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Other { keyword, text } if keyword.eq_ignore_ascii_case("LIST") => {
                    parse_list(&text)
                }
                _ => None,
            })
            .collect())
    }

    /// `UID FETCH 1:* (UID FLAGS)`: the flags of every message of the selected mailbox.
    pub async fn uid_flags(&mut self) -> Result<Vec<(u32, Vec<String>)>, ImapError> {
        let (untagged, status) = self
            .run(
                ImapStage::Fetch,
                vec![Arg::Text("UID FETCH 1:* (UID FLAGS)".into())],
            )
            .await?;
        self.expect_ok(ImapStage::Fetch, status)?;
        Ok(untagged
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Fetch { attrs, .. } => {
                    Some((attrs.uid?, attrs.flags.unwrap_or_default()))
                }
                _ => None,
            })
            .collect())
    }

    /// UID SEARCH (RFC 9051 §6.4.4): the UIDs matching `criteria`, ascending.
    pub async fn uid_search(&mut self, criteria: SearchCriteria) -> Result<Vec<u32>, ImapError> {
        let args = vec![Arg::Text(format!("UID SEARCH {}", criteria.to_command()))];
        let (untagged, status) = self.run(ImapStage::Search, args).await?;
        self.expect_ok(ImapStage::Search, status)?;
        let mut uids: Vec<u32> = untagged
            .into_iter()
            .flat_map(|u| match u {
                Untagged::Search(v) => v,
                _ => Vec::new(),
            })
            .collect();
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    /// Starts `UID FETCH uids (UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])`; read the
    /// messages with [`ImapClient::next_fetched`] until it returns `None`.
    pub async fn start_fetch(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        if self.fetching.is_some() {
            return Err(ImapError::Config("a FETCH is already running".into()));
        }
        let line = format!(
            "UID FETCH {} (UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])",
            uid_set(uids)
        );
        let tag = self.send(ImapStage::Fetch, vec![Arg::Text(line)]).await?;
        self.fetching = Some(tag);
        Ok(())
    }

    /// The next message of the running UID FETCH, or `None` once it completed.
    /// Flag updates and other untagged responses in between are skipped.
    pub async fn next_fetched(&mut self) -> Result<Option<FetchedMessage>, ImapError> {
        let Some(tag) = self.fetching.clone() else {
            return Ok(None);
        };
        loop {
            match self.read_response(ImapStage::Fetch).await? {
                Response::Untagged(Untagged::Fetch { attrs, .. }) => {
                    if let Some(m) = fetched(attrs) {
                        return Ok(Some(m));
                    }
                }
                Response::Untagged(Untagged::Status(s)) if s.status == Status::Bye => {
                    self.broken = true;
                    return Err(ImapError::Bye(Box::new(s)));
                }
                Response::Tagged { tag: t, status } if t == tag => {
                    self.fetching = None;
                    self.expect_ok(ImapStage::Fetch, status)?;
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    /// UID STORE uids +FLAGS.SILENT (flags) (RFC 9051 §6.4.6).
    pub async fn add_flags(&mut self, uids: &[u32], flags: &[&str]) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let line = format!(
            "UID STORE {} +FLAGS.SILENT ({})",
            uid_set(uids),
            flags.join(" ")
        );
        let (_, status) = self.run(ImapStage::Store, vec![Arg::Text(line)]).await?;
        self.expect_ok(ImapStage::Store, status).map(drop)
    }

    /// Removes the messages `uids` (already flagged `\Deleted`): UID EXPUNGE when the
    /// server has UIDPLUS (RFC 4315 §2.1), else EXPUNGE, which also removes any other
    /// message flagged `\Deleted` in the mailbox. Returns whether UID EXPUNGE was used.
    pub async fn expunge(&mut self, uids: &[u32]) -> Result<bool, ImapError> {
        if uids.is_empty() {
            return Ok(true);
        }
        let uidplus = self.has_capability("UIDPLUS");
        let line = if uidplus {
            format!("UID EXPUNGE {}", uid_set(uids))
        } else {
            "EXPUNGE".to_string()
        };
        let (_, status) = self.run(ImapStage::Expunge, vec![Arg::Text(line)]).await?;
        self.expect_ok(ImapStage::Expunge, status)?;
        Ok(uidplus)
    }

    /// NOOP: keeps the session alive and checks it still answers.
    pub async fn noop(&mut self) -> Result<(), ImapError> {
        let (_, status) = self
            .run(ImapStage::Command, vec![Arg::Text("NOOP".into())])
            .await?;
        self.expect_ok(ImapStage::Command, status).map(drop)
    }

    /// LOGOUT and close.
    pub async fn logout(mut self) -> Result<(), ImapError> {
        let result = self
            .run(ImapStage::Logout, vec![Arg::Text("LOGOUT".into())])
            .await;
        self.conn.shutdown(self.timeout).await;
        let (_, status) = result?;
        self.expect_ok(ImapStage::Logout, status).map(drop)
    }

    fn expect_ok(&mut self, stage: ImapStage, status: StatusLine) -> Result<StatusLine, ImapError> {
        if status.status == Status::Ok {
            Ok(status)
        } else {
            Err(ImapError::Rejected {
                stage,
                status: Box::new(status),
            })
        }
    }

    /// Sends a command and reads every response up to its completion.
    async fn run(
        &mut self,
        stage: ImapStage,
        args: Vec<Arg>,
    ) -> Result<(Vec<Untagged>, StatusLine), ImapError> {
        let tag = self.send(stage, args).await?;
        let mut untagged = Vec::new();
        loop {
            match self.read_response(stage).await? {
                Response::Tagged { tag: t, status } if t == tag => return Ok((untagged, status)),
                Response::Untagged(Untagged::Status(s)) if s.status == Status::Bye => {
                    // A BYE before LOGOUT's OK is normal; elsewhere it ends the session.
                    if stage != ImapStage::Logout {
                        self.broken = true;
                        return Err(ImapError::Bye(Box::new(s)));
                    }
                }
                Response::Untagged(u) => untagged.push(u),
                Response::Continue(_) | Response::Tagged { .. } => {}
            }
        }
    }

    /// Writes a tagged command; literals wait for the server's `+` unless LITERAL+ (or
    /// LITERAL- for small ones) lets them go at once. Returns the tag.
    async fn send(&mut self, stage: ImapStage, args: Vec<Arg>) -> Result<String, ImapError> {
        if self.broken || self.fetching.is_some() {
            return Err(ImapError::Broken);
        }
        let tag = format!("A{:04}", self.next_tag);
        self.next_tag += 1;
        let literal_plus = self.has_capability("LITERAL+");
        let literal_minus = self.has_capability("LITERAL-");
        let mut out: Vec<u8> = tag.as_bytes().to_vec();
        for arg in args {
            out.push(b' ');
            match arg {
                Arg::Text(t) => out.extend_from_slice(t.as_bytes()),
                Arg::Literal(bytes) => {
                    let non_sync =
                        literal_plus || (literal_minus && bytes.len() <= LITERAL_MINUS_MAX);
                    if non_sync {
                        out.extend_from_slice(format!("{{{}+}}\r\n", bytes.len()).as_bytes());
                    } else {
                        out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                        self.write(stage, &out).await?;
                        out.clear();
                        match self.read_response(stage).await? {
                            Response::Continue(_) => {}
                            Response::Tagged { status, .. } => {
                                return Err(ImapError::Rejected {
                                    stage,
                                    status: Box::new(status),
                                });
                            }
                            _ => {
                                self.broken = true;
                                return Err(ImapError::Protocol {
                                    stage,
                                    error: super::response::ResponseError::Malformed(
                                        "expected a continuation for a literal".into(),
                                    ),
                                });
                            }
                        }
                    }
                    out.extend_from_slice(&bytes);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        self.write(stage, &out).await?;
        Ok(tag)
    }

    async fn write_line(&mut self, stage: ImapStage, line: &str) -> Result<(), ImapError> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write(stage, &bytes).await
    }

    async fn write(&mut self, stage: ImapStage, bytes: &[u8]) -> Result<(), ImapError> {
        if let Err(e) = self.conn.write_all(bytes, self.timeout).await {
            self.broken = true;
            return Err(conn_error(stage, e));
        }
        Ok(())
    }

    /// Reads one whole response (literals included).
    async fn read_response(&mut self, stage: ImapStage) -> Result<Response, ImapError> {
        loop {
            match frame(self.conn.buffer(), self.max_literal) {
                Ok(Frame::Complete(n)) => {
                    let parsed = parse(&self.conn.buffer()[..n]);
                    self.conn.consume(n);
                    return parsed.map_err(|error| {
                        self.broken = true;
                        ImapError::Protocol { stage, error }
                    });
                }
                Ok(Frame::Incomplete(need)) => {
                    let want = need.unwrap_or(0);
                    loop {
                        if let Err(e) = self.conn.read_more(self.timeout).await {
                            self.broken = true;
                            return Err(conn_error(stage, e));
                        }
                        if self.conn.buffer().len() >= want {
                            break;
                        }
                    }
                }
                Err(error) => {
                    self.broken = true;
                    return Err(ImapError::Protocol { stage, error });
                }
            }
        }
    }
}

/// A FETCH response that carries a message (UID and content).
fn fetched(a: FetchAttrs) -> Option<FetchedMessage> {
    Some(FetchedMessage {
        uid: a.uid?,
        size: a.size,
        internal_date: a.internal_date,
        flags: a.flags.unwrap_or_default(),
        body: a.body?,
    })
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn list_lines() {
        let m = parse_list(r#"(\HasNoChildren \Sent) "/" "Sent Items""#).unwrap();
        assert_eq!(m.name, "Sent Items");
        assert_eq!(m.delimiter, Some('/'));
        assert_eq!(m.attributes, vec!["\\HasNoChildren", "\\Sent"]);
        let m = parse_list(r#"() "." INBOX"#).unwrap();
        assert_eq!((m.name.as_str(), m.delimiter), ("INBOX", Some('.')));
        let m = parse_list(r#"(\Noselect) NIL "a \"b\"""#).unwrap();
        assert_eq!((m.name.as_str(), m.delimiter), ("a \"b\"", None));
        let m = parse_list(r#"() "\\" Foo"#).unwrap();
        assert_eq!(m.delimiter, Some('\\'));
        assert!(parse_list("garbage").is_none());
        assert!(parse_list(r#"() "/" """#).is_none());
    }
}
