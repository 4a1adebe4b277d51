//! Commands that act on a message set: STORE with UNCHANGEDSINCE, COPY, MOVE,
//! UID EXPUNGE (RFC 9051 §6.4.6-§6.4.9, RFC 7162 §3.1.3, RFC 6851, RFC 4315). No I/O.

use crate::proto::command::{CopyMove, Store, StoreMode};
use crate::proto::error::{ParseError, ParseErrorKind as K};
use crate::proto::lexer::{Lexer, Result};
use crate::proto::sequence::SequenceSet;

/// RFC 9051 §9 `store = "STORE" SP sequence-set SP store-att-flags`, RFC 7162 §7
/// `[store-modifiers]`, `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer`;
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP
/// flag)))`.
pub(super) fn store(lx: &mut Lexer<'_>, uid: bool) -> Result<Store> {
    lx.sp()?;
    let set = lx.sequence_set()?;
    lx.sp()?;
    let mut unchanged_since = None;
    if lx.peek() == Some(b'(') {
        lx.paren_list(false, |lx| {
            let start = lx.pos();
            if !lx.eat_keyword(b"UNCHANGEDSINCE") {
                return Err(ParseError::new(
                    K::UnknownOption,
                    "unknown STORE modifier",
                    start,
                ));
            }
            lx.sp()?;
            unchanged_since = Some(lx.number64()?);
            Ok(())
        })?;
        lx.sp()?;
    }
    let mode = if lx.eat(b'+') {
        StoreMode::Add
    } else if lx.eat(b'-') {
        StoreMode::Remove
    } else {
        StoreMode::Replace
    };
    let start = lx.pos();
    let silent = match lx.keyword()?.as_bytes() {
        b"FLAGS" => false,
        b"FLAGS.SILENT" => true,
        _ => {
            return Err(ParseError::new(
                K::Syntax,
                "expected FLAGS or FLAGS.SILENT",
                start,
            ));
        }
    };
    lx.sp()?;
    let flags = if lx.peek() == Some(b'(') {
        lx.flag_list()?
    } else {
        let mut flags = vec![lx.flag()?];
        while lx.sp_then_more() {
            flags.push(lx.flag()?);
        }
        flags
    };
    Ok(Store {
        uid,
        set,
        unchanged_since,
        mode,
        silent,
        flags,
    })
}

/// RFC 9051 §9 `copy = "COPY" SP sequence-set SP mailbox`, RFC 6851 §4 `move = "MOVE"
/// SP sequence-set SP mailbox`.
pub(super) fn copy_move(lx: &mut Lexer<'_>, uid: bool) -> Result<CopyMove> {
    lx.sp()?;
    let set = lx.sequence_set()?;
    lx.sp()?;
    let mailbox = lx.mailbox()?;
    Ok(CopyMove { uid, set, mailbox })
}

/// RFC 9051 §9 `uid-expunge = "EXPUNGE" SP sequence-set`.
pub(super) fn uid_expunge(lx: &mut Lexer<'_>) -> Result<SequenceSet> {
    lx.sp()?;
    lx.sequence_set()
}
