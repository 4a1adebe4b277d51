//! Command handlers, one file per command family. Each receives the session and the
//! data of its state, writes untagged responses, and returns an [`Outcome`]: the tagged
//! reply, and the next state when the command changes it. Legality per state is decided
//! in `session.rs`, never here.

pub(crate) mod any;
pub(crate) mod append;
pub(crate) mod auth;
pub(crate) mod compress;
pub(crate) mod copy_move;
pub(crate) mod enable_id;
pub(crate) mod expunge;
pub(crate) mod fetch;
pub(crate) mod idle;
pub(crate) mod list;
pub(crate) mod mailbox;
pub(crate) mod metadata;
pub(crate) mod quota;
pub(crate) mod replace;
pub(crate) mod search;
pub(crate) mod select;
pub(crate) mod sort_thread;
pub(crate) mod starttls;
pub(crate) mod store;
pub(crate) mod sync;

use crate::proto::StatusResponse;
use crate::session::State;

/// What a handler asks the session to do next.
pub(crate) enum Outcome {
    /// Stay in the current state and send this tagged reply (`None`: the handler sent it
    /// already, e.g. before a TLS handshake).
    Stay(Option<StatusResponse>),
    /// Switch to a new state, then send the reply.
    Switch(State, Option<StatusResponse>),
}

impl Outcome {
    /// Stay, replying `r`.
    pub(crate) fn reply(r: StatusResponse) -> Outcome {
        Outcome::Stay(Some(r))
    }

    /// Turns a handler's `Result` (whose error is already a NO or BAD) into a reply.
    pub(crate) fn from(r: Result<StatusResponse, StatusResponse>) -> Outcome {
        match r {
            Ok(r) | Err(r) => Outcome::Stay(Some(r)),
        }
    }
}
