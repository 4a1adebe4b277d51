//! SEARCH criteria evaluation (RFC 9051 §6.4.4 with the RFC 3501 keys, RFC 5032
//! OLDER/YOUNGER, RFC 7162 MODSEQ, RFC 5182 `$`, RFC 8474 EMAILID/THREADID, RFC 8514
//! SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED): a
//! [`SearchKey`] is compiled once into a [`Query`] (strings decoded from the command's
//! charset and case-folded), then evaluated per message in three-valued logic, so that
//! a first pass over the view decides everything flags, sizes, dates and numbers can,
//! and only the undecided messages are loaded for their header or text (`text.rs`).
//!
//! Pure: works on view entries and loaded messages; never touches the store.

mod text;

use std::cell::OnceCell;

use encoding_rs::WINDOWS_1252;
use pillarbox_mime::{CaseInsensitiveNeedle, SearchableText, encoding_for_label};
use pillarbox_store::flags;

use crate::load::{Loaded, Raw};
use crate::proto::{SearchKey, SequenceSet};
use crate::view::ViewEntry;

/// The command's charset is not one the server can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadCharset;

/// How a date criterion compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateCmp {
    Before,
    On,
    Since,
}

/// A compiled criterion.
#[derive(Debug)]
pub(crate) enum Query {
    All,
    /// Flags in `mask` all set (`true`) or all clear (`false`).
    Flag(u32, bool),
    Keyword(String, bool),
    Recent(bool),
    New,
    /// A header field (lowercase name) containing the needle.
    Header(String, CaseInsensitiveNeedle),
    /// An address field (lowercase name: from, to, cc, bcc) whose parsed addresses
    /// contain the needle.
    Address(&'static str, CaseInsensitiveNeedle),
    Body(CaseInsensitiveNeedle),
    Text(CaseInsensitiveNeedle),
    Internal(DateCmp, i64),
    Sent(DateCmp, i64),
    /// RFC 8514 §4.3: the save date's day; an entry saved before save dates were kept
    /// is compared by its internal date (the RFC's rule for storage without them).
    Saved(DateCmp, i64),
    Larger(u64),
    Smaller(u64),
    Older(u32),
    Younger(u32),
    Uid(SequenceSet),
    Seq(SequenceSet),
    ModSeq(u64),
    /// RFC 8474 §6 EMAILID: the stored message id it names (`None`: not one of ours,
    /// matches nothing).
    EmailId(Option<u64>),
    /// RFC 8474 §6 THREADID: threads are not tracked (every THREADID is NIL), so no
    /// message has any THREADID and the key matches nothing.
    NoThread,
    Not(Box<Query>),
    Or(Box<Query>, Box<Query>),
    And(Vec<Query>),
}

/// Decodes search strings from `charset` (RFC 9051 §6.4.4: US-ASCII and UTF-8 at
/// least; any charset `encoding_rs` knows here).
struct Strings(&'static encoding_rs::Encoding);

impl Strings {
    fn new(charset: Option<&[u8]>) -> Result<Strings, BadCharset> {
        let Some(label) = charset else {
            return Ok(Strings(encoding_rs::UTF_8));
        };
        let label = String::from_utf8_lossy(label);
        if label.eq_ignore_ascii_case("US-ASCII") || label.eq_ignore_ascii_case("UTF-8") {
            return Ok(Strings(encoding_rs::UTF_8));
        }
        encoding_for_label(&label).map(Strings).ok_or(BadCharset)
    }

    fn needle(&self, s: &[u8]) -> CaseInsensitiveNeedle {
        CaseInsensitiveNeedle::new(&self.0.decode_without_bom_handling(s).0)
    }
}

/// Compiles `key` with strings in `charset`.
pub(crate) fn compile(key: &SearchKey, charset: Option<&[u8]>) -> Result<Query, BadCharset> {
    let strings = Strings::new(charset)?;
    Ok(compile_key(key, &strings))
}

fn header(name: &str, value: &[u8], s: &Strings) -> Query {
    Query::Header(name.to_string(), s.needle(value))
}

fn address(name: &'static str, value: &[u8], s: &Strings) -> Query {
    Query::Address(name, s.needle(value))
}

fn compile_key(key: &SearchKey, s: &Strings) -> Query {
    use SearchKey as K;
    match key {
        K::All => Query::All,
        K::Answered => Query::Flag(flags::ANSWERED, true),
        K::Deleted => Query::Flag(flags::DELETED, true),
        K::Draft => Query::Flag(flags::DRAFT, true),
        K::Flagged => Query::Flag(flags::FLAGGED, true),
        K::Seen => Query::Flag(flags::SEEN, true),
        K::Unanswered => Query::Flag(flags::ANSWERED, false),
        K::Undeleted => Query::Flag(flags::DELETED, false),
        K::Undraft => Query::Flag(flags::DRAFT, false),
        K::Unflagged => Query::Flag(flags::FLAGGED, false),
        K::Unseen => Query::Flag(flags::SEEN, false),
        K::New => Query::New,
        K::Old => Query::Recent(false),
        K::Recent => Query::Recent(true),
        K::Bcc(v) => address("bcc", v, s),
        K::Cc(v) => address("cc", v, s),
        K::From(v) => address("from", v, s),
        K::To(v) => address("to", v, s),
        K::Subject(v) => header("subject", v, s),
        K::Header(name, v) => header(&String::from_utf8_lossy(name).to_ascii_lowercase(), v, s),
        K::Body(v) => Query::Body(s.needle(v)),
        K::Text(v) => Query::Text(s.needle(v)),
        K::Keyword(k) => Query::Keyword(String::from_utf8_lossy(k).into_owned(), true),
        K::Unkeyword(k) => Query::Keyword(String::from_utf8_lossy(k).into_owned(), false),
        K::Before(d) => Query::Internal(DateCmp::Before, d.days_since_epoch()),
        K::On(d) => Query::Internal(DateCmp::On, d.days_since_epoch()),
        K::Since(d) => Query::Internal(DateCmp::Since, d.days_since_epoch()),
        K::SentBefore(d) => Query::Sent(DateCmp::Before, d.days_since_epoch()),
        K::SentOn(d) => Query::Sent(DateCmp::On, d.days_since_epoch()),
        K::SentSince(d) => Query::Sent(DateCmp::Since, d.days_since_epoch()),
        K::SavedBefore(d) => Query::Saved(DateCmp::Before, d.days_since_epoch()),
        K::SavedOn(d) => Query::Saved(DateCmp::On, d.days_since_epoch()),
        K::SavedSince(d) => Query::Saved(DateCmp::Since, d.days_since_epoch()),
        // RFC 8514 §4.3: every mailbox keeps save dates, so this matches every message.
        K::SaveDateSupported => Query::All,
        K::Larger(n) => Query::Larger(*n),
        K::Smaller(n) => Query::Smaller(*n),
        K::Older(n) => Query::Older(*n),
        K::Younger(n) => Query::Younger(*n),
        K::Uid(set) => Query::Uid(set.clone()),
        K::SequenceSet(set) => Query::Seq(set.clone()),
        K::ModSeq { modseq, .. } => Query::ModSeq(*modseq),
        K::EmailId(id) => Query::EmailId(crate::proto::objectid::parse_email(id)),
        K::ThreadId(_) => Query::NoThread,
        K::Not(k) => Query::Not(Box::new(compile_key(k, s))),
        K::Or(a, b) => Query::Or(Box::new(compile_key(a, s)), Box::new(compile_key(b, s))),
        K::And(keys) => Query::And(keys.iter().map(|k| compile_key(k, s)).collect()),
    }
}

impl Query {
    /// How much of the raw message evaluating this needs (structures always come
    /// with it).
    pub(crate) fn needs(&self) -> Raw {
        match self {
            Query::Header(..) | Query::Address(..) | Query::Sent(..) => Raw::Header,
            Query::Body(_) | Query::Text(_) => Raw::Whole,
            Query::Not(q) => q.needs(),
            Query::Or(a, b) => a.needs().max(b.needs()),
            Query::And(qs) => qs.iter().map(Query::needs).max().unwrap_or(Raw::None),
            _ => Raw::None,
        }
    }

    /// Whether the query uses MODSEQ (the response then carries `(MODSEQ n)`).
    pub(crate) fn uses_modseq(&self) -> bool {
        match self {
            Query::ModSeq(_) => true,
            Query::Not(q) => q.uses_modseq(),
            Query::Or(a, b) => a.uses_modseq() || b.uses_modseq(),
            Query::And(qs) => qs.iter().any(Query::uses_modseq),
            _ => false,
        }
    }
}

/// What every candidate is evaluated against.
pub(crate) struct Context<'a> {
    /// `EXISTS`, for `*` in sequence sets.
    pub exists: u32,
    /// The largest UID, for `*` in UID sets.
    pub largest_uid: u32,
    /// The saved result (`$`), UIDs.
    pub saved: &'a [u32],
    /// Now, seconds since the Unix epoch (OLDER/YOUNGER).
    pub now: i64,
}

/// One message being tested.
pub(crate) struct Candidate<'a> {
    pub seq: u32,
    pub entry: &'a ViewEntry,
    pub recent: bool,
    /// The loaded message; `None` in the first pass.
    pub msg: Option<&'a Loaded>,
    text: OnceCell<SearchableText>,
}

