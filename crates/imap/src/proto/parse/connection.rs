//! Connection-level commands with arguments: ID (RFC 2971), ENABLE (RFC 5161),
//! COMPRESS (RFC 4978). No I/O.

use bytes::Bytes;

use crate::proto::command::IdParams;
use crate::proto::lexer::{Lexer, Result};

/// RFC 2971 §4 `id ::= "ID" SPACE id_params_list`,
/// `id_params_list ::= "(" #(string SPACE nstring) ")" / nil` (an empty list is allowed).
pub(super) fn id(lx: &mut Lexer<'_>) -> Result<Option<IdParams>> {
    lx.sp()?;
    if lx.peek() != Some(b'(') {
        lx.nstring()?
            .map_or(Ok(None), |_| Err(lx.expected("expected '(' or NIL")))
    } else {
        lx.paren_list(true, |lx| {
            let field = lx.string()?;
            lx.sp()?;
            let value = lx.nstring()?;
            Ok((field, value))
        })
        .map(Some)
    }
}

/// RFC 5161 §4 `command-any =/ "ENABLE" 1*(SP capability)`.
pub(super) fn enable(lx: &mut Lexer<'_>) -> Result<Vec<Bytes>> {
    lx.sp()?;
    let mut caps = vec![lx.atom_bytes()?];
    while lx.sp_then_more() {
        caps.push(lx.atom_bytes()?);
    }
    Ok(caps)
}

/// RFC 4978 §4 `compress = "COMPRESS" SP algorithm`, `algorithm = "DEFLATE"` (others
/// are left to the session to refuse with NO).
pub(super) fn compress(lx: &mut Lexer<'_>) -> Result<Bytes> {
    lx.sp()?;
    lx.atom_bytes()
}
