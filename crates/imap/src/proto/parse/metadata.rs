//! GETMETADATA and SETMETADATA (RFC 5464 §4.2, §4.3, §5), with the entry-name rules of
//! §3.2: an invalid name is a BAD. No I/O.

use bytes::Bytes;

use crate::proto::command::{GetMetadata, MetadataDepth, MetadataEntries};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, LiteralToken, Result};
use crate::proto::mailbox::Mailbox;

/// RFC 5464 §3.2: a valid entry name starts with `/private` or `/shared` and has at
/// least two components (four under `/shared/vendor/` or `/private/vendor/`); it holds
/// no `//`, does not end with `/`, and has no `*`, `%`, non-ASCII octet or octet below
/// 0x20 (0x7f too).
pub(crate) fn valid_entry(name: &[u8]) -> bool {
    if name.is_empty()
        || name.ends_with(b"/")
        || name.windows(2).any(|w| w == b"//")
        || name
            .iter()
            .any(|&b| b == b'*' || b == b'%' || !(0x20..0x7f).contains(&b))
    {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    let parts: Vec<&[u8]> = lower.split(|&b| b == b'/').collect();
    // parts[0] is the empty string before the leading '/'.
    if parts.len() < 3 || !parts[0].is_empty() {
        return false;
    }
    if parts[1] != b"private" && parts[1] != b"shared" {
        return false;
    }
    parts[2] != b"vendor" || parts.len() >= 5
}

fn entry(lx: &mut Lexer<'_>) -> Result<Bytes> {
    let start = lx.pos();
    let name = lx.astring()?;
    if !valid_entry(&name) {
        return Err(ParseError::new(
            K::Syntax,
            "invalid metadata entry name",
            start,
        ));
    }
    Ok(name)
}

/// RFC 5464 §5 `value = nstring / literal8`.
fn value(lx: &mut Lexer<'_>) -> Result<Option<Bytes>> {
    if lx.peek() == Some(b'~') {
        let start = lx.pos();
        return match lx.literal()? {
            (LiteralToken::Inline(b), _) => Ok(Some(b)),
            (LiteralToken::Streamed(_), _) => Err(ParseError::new(
                K::Literal,
                "a streamed literal is only allowed for an APPEND message",
                start,
            )),
        };
    }
    lx.nstring()
}

/// Whether the lexer is at a parenthesised option list (a letter after `(`; entry
/// names start with `/` or a quote).
fn at_options(lx: &Lexer<'_>) -> bool {
    lx.peek() == Some(b'(') && lx.peek_at(1).is_some_and(|b| b.is_ascii_alphabetic())
}

/// RFC 5464 §5 `getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP
/// entries`, options `MAXSIZE n` and `DEPTH (0 / 1 / infinity)`. The options are
/// also accepted after the mailbox, where the RFC's own examples (§4.2.1, §4.2.2)
/// put them.
pub(super) fn getmetadata(lx: &mut Lexer<'_>) -> Result<GetMetadata> {
    lx.sp()?;
    let mut max_size = None;
    let mut depth = MetadataDepth::Zero;
    let mut options_before = false;
    if at_options(lx) {
        options(lx, &mut max_size, &mut depth)?;
        lx.sp()?;
        options_before = true;
    }
    let mailbox = lx.mailbox()?;
    lx.sp()?;
    if !options_before && at_options(lx) {
        options(lx, &mut max_size, &mut depth)?;
        lx.sp()?;
    }
    let entries = if lx.peek() == Some(b'(') {
        lx.paren_list(false, entry)?
    } else {
        vec![entry(lx)?]
    };
    Ok(GetMetadata {
        mailbox,
        max_size,
        depth,
        entries,
    })
}

/// RFC 5464 §5 `getmetadata-options = "(" getmetadata-option *(SP
/// getmetadata-option) ")"`.
fn options(
    lx: &mut Lexer<'_>,
    max_size: &mut Option<u64>,
    depth: &mut MetadataDepth,
) -> Result<()> {
    lx.paren_list(false, |lx| {
        let start = lx.pos();
        let name = lx.keyword()?;
        lx.sp()?;
        match name.as_bytes() {
            b"MAXSIZE" => *max_size = Some(lx.number64()?),
            b"DEPTH" => {
                *depth = if lx.eat_keyword(b"INFINITY") {
                    MetadataDepth::Infinity
                } else {
                    let at = lx.pos();
                    match lx.number()? {
                        0 => MetadataDepth::Zero,
                        1 => MetadataDepth::One,
                        _ => {
                            return Err(ParseError::new(
                                K::Syntax,
                                "DEPTH is 0, 1 or infinity",
                                at,
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(ParseError::new(
                    K::UnknownOption,
                    "unknown GETMETADATA option",
                    start,
                ));
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// RFC 5464 §5 `setmetadata = "SETMETADATA" SP mailbox SP entry-values`,
/// `entry-values = "(" entry-value *(SP entry-value) ")"`.
pub(super) fn setmetadata(lx: &mut Lexer<'_>) -> Result<(Mailbox, MetadataEntries)> {
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    lx.sp()?;
    let entries = lx.paren_list(false, |lx| {
        let name = entry(lx)?;
        lx.sp()?;
        Ok((name, value(lx)?))
    })?;
    Ok((mailbox, entries))
}
