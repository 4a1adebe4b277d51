//! RSET (RFC 5321 §4.1.1.5).

use crate::proto::catalogue;
use crate::session::{Phase, Session};

/// RFC 5321 §4.1.1.5: aborts the transaction, keeps the greeting.
pub fn rset(s: &mut Session) {
    s.phase = match std::mem::replace(&mut s.phase, Phase::Connected) {
        Phase::Mail(h, _) | Phase::Greeted(h) => Phase::Greeted(h),
        Phase::Connected => Phase::Connected,
    };
    s.reply(catalogue::reset());
}
