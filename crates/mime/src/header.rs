//! Header blocks: splitting a block into fields, unfolding values, finding fields by
//! name, and extracting the raw lines IMAP `BODY[HEADER.FIELDS (...)]` and
//! `HEADER.FIELDS.NOT` return.
//!
//! Works on the raw bytes of one header block and never decodes (RFC 2047 decoding
//! lives in `encoded_word`). Does no I/O.

use crate::lines::{Line, Lines};

/// One header field of a block, borrowed from the raw message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The field name as written, without the colon or whitespace before it.
    pub name: &'a [u8],
    /// The raw value after the colon, still folded, without the final line terminator.
    pub value: &'a [u8],
    /// The whole field: every line of it, with their terminators.
    pub raw: &'a [u8],
    /// Offset of `raw` within the block the field was read from.
    pub offset: usize,
}

impl HeaderField<'_> {
    /// Whether the field's name equals `name`, ignoring ASCII case.
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value with line breaks removed and surrounding whitespace trimmed.
    pub fn unfolded(&self) -> Vec<u8> {
        unfold(self.value)
    }
}

fn is_wsp(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Offset of the colon when `line` starts a header field (`name *WSP ":"`), else `None`.
/// The name must be printable US-ASCII without spaces (RFC 5322 §2.2, §4.5.3).
pub(crate) fn field_colon(line: &[u8]) -> Option<usize> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name_end = line[..colon]
        .iter()
        .rposition(|&b| !is_wsp(b))
        .map_or(0, |i| i + 1);
    let name = &line[..name_end];
    if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
        return None;
    }
    Some(colon)
}

/// Whether a line (without terminator) is blank, i.e. ends a header block.
pub(crate) fn is_blank_line(line: &[u8]) -> bool {
    line.is_empty() || line == b"\r"
}

/// Whether a line (without terminator) continues the previous header field.
pub(crate) fn is_continuation_line(line: &[u8]) -> bool {
    line.first().is_some_and(|&b| is_wsp(b))
}

/// Offset where the body starts: after the first blank line, or at the first line that
/// is neither a header field nor a continuation, or at the end of `raw`.
pub fn header_end(raw: &[u8]) -> usize {
    for line in Lines::new(raw) {
        let content = &raw[line.start..line.content_end];
        if is_blank_line(content) {
            return line.next;
        }
        if !is_continuation_line(content) && field_colon(content).is_none() {
            return line.start;
        }
    }
    raw.len()
}

/// Iterator over the fields of a header block (stops at the first blank line).
pub struct HeaderFields<'a> {
    block: &'a [u8],
    lines: std::iter::Peekable<Lines<'a>>,
}

impl<'a> Iterator for HeaderFields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        loop {
            let first: Line = self.lines.next()?;
            let content = &self.block[first.start..first.content_end];
            if is_blank_line(content) {
                // End of block: make the iterator fused.
                for _ in self.lines.by_ref() {}
                return None;
            }
            let Some(colon) = field_colon(content) else {
                continue; // junk line or stray continuation
            };
            let mut last = first;
            while let Some(next) = self.lines.peek() {
                let next_content = &self.block[next.start..next.content_end];
                if !is_continuation_line(next_content) {
                    break;
                }
                last = *next;
                self.lines.next();
            }
            let name_end = content[..colon]
                .iter()
                .rposition(|&b| !is_wsp(b))
                .map_or(0, |i| i + 1);
            return Some(HeaderField {
                name: &content[..name_end],
                value: &self.block[first.start + colon + 1..last.content_end],
                raw: &self.block[first.start..last.next],
                offset: first.start,
            });
        }
    }
}

/// The fields of a header block, in order. The block may include the body; iteration
/// stops at the first blank line.
pub fn header_fields(block: &[u8]) -> HeaderFields<'_> {
    HeaderFields {
        block,
        lines: Lines::new(block).peekable(),
    }
}

/// Removes CR and LF from a folded value and trims surrounding spaces and tabs
/// (RFC 5322 §2.2.3 unfolding).
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let end = out.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
    out.truncate(end);
    let start = out.iter().position(|&b| !is_wsp(b)).unwrap_or(out.len());
    out.drain(..start);
    out
}

/// The unfolded value of the first field named `name` (ASCII case-insensitive).
pub fn find_header(block: &[u8], name: &str) -> Option<Vec<u8>> {
    header_fields(block)
        .find(|field| field.is_named(name))
        .map(|field| field.unfolded())
}

/// The unfolded values of every field named `name` (ASCII case-insensitive), in order.
pub fn find_headers(block: &[u8], name: &str) -> Vec<Vec<u8>> {
    header_fields(block)
        .filter(|field| field.is_named(name))
        .map(|field| field.unfolded())
        .collect()
}

/// Which fields [`select_header_fields`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSelection<'n> {
    /// Only fields with one of these names (`HEADER.FIELDS`).
    Only(&'n [&'n str]),
    /// Every field except those with one of these names (`HEADER.FIELDS.NOT`).
    AllExcept(&'n [&'n str]),
}

impl FieldSelection<'_> {
    fn keeps(&self, field: &HeaderField<'_>) -> bool {
        match self {
            FieldSelection::Only(names) => names.iter().any(|n| field.is_named(n)),
            FieldSelection::AllExcept(names) => !names.iter().any(|n| field.is_named(n)),
        }
    }
}

/// The original bytes of the selected fields, in message order, followed by the blank
/// line (CRLF) that IMAP requires (RFC 9051 §6.4.5, `HEADER.FIELDS`).
pub fn select_header_fields(block: &[u8], selection: FieldSelection<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for field in header_fields(block) {
        if selection.keeps(&field) {
            out.extend_from_slice(field.raw);
            if !field.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}
