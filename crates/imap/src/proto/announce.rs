//! Recognising what the end of a line announces (RFC 9051 §4.3 `literal`, RFC 7888
//! `{n+}`, RFC 3516 `literal8`) and whether a literal is a message to store (RFC 3502
//! `append-message`, RFC 8508 REPLACE), from the raw line alone.
//!
//! Used by the framer before any parsing; pure functions over bytes, no I/O.

use super::lexer::scan_tag;

/// What a line ends with.
pub(crate) enum LineEnd {
    /// No literal announcement: the line ends the command.
    Plain,
    /// A literal announcement.
    Literal(Suffix),
    /// Something shaped like an announcement whose size is out of range.
    BadLiteralSize,
}

/// A literal announcement at the end of a line.
pub(crate) struct Suffix {
    pub at: usize,
    pub size: u64,
    pub sync: bool,
    pub binary: bool,
}

/// RFC 9051 §9 `literal = "{" number64 ["+"] "}" CRLF`, RFC 3516 `literal8 = "~{"
/// number64 "}" CRLF`, at the end of a line.
pub(crate) fn literal_suffix(line: &[u8]) -> LineEnd {
    announcement(line).unwrap_or(LineEnd::Plain)
}

fn announcement(line: &[u8]) -> Option<LineEnd> {
    let inner = line.strip_suffix(b"}")?;
    let (inner, sync) = match inner.strip_suffix(b"+") {
        Some(i) => (i, false),
        None => (inner, true),
    };
    let digits = inner
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let open = inner.len().checked_sub(digits + 1)?;
    if inner.get(open) != Some(&b'{') {
        return None;
    }
    let size = inner
        .get(open + 1..)
        .unwrap_or_default()
        .iter()
        .try_fold(0u64, |n, &b| {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .filter(|&n| n <= i64::MAX as u64);
    let Some(size) = size else {
        return Some(LineEnd::BadLiteralSize);
    };
    let binary = open > 0 && line.get(open - 1) == Some(&b'~');
    Some(LineEnd::Literal(Suffix {
        at: if binary { open - 1 } else { open },
        size,
        sync,
        binary,
    }))
}

/// The span of the second word of the command's first line.
fn command_span(buf: &[u8]) -> (usize, usize) {
    let Some(tag) = scan_tag(buf) else {
        return (0, 0);
    };
    let mut start = tag.len();
    while buf.get(start) == Some(&b' ') {
        start += 1;
    }
    let mut end = start;
    while buf
        .get(end)
        .is_some_and(|&b| b != b' ' && b != b'{' && b != b'~')
    {
        end += 1;
    }
    (start, end)
}

/// The second word of the command's first line.
pub(crate) fn command_word(buf: &[u8]) -> &[u8] {
    let (start, end) = command_span(buf);
    buf.get(start..end).unwrap_or_default()
}

/// Whether the literal at `at`, the `index`-th of the command, holds a message to
/// store (RFC 3502 `append-message`; RFC 8508 REPLACE and UID REPLACE take one): any
/// literal of those commands but the mailbox argument. The mailbox is the first
/// argument of APPEND, the second of `REPLACE seq` and the third of `UID REPLACE uid`,
/// and a literal there is the command's first.
pub(crate) fn message_literal(buf: &[u8], at: usize, index: usize) -> bool {
    let (start, _) = command_span(buf);
    let words: Vec<&[u8]> = buf
        .get(start..at.min(buf.len()))
        .unwrap_or_default()
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .take(4)
        .collect();
    let is = |i: usize, name: &[u8]| words.get(i).is_some_and(|w| w.eq_ignore_ascii_case(name));
    let mailbox_position = if is(0, b"APPEND") {
        1
    } else if is(0, b"REPLACE") {
        2
    } else if is(0, b"UID") && is(1, b"REPLACE") {
        3
    } else {
        return false;
    };
    index > 0 || words.len() > mailbox_position
}
