//! Typed client commands: [`Command`] = tag + [`CommandBody`], one variant per command
//! of RFC 9051 §6, RFC 3501 §6 and the extensions Pillarbox speaks.
//!
//! These are plain data. Which commands are legal in which state, and what they do, is
//! the session's business; the parser only guarantees that a value here was spelled
//! correctly. No I/O, no behaviour beyond small accessors.

use std::fmt;

use bytes::Bytes;

use super::datetime::DateTime;
use super::fetch_attr::FetchAttrs;
use super::flag::Flag;
use super::mailbox::Mailbox;
use super::search_key::{PartialRange, SearchKey, SearchReturn};
use super::sequence::SequenceSet;

/// A command tag (RFC 9051 §9 `tag`: ASTRING-CHARs except `+`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(pub(crate) Bytes);

impl Tag {
    /// A tag from bytes, or `None` if they are not a valid tag.
    pub fn new(bytes: Bytes) -> Option<Tag> {
        (!bytes.is_empty() && bytes.iter().all(|&b| super::lexer::is_tag_char(b)))
            .then_some(Tag(bytes))
    }

    /// The tag's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", String::from_utf8_lossy(&self.0))
    }
}

impl From<&'static str> for Tag {
    /// For tests and constants; an invalid tag is kept as given.
    fn from(s: &'static str) -> Tag {
        Tag(Bytes::from_static(s.as_bytes()))
    }
}

/// SETMETADATA's entries (RFC 5464 §4.3): names with their values, `None` for NIL.
pub type MetadataEntries = Vec<(Bytes, Option<Bytes>)>;

/// ID parameters (RFC 2971 §3.1): field names and values (`None` for NIL).
pub type IdParams = Vec<(Bytes, Option<Bytes>)>;

/// A parsed command. `H` is the session's handle for literals it streamed elsewhere
/// (see [`super::Framer::accept_streamed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<H> {
    /// The client's tag.
    pub tag: Tag,
    /// What the client asked for.
    pub body: CommandBody<H>,
}

/// Every command, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody<H> {
    /// `CAPABILITY` (RFC 9051 §6.1.1)
    Capability,
    /// `NOOP` (RFC 9051 §6.1.2)
    Noop,
    /// `LOGOUT` (RFC 9051 §6.1.3)
    Logout,
    /// `ID` (RFC 2971 §3.1); `None` for `ID NIL`.
    Id(Option<IdParams>),
    /// `ENABLE cap...` (RFC 5161 §3.1), capability names as written.
    Enable(Vec<Bytes>),
    /// `STARTTLS` (RFC 9051 §6.2.1)
    StartTls,
    /// `AUTHENTICATE` (RFC 9051 §6.2.2, RFC 4959 SASL-IR)
    Authenticate(Authenticate),
    /// `LOGIN` (RFC 9051 §6.2.3)
    Login(Login),
    /// `UNAUTHENTICATE` (RFC 8437 §3)
    Unauthenticate,
    /// `SELECT` (RFC 9051 §6.3.2)
    Select(Select),
    /// `EXAMINE` (RFC 9051 §6.3.3)
    Examine(Select),
    /// `CREATE` (RFC 9051 §6.3.4, RFC 6154 §3 USE)
    Create(Create),
    /// `DELETE` (RFC 9051 §6.3.5)
    Delete(Mailbox),
    /// `RENAME` (RFC 9051 §6.3.6)
    Rename {
        /// The existing name.
        from: Mailbox,
        /// The new name.
        to: Mailbox,
    },
    /// `SUBSCRIBE` (RFC 9051 §6.3.7)
    Subscribe(Mailbox),
    /// `UNSUBSCRIBE` (RFC 9051 §6.3.8)
    Unsubscribe(Mailbox),
    /// `LIST` (RFC 9051 §6.3.9, RFC 5258)
    List(List),
    /// `LSUB` (RFC 3501 §6.3.9)
    Lsub {
        /// The reference name, raw.
        reference: Bytes,
        /// The pattern, raw.
        pattern: Bytes,
    },
    /// `NAMESPACE` (RFC 9051 §6.3.10)
    Namespace,
    /// `STATUS` (RFC 9051 §6.3.11)
    Status {
        /// The mailbox asked about.
        mailbox: Mailbox,
        /// The items wanted, in the order asked.
        items: Vec<StatusItem>,
    },
    /// `APPEND`, with MULTIAPPEND (RFC 9051 §6.3.12, RFC 3502)
    Append(Append<H>),
    /// `IDLE` (RFC 9051 §6.3.13, RFC 2177)
    Idle,
    /// `GETQUOTA root` (RFC 9208 §4.2)
    GetQuota(Bytes),
    /// `GETQUOTAROOT mailbox` (RFC 9208 §4.3)
    GetQuotaRoot(Mailbox),
    /// `SETQUOTA` (RFC 9208 §4.1)
    SetQuota {
        /// The quota root, raw.
        root: Bytes,
        /// `(resource, limit)` pairs; empty removes all limits.
        limits: Vec<(Bytes, u64)>,
    },
    /// `COMPRESS mechanism` (RFC 4978 §3)
    Compress(Bytes),
    /// `CHECK` (RFC 3501 §6.4.1)
    Check,
    /// `CLOSE` (RFC 9051 §6.4.1)
    Close,
    /// `UNSELECT` (RFC 9051 §6.4.2)
    Unselect,
    /// `EXPUNGE` (RFC 9051 §6.4.3)
    Expunge,
    /// `UID EXPUNGE set` (RFC 9051 §6.4.9, RFC 4315)
    UidExpunge(SequenceSet),
    /// `SEARCH` / `UID SEARCH` (RFC 9051 §6.4.4)
    Search(Search),
    /// `FETCH` / `UID FETCH` (RFC 9051 §6.4.5)
    Fetch(Fetch),
    /// `STORE` / `UID STORE` (RFC 9051 §6.4.6)
    Store(Store),
    /// `COPY` / `UID COPY` (RFC 9051 §6.4.7)
    Copy(CopyMove),
    /// `MOVE` / `UID MOVE` (RFC 9051 §6.4.8, RFC 6851)
    Move(CopyMove),
    /// `SORT` / `UID SORT` (RFC 5256 §3)
    Sort(Sort),
    /// `THREAD` / `UID THREAD` (RFC 5256 §3)
    Thread(Thread),
    /// `REPLACE` / `UID REPLACE` (RFC 8508 §3)
    Replace(Replace<H>),
    /// `GETMETADATA` (RFC 5464 §4.2)
    GetMetadata(GetMetadata),
    /// `SETMETADATA mailbox (entry value ...)` (RFC 5464 §4.3)
    SetMetadata {
        /// The mailbox; empty for server annotations.
        mailbox: Mailbox,
        /// Entry names (checked, as written) with their values; `None` removes.
        entries: MetadataEntries,
    },
}

