//! Commands valid in every state: CAPABILITY (RFC 9051 §6.1.1), NOOP (RFC 9051 §6.1.2),
//! LOGOUT (RFC 9051 §6.1.3), and CHECK (RFC 3501 §6.4.1), which has nothing left to do.
//!
//! NOOP does nothing itself: the session's synchronisation after every command is what
//! reports mailbox changes.

use super::Outcome;
use crate::catalogue as cat;
use crate::proto::{Data, Tag};
use crate::session::{Session, State};

/// RFC 9051 §6.1.1.
pub(crate) fn capability(s: &mut Session, tag: &Tag, authenticated: bool) -> Outcome {
    let caps = s.capabilities(authenticated);
    s.data_owned(Data::Capability(caps));
    Outcome::reply(cat::ok(tag, cat::CAPABILITY_DONE))
}

/// RFC 9051 §6.1.2.
pub(crate) fn noop(tag: &Tag) -> Outcome {
    Outcome::reply(cat::ok(tag, cat::NOOP_DONE))
}

/// RFC 9051 §6.1.3: `* BYE`, then the tagged OK, then the connection closes.
pub(crate) fn logout(s: &mut Session, tag: &Tag) -> Outcome {
    s.reply(&cat::bye(cat::LOGOUT));
    Outcome::Switch(State::Logout, Some(cat::ok(tag, cat::DONE)))
}

/// RFC 3501 §6.4.1: every change is already durable; CHECK is a NOOP.
pub(crate) fn check(tag: &Tag) -> Outcome {
    Outcome::reply(cat::ok(tag, cat::DONE))
}
