//! Typed server responses (RFC 9051 §7) and their wire form: status responses with
//! response codes, untagged data, continuation requests.
//!
//! Handlers build these values; [`Response::encode`] writes them. This module owns the
//! response catalogue's *shape*, not the human texts (the session's reply catalogue
//! does) and does no I/O: it appends to a `Vec<u8>` the session flushes.

use std::borrow::Cow;

use bytes::Bytes;

use super::command::{IdParams, SpecialUse, StatusItem, Tag};
use super::datetime::DateTime;
use super::encode::{
    EncodeOptions, push_num, write_astring, write_list, write_mailbox, write_nstring, write_quoted,
    write_string, write_text,
};
use super::fetch_attr::Section;
use super::flag::Flag;
use super::mailbox::Mailbox;
use super::search_key::PartialRange;
use super::sequence::SequenceSet;

/// Any response line (or lines, when it holds literals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// OK / NO / BAD / PREAUTH / BYE, tagged or not.
    Status(StatusResponse),
    /// Untagged data (`* ...`).
    Data(Data),
    /// A continuation request (`+ ...`).
    Continue(Continuation),
}

/// The status of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (greeting only)
    PreAuth,
    /// `BYE`
    Bye,
}

/// A status response (RFC 9051 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponse {
    /// `None` for `*`.
    pub tag: Option<Tag>,
    /// OK, NO, ….
    pub status: Status,
    /// The bracketed response code.
    pub code: Option<Code>,
    /// Human text; CR and LF are replaced when written, and an empty text is written as
    /// `completed` (IMAP4rev1 requires text).
    pub text: Cow<'static, str>,
}

impl StatusResponse {
    /// A response with no code.
    pub fn new(tag: Option<Tag>, status: Status, text: impl Into<Cow<'static, str>>) -> Self {
        StatusResponse {
            tag,
            status,
            code: None,
            text: text.into(),
        }
    }

    /// `tag OK text`.
    pub fn ok(tag: Tag, text: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Some(tag), Status::Ok, text)
    }

    /// `tag NO text`.
    pub fn no(tag: Tag, text: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Some(tag), Status::No, text)
    }

    /// `tag BAD text`, or `* BAD text` without a tag.
    pub fn bad(tag: Option<Tag>, text: impl Into<Cow<'static, str>>) -> Self {
        Self::new(tag, Status::Bad, text)
    }

    /// `* BYE text`.
    pub fn bye(text: impl Into<Cow<'static, str>>) -> Self {
        Self::new(None, Status::Bye, text)
    }

    /// Adds a response code.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    /// Appends the response line to `out`.
    pub fn encode(&self, out: &mut Vec<u8>, opts: EncodeOptions) {
        match &self.tag {
            Some(tag) => out.extend_from_slice(tag.as_bytes()),
            None => out.push(b'*'),
        }
        out.extend_from_slice(match self.status {
            Status::Ok => b" OK",
            Status::No => b" NO",
            Status::Bad => b" BAD",
            Status::PreAuth => b" PREAUTH",
            Status::Bye => b" BYE",
        });
        out.push(b' ');
        if let Some(code) = &self.code {
            code.encode(out, opts);
            out.push(b' ');
        }
        let text: &str = if self.text.is_empty() {
            "completed"
        } else {
            &self.text
        };
        write_text(out, text);
        out.extend_from_slice(b"\r\n");
    }
}

