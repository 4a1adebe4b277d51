//! FETCH data items as the client asks for them (RFC 9051 §6.4.5, §9 `fetch-att`,
//! `section`, `partial`; RFC 3516 BINARY; RFC 7162 MODSEQ; RFC 8474 EMAILID, THREADID;
//! RFC 8970 PREVIEW).
//!
//! Plain data shared by the parser and the response encoder (sections are echoed back
//! in FETCH responses). No I/O.

use bytes::Bytes;

use super::encode::{EncodeOptions, push_num, write_astring};

/// `<offset.length>` (RFC 9051 §9 `partial`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// First octet wanted, from 0.
    pub offset: u64,
    /// How many octets at most, never 0.
    pub length: u64,
}

/// The text part of a section specifier (RFC 9051 §9 `section-text`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)`
    HeaderFields(Vec<Bytes>),
    /// `HEADER.FIELDS.NOT (names)`
    HeaderFieldsNot(Vec<Bytes>),
    /// `TEXT`
    Text,
    /// `MIME` (only after a part number)
    Mime,
}

/// `[1.2.HEADER]`: part numbers and an optional text specifier (RFC 9051 §9 `section`).
/// `[]` is the default: no part, no text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// Part numbers, outermost first; empty for the whole message.
    pub part: Vec<u32>,
    /// `HEADER`, `TEXT`, ….
    pub text: Option<SectionText>,
}

impl Section {
    /// Appends the bracketed wire form, e.g. `[1.2.HEADER.FIELDS (From To)]`.
    pub fn write(&self, out: &mut Vec<u8>, opts: EncodeOptions) {
        out.push(b'[');
        write_part(out, &self.part);
        if let Some(text) = &self.text {
            if !self.part.is_empty() {
                out.push(b'.');
            }
            let (name, fields): (&[u8], Option<&[Bytes]>) = match text {
                SectionText::Header => (b"HEADER", None),
                SectionText::HeaderFields(f) => (b"HEADER.FIELDS", Some(f)),
                SectionText::HeaderFieldsNot(f) => (b"HEADER.FIELDS.NOT", Some(f)),
                SectionText::Text => (b"TEXT", None),
                SectionText::Mime => (b"MIME", None),
            };
            out.extend_from_slice(name);
            if let Some(fields) = fields {
                out.extend_from_slice(b" (");
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    write_astring(out, f, opts);
                }
                out.push(b')');
            }
        }
        out.push(b']');
    }
}

/// Appends `1.2.3` (nothing for an empty part).
pub(crate) fn write_part(out: &mut Vec<u8>, part: &[u32]) {
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        push_num(out, u64::from(*n));
    }
}

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822` (= `BODY[]`)
    Rfc822,
    /// `RFC822.HEADER` (= `BODY.PEEK[HEADER]`)
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT` (= `BODY[TEXT]`)
    Rfc822Text,
    /// `BODY` without a section: the non-extensible body structure.
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `MODSEQ` (RFC 7162 §3.1.4.1)
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `BODY.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section.
        section: Section,
        /// `<offset.length>`.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516 §4.2).
    Binary {
        /// `BINARY.PEEK`.
        peek: bool,
        /// Part numbers; empty for the whole message.
        part: Vec<u32>,
        /// `<offset.length>`.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516 §4.2).
    BinarySize {
        /// Part numbers.
        part: Vec<u32>,
    },
    /// `EMAILID` (RFC 8474 §5.1)
    EmailId,
    /// `THREADID` (RFC 8474 §5.2)
    ThreadId,
    /// `SAVEDATE` (RFC 8514 §4.2)
    SaveDate,
    /// `PREVIEW` or `PREVIEW (LAZY)` (RFC 8970 §3)
    Preview {
        /// `LAZY`: the server may answer NIL rather than compute the preview now.
        lazy: bool,
    },
}

/// What a FETCH asks for: a macro or a list of items.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttrs {
    /// `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`
    All,
    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`
    Fast,
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`
    Full,
    /// One item, or several in parentheses.
    List(Vec<FetchAttr>),
}

impl FetchAttrs {
    /// The items, macros expanded (RFC 9051 §6.4.5).
    pub fn expand(&self) -> Vec<FetchAttr> {
        use FetchAttr as A;
        match self {
            FetchAttrs::All => vec![A::Flags, A::InternalDate, A::Rfc822Size, A::Envelope],
            FetchAttrs::Fast => vec![A::Flags, A::InternalDate, A::Rfc822Size],
            FetchAttrs::Full => vec![
                A::Flags,
                A::InternalDate,
                A::Rfc822Size,
                A::Envelope,
                A::Body,
            ],
            FetchAttrs::List(items) => items.clone(),
        }
    }
}
