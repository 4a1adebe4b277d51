//! The message as a milter sees it (header fields one by one, then the body), and
//! [`apply`]: the header edits and new body a milter asked for, made to the message.

use std::borrow::Cow;

use super::HeaderEdit;
use super::wire::{MAX_SEND, valid_name};

/// One header field: `msg[start..end]` is all of it, continuation lines and line end
/// included; `name` is `msg[start..start + name_len]` when the field has a valid
/// name and a colon (`value_start` just after the colon).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub start: usize,
    pub end: usize,
    pub name_len: Option<usize>,
    pub value_start: usize,
}

/// The header fields of `msg`, where the header ends (the blank line's start, or the
/// end of the message) and where the body starts (after the blank line).
pub(crate) struct Split {
    pub fields: Vec<Field>,
    pub header_end: usize,
    pub body_start: usize,
}

pub(crate) fn split(msg: &[u8]) -> Split {
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = 0;
    while pos < msg.len() {
        let rest = msg.get(pos..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(msg.len(), |i| pos + i + 1);
        let line = msg.get(pos..end).unwrap_or_default();
        if line == b"\r\n" || line == b"\n" {
            return Split {
                fields,
                header_end: pos,
                body_start: end,
            };
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        match fields.last_mut() {
            Some(last) if continuation => last.end = end,
            _ => {
                let colon = line.iter().position(|&b| b == b':');
                let name_len = colon.and_then(|c| {
                    let name = line.get(..c)?;
                    let trimmed = name.trim_ascii_end();
                    valid_name(trimmed).then_some(trimmed.len())
                });
                fields.push(Field {
                    start: pos,
                    end,
                    name_len,
                    value_start: pos + colon.map_or(0, |c| c + 1),
                });
            }
        }
        pos = end;
    }
    Split {
        fields,
        header_end: msg.len(),
        body_start: msg.len(),
    }
}

impl Field {
    pub fn name<'m>(&self, msg: &'m [u8]) -> Option<&'m [u8]> {
        msg.get(self.start..self.start + self.name_len?)
    }

    /// The value as a milter is shown it: leading white space and the final line end
    /// removed, continuation lines joined with LF (as Sendmail and Postfix send them),
    /// cut so that name and value fit in one packet.
    pub fn milter_value(&self, msg: &[u8]) -> Vec<u8> {
        let raw = msg.get(self.value_start..self.end).unwrap_or_default();
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let start = raw
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .unwrap_or(raw.len());
        let raw = raw.get(start..).unwrap_or_default();
        let mut v = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(&b) = raw.get(i) {
            if b == b'\r' && raw.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            if b != 0 {
                v.push(b);
            }
            i += 1;
        }
        let room = MAX_SEND.saturating_sub(self.name_len.unwrap_or(0) + 2);
        v.truncate(room);
        v
    }
}

/// `msg` with the milter's header edits made in order, and its body replaced by
/// `new_body` when given. Milter semantics:
///
/// - `Add` appends the field at the end of the header;
/// - `Insert` puts it before the `index`th field (0: first; past the end: last);
/// - `Change` replaces the `index`th (from 1; 0 counts as 1) field of that name
///   (compared case-insensitively), or deletes it when the value is empty; with
///   fewer fields of that name, a non-empty value is added at the end.
///
/// New fields are written `Name: value` with CRLF; a value's own line breaks become
/// CRLF followed by white space (so they fold, never start a new field), and empty
/// continuation lines are dropped. A new body gets CRLF line ends. Edits with an
/// invalid header name are ignored. No edits and no new body: `msg` unchanged.
pub fn apply(msg: &[u8], edits: &[HeaderEdit], new_body: Option<&[u8]>) -> Vec<u8> {
    if edits.is_empty() && new_body.is_none() {
        return msg.to_vec();
    }
    let split = split(msg);
    let mut out: Vec<OutField<'_>> = split
        .fields
        .iter()
        .map(|f| {
            (
                f.name(msg),
                Cow::Borrowed(msg.get(f.start..f.end).unwrap_or_default()),
            )
        })
        .collect();
    for edit in edits {
        match edit {
            HeaderEdit::Add { name, value } => {
                if valid_name(name.as_bytes()) {
                    out.push((Some(name.as_bytes()), field(name.as_bytes(), value)));
                }
            }
            HeaderEdit::Insert { index, name, value } => {
                if valid_name(name.as_bytes()) {
                    let at = usize::try_from(*index).unwrap_or(usize::MAX).min(out.len());
                    out.insert(at, (Some(name.as_bytes()), field(name.as_bytes(), value)));
                }
            }
            HeaderEdit::Change { index, name, value } => {
                if !valid_name(name.as_bytes()) {
                    continue;
                }
                let nth = usize::try_from((*index).max(1)).unwrap_or(usize::MAX);
                let found = out
                    .iter()
                    .enumerate()
                    .filter(|(_, (n, _))| {
                        n.is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
                    })
                    .nth(nth - 1)
                    .map(|(i, (n, _))| (i, *n));
                match found {
                    Some((i, _)) if value.is_empty() => {
                        out.remove(i);
                    }
                    Some((i, Some(original))) => {
                        if let Some(slot) = out.get_mut(i) {
                            slot.1 = field(original, value);
                        }
                    }
                    Some((_, None)) => {}
                    None if value.is_empty() => {}
                    None => out.push((Some(name.as_bytes()), field(name.as_bytes(), value))),
                }
            }
        }
    }

    let mut m = Vec::with_capacity(msg.len() + 256);
    for (_, f) in &out {
        m.extend_from_slice(f);
        if !f.ends_with(b"\n") {
            m.extend_from_slice(b"\r\n");
        }
    }
    match new_body {
        Some(body) => {
            m.extend_from_slice(b"\r\n");
            crlf_into(&mut m, body);
        }
        None => m.extend_from_slice(msg.get(split.header_end..).unwrap_or_default()),
    }
    m
}

/// A field of the new header: its name (when valid), and all of it.
type OutField<'a> = (Option<&'a [u8]>, Cow<'a, [u8]>);

/// `Name: value\r\n`, the value folded as given.
fn field<'a>(name: &[u8], value: &str) -> Cow<'a, [u8]> {
    let mut f = Vec::with_capacity(name.len() + value.len() + 4);
    f.extend_from_slice(name);
    f.push(b':');
    let value = value
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\0', "");
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    if !first.is_empty() {
        f.push(b' ');
        f.extend_from_slice(first.as_bytes());
    }
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        f.extend_from_slice(b"\r\n");
        if !line.starts_with([' ', '\t']) {
            f.push(b' ');
        }
        f.extend_from_slice(line.as_bytes());
    }
    f.extend_from_slice(b"\r\n");
    Cow::Owned(f)
}

/// `body` with every bare LF turned into CRLF.
fn crlf_into(out: &mut Vec<u8>, body: &[u8]) {
    let mut prev = 0u8;
    for &b in body {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
}