/// Response codes (RFC 9051 §7.1, RFC 4315, RFC 7162, RFC 5530, RFC 4978, RFC 6154,
/// RFC 5182, RFC 4469).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `ALERT`
    Alert,
    /// `BADCHARSET (charsets)`; empty writes no list.
    BadCharset(Vec<Bytes>),
    /// `CAPABILITY caps`
    Capability(Vec<Bytes>),
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (flags [\*])`
    PermanentFlags {
        /// The flags that stick.
        flags: Vec<Flag>,
        /// `\*`: new keywords may be created.
        wildcard: bool,
    },
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(u32),
    /// `UIDVALIDITY n`
    UidValidity(u32),
    /// `UNSEEN n` (IMAP4rev1)
    Unseen(u32),
    /// `APPENDUID uidvalidity uid-set` (RFC 4315 §3)
    AppendUid {
        /// The destination's UIDVALIDITY.
        uid_validity: u32,
        /// The new UIDs.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-set dest-set` (RFC 4315 §3)
    CopyUid {
        /// The destination's UIDVALIDITY.
        uid_validity: u32,
        /// UIDs in the source.
        source: SequenceSet,
        /// UIDs in the destination, in the same order.
        destination: SequenceSet,
    },
    /// `UIDNOTSTICKY`
    UidNotSticky,
    /// `HIGHESTMODSEQ n` (RFC 7162)
    HighestModSeq(u64),
    /// `NOMODSEQ`
    NoModSeq,
    /// `MODIFIED set`
    Modified(SequenceSet),
    /// `CLOSED` (RFC 7162 §3.2.11)
    Closed,
    /// `TOOBIG` (RFC 4469, RFC 7888)
    TooBig,
    /// `OVERQUOTA`
    OverQuota,
    /// `ALREADYEXISTS`
    AlreadyExists,
    /// `NONEXISTENT`
    Nonexistent,
    /// `AUTHENTICATIONFAILED`
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`
    AuthorizationFailed,
    /// `UNAVAILABLE`
    Unavailable,
    /// `PRIVACYREQUIRED`
    PrivacyRequired,
    /// `CONTACTADMIN`
    ContactAdmin,
    /// `NOPERM`
    NoPerm,
    /// `INUSE`
    InUse,
    /// `EXPUNGEISSUED`
    ExpungeIssued,
    /// `CORRUPTION`
    Corruption,
    /// `SERVERBUG`
    ServerBug,
    /// `CLIENTBUG`
    ClientBug,
    /// `CANNOT`
    Cannot,
    /// `LIMIT`
    Limit,
    /// `EXPIRED`
    Expired,
    /// `HASCHILDREN`
    HasChildren,
    /// `COMPRESSIONACTIVE` (RFC 4978)
    CompressionActive,
    /// `USEATTR` (RFC 6154)
    UseAttr,
    /// `NOTSAVED` (RFC 5182)
    NotSaved,
    /// `MAILBOXID (objectid)` (RFC 8474 §4)
    MailboxId(Bytes),
    /// `UIDREQUIRED` (RFC 9586 §3)
    UidRequired,
    /// Any other code: an atom and optional raw text after it.
    Other {
        /// The code's atom.
        name: Bytes,
        /// Text after a space, written verbatim (must not contain `]`, CR, LF).
        value: Option<Bytes>,
    },
}

impl Code {
    /// Appends `[CODE ...]`.
    pub fn encode(&self, out: &mut Vec<u8>, opts: EncodeOptions) {
        out.push(b'[');
        let simple: &[u8] = match self {
            Code::Alert => b"ALERT",
            Code::Parse => b"PARSE",
            Code::ReadOnly => b"READ-ONLY",
            Code::ReadWrite => b"READ-WRITE",
            Code::TryCreate => b"TRYCREATE",
            Code::UidNotSticky => b"UIDNOTSTICKY",
            Code::NoModSeq => b"NOMODSEQ",
            Code::Closed => b"CLOSED",
            Code::TooBig => b"TOOBIG",
            Code::OverQuota => b"OVERQUOTA",
            Code::AlreadyExists => b"ALREADYEXISTS",
            Code::Nonexistent => b"NONEXISTENT",
            Code::AuthenticationFailed => b"AUTHENTICATIONFAILED",
            Code::AuthorizationFailed => b"AUTHORIZATIONFAILED",
            Code::Unavailable => b"UNAVAILABLE",
            Code::PrivacyRequired => b"PRIVACYREQUIRED",
            Code::ContactAdmin => b"CONTACTADMIN",
            Code::NoPerm => b"NOPERM",
            Code::InUse => b"INUSE",
            Code::ExpungeIssued => b"EXPUNGEISSUED",
            Code::Corruption => b"CORRUPTION",
            Code::ServerBug => b"SERVERBUG",
            Code::ClientBug => b"CLIENTBUG",
            Code::Cannot => b"CANNOT",
            Code::Limit => b"LIMIT",
            Code::Expired => b"EXPIRED",
            Code::HasChildren => b"HASCHILDREN",
            Code::CompressionActive => b"COMPRESSIONACTIVE",
            Code::UseAttr => b"USEATTR",
            Code::NotSaved => b"NOTSAVED",
            Code::UidRequired => b"UIDREQUIRED",
            _ => b"",
        };
        out.extend_from_slice(simple);
        self.encode_with_data(out, opts);
        out.push(b']');
    }

    fn encode_with_data(&self, out: &mut Vec<u8>, opts: EncodeOptions) {
        match self {
            Code::BadCharset(charsets) => {
                out.extend_from_slice(b"BADCHARSET");
                if !charsets.is_empty() {
                    out.push(b' ');
                    write_list(out, charsets, |out, c| write_astring(out, c, opts));
                }
            }
            Code::Capability(caps) => {
                out.extend_from_slice(b"CAPABILITY");
                write_atoms(out, caps);
            }
            Code::PermanentFlags { flags, wildcard } => {
                out.extend_from_slice(b"PERMANENTFLAGS (");
                for (i, f) in flags.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    f.write(out);
                }
                if *wildcard {
                    out.extend_from_slice(if flags.is_empty() { b"\\*" } else { b" \\*" });
                }
                out.push(b')');
            }
            Code::UidNext(n) => number_code(out, b"UIDNEXT ", u64::from(*n)),
            Code::UidValidity(n) => number_code(out, b"UIDVALIDITY ", u64::from(*n)),
            Code::Unseen(n) => number_code(out, b"UNSEEN ", u64::from(*n)),
            Code::HighestModSeq(n) => number_code(out, b"HIGHESTMODSEQ ", *n),
            Code::AppendUid { uid_validity, uids } => {
                number_code(out, b"APPENDUID ", u64::from(*uid_validity));
                out.push(b' ');
                uids.write(out);
            }
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => {
                number_code(out, b"COPYUID ", u64::from(*uid_validity));
                out.push(b' ');
                source.write(out);
                out.push(b' ');
                destination.write(out);
            }
            Code::MailboxId(id) => {
                out.extend_from_slice(b"MAILBOXID (");
                out.extend_from_slice(id);
                out.push(b')');
            }
            Code::Modified(set) => {
                out.extend_from_slice(b"MODIFIED ");
                set.write(out);
            }
            Code::Other { name, value } => {
                out.extend_from_slice(name);
                if let Some(v) = value {
                    out.push(b' ');
                    out.extend(v.iter().map(|&b| match b {
                        b']' | b'\r' | b'\n' => b' ',
                        b => b,
                    }));
                }
            }
            _ => {}
        }
    }
}

fn number_code(out: &mut Vec<u8>, name: &[u8], n: u64) {
    out.extend_from_slice(name);
    push_num(out, n);
}

/// ` A B C` (each preceded by a space).
pub(crate) fn write_atoms(out: &mut Vec<u8>, atoms: &[Bytes]) {
    for a in atoms {
        out.push(b' ');
        out.extend_from_slice(a);
    }
}

/// A continuation request (RFC 9051 §7.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continuation {
    /// `+ text`
    Text(Cow<'static, str>),
    /// `+ base64` (a SASL challenge, encoded when written).
    Base64(Vec<u8>),
}

/// A mailbox attribute in LIST/LSUB (RFC 9051 §7.3.1, RFC 5258, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxAttr {
    /// `\NoInferiors`
    NoInferiors,
    /// `\Noselect`
    NoSelect,
    /// `\Marked`
    Marked,
    /// `\Unmarked`
    Unmarked,
    /// `\HasChildren`
    HasChildren,
    /// `\HasNoChildren`
    HasNoChildren,
    /// `\NonExistent`
    NonExistent,
    /// `\Subscribed`
    Subscribed,
    /// `\Remote`
    Remote,
    /// A special use (`\Sent`, `\Trash`, …).
    SpecialUse(SpecialUse),
}

/// One LIST or LSUB reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// The attributes.
    pub attributes: Vec<MailboxAttr>,
    /// The hierarchy delimiter; `None` writes NIL (flat namespace).
    pub delimiter: Option<u8>,
    /// The mailbox.
    pub mailbox: Mailbox,
    /// `CHILDINFO` extended data (RFC 5258 §3.5), e.g. `SUBSCRIBED`.
    pub child_info: Vec<Bytes>,
    /// `OLDNAME` extended data (RFC 9051 §7.3.1).
    pub old_name: Option<Mailbox>,
}

/// One namespace (RFC 9051 §7.3.4 `Namespace-Descr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDesc {
    /// The prefix, e.g. `""` or `"Other Users/"`.
    pub prefix: Bytes,
    /// The hierarchy delimiter.
    pub delimiter: Option<u8>,
}

