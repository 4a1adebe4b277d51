//! QUOTA commands with a quota root (RFC 9208 §4); GETQUOTAROOT takes a mailbox and is
//! parsed with the mailbox commands. No I/O.

use bytes::Bytes;

use crate::proto::lexer::{Lexer, Result};

/// RFC 9208 §7 `getquota = "GETQUOTA" SP quota-root-name`, `quota-root-name = astring`.
pub(super) fn getquota(lx: &mut Lexer<'_>) -> Result<Bytes> {
    lx.sp()?;
    lx.astring()
}

/// RFC 9208 §7 `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`,
/// `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`,
/// `setquota-resource = resource-name SP resource-limit`.
pub(super) fn setquota(lx: &mut Lexer<'_>) -> Result<(Bytes, Vec<(Bytes, u64)>)> {
    lx.sp()?;
    let root = lx.astring()?;
    lx.sp()?;
    let limits = lx.paren_list(true, |lx| {
        let resource = lx.atom_bytes()?;
        lx.sp()?;
        let limit = lx.number64()?;
        Ok((resource, limit))
    })?;
    Ok((root, limits))
}
