//! RFC 1939 §5 DELE and RSET: deletion marks on the session's snapshot. Nothing is
//! removed here; only the UPDATE state (`quit`) touches the store.

use crate::cmd::listing::refusal;
use crate::proto::catalogue;
use crate::session::{Session, Transaction};

/// RFC 1939 §5 DELE msg.
pub(crate) fn dele(s: &mut Session, t: &mut Transaction, msg: u32) {
    match t.maildrop.mark_deleted(msg) {
        Ok(()) => s.reply(catalogue::marked_deleted(msg)),
        Err(e) => s.reply(refusal(msg, e)),
    }
}

/// RFC 1939 §5 RSET.
pub(crate) fn rset(s: &mut Session, t: &mut Transaction) {
    t.maildrop.reset();
    let (count, octets) = t.maildrop.stat();
    s.reply(catalogue::reset(count, octets));
}