/// One ESEARCH return item (RFC 4731 §3.2, RFC 7162 §3.1.10, RFC 9394 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ESearchItem {
    /// `MIN n`
    Min(u32),
    /// `MAX n`
    Max(u32),
    /// `ALL set`
    All(SequenceSet),
    /// `COUNT n`
    Count(u32),
    /// `MODSEQ n`
    ModSeq(u64),
    /// `PARTIAL (range results)` (RFC 9394 §3.1); `None` results write NIL.
    Partial(PartialRange, Option<SequenceSet>),
}

/// A THREAD node (RFC 5256 §4): a message (or a missing parent) and its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadNode {
    /// The message number or UID; `None` for a dummy parent.
    pub message: Option<u32>,
    /// Replies.
    pub children: Vec<ThreadNode>,
}

/// One resource of a QUOTA reply (RFC 9208 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE`, `MESSAGE`, ….
    pub name: Bytes,
    /// Current usage (STORAGE in KiB).
    pub usage: u64,
    /// The limit.
    pub limit: u64,
}

/// ENVELOPE or BODYSTRUCTURE already rendered in IMAP syntax elsewhere; written
/// verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRendered(pub Bytes);

/// One item of a FETCH response (RFC 9051 §7.5.2 `msg-att`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// `FLAGS (...)`
    Flags(Vec<Flag>),
    /// `UID n`
    Uid(u32),
    /// `INTERNALDATE "..."`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u64),
    /// `MODSEQ (n)`
    ModSeq(u64),
    /// `ENVELOPE (...)`, pre-rendered.
    Envelope(PreRendered),
    /// `BODY (...)`, pre-rendered.
    Body(PreRendered),
    /// `BODYSTRUCTURE (...)`, pre-rendered.
    BodyStructure(PreRendered),
    /// `BODY[section]<origin> data`
    BodySection {
        /// The section as asked.
        section: Section,
        /// The partial's offset, when a partial was asked.
        origin: Option<u64>,
        /// The data; `None` writes NIL.
        data: Option<Bytes>,
    },
    /// `BINARY[part]<origin> data` (literal8 when it holds NUL).
    Binary {
        /// Part numbers.
        part: Vec<u32>,
        /// The partial's offset.
        origin: Option<u64>,
        /// The decoded data; `None` writes NIL.
        data: Option<Bytes>,
    },
    /// `BINARY.SIZE[part] n`
    BinarySize {
        /// Part numbers.
        part: Vec<u32>,
        /// Decoded size.
        size: u64,
    },
    /// `RFC822 data`
    Rfc822(Option<Bytes>),
    /// `RFC822.HEADER data`
    Rfc822Header(Option<Bytes>),
    /// `RFC822.TEXT data`
    Rfc822Text(Option<Bytes>),
    /// `EMAILID (objectid)` (RFC 8474 §5.1)
    EmailId(Bytes),
    /// `THREADID (objectid)` or `THREADID NIL` (RFC 8474 §5.2)
    ThreadId(Option<Bytes>),
    /// `PREVIEW nstring` (RFC 8970 §3): UTF-8 text, NIL when not available.
    Preview(Option<Bytes>),
    /// `SAVEDATE "..."` or `SAVEDATE NIL` (RFC 8514 §4.2)
    SaveDate(Option<DateTime>),
}

