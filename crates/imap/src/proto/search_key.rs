//! SEARCH criteria and RETURN options (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731,
//! RFC 5032, RFC 5182, RFC 7162 §3.1.5, RFC 8474 §6, RFC 9394 PARTIAL).
//!
//! Plain data produced by the parser for SEARCH, SORT and THREAD. Evaluation belongs
//! to the store; this module does no I/O.

use bytes::Bytes;

use super::datetime::Date;
use super::sequence::SequenceSet;

/// A PARTIAL range (RFC 9394 §3 `partial-range`): positions in the list of results,
/// counted from 1 at the start (`1:100`), or from the end (`-1:-100`, `-1` being the
/// last result). Kept as written, so it can be echoed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialRange {
    /// The first number as written (without its minus sign).
    pub first: u32,
    /// The second number as written (without its minus sign).
    pub last: u32,
    /// Negative: counted from the end.
    pub from_end: bool,
}

impl PartialRange {
    /// The 0-based positions the range covers among `len` results (empty when none).
    pub fn positions(&self, len: usize) -> std::ops::Range<usize> {
        let lo = self.first.min(self.last) as usize;
        let hi = self.first.max(self.last) as usize;
        let (start, end) = if self.from_end {
            // -1 is the last result (position len - 1), -hi the earliest asked for.
            (
                len.saturating_sub(hi),
                len.saturating_sub(lo.saturating_sub(1)),
            )
        } else {
            (lo.saturating_sub(1).min(len), hi.min(len))
        };
        start..end.max(start)
    }

    /// Appends the wire form, e.g. `1:100` or `-1:-100`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let sign = if self.from_end { "-" } else { "" };
        out.extend_from_slice(format!("{sign}{}:{sign}{}", self.first, self.last).as_bytes());
    }
}

/// ESEARCH result options (RFC 4731 §3.1, RFC 5182 §2.1 SAVE, RFC 9394 PARTIAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE` (RFC 5182)
    Save,
    /// `PARTIAL range` (RFC 9394 §3.1)
    Partial(PartialRange),
}

/// Which metadata entries a MODSEQ criterion looks at (RFC 7162 §3.1.5
/// `entry-type-req`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// `priv`
    Private,
    /// `shared`
    Shared,
    /// `all`
    All,
}

/// `"/flags/\\Seen" all` in a MODSEQ criterion.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModSeqEntry {
    /// The entry name, unquoted (e.g. `/flags/\Seen`).
    pub name: Bytes,
    /// Its type.
    pub entry_type: EntryType,
}

/// One search criterion.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchKey {
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `NEW` (IMAP4rev1: RECENT UNSEEN)
    New,
    /// `OLD` (IMAP4rev1: NOT RECENT)
    Old,
    /// `RECENT` (IMAP4rev1)
    Recent,
    /// `SEEN`
    Seen,
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNSEEN`
    Unseen,
    /// `BCC string`
    Bcc(Bytes),
    /// `BODY string`
    Body(Bytes),
    /// `CC string`
    Cc(Bytes),
    /// `FROM string`
    From(Bytes),
    /// `SUBJECT string`
    Subject(Bytes),
    /// `TEXT string`
    Text(Bytes),
    /// `TO string`
    To(Bytes),
    /// `HEADER field-name string`
    Header(Bytes, Bytes),
    /// `KEYWORD flag`
    Keyword(Bytes),
    /// `UNKEYWORD flag`
    Unkeyword(Bytes),
    /// `BEFORE date` (internal date)
    Before(Date),
    /// `ON date`
    On(Date),
    /// `SINCE date`
    Since(Date),
    /// `SENTBEFORE date` (Date: header)
    SentBefore(Date),
    /// `SENTON date`
    SentOn(Date),
    /// `SENTSINCE date`
    SentSince(Date),
    /// `SAVEDBEFORE date` (RFC 8514 §4.3, save date)
    SavedBefore(Date),
    /// `SAVEDON date` (RFC 8514 §4.3)
    SavedOn(Date),
    /// `SAVEDSINCE date` (RFC 8514 §4.3)
    SavedSince(Date),
    /// `SAVEDATESUPPORTED` (RFC 8514 §4.3)
    SaveDateSupported,
    /// `LARGER n`
    Larger(u64),
    /// `SMALLER n`
    Smaller(u64),
    /// `OLDER seconds` (RFC 5032)
    Older(u32),
    /// `YOUNGER seconds` (RFC 5032)
    Younger(u32),
    /// `UID set`
    Uid(SequenceSet),
    /// A bare sequence set (message numbers), including `$`.
    SequenceSet(SequenceSet),
    /// `MODSEQ [entry type] n` (RFC 7162 §3.1.5)
    ModSeq {
        /// The metadata entry, if given.
        entry: Option<ModSeqEntry>,
        /// The mod-sequence.
        modseq: u64,
    },
    /// `EMAILID objectid` (RFC 8474 §6)
    EmailId(Bytes),
    /// `THREADID objectid` (RFC 8474 §6)
    ThreadId(Bytes),
    /// `NOT key`
    Not(Box<SearchKey>),
    /// `OR key key`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// A parenthesised list, or the several keys of the top level: all must match.
    And(Vec<SearchKey>),
}
