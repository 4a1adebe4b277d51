//! Why a POP3 client operation failed. Errors from the server quote its status line
//! (with the RFC 2449 response code, which tells a locked maildrop `[IN-USE]` from
//! bad credentials `[AUTH]` from a temporary failure `[SYS/TEMP]`); none carries a
//! secret.

use std::fmt;
use std::time::Duration;

use pillarbox_net::dial::DialError;

use super::reply::{ReplyError, Response};
use crate::sasl::SaslError;

/// The step of the session an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pop3Stage {
    Greeting,
    Capa,
    Stls,
    Auth,
    User,
    Pass,
    Command,
    Quit,
}

impl fmt::Display for Pop3Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pop3Stage::Greeting => "greeting",
            Pop3Stage::Capa => "CAPA",
            Pop3Stage::Stls => "STLS",
            Pop3Stage::Auth => "AUTH",
            Pop3Stage::User => "USER",
            Pop3Stage::Pass => "PASS",
            Pop3Stage::Command => "command",
            Pop3Stage::Quit => "QUIT",
        })
    }
}

/// A POP3 client failure.
#[derive(Debug, thiserror::Error)]
pub enum Pop3Error {
    #[error(transparent)]
    Dial(#[from] DialError),
    #[error("no answer to {stage} within {} s", .after.as_secs_f32())]
    Timeout { stage: Pop3Stage, after: Duration },
    #[error("connection failed during {stage}: {source}")]
    Io {
        stage: Pop3Stage,
        source: std::io::Error,
    },
    #[error("the server closed the connection during {stage}")]
    Closed { stage: Pop3Stage },
    #[error("unreadable server response during {stage}: {error}")]
    Protocol { stage: Pop3Stage, error: ReplyError },
    #[error("the server refused the session: {0}")]
    Greeting(Response),
    #[error("server does not offer STLS and TLS is required")]
    StlsUnavailable,
    #[error("the server sent data after its STLS reply (possible injection); closed")]
    StlsInjection,
    #[error("login failed ({method}): {response}")]
    LoginFailed {
        method: String,
        response: Response,
        /// The error document a token mechanism's server sent, if any.
        detail: Option<String>,
    },
    #[error("{stage} refused: {response}")]
    Rejected {
        stage: Pop3Stage,
        response: Response,
    },
    #[error("SASL: {0}")]
    Sasl(#[from] SaslError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("the connection is unusable after an earlier failure")]
    Broken,
}

impl Pop3Error {
    /// The server's status line behind the error, when there is one.
    pub fn response(&self) -> Option<&Response> {
        match self {
            Pop3Error::Greeting(r)
            | Pop3Error::LoginFailed { response: r, .. }
            | Pop3Error::Rejected { response: r, .. } => Some(r),
            _ => None,
        }
    }

    /// Whether the server said the credentials are wrong (RFC 3206 `[AUTH]`, or any
    /// refusal at the login step without a code saying otherwise).
    pub fn is_auth_failure(&self) -> bool {
        match self {
            Pop3Error::LoginFailed { response, .. } => !matches!(
                response.code.as_deref(),
                Some("SYS/TEMP" | "SYS/PERM" | "IN-USE" | "LOGIN-DELAY")
            ),
            _ => false,
        }
    }
}

/// Maps a read/write failure at `stage` to a [`Pop3Error`].
pub(super) fn conn_error(stage: Pop3Stage, e: crate::conn::ConnError) -> Pop3Error {
    use crate::conn::ConnError;
    match e {
        ConnError::Timeout(after) => Pop3Error::Timeout { stage, after },
        ConnError::Closed => Pop3Error::Closed { stage },
        ConnError::Io(source) => Pop3Error::Io { stage, source },
    }
}
