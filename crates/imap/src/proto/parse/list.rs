//! LIST (basic and extended) and LSUB (RFC 9051 §6.3.9, RFC 5258, RFC 6154 §5,
//! RFC 5819, RFC 3501 §6.3.9). No I/O.

use bytes::Bytes;

use super::mailbox::status_items;
use crate::proto::command::{List, ListReturn, ListSelect};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, Result};

/// RFC 5258 §6 `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
/// [SP list-return-opts]`, `mbox-or-pat = list-mailbox / patterns`,
/// `patterns = "(" list-mailbox *(SP list-mailbox) ")"`.
pub(super) fn list(lx: &mut Lexer<'_>) -> Result<List> {
    lx.sp()?;
    let mut extended = false;
    let mut selection = Vec::new();
    if lx.peek() == Some(b'(') {
        extended = true;
        let start = lx.pos();
        selection = lx.paren_list(true, select_opt)?;
        let has_base = selection
            .iter()
            .any(|s| matches!(s, ListSelect::Subscribed | ListSelect::SpecialUse));
        if selection.contains(&ListSelect::RecursiveMatch) && !has_base {
            return Err(ParseError::new(
                K::InvalidCombination,
                "RECURSIVEMATCH needs another selection option",
                start,
            ));
        }
        lx.sp()?;
    }
    let reference = lx.astring()?;
    lx.sp()?;
    let patterns = if lx.peek() == Some(b'(') {
        extended = true;
        lx.paren_list(false, |lx| lx.list_mailbox())?
    } else {
        vec![lx.list_mailbox()?]
    };
    let mut return_opts = Vec::new();
    if lx.sp_then_more() {
        if !lx.eat_keyword(b"RETURN") {
            return Err(lx.err(K::Syntax, "expected RETURN"));
        }
        extended = true;
        lx.sp()?;
        return_opts = lx.paren_list(true, return_opt)?;
    }
    Ok(List {
        selection,
        reference,
        patterns,
        return_opts,
        extended,
    })
}

/// RFC 5258 §6 `list-select-opt`: `SUBSCRIBED`, `REMOTE`, `RECURSIVEMATCH`;
/// RFC 6154 §6 `SPECIAL-USE`.
fn select_opt(lx: &mut Lexer<'_>) -> Result<ListSelect> {
    let start = lx.pos();
    let name = lx.keyword()?;
    Ok(match name.as_bytes() {
        b"SUBSCRIBED" => ListSelect::Subscribed,
        b"REMOTE" => ListSelect::Remote,
        b"RECURSIVEMATCH" => ListSelect::RecursiveMatch,
        b"SPECIAL-USE" => ListSelect::SpecialUse,
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown LIST selection option",
                start,
            ));
        }
    })
}

/// RFC 5258 §6 `return-option = "SUBSCRIBED" / "CHILDREN"`, RFC 6154 §6
/// `"SPECIAL-USE"`, RFC 5819 §2 `"STATUS" SP "(" status-att *(SP status-att) ")"`.
fn return_opt(lx: &mut Lexer<'_>) -> Result<ListReturn> {
    let start = lx.pos();
    let name = lx.keyword()?;
    Ok(match name.as_bytes() {
        b"SUBSCRIBED" => ListReturn::Subscribed,
        b"CHILDREN" => ListReturn::Children,
        b"SPECIAL-USE" => ListReturn::SpecialUse,
        b"STATUS" => {
            lx.sp()?;
            ListReturn::Status(status_items(lx)?)
        }
        _ => {
            return Err(ParseError::new(
                K::UnknownOption,
                "unknown LIST return option",
                start,
            ));
        }
    })
}

/// RFC 3501 §9 `lsub = "LSUB" SP mailbox SP list-mailbox`.
pub(super) fn lsub(lx: &mut Lexer<'_>) -> Result<(Bytes, Bytes)> {
    lx.sp()?;
    let reference = lx.astring()?;
    lx.sp()?;
    let pattern = lx.list_mailbox()?;
    Ok((reference, pattern))
}