/// Untagged data (RFC 9051 §7.2-§7.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `* CAPABILITY ...`
    Capability(Vec<Bytes>),
    /// `* ENABLED ...` (RFC 5161)
    Enabled(Vec<Bytes>),
    /// `* ID (...)` or `* ID NIL` (RFC 2971)
    Id(Option<IdParams>),
    /// `* NAMESPACE personal other shared`; `None` writes NIL.
    Namespace {
        /// Personal namespaces.
        personal: Option<Vec<NamespaceDesc>>,
        /// Other users' namespaces.
        other: Option<Vec<NamespaceDesc>>,
        /// Shared namespaces.
        shared: Option<Vec<NamespaceDesc>>,
    },
    /// `* LIST ...`
    List(ListItem),
    /// `* LSUB ...`
    Lsub(ListItem),
    /// `* STATUS mailbox (...)`; a `None` value writes NIL (APPENDLIMIT without limit).
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// Items and values.
        items: Vec<(StatusItem, Option<u64>)>,
    },
    /// `* FLAGS (...)`
    Flags(Vec<Flag>),
    /// `* n EXISTS`
    Exists(u32),
    /// `* n RECENT` (IMAP4rev1)
    Recent(u32),
    /// `* n EXPUNGE`
    Expunge(u32),
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162 §3.2.10)
    Vanished {
        /// `(EARLIER)`.
        earlier: bool,
        /// The UIDs.
        uids: SequenceSet,
    },
    /// `* n FETCH (...)`, all in memory; see [`super::FetchWriter`] to stream.
    Fetch {
        /// The message sequence number.
        seq: u32,
        /// The items.
        items: Vec<FetchItem>,
    },
    /// `* SEARCH n...` with RFC 7162 `(MODSEQ n)`.
    Search {
        /// Matching numbers.
        numbers: Vec<u32>,
        /// Highest mod-sequence of the matches, when MODSEQ was searched.
        modseq: Option<u64>,
    },
    /// `* ESEARCH (TAG "t") [UID] items` (RFC 4731).
    ESearch {
        /// The command's tag.
        tag: Option<Tag>,
        /// Whether the numbers are UIDs.
        uid: bool,
        /// The results.
        items: Vec<ESearchItem>,
    },
    /// `* SORT n...` (RFC 5256)
    Sort {
        /// Numbers in order.
        numbers: Vec<u32>,
        /// RFC 7162 `(MODSEQ n)`.
        modseq: Option<u64>,
    },
    /// `* THREAD (...)...` (RFC 5256)
    Thread(Vec<ThreadNode>),
    /// `* QUOTA root (...)` (RFC 9208)
    Quota {
        /// The quota root.
        root: Bytes,
        /// Its resources.
        resources: Vec<QuotaResource>,
    },
    /// `* QUOTAROOT mailbox root...` (RFC 9208)
    QuotaRoot {
        /// The mailbox.
        mailbox: Mailbox,
        /// Its quota roots.
        roots: Vec<Bytes>,
    },
    /// `* METADATA mailbox (entry value ...)` (RFC 5464 §4.4.1); the mailbox is empty
    /// for server annotations, a value `None` is NIL.
    Metadata {
        /// The mailbox.
        mailbox: Mailbox,
        /// Entry names with their values.
        entries: Vec<(Bytes, Option<Bytes>)>,
    },
}

