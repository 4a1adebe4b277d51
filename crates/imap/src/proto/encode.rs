//! The response encoder: IMAP strings (atom, quoted or literal as needed), NIL,
//! nstrings, astrings, numbers, untagged data and FETCH responses, including a
//! [`FetchWriter`] that lets the session stream large body sections (RFC 9051 §4, §7,
//! §9).
//!
//! It appends to a caller-owned `Vec<u8>` and never does I/O: the session flushes the
//! buffer, and for streamed items writes the announced octets itself.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::command::StatusItem;
use super::fetch_attr::{Section, write_part};
use super::lexer::is_atom_char;
use super::mailbox::Mailbox;
use super::response::{
    Continuation, Data, ESearchItem, FetchItem, ThreadNode, write_atoms, write_id_params,
    write_list_item, write_namespace,
};

/// Connection-dependent encoding choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    /// UTF8=ACCEPT is enabled (RFC 6855) or IMAP4rev2 is in use: valid UTF-8 may go in
    /// quoted strings. Otherwise 8-bit strings are sent as literals.
    pub utf8: bool,
    /// UIDONLY is enabled (RFC 9586 §3.3): a [`Data::Fetch`] goes out as `* uid
    /// UIDFETCH (...)`, the UID taken from its [`FetchItem::Uid`] item (which is then
    /// not repeated inside).
    pub uid_only: bool,
}

/// Strings longer than this are sent as literals even when they could be quoted.
const MAX_QUOTED: usize = 1024;

/// Appends a decimal number.
pub(crate) fn push_num(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

/// Whether `s` can be sent as an RFC 9051 §9 `quoted`: no CR, LF or NUL; 8-bit only as
/// valid UTF-8 in UTF-8 mode; not too long.
fn quotable(s: &[u8], opts: EncodeOptions) -> bool {
    if s.len() > MAX_QUOTED || s.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return false;
    }
    if s.is_ascii() {
        return true;
    }
    opts.utf8 && std::str::from_utf8(s).is_ok()
}

/// Appends `"..."` escaping `"` and `\`. The caller ensures there is no CR, LF or NUL.
pub(crate) fn write_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends the literal announcement `{n}\r\n` (or `~{n}\r\n` for literal8).
pub fn write_literal_header(out: &mut Vec<u8>, len: u64, literal8: bool) {
    if literal8 {
        out.push(b'~');
    }
    out.push(b'{');
    push_num(out, len);
    out.extend_from_slice(b"}\r\n");
}

/// The octet a NUL becomes in a literal that may not hold one (Dovecot's choice too):
/// one octet for one, so sizes and partial offsets stay true.
const NUL_REPLACEMENT: u8 = 0x80;

/// Appends a literal holding `data`: announcement and octets. RFC 9051 §4.3 forbids
/// NUL in a `literal`; only a `literal8` (RFC 3516 §4.2) may carry one, and only BINARY
/// data may be sent as literal8. So with `binary`, data holding NUL goes out as
/// `~{n}`; otherwise each NUL is replaced by 0x80 and the rest (transfer encoding
/// included) is sent as it is.
pub fn write_literal(out: &mut Vec<u8>, data: &[u8], binary: bool) {
    let has_nul = data.contains(&0);
    write_literal_header(out, data.len() as u64, binary && has_nul);
    if has_nul && !binary {
        out.extend(
            data.iter()
                .map(|&b| if b == 0 { NUL_REPLACEMENT } else { b }),
        );
    } else {
        out.extend_from_slice(data);
    }
}

/// Appends an RFC 9051 §9 `string`: quoted when possible, else a literal (never a
/// literal8: a NUL is replaced, see [`write_literal`]).
pub fn write_string(out: &mut Vec<u8>, s: &[u8], opts: EncodeOptions) {
    if quotable(s, opts) {
        write_quoted(out, s);
    } else {
        write_literal(out, s, false);
    }
}

/// Appends an RFC 9051 §9 `astring`: an atom when possible (never the atom `NIL`, to
/// spare naive clients), else a string.
pub fn write_astring(out: &mut Vec<u8>, s: &[u8], opts: EncodeOptions) {
    let atom = !s.is_empty()
        && s.iter().all(|&b| is_atom_char(b) || b == b']')
        && !s.eq_ignore_ascii_case(b"NIL");
    if atom {
        out.extend_from_slice(s);
    } else {
        write_string(out, s, opts);
    }
}