impl<H> CommandBody<H> {
    /// The command's name for logs, e.g. `"UID FETCH"`.
    pub fn name(&self) -> &'static str {
        use CommandBody as C;
        let uid = |uid: bool, with: &'static str, without: &'static str| {
            if uid { with } else { without }
        };
        match self {
            C::Capability => "CAPABILITY",
            C::Noop => "NOOP",
            C::Logout => "LOGOUT",
            C::Id(_) => "ID",
            C::Enable(_) => "ENABLE",
            C::StartTls => "STARTTLS",
            C::Authenticate(_) => "AUTHENTICATE",
            C::Login(_) => "LOGIN",
            C::Unauthenticate => "UNAUTHENTICATE",
            C::Select(_) => "SELECT",
            C::Examine(_) => "EXAMINE",
            C::Create(_) => "CREATE",
            C::Delete(_) => "DELETE",
            C::Rename { .. } => "RENAME",
            C::Subscribe(_) => "SUBSCRIBE",
            C::Unsubscribe(_) => "UNSUBSCRIBE",
            C::List(_) => "LIST",
            C::Lsub { .. } => "LSUB",
            C::Namespace => "NAMESPACE",
            C::Status { .. } => "STATUS",
            C::Append(_) => "APPEND",
            C::Idle => "IDLE",
            C::GetQuota(_) => "GETQUOTA",
            C::GetQuotaRoot(_) => "GETQUOTAROOT",
            C::SetQuota { .. } => "SETQUOTA",
            C::Compress(_) => "COMPRESS",
            C::Check => "CHECK",
            C::Close => "CLOSE",
            C::Unselect => "UNSELECT",
            C::Expunge => "EXPUNGE",
            C::UidExpunge(_) => "UID EXPUNGE",
            C::Search(s) => uid(s.uid, "UID SEARCH", "SEARCH"),
            C::Fetch(f) => uid(f.uid, "UID FETCH", "FETCH"),
            C::Store(s) => uid(s.uid, "UID STORE", "STORE"),
            C::Copy(c) => uid(c.uid, "UID COPY", "COPY"),
            C::Move(m) => uid(m.uid, "UID MOVE", "MOVE"),
            C::Sort(s) => uid(s.uid, "UID SORT", "SORT"),
            C::Thread(t) => uid(t.uid, "UID THREAD", "THREAD"),
            C::Replace(r) => uid(r.uid, "UID REPLACE", "REPLACE"),
            C::GetMetadata(_) => "GETMETADATA",
            C::SetMetadata { .. } => "SETMETADATA",
        }
    }
}