impl Response {
    /// Appends the response (CRLF included) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>, opts: EncodeOptions) {
        match self {
            Response::Status(s) => s.encode(out, opts),
            Response::Data(d) => super::encode::write_data(out, d, opts),
            Response::Continue(c) => super::encode::write_continuation(out, c),
        }
    }
}

/// Writes a `* ID` parameter list (shared by the encoder).
pub(crate) fn write_id_params(out: &mut Vec<u8>, params: &Option<IdParams>, opts: EncodeOptions) {
    match params {
        None => out.extend_from_slice(b"NIL"),
        Some(params) => write_list(out, params, |out, (k, v)| {
            write_string(out, k, opts);
            out.push(b' ');
            write_nstring(out, v.as_deref(), opts);
        }),
    }
}

/// Writes `(("" "/"))` or NIL (RFC 9051 §9 `Namespace`).
pub(crate) fn write_namespace(
    out: &mut Vec<u8>,
    ns: &Option<Vec<NamespaceDesc>>,
    opts: EncodeOptions,
) {
    match ns {
        None => out.extend_from_slice(b"NIL"),
        Some(list) => {
            out.push(b'(');
            for d in list {
                out.push(b'(');
                write_string(out, &d.prefix, opts);
                out.push(b' ');
                write_delimiter(out, d.delimiter);
                out.push(b')');
            }
            out.push(b')');
        }
    }
}