/// Appends an RFC 9051 §9 `nstring`: NIL or a string.
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>, opts: EncodeOptions) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => write_string(out, s, opts),
    }
}

/// Appends a mailbox name (RFC 9051 §9 `mailbox`).
pub(crate) fn write_mailbox(out: &mut Vec<u8>, m: &Mailbox, opts: EncodeOptions) {
    write_astring(out, m.as_bytes(), opts);
}

/// Appends human text (RFC 9051 §9 `text`: `TEXT-CHAR`s, no CR, LF or NUL), those
/// replaced by spaces.
pub(crate) fn write_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

/// Appends `(a b c)` with `item` writing each element.
pub(crate) fn write_list<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut item: impl FnMut(&mut Vec<u8>, &T),
) {
    out.push(b'(');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        item(out, x);
    }
    out.push(b')');
}

/// Appends a continuation request (RFC 9051 §7.5 `continue-req`).
pub(crate) fn write_continuation(out: &mut Vec<u8>, c: &Continuation) {
    out.extend_from_slice(b"+ ");
    match c {
        Continuation::Text(t) => write_text(out, t),
        Continuation::Base64(data) => out.extend_from_slice(BASE64.encode(data).as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
}

fn write_numbers(out: &mut Vec<u8>, numbers: &[u32]) {
    for n in numbers {
        out.push(b' ');
        push_num(out, u64::from(*n));
    }
}

fn write_modseq_suffix(out: &mut Vec<u8>, modseq: Option<u64>) {
    if let Some(m) = modseq {
        out.extend_from_slice(b" (MODSEQ ");
        push_num(out, m);
        out.push(b')');
    }
}

/// Appends untagged data (RFC 9051 §7.2-§7.5), CRLF included.
pub(crate) fn write_data(out: &mut Vec<u8>, d: &Data, opts: EncodeOptions) {
    out.extend_from_slice(b"* ");
    match d {
        Data::Capability(caps) => {
            out.extend_from_slice(b"CAPABILITY");
            write_atoms(out, caps);
        }
        Data::Enabled(caps) => {
            out.extend_from_slice(b"ENABLED");
            write_atoms(out, caps);
        }
        Data::Id(params) => {
            out.extend_from_slice(b"ID ");
            write_id_params(out, params, opts);
        }
        Data::Namespace {
            personal,
            other,
            shared,
        } => {
            out.extend_from_slice(b"NAMESPACE ");
            write_namespace(out, personal, opts);
            out.push(b' ');
            write_namespace(out, other, opts);
            out.push(b' ');
            write_namespace(out, shared, opts);
        }
        Data::List(item) => {
            out.extend_from_slice(b"LIST ");
            write_list_item(out, item, opts);
        }
        Data::Lsub(item) => {
            out.extend_from_slice(b"LSUB ");
            write_list_item(out, item, opts);
        }
        Data::Status { mailbox, items } => {
            out.extend_from_slice(b"STATUS ");
            write_mailbox(out, mailbox, opts);
            out.push(b' ');
            write_list(out, items, |out, (item, value)| {
                write_status_item(out, *item, *value)
            });
        }
        Data::Flags(flags) => {
            out.extend_from_slice(b"FLAGS ");
            write_list(out, flags, |out, f| f.write(out));
        }
        Data::Exists(n) => number_then(out, *n, b" EXISTS"),
        Data::Recent(n) => number_then(out, *n, b" RECENT"),
        Data::Expunge(n) => number_then(out, *n, b" EXPUNGE"),
        Data::Vanished { earlier, uids } => {
            out.extend_from_slice(if *earlier {
                b"VANISHED (EARLIER) "
            } else {
                b"VANISHED "
            });
            uids.write(out);
        }
        Data::Fetch { seq, items } => {
            let uid = items.iter().find_map(|i| match i {
                FetchItem::Uid(u) => Some(*u),
                _ => None,
            });
            let mut w = match uid {
                Some(uid) if opts.uid_only => FetchWriter::begin_uid_inner(out, uid),
                _ => FetchWriter::begin_inner(out, *seq),
            };
            for item in items {
                if opts.uid_only && uid.is_some() && matches!(item, FetchItem::Uid(_)) {
                    continue;
                }
                w.item(out, item, opts);
            }
            out.push(b')');
        }
        Data::Search { numbers, modseq } => {
            out.extend_from_slice(b"SEARCH");
            write_numbers(out, numbers);
            write_modseq_suffix(out, *modseq);
        }
        Data::Sort { numbers, modseq } => {
            out.extend_from_slice(b"SORT");
            write_numbers(out, numbers);
            write_modseq_suffix(out, *modseq);
        }
        Data::ESearch { tag, uid, items } => write_esearch(out, tag.as_ref(), *uid, items),
        Data::Thread(threads) => {
            out.extend_from_slice(b"THREAD");
            if !threads.is_empty() {
                out.push(b' ');
            }
            for t in threads {
                out.push(b'(');
                write_thread_chain(out, t, true);
                out.push(b')');
            }
        }
        Data::Quota { root, resources } => {
            out.extend_from_slice(b"QUOTA ");
            write_astring(out, root, opts);
            out.push(b' ');
            write_list(out, resources, |out, r| {
                out.extend_from_slice(&r.name);
                out.push(b' ');
                push_num(out, r.usage);
                out.push(b' ');
                push_num(out, r.limit);
            });
        }
        Data::QuotaRoot { mailbox, roots } => {
            out.extend_from_slice(b"QUOTAROOT ");
            write_mailbox(out, mailbox, opts);
            for r in roots {
                out.push(b' ');
                write_astring(out, r, opts);
            }
        }
        Data::Metadata { mailbox, entries } => {
            // RFC 5464 §5 `value = nstring / literal8`: a value holding NUL goes out
            // as literal8, unaltered.
            out.extend_from_slice(b"METADATA ");
            write_mailbox(out, mailbox, opts);
            out.push(b' ');
            write_list(out, entries, |out, (name, value)| {
                write_astring(out, name, opts);
                out.push(b' ');
                match value {
                    Some(v) if v.contains(&0) => write_literal(out, v, true),
                    v => write_nstring(out, v.as_deref(), opts),
                }
            });
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn number_then(out: &mut Vec<u8>, n: u32, word: &[u8]) {
    push_num(out, u64::from(n));
    out.extend_from_slice(word);
}

fn write_status_item(out: &mut Vec<u8>, item: StatusItem, value: Option<u64>) {
    out.extend_from_slice(item.name().as_bytes());
    out.push(b' ');
    match value {
        // RFC 8474 §7 `status-att-value =/ "MAILBOXID" SP "(" objectid ")"`.
        Some(v) if item == StatusItem::MailboxId => {
            out.push(b'(');
            out.extend_from_slice(&super::objectid::mailbox(v));
            out.push(b')');
        }
        Some(v) => push_num(out, v),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// RFC 4731 §3.2 `esearch-response = "ESEARCH" [search-correlator] [SP "UID"]
/// *(SP search-return-data)`.
fn write_esearch(
    out: &mut Vec<u8>,
    tag: Option<&super::command::Tag>,
    uid: bool,
    items: &[ESearchItem],
) {
    out.extend_from_slice(b"ESEARCH");
    if let Some(tag) = tag {
        out.extend_from_slice(b" (TAG ");
        write_quoted(out, tag.as_bytes());
        out.push(b')');
    }
    if uid {
        out.extend_from_slice(b" UID");
    }
    for item in items {
        out.push(b' ');
        match item {
            ESearchItem::Min(n) => number_item(out, b"MIN ", u64::from(*n)),
            ESearchItem::Max(n) => number_item(out, b"MAX ", u64::from(*n)),
            ESearchItem::Count(n) => number_item(out, b"COUNT ", u64::from(*n)),
            ESearchItem::ModSeq(n) => number_item(out, b"MODSEQ ", *n),
            ESearchItem::All(set) => {
                out.extend_from_slice(b"ALL ");
                set.write(out);
            }
            // RFC 9394 §4 `"PARTIAL" SP "(" partial-range SP partial-results ")"`,
            // `partial-results = sequence-set / "NIL"`.
            ESearchItem::Partial(range, results) => {
                out.extend_from_slice(b"PARTIAL (");
                range.write(out);
                out.push(b' ');
                match results {
                    Some(set) => set.write(out),
                    None => out.extend_from_slice(b"NIL"),
                }
                out.push(b')');
            }
        }
    }
}

fn number_item(out: &mut Vec<u8>, name: &[u8], n: u64) {
    out.extend_from_slice(name);
    push_num(out, n);
}

/// RFC 5256 §5 `thread-list = "(" (thread-members / thread-nested) ")"`: writes the
/// inside of one list for `node` (a chain of single replies, then nested lists).
fn write_thread_chain(out: &mut Vec<u8>, node: &ThreadNode, first: bool) {
    let mut node = node;
    let mut first = first;
    loop {
        if let Some(n) = node.message {
            if !first {
                out.push(b' ');
            }
            push_num(out, u64::from(n));
            first = false;
        }
        match node.children.as_slice() {
            [] => return,
            [only] if node.message.is_some() => node = only,
            children => {
                if !first {
                    out.push(b' ');
                }
                for child in children {
                    out.push(b'(');
                    write_thread_chain(out, child, true);
                    out.push(b')');
                }
                return;
            }
        }
    }
}

/// Which item a streamed FETCH value belongs to (see [`FetchWriter::streamed`]).
#[derive(Debug, Clone, Copy)]
pub enum StreamedItem<'a> {
    /// `BODY[section]<origin>`
    BodySection {
        /// The section as asked.
        section: &'a Section,
        /// The partial's offset.
        origin: Option<u64>,
    },
    /// `BINARY[part]<origin>`
    Binary {
        /// Part numbers.
        part: &'a [u32],
        /// The partial's offset.
        origin: Option<u64>,
    },
    /// `RFC822`
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.TEXT`
    Rfc822Text,
}

/// Writes one `* n FETCH (...)` response item by item, so that large values go
/// straight from the loaded message into the output buffer (the session flushes it
/// between messages when it grows large).
///
/// ```
/// # use pillarbox_imap::proto::*;
/// let mut out = Vec::new();
/// let opts = EncodeOptions::default();
/// let mut w = FetchWriter::begin(&mut out, 12);
/// w.item(&mut out, &FetchItem::Uid(42), opts);
/// w.streamed(&mut out, StreamedItem::Rfc822, b"hel\0o");
/// w.end(&mut out);
/// assert_eq!(out, b"* 12 FETCH (UID 42 RFC822 {5}\r\nhel\x80o)\r\n");
/// ```
#[derive(Debug)]
pub struct FetchWriter {
    first: bool,
}

impl FetchWriter {
    /// Writes `* seq FETCH (`.
    pub fn begin(out: &mut Vec<u8>, seq: u32) -> FetchWriter {
        out.extend_from_slice(b"* ");
        Self::begin_inner(out, seq)
    }

    fn begin_inner(out: &mut Vec<u8>, seq: u32) -> FetchWriter {
        push_num(out, u64::from(seq));
        out.extend_from_slice(b" FETCH (");
        FetchWriter { first: true }
    }

    /// Writes `* uid UIDFETCH (` (RFC 9586 §3.3, once UIDONLY is enabled).
    pub fn begin_uid(out: &mut Vec<u8>, uid: u32) -> FetchWriter {
        out.extend_from_slice(b"* ");
        Self::begin_uid_inner(out, uid)
    }

    fn begin_uid_inner(out: &mut Vec<u8>, uid: u32) -> FetchWriter {
        push_num(out, u64::from(uid));
        out.extend_from_slice(b" UIDFETCH (");
        FetchWriter { first: true }
    }

    fn separator(&mut self, out: &mut Vec<u8>) {
        if !self.first {
            out.push(b' ');
        }
        self.first = false;
    }

    /// Writes one item held in memory.
    pub fn item(&mut self, out: &mut Vec<u8>, item: &FetchItem, opts: EncodeOptions) {
        self.separator(out);
        write_fetch_item(out, item, opts);
    }

    /// Writes an item's name and its value `data` as a literal: `~{n}` for BINARY data
    /// holding NUL, NUL replaced by 0x80 in every other item (see [`write_literal`]).
    pub fn streamed(&mut self, out: &mut Vec<u8>, item: StreamedItem<'_>, data: &[u8]) {
        self.separator(out);
        let binary = matches!(item, StreamedItem::Binary { .. });
        match item {
            StreamedItem::BodySection { section, origin } => {
                write_section_name(out, section, origin, EncodeOptions::default())
            }
            StreamedItem::Binary { part, origin } => write_binary_name(out, part, origin),
            StreamedItem::Rfc822 => out.extend_from_slice(b"RFC822"),
            StreamedItem::Rfc822Header => out.extend_from_slice(b"RFC822.HEADER"),
            StreamedItem::Rfc822Text => out.extend_from_slice(b"RFC822.TEXT"),
        }
        out.push(b' ');
        write_literal(out, data, binary);
    }

    /// Writes the closing `)` and CRLF.
    pub fn end(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b")\r\n");
    }
}

fn write_section_name(
    out: &mut Vec<u8>,
    section: &Section,
    origin: Option<u64>,
    opts: EncodeOptions,
) {
    out.extend_from_slice(b"BODY");
    section.write(out, opts);
    write_origin(out, origin);
}

fn write_binary_name(out: &mut Vec<u8>, part: &[u32], origin: Option<u64>) {
    out.extend_from_slice(b"BINARY[");
    write_part(out, part);
    out.push(b']');
    write_origin(out, origin);
}

fn write_origin(out: &mut Vec<u8>, origin: Option<u64>) {
    if let Some(o) = origin {
        out.push(b'<');
        push_num(out, o);
        out.push(b'>');
    }
}

/// Body data: always a literal when present (bodies are rarely quotable and clients
/// expect literals), NIL when absent.
fn write_body_data(out: &mut Vec<u8>, data: Option<&[u8]>, binary: bool) {
    match data {
        None => out.extend_from_slice(b"NIL"),
        Some(d) => write_literal(out, d, binary),
    }
}

/// RFC 9051 §9 `msg-att-dynamic` / `msg-att-static`, RFC 3516 §6, RFC 7162 §7,
/// RFC 8474 §7 (EMAILID, THREADID), RFC 8970 §6 (PREVIEW), RFC 8514 §5 (SAVEDATE).
fn write_fetch_item(out: &mut Vec<u8>, item: &FetchItem, opts: EncodeOptions) {
    match item {
        FetchItem::Flags(flags) => {
            out.extend_from_slice(b"FLAGS ");
            write_list(out, flags, |out, f| f.write(out));
        }
        FetchItem::Uid(n) => number_item(out, b"UID ", u64::from(*n)),
        FetchItem::InternalDate(d) => {
            out.extend_from_slice(b"INTERNALDATE ");
            d.write(out);
        }
        FetchItem::Rfc822Size(n) => number_item(out, b"RFC822.SIZE ", *n),
        FetchItem::ModSeq(n) => {
            number_item(out, b"MODSEQ (", *n);
            out.push(b')');
        }
        FetchItem::Envelope(r) => pre_rendered(out, b"ENVELOPE ", &r.0),
        FetchItem::Body(r) => pre_rendered(out, b"BODY ", &r.0),
        FetchItem::BodyStructure(r) => pre_rendered(out, b"BODYSTRUCTURE ", &r.0),
        FetchItem::BodySection {
            section,
            origin,
            data,
        } => {
            write_section_name(out, section, *origin, opts);
            out.push(b' ');
            write_body_data(out, data.as_deref(), false);
        }
        FetchItem::Binary { part, origin, data } => {
            write_binary_name(out, part, *origin);
            out.push(b' ');
            write_body_data(out, data.as_deref(), true);
        }
        FetchItem::BinarySize { part, size } => {
            out.extend_from_slice(b"BINARY.SIZE[");
            write_part(out, part);
            out.extend_from_slice(b"] ");
            push_num(out, *size);
        }
        FetchItem::Rfc822(d) => {
            out.extend_from_slice(b"RFC822 ");
            write_body_data(out, d.as_deref(), false);
        }
        FetchItem::Rfc822Header(d) => {
            out.extend_from_slice(b"RFC822.HEADER ");
            write_body_data(out, d.as_deref(), false);
        }
        FetchItem::Rfc822Text(d) => {
            out.extend_from_slice(b"RFC822.TEXT ");
            write_body_data(out, d.as_deref(), false);
        }
        FetchItem::EmailId(id) => {
            out.extend_from_slice(b"EMAILID (");
            out.extend_from_slice(id);
            out.push(b')');
        }
        FetchItem::ThreadId(None) => out.extend_from_slice(b"THREADID NIL"),
        FetchItem::ThreadId(Some(id)) => {
            out.extend_from_slice(b"THREADID (");
            out.extend_from_slice(id);
            out.push(b')');
        }
        FetchItem::SaveDate(None) => out.extend_from_slice(b"SAVEDATE NIL"),
        FetchItem::SaveDate(Some(d)) => {
            out.extend_from_slice(b"SAVEDATE ");
            d.write(out);
        }
        FetchItem::Preview(text) => {
            out.extend_from_slice(b"PREVIEW ");
            write_nstring(out, text.as_deref(), opts);
        }
    }
}

fn pre_rendered(out: &mut Vec<u8>, name: &[u8], rendered: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(rendered);
}
