//! The one-pass MIME parser: walks the raw message line by line with a stack of open
//! entities and produces a [`MessageStructure`].
//!
//! Each line is looked at once: as a header line of the entity being read, as a
//! boundary delimiter of any open multipart (innermost first, so a missing inner
//! close delimiter is forgiven), or as body. Line counts come from a running count
//! of line feeds, so nothing is rescanned and the body is never copied. Nesting and
//! part counts are capped. Never panics, does no I/O.

use crate::content_type::{
    ContentType, parse_content_disposition, parse_content_type, parse_language_list,
};
use crate::envelope::Envelope;
use crate::header::{field_colon, header_fields, is_blank_line, is_continuation_line, unfold};
use crate::lines::{Line, line_at, terminator_before};
use crate::sort_keys::SortKeys;
use crate::structure::{BodyPart, EmbeddedMessage, MessageStructure, PartBody};

/// Deepest nesting of multiparts and embedded messages that is parsed; deeper
/// containers are kept as leaves. 32 keeps the stored JSON within serde_json's
/// default recursion limit.
pub const MAX_DEPTH: usize = 32;
/// Most parts parsed in one message; later parts are left inside the last epilogue.
pub const MAX_PARTS: usize = 10_000;

/// Parses a raw message. Never fails: broken MIME yields the structure a tolerant
/// reader would see.
pub fn parse(raw: &[u8]) -> MessageStructure {
    let mut parser = Parser {
        raw,
        stack: vec![Frame::new(0, 0, true, false)],
        part_count: 1,
        lf_count: 0,
        finished: None,
        root_envelope: None,
    };
    let mut pos = 0;
    while let Some(line) = line_at(raw, pos) {
        parser.process_line(line);
        if line.has_lf() {
            parser.lf_count += 1;
        }
        pos = line.next;
    }
    let root = parser.finish();
    let header = root.header(raw);
    let envelope = parser.root_envelope.take().unwrap_or_default();
    let sort_keys = SortKeys::from_header_block(header);
    MessageStructure {
        envelope,
        root,
        sort_keys,
    }
}

#[derive(Debug)]
enum Phase {
    Header,
    Leaf,
    Multipart { boundary: Vec<u8>, epilogue: bool },
    Message,
}

/// An entity being read.
struct Frame {
    part: BodyPart,
    phase: Phase,
    depth: usize,
    /// Line feeds before `body_start`.
    body_start_lf: u64,
    /// Whether this entity is a message (top level or embedded), so it has an envelope.
    is_message: bool,
    /// Whether the parent is a multipart/digest (default type message/rfc822).
    in_digest: bool,
    envelope: Option<Envelope>,
    children: Vec<BodyPart>,
    embedded: Option<EmbeddedMessage>,
}

impl Frame {
    fn new(header_start: usize, depth: usize, is_message: bool, in_digest: bool) -> Self {
        let start = header_start as u64;
        Frame {
            part: BodyPart {
                header_start: start,
                body_start: start,
                body_end: start,
                lines: 0,
                content_type: ContentType::default_text(),
                content_id: None,
                content_description: None,
                content_transfer_encoding: None,
                content_md5: None,
                content_disposition: None,
                content_language: Vec::new(),
                content_location: None,
                body: PartBody::Single,
            },
            phase: Phase::Header,
            depth,
            body_start_lf: 0,
            is_message,
            in_digest,
            envelope: None,
            children: Vec::new(),
            embedded: None,
        }
    }
}

struct Parser<'a> {
    raw: &'a [u8],
    stack: Vec<Frame>,
    part_count: usize,
    lf_count: u64,
    finished: Option<BodyPart>,
    root_envelope: Option<Envelope>,
}

