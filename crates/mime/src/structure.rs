//! The stored result of parsing: [`MessageStructure`] and its tree of [`BodyPart`]s
//! with byte offsets into the raw message, plus IMAP section-number lookup
//! (RFC 9051 §6.4.5).
//!
//! Plain data with serde derives so the store can keep it next to the blob; building
//! it is `parser`'s job. Never touches the raw message except to slice it on request.
//! Does no I/O.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::content_type::{ContentDisposition, ContentType};
use crate::envelope::Envelope;
use crate::sort_keys::SortKeys;
use crate::transfer::TransferEncoding;

/// Everything IMAP needs about a message, computed once at delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStructure {
    /// ENVELOPE of the message.
    pub envelope: Envelope,
    /// The message itself as a part: its header is the message header, its body the
    /// message body (`BODY[HEADER]`, `BODY[TEXT]`).
    pub root: BodyPart,
    /// SORT and THREAD keys.
    pub sort_keys: SortKeys,
}

/// One MIME entity. Offsets index the raw message: `header_start..body_start` is the
/// header including its blank line (`BODY[n.MIME]`), `body_start..body_end` the body
/// (`BODY[n]`). Before a boundary, the line break that precedes it belongs to the
/// boundary (RFC 2046 §5.1.1), not to the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyPart {
    /// Offset of the first header line.
    pub header_start: u64,
    /// Offset of the first body byte (after the blank line).
    pub body_start: u64,
    /// Offset after the last body byte.
    pub body_end: u64,
    /// Lines in the body (IMAP reports it for `text/*` and `message/rfc822`).
    #[serde(default)]
    pub lines: u64,
    /// Content-Type, with the RFC 2045/2046 defaults applied.
    pub content_type: ContentType,
    /// Content-ID, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// Content-Description, raw (not decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_description: Option<String>,
    /// Content-Transfer-Encoding, raw token; `None` means 7bit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_transfer_encoding: Option<String>,
    /// Content-MD5, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_md5: Option<String>,
    /// Content-Disposition with its parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<ContentDisposition>,
    /// Content-Language tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_language: Vec<String>,
    /// Content-Location, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_location: Option<String>,
    /// Children or embedded message.
    #[serde(default, skip_serializing_if = "PartBody::is_single")]
    pub body: PartBody,
}

/// What a part contains beyond its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartBody {
    /// A leaf. A `message/rfc822` part is a leaf when it was not parsed (transfer
    /// encoded, or beyond the nesting limit): present it as a basic body.
    #[default]
    Single,
    /// The parts of a multipart, at least one.
    Multipart(Vec<BodyPart>),
    /// The message inside a `message/rfc822` or `message/global` part.
    Message(Box<EmbeddedMessage>),
}

impl PartBody {
    /// Whether this is [`PartBody::Single`].
    pub fn is_single(&self) -> bool {
        matches!(self, PartBody::Single)
    }
}

/// A message embedded in a `message/rfc822` part: its ENVELOPE and its root part
/// (whose header is the embedded message's header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedMessage {
    /// ENVELOPE of the embedded message.
    pub envelope: Envelope,
    /// The embedded message as a part.
    pub root: BodyPart,
}

fn to_index(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

impl BodyPart {
    /// Byte range of the header block, blank line included.
    pub fn header_range(&self) -> Range<usize> {
        to_index(self.header_start)..to_index(self.body_start)
    }

    /// Byte range of the body.
    pub fn body_range(&self) -> Range<usize> {
        to_index(self.body_start)..to_index(self.body_end)
    }

    /// The header block sliced from `raw` (empty if `raw` is not the parsed message).
    pub fn header<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.header_range()).unwrap_or_default()
    }

    /// The body sliced from `raw` (empty if `raw` is not the parsed message).
    pub fn body<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.body_range()).unwrap_or_default()
    }

    /// Body size in octets, as transferred (IMAP `body-fld-octets`).
    pub fn size(&self) -> u64 {
        self.body_end.saturating_sub(self.body_start)
    }

    /// The transfer encoding, 7bit when absent.
    pub fn transfer_encoding(&self) -> TransferEncoding {
        TransferEncoding::from_field(self.content_transfer_encoding.as_deref())
    }

    /// The charset parameter, if any.
    pub fn charset(&self) -> Option<&str> {
        self.content_type.parameter("charset")
    }

    /// Children of a multipart (empty for other parts).
    pub fn children(&self) -> &[BodyPart] {
        match &self.body {
            PartBody::Multipart(children) => children,
            _ => &[],
        }
    }

    /// The embedded message of a parsed `message/rfc822` part.
    pub fn embedded_message(&self) -> Option<&EmbeddedMessage> {
        match &self.body {
            PartBody::Message(message) => Some(message),
            _ => None,
        }
    }

    /// Calls `visit` on this part and every part below it, depth first, including
    /// the roots of embedded messages.
    pub fn visit(&self, visit: &mut impl FnMut(&BodyPart)) {
        visit(self);
        match &self.body {
            PartBody::Single => {}
            PartBody::Multipart(children) => children.iter().for_each(|c| c.visit(visit)),
            PartBody::Message(message) => message.root.visit(visit),
        }
    }

    /// Part `number` (1-based) of the body of this entity, following RFC 9051 §6.4.5:
    /// a multipart's children; for a message/rfc822, the parts of the embedded
    /// message's body; for a non-multipart message body, only part 1 (itself).
    fn subpart(&self, number: u32) -> Option<&BodyPart> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        match &self.body {
            PartBody::Multipart(children) => children.get(index),
            PartBody::Message(message) => message.root.subpart_of_message_body(index),
            PartBody::Single => None,
        }
    }

    fn subpart_of_message_body(&self, index: usize) -> Option<&BodyPart> {
        match &self.body {
            PartBody::Multipart(children) => children.get(index),
            _ => (index == 0).then_some(self),
        }
    }
}

impl MessageStructure {
    /// The part named by an IMAP section number such as `[2, 1]` for `BODY[2.1]`;
    /// `[]` is the whole message. `None` when no such part exists.
    pub fn part(&self, section: &[u32]) -> Option<&BodyPart> {
        let (first, rest) = match section.split_first() {
            None => return Some(&self.root),
            Some(split) => split,
        };
        let index = usize::try_from(*first).ok()?.checked_sub(1)?;
        let mut part = self.root.subpart_of_message_body(index)?;
        for number in rest {
            part = part.subpart(*number)?;
        }
        Some(part)
    }

    /// The number of parts in the tree, embedded message roots included.
    pub fn part_count(&self) -> usize {
        let mut count = 0;
        self.root.visit(&mut |_| count += 1);
        count
    }
}