/// `AUTHENTICATE mechanism [initial-response]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Authenticate {
    /// The SASL mechanism name as written (compare case-insensitively).
    pub mechanism: Bytes,
    /// The decoded SASL-IR initial response (RFC 4959 §3): `None` when absent,
    /// `Some(empty)` for `=`.
    pub initial_response: Option<Vec<u8>>,
}

impl fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("mechanism", &String::from_utf8_lossy(&self.mechanism))
            .field(
                "initial_response",
                &self.initial_response.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `LOGIN user password`. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The user name, raw.
    pub username: Bytes,
    /// The password, raw.
    pub password: Bytes,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("username", &String::from_utf8_lossy(&self.username))
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `SELECT` / `EXAMINE` with their RFC 7162 parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    /// The mailbox to open.
    pub mailbox: Mailbox,
    /// `(CONDSTORE)` (RFC 7162 §3.1.8).
    pub condstore: bool,
    /// `(QRESYNC (...))` (RFC 7162 §3.2.5).
    pub qresync: Option<QResync>,
}

/// The QRESYNC SELECT parameter (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    /// The UIDVALIDITY the client last knew.
    pub uid_validity: u32,
    /// The highest mod-sequence the client knows.
    pub modseq: u64,
    /// The UIDs the client knows (no `*`).
    pub known_uids: Option<SequenceSet>,
    /// `(known-sequence-set known-uid-set)`.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// A special-use attribute (RFC 6154 §2, RFC 8457 `\Important`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    /// `\All`
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
    /// `\Important`
    Important,
    /// Another `\`-attribute, the atom after the backslash.
    Other(Bytes),
}

/// `CREATE mailbox [(USE (...))]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create {
    /// The name to create.
    pub mailbox: Mailbox,
    /// RFC 6154 §3 CREATE-SPECIAL-USE attributes.
    pub special_use: Vec<SpecialUse>,
}

/// LIST selection options (RFC 5258 §3.1, RFC 6154 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListSelect {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH`
    RecursiveMatch,
    /// `SPECIAL-USE`
    SpecialUse,
}

/// LIST return options (RFC 5258 §3.2, RFC 6154 §5, RFC 5819).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturn {
    /// `SUBSCRIBED`
    Subscribed,
    /// `CHILDREN`
    Children,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `STATUS (items)` (RFC 5819 LIST-STATUS)
    Status(Vec<StatusItem>),
}

/// `LIST`, basic or extended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// Selection options, empty for a basic LIST.
    pub selection: Vec<ListSelect>,
    /// The reference name, raw (not INBOX-normalised: it is a prefix).
    pub reference: Bytes,
    /// One pattern, or several in parentheses.
    pub patterns: Vec<Bytes>,
    /// Return options.
    pub return_opts: Vec<ListReturn>,
    /// Whether extended syntax was used (select options, several patterns or RETURN);
    /// the reply then uses extended LIST data (RFC 5258 §3).
    pub extended: bool,
}

/// STATUS data items (RFC 9051 §6.3.11, RFC 8438, RFC 7162, RFC 7889, RFC 8474).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED`
    Deleted,
    /// `SIZE` (RFC 8438)
    Size,
    /// `RECENT` (IMAP4rev1)
    Recent,
    /// `HIGHESTMODSEQ` (RFC 7162 §3.1.6)
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889 §3)
    AppendLimit,
    /// `MAILBOXID` (RFC 8474 §4.2); its value is the store's mailbox id, written as
    /// the mailbox's object id.
    MailboxId,
    /// `DELETED-STORAGE` (RFC 9208 §4.1.4)
    DeletedStorage,
}

impl StatusItem {
    /// The item's wire name.
    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::Recent => "RECENT",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::MailboxId => "MAILBOXID",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
        }
    }
}

/// The contents of a literal: kept in the command, or streamed by the session to a
/// place of its own and represented by its handle `H`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralData<H> {
    /// The octets, inline.
    Inline(Bytes),
    /// The session's handle for octets it streamed away.
    Streamed(H),
}

/// `APPEND mailbox message...` (RFC 3502 allows several messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append<H> {
    /// The destination.
    pub mailbox: Mailbox,
    /// One or more messages.
    pub messages: Vec<AppendMessage<H>>,
}

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage<H> {
    /// Flags to set (may be empty).
    pub flags: Vec<Flag>,
    /// The internal date to set.
    pub date: Option<DateTime>,
    /// The message.
    pub data: LiteralData<H>,
    /// Sent as literal8 `~{n}` (RFC 3516 §4.4): may contain binary content.
    pub binary: bool,
    /// Sent as `UTF8 (~{n})` (RFC 6855 §4): may contain UTF-8 headers.
    pub utf8: bool,
}