impl Parser<'_> {
    fn process_line(&mut self, line: Line) {
        // A line ending a header without a blank line is looked at again as body;
        // each retry either leaves the header phase or pushes one empty-header
        // entity, so three rounds always suffice.
        for _ in 0..3 {
            let content = &self.raw[line.start..line.content_end];
            if content.starts_with(b"--")
                && let Some((index, closing)) = self.match_delimiter(content)
            {
                self.on_delimiter(index, closing, line);
                return;
            }
            let in_header = matches!(self.stack.last().map(|f| &f.phase), Some(Phase::Header));
            if !in_header {
                return;
            }
            if is_blank_line(content) {
                let lf_after = self.lf_count + u64::from(line.has_lf());
                self.end_header(line.next, lf_after);
                return;
            }
            if is_continuation_line(content) || field_colon(content).is_some() {
                return;
            }
            self.end_header(line.start, self.lf_count);
        }
    }

    /// The innermost open multipart whose boundary this line delimits, and whether
    /// it is the close delimiter (RFC 2046 §5.1.1; trailing whitespace allowed).
    fn match_delimiter(&self, content: &[u8]) -> Option<(usize, bool)> {
        let after_dashes = &content[2..];
        self.stack
            .iter()
            .enumerate()
            .rev()
            .find_map(|(index, frame)| {
                let Phase::Multipart {
                    boundary,
                    epilogue: false,
                } = &frame.phase
                else {
                    return None;
                };
                let rest = after_dashes.strip_prefix(boundary.as_slice())?;
                if rest.starts_with(b"--") {
                    Some((index, true))
                } else if rest.iter().all(|&b| b == b' ' || b == b'\t') {
                    Some((index, false))
                } else {
                    None
                }
            })
    }

    fn on_delimiter(&mut self, index: usize, closing: bool, line: Line) {
        let end = line.start - terminator_before(self.raw, line.start);
        let lf_at_end = if end < line.start {
            self.lf_count.saturating_sub(1)
        } else {
            self.lf_count
        };
        while self.stack.len() > index + 1 {
            self.close_top(end, lf_at_end);
        }
        let Some(frame) = self.stack.get_mut(index) else {
            return;
        };
        let opens_child = !closing && self.part_count < MAX_PARTS;
        if let Phase::Multipart { epilogue, .. } = &mut frame.phase {
            *epilogue = !opens_child;
        }
        if opens_child {
            let in_digest = frame.part.content_type.is("multipart", "digest");
            let child = Frame::new(line.next, frame.depth + 1, false, in_digest);
            self.part_count += 1;
            self.stack.push(child);
        }
    }

    /// Ends the header of the top entity; its body starts at `body_start`.
    fn end_header(&mut self, body_start: usize, body_start_lf: u64) {
        let raw = self.raw;
        let part_count = self.part_count;
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        let header_start = usize::try_from(frame.part.header_start).unwrap_or(body_start);
        let header = raw.get(header_start..body_start).unwrap_or_default();
        read_mime_fields(header, frame.in_digest, &mut frame.part);
        frame.part.body_start = body_start as u64;
        frame.part.body_end = body_start as u64;
        frame.body_start_lf = body_start_lf;
        if frame.is_message {
            frame.envelope = Some(Envelope::from_header_block(header));
        }
        frame.phase = next_phase(frame, part_count);
        if matches!(frame.phase, Phase::Message) {
            let embedded = Frame::new(body_start, frame.depth + 1, true, false);
            self.part_count += 1;
            self.stack.push(embedded);
        }
    }

    /// Closes the top entity: its body ends at `end` (clamped to its start), with
    /// `lf_at_end` line feeds before `end`. An unfinished header ends there too, so
    /// an embedded message always ends with its container.
    fn close_top(&mut self, end: usize, lf_at_end: u64) {
        if let Some(top) = self
            .stack
            .last()
            .filter(|f| matches!(f.phase, Phase::Header))
        {
            let header_start = usize::try_from(top.part.header_start).unwrap_or(end);
            let cut = end.max(header_start);
            let lf = if cut == end { lf_at_end } else { self.lf_count };
            self.end_header(cut, lf);
            if let Some(top) = self
                .stack
                .last_mut()
                .filter(|f| matches!(f.phase, Phase::Header))
            {
                // A freshly pushed embedded message with nothing in it.
                top.phase = Phase::Leaf;
                top.body_start_lf = lf;
            }
        }
        let Some(mut frame) = self.stack.pop() else {
            return;
        };
        // A child whose header ran up to the delimiter may end after `end`; the
        // container grows to hold it (at most to the delimiter line's start).
        let inner_end = match (&frame.embedded, frame.children.last()) {
            (Some(message), _) => Some(message.root.body_end),
            (None, Some(child)) => Some(child.body_end),
            (None, None) => None,
        };
        let (end, lf_at_end) = match inner_end.and_then(|e| usize::try_from(e).ok()) {
            Some(inner_end) if inner_end > end => (inner_end, self.lf_count),
            _ => (end, lf_at_end),
        };
        let body_start = usize::try_from(frame.part.body_start).unwrap_or(end);
        let end = end.max(body_start);
        frame.part.body_end = end as u64;
        frame.part.lines = if end > body_start {
            let unterminated = self.raw.get(end - 1) != Some(&b'\n');
            lf_at_end.saturating_sub(frame.body_start_lf) + u64::from(unterminated)
        } else {
            0
        };
        let part = finish_frame(frame.part, frame.phase, frame.children, frame.embedded);
        match self.stack.last_mut() {
            None => {
                self.root_envelope = frame.envelope;
                self.finished = Some(part);
            }
            Some(parent) => match parent.phase {
                Phase::Message => {
                    parent.embedded = Some(EmbeddedMessage {
                        envelope: frame.envelope.unwrap_or_default(),
                        root: part,
                    });
                }
                _ => parent.children.push(part),
            },
        }
    }

    fn finish(&mut self) -> BodyPart {
        let end = self.raw.len();
        while !self.stack.is_empty() {
            self.close_top(end, self.lf_count);
        }
        self.finished
            .take()
            .unwrap_or_else(|| Frame::new(0, 0, true, false).part)
    }
}

