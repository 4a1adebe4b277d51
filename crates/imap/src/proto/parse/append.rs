//! APPEND, with MULTIAPPEND, literal8 and UTF8 (RFC 9051 §6.3.12, RFC 3502, RFC 3516
//! §4.4, RFC 6855 §4), and REPLACE, which takes one such message (RFC 8508).
//!
//! Message literals may be inline or streamed by the session; this parser only records
//! which (by the framer's index, resolved to the session's handle by the caller). No I/O.

use crate::proto::command::{Append, AppendMessage, LiteralData, Replace};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, LiteralToken, Result};
use crate::proto::sequence::SequenceSet;

/// RFC 3502 §6 `append = "APPEND" SP mailbox 1*append-message`,
/// `append-message = append-opts SP append-data`,
/// `append-opts = [SP flag-list] [SP date-time]`; RFC 3516 §6 `append-data =/ literal8`;
/// RFC 6855 §7 `append-data =/ "UTF8" SP "(" literal8 ")"`.
pub(super) fn append(lx: &mut Lexer<'_>) -> Result<Append<usize>> {
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    let mut messages = Vec::new();
    lx.sp()?;
    loop {
        messages.push(append_message(lx)?);
        if !lx.sp_then_more() {
            break;
        }
    }
    Ok(Append { mailbox, messages })
}

/// RFC 3502 §6 `append-message = append-opts SP append-data` (the leading space already
/// read), with RFC 3516's literal8 and RFC 6855's `UTF8 (literal8)`.
fn append_message(lx: &mut Lexer<'_>) -> Result<AppendMessage<usize>> {
    let mut flags = Vec::new();
    if lx.peek() == Some(b'(') {
        flags = lx.flag_list()?;
        lx.sp()?;
    }
    let mut date = None;
    if lx.peek() == Some(b'"') {
        date = Some(lx.date_time()?);
        lx.sp()?;
    }
    let utf8 = lx.eat_keyword(b"UTF8");
    if utf8 {
        lx.sp()?;
        lx.expect(b'(', "expected '(' after UTF8")?;
    }
    if !matches!(lx.peek(), Some(b'{' | b'~')) {
        return Err(lx.expected("expected a message literal"));
    }
    let (token, binary) = lx.literal()?;
    if utf8 {
        lx.expect(b')', "expected ')' after the UTF8 literal")?;
    }
    let data = match token {
        LiteralToken::Inline(bytes) => LiteralData::Inline(bytes),
        LiteralToken::Streamed(index) => LiteralData::Streamed(index),
    };
    Ok(AppendMessage {
        flags,
        date,
        data,
        binary,
        utf8,
    })
}

/// RFC 8508 §5 `replace = "REPLACE" SP seq-number SP mailbox append-message`, and
/// `uid =/ "UID" SP replace` (the message number is then a UID).
pub(super) fn replace(lx: &mut Lexer<'_>, uid: bool) -> Result<Replace<usize>> {
    lx.sp()?;
    let start = lx.pos();
    let target = match lx.sequence_set()? {
        SequenceSet::Ranges(r) if r.len() == 1 && r[0].first == r[0].last => r[0].first,
        _ => {
            return Err(ParseError::new(
                K::SequenceSet,
                "expected one message number",
                start,
            ));
        }
    };
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    lx.sp()?;
    let message = append_message(lx)?;
    Ok(Replace {
        uid,
        target,
        mailbox,
        message,
    })
}