/// `REPLACE seq mailbox message` / `UID REPLACE uid ...` (RFC 8508 §3): an APPEND of
/// one message to `mailbox` and the expunge of the replaced one, as one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace<H> {
    /// `UID REPLACE`.
    pub uid: bool,
    /// The message replaced (`*`: the last).
    pub target: super::sequence::SeqNum,
    /// Where the new message goes (may be another mailbox).
    pub mailbox: Mailbox,
    /// The new message.
    pub message: AppendMessage<H>,
}

/// `SEARCH` (RFC 9051 §6.4.4, RFC 4731 ESEARCH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// `UID SEARCH`.
    pub uid: bool,
    /// `CHARSET name`, raw.
    pub charset: Option<Bytes>,
    /// `RETURN (...)`: `None` for a classic SEARCH, `Some(empty)` for `RETURN ()`.
    pub return_opts: Option<Vec<SearchReturn>>,
    /// The criteria; several keys are an [`SearchKey::And`].
    pub criteria: SearchKey,
}

/// `FETCH` (RFC 9051 §6.4.5, RFC 7162 §3.1.4, §3.2.6, RFC 9394 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// `UID FETCH`.
    pub uid: bool,
    /// The messages.
    pub set: SequenceSet,
    /// What to fetch.
    pub attrs: FetchAttrs,
    /// `(CHANGEDSINCE n)`.
    pub changed_since: Option<u64>,
    /// `(VANISHED)`, only with UID FETCH and CHANGEDSINCE.
    pub vanished: bool,
    /// `(PARTIAL range)` (RFC 9394 §3.2): only these positions of the messages the
    /// command would otherwise return.
    pub partial: Option<PartialRange>,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// `STORE` (RFC 9051 §6.4.6, RFC 7162 §3.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// `UID STORE`.
    pub uid: bool,
    /// The messages.
    pub set: SequenceSet,
    /// `(UNCHANGEDSINCE n)`.
    pub unchanged_since: Option<u64>,
    /// Replace, add or remove.
    pub mode: StoreMode,
    /// `.SILENT`.
    pub silent: bool,
    /// The flags.
    pub flags: Vec<Flag>,
}

/// `COPY` and `MOVE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyMove {
    /// `UID COPY` / `UID MOVE`.
    pub uid: bool,
    /// The messages.
    pub set: SequenceSet,
    /// The destination.
    pub mailbox: Mailbox,
}

/// SORT keys (RFC 5256 §3, RFC 5957 DISPLAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `ARRIVAL`
    Arrival,
    /// `CC`
    Cc,
    /// `DATE`
    Date,
    /// `FROM`
    From,
    /// `SIZE`
    Size,
    /// `SUBJECT`
    Subject,
    /// `TO`
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

/// One sort criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// `REVERSE`.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// `SORT` (RFC 5256 §3; RFC 5267 ESORT RETURN options, RFC 9394 PARTIAL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// `UID SORT`.
    pub uid: bool,
    /// `RETURN (...)` (RFC 5267 ESORT).
    pub return_opts: Option<Vec<SearchReturn>>,
    /// The sort order.
    pub criteria: Vec<SortCriterion>,
    /// The charset (mandatory for SORT).
    pub charset: Bytes,
    /// The search criteria.
    pub search: SearchKey,
}

/// THREAD algorithms (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
}

/// `THREAD` (RFC 5256 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// `UID THREAD`.
    pub uid: bool,
    /// The algorithm.
    pub algorithm: ThreadAlgorithm,
    /// The charset (mandatory).
    pub charset: Bytes,
    /// The search criteria.
    pub search: SearchKey,
}

/// How far below each named entry GETMETADATA looks (RFC 5464 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataDepth {
    /// `DEPTH 0` (the default): the entry only.
    Zero,
    /// `DEPTH 1`: the entry and its children.
    One,
    /// `DEPTH infinity`: the entry and everything below it.
    Infinity,
}

/// `GETMETADATA [(options)] mailbox entries` (RFC 5464 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMetadata {
    /// The mailbox; empty for server annotations.
    pub mailbox: Mailbox,
    /// `MAXSIZE n` (§4.2.1): only values of at most n octets.
    pub max_size: Option<u64>,
    /// `DEPTH` (§4.2.2).
    pub depth: MetadataDepth,
    /// The entry names asked for (checked, as written).
    pub entries: Vec<Bytes>,
}