/// Decides how the body of an entity whose header was just read is parsed.
fn next_phase(frame: &mut Frame, part_count: usize) -> Phase {
    let can_nest = frame.depth < MAX_DEPTH;
    let content_type = &frame.part.content_type;
    if content_type.media_type == "multipart" {
        let boundary = content_type
            .parameter("boundary")
            .map(|b| b.trim_end().as_bytes().to_vec())
            .filter(|b| !b.is_empty());
        return match boundary {
            Some(boundary) if can_nest => Phase::Multipart {
                boundary,
                epilogue: false,
            },
            Some(_) => Phase::Leaf,
            None => {
                // RFC 2046 requires a boundary: treat as the RFC 2045 default type.
                frame.part.content_type = ContentType::default_text();
                Phase::Leaf
            }
        };
    }
    let is_message = content_type.is("message", "rfc822") || content_type.is("message", "global");
    let encoding_is_identity = frame.part.transfer_encoding().is_identity();
    if is_message && encoding_is_identity && can_nest && part_count < MAX_PARTS {
        Phase::Message
    } else {
        Phase::Leaf
    }
}

/// Builds the final part from a closed frame.
fn finish_frame(
    mut part: BodyPart,
    phase: Phase,
    children: Vec<BodyPart>,
    embedded: Option<EmbeddedMessage>,
) -> BodyPart {
    part.body = match phase {
        Phase::Multipart { .. } if children.is_empty() => {
            // No delimiter at all: the body is one text part as a non-MIME reader sees it.
            part.content_type = ContentType::default_text();
            PartBody::Single
        }
        Phase::Multipart { .. } => PartBody::Multipart(children),
        Phase::Message => embedded.map_or(PartBody::Single, |m| PartBody::Message(Box::new(m))),
        Phase::Header | Phase::Leaf => PartBody::Single,
    };
    part
}

fn raw_text(value: &[u8]) -> String {
    String::from_utf8_lossy(&unfold(value)).into_owned()
}

/// Fills the MIME fields of `part` from its header block, applying the default
/// Content-Type of RFC 2045 §5.2 or, inside multipart/digest, RFC 2046 §5.1.5.
fn read_mime_fields(header: &[u8], in_digest: bool, part: &mut BodyPart) {
    let mut content_type = None;
    for field in header_fields(header) {
        let is = |n: &str| field.is_named(n);
        if is("content-type") {
            if content_type.is_none() {
                // An invalid first Content-Type still counts, as the default.
                content_type = Some(parse_content_type(&unfold(field.value)));
            }
        } else if is("content-id") {
            part.content_id.get_or_insert_with(|| raw_text(field.value));
        } else if is("content-description") {
            part.content_description
                .get_or_insert_with(|| raw_text(field.value));
        } else if is("content-transfer-encoding") {
            part.content_transfer_encoding
                .get_or_insert_with(|| raw_text(field.value));
        } else if is("content-md5") {
            part.content_md5
                .get_or_insert_with(|| raw_text(field.value));
        } else if is("content-disposition") {
            if part.content_disposition.is_none() {
                part.content_disposition = parse_content_disposition(&unfold(field.value));
            }
        } else if is("content-language") {
            if part.content_language.is_empty() {
                part.content_language = parse_language_list(&unfold(field.value));
            }
        } else if is("content-location") {
            part.content_location
                .get_or_insert_with(|| raw_text(field.value));
        }
    }
    part.content_type = match content_type {
        Some(Some(parsed)) => parsed,
        Some(None) => ContentType::default_text(),
        None if in_digest => ContentType::default_digest_member(),
        None => ContentType::default_text(),
    };
}