/// `"/"`, `"\\"` or NIL.
pub(crate) fn write_delimiter(out: &mut Vec<u8>, d: Option<u8>) {
    match d {
        None => out.extend_from_slice(b"NIL"),
        Some(c) => write_quoted(out, &[c]),
    }
}

/// Writes a mailbox in a LIST reply.
pub(crate) fn write_list_item(out: &mut Vec<u8>, item: &ListItem, opts: EncodeOptions) {
    out.push(b'(');
    for (i, a) in item.attributes.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_mailbox_attr(out, a);
    }
    out.extend_from_slice(b") ");
    write_delimiter(out, item.delimiter);
    out.push(b' ');
    write_mailbox(out, &item.mailbox, opts);
    if item.child_info.is_empty() && item.old_name.is_none() {
        return;
    }
    out.extend_from_slice(b" (");
    let mut first = true;
    if !item.child_info.is_empty() {
        out.extend_from_slice(b"\"CHILDINFO\" ");
        write_list(out, &item.child_info, |out, c| write_quoted(out, c));
        first = false;
    }
    if let Some(old) = &item.old_name {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"OLDNAME\" (");
        write_mailbox(out, old, opts);
        out.push(b')');
    }
    out.push(b')');
}

fn write_mailbox_attr(out: &mut Vec<u8>, a: &MailboxAttr) {
    let name: &[u8] = match a {
        MailboxAttr::NoInferiors => b"\\NoInferiors",
        MailboxAttr::NoSelect => b"\\Noselect",
        MailboxAttr::Marked => b"\\Marked",
        MailboxAttr::Unmarked => b"\\Unmarked",
        MailboxAttr::HasChildren => b"\\HasChildren",
        MailboxAttr::HasNoChildren => b"\\HasNoChildren",
        MailboxAttr::NonExistent => b"\\NonExistent",
        MailboxAttr::Subscribed => b"\\Subscribed",
        MailboxAttr::Remote => b"\\Remote",
        MailboxAttr::SpecialUse(u) => match u {
            SpecialUse::All => b"\\All",
            SpecialUse::Archive => b"\\Archive",
            SpecialUse::Drafts => b"\\Drafts",
            SpecialUse::Flagged => b"\\Flagged",
            SpecialUse::Junk => b"\\Junk",
            SpecialUse::Sent => b"\\Sent",
            SpecialUse::Trash => b"\\Trash",
            SpecialUse::Important => b"\\Important",
            SpecialUse::Other(o) => {
                out.push(b'\\');
                o
            }
        },
    };
    out.extend_from_slice(name);
}