impl<'a> Candidate<'a> {
    pub(crate) fn new(
        seq: u32,
        entry: &'a ViewEntry,
        recent: bool,
        msg: Option<&'a Loaded>,
    ) -> Candidate<'a> {
        Candidate {
            seq,
            entry,
            recent,
            msg,
            text: OnceCell::new(),
        }
    }

    fn text(&self, msg: &Loaded) -> &SearchableText {
        self.text
            .get_or_init(|| pillarbox_mime::searchable_text(&msg.raw, &msg.structure, WINDOWS_1252))
    }
}

fn in_set(set: &SequenceSet, n: u32, largest: u32, saved: &[u32], uid: u32) -> bool {
    match set {
        SequenceSet::Saved => saved.contains(&uid),
        ranges => ranges.contains(n, largest),
    }
}

fn compare(cmp: DateCmp, day: i64, wanted: i64) -> bool {
    match cmp {
        DateCmp::Before => day < wanted,
        DateCmp::On => day == wanted,
        DateCmp::Since => day >= wanted,
    }
}

/// Days since the epoch of a timestamp (UTC).
fn day_of(ts: i64) -> i64 {
    ts.div_euclid(86_400)
}

/// Evaluates `q`: `Some(answer)`, or `None` when the answer needs the message and the
/// candidate does not carry it yet.
pub(crate) fn eval(q: &Query, c: &Candidate<'_>, ctx: &Context<'_>) -> Option<bool> {
    let e = c.entry;
    Some(match q {
        Query::All => true,
        Query::Flag(mask, set) => e.has(*mask) == *set,
        Query::Keyword(k, set) => e.has_keyword(k) == *set,
        Query::Recent(set) => c.recent == *set,
        Query::New => c.recent && !e.has(flags::SEEN),
        Query::Larger(n) => e.size > *n,
        Query::Smaller(n) => e.size < *n,
        Query::Internal(cmp, d) => compare(*cmp, day_of(e.internal_date), *d),
        Query::Saved(cmp, d) => compare(*cmp, day_of(e.saved_at.unwrap_or(e.internal_date)), *d),
        Query::Older(secs) => ctx.now - e.internal_date >= i64::from(*secs),
        Query::Younger(secs) => ctx.now - e.internal_date <= i64::from(*secs),
        Query::Uid(set) => in_set(set, e.uid, ctx.largest_uid, ctx.saved, e.uid),
        Query::Seq(set) => in_set(set, c.seq, ctx.exists, ctx.saved, e.uid),
        Query::ModSeq(m) => e.modseq >= *m,
        Query::EmailId(id) => id.is_some_and(|id| u64::try_from(e.message.0).ok() == Some(id)),
        Query::NoThread => false,
        Query::Sent(cmp, d) => {
            // RFC 9051 §6.4.4: the Date header's date, its time and zone disregarded
            // (the internal date's day when there is no usable Date).
            let msg = c.msg?;
            let day = text::sent_day(msg.structure.root.header(&msg.raw))
                .unwrap_or_else(|| day_of(e.internal_date));
            compare(*cmp, day, *d)
        }
        Query::Header(name, needle) => {
            let msg = c.msg?;
            text::header_contains(msg.structure.root.header(&msg.raw), name, needle)
        }
        Query::Address(name, needle) => {
            let msg = c.msg?;
            text::address_contains(msg.structure.root.header(&msg.raw), name, needle)
        }
        Query::Body(needle) => c.text(c.msg?).body_contains(needle),
        Query::Text(needle) => c.text(c.msg?).text_contains(needle),
        Query::Not(q) => !eval(q, c, ctx)?,
        Query::Or(a, b) => match (eval(a, c, ctx), eval(b, c, ctx)) {
            (Some(true), _) | (_, Some(true)) => true,
            (Some(false), Some(false)) => false,
            _ => return None,
        },
        Query::And(qs) => {
            let mut unknown = false;
            for q in qs {
                match eval(q, c, ctx) {
                    Some(false) => return Some(false),
                    Some(true) => {}
                    None => unknown = true,
                }
            }
            if unknown {
                return None;
            }
            true
        }
    })
}

#[cfg(test)]
mod tests;
