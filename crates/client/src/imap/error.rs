//! Why an IMAP client operation failed. Errors from the server quote its status line
//! with the response code (`[AUTHENTICATIONFAILED]`, `[UNAVAILABLE]`, ...); none
//! carries a secret.

use std::fmt;
use std::time::Duration;

use pillarbox_net::dial::DialError;

use super::response::{Code, ResponseError, StatusLine};
use crate::sasl::SaslError;

/// The step of the session an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapStage {
    Greeting,
    Capability,
    StartTls,
    Login,
    Select,
    Search,
    Fetch,
    Store,
    Expunge,
    Logout,
    Command,
}

impl fmt::Display for ImapStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImapStage::Greeting => "greeting",
            ImapStage::Capability => "CAPABILITY",
            ImapStage::StartTls => "STARTTLS",
            ImapStage::Login => "login",
            ImapStage::Select => "SELECT",
            ImapStage::Search => "UID SEARCH",
            ImapStage::Fetch => "UID FETCH",
            ImapStage::Store => "UID STORE",
            ImapStage::Expunge => "EXPUNGE",
            ImapStage::Logout => "LOGOUT",
            ImapStage::Command => "command",
        })
    }
}

/// An IMAP client failure.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error(transparent)]
    Dial(#[from] DialError),
    #[error("no answer to {stage} within {} s", .after.as_secs_f32())]
    Timeout { stage: ImapStage, after: Duration },
    #[error("connection failed during {stage}: {source}")]
    Io {
        stage: ImapStage,
        source: std::io::Error,
    },
    #[error("the server closed the connection during {stage}")]
    Closed { stage: ImapStage },
    #[error("unreadable server response during {stage}: {error}")]
    Protocol {
        stage: ImapStage,
        error: ResponseError,
    },
    #[error("the server refused the session: {0}")]
    Greeting(Box<StatusLine>),
    #[error("the server is closing the connection: {0}")]
    Bye(Box<StatusLine>),
    #[error("server does not offer STARTTLS and TLS is required")]
    StartTlsUnavailable,
    #[error("the server sent data after its STARTTLS reply (possible injection); closed")]
    StartTlsInjection,
    #[error(
        "the server does not allow a plaintext login here (LOGINDISABLED) and offers no usable SASL mechanism"
    )]
    LoginDisabled,
    #[error("login failed ({method}): {status}")]
    LoginFailed {
        method: &'static str,
        status: Box<StatusLine>,
        /// The error document a token mechanism's server sent, if any.
        detail: Option<String>,
    },
    #[error("{stage} refused: {status}")]
    Rejected {
        stage: ImapStage,
        status: Box<StatusLine>,
    },
    #[error("SASL: {0}")]
    Sasl(#[from] SaslError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("the connection is unusable after an earlier failure")]
    Broken,
}

impl ImapError {
    /// Whether the server said the credentials are wrong (a refusal at the login step
    /// that is not marked temporary).
    pub fn is_auth_failure(&self) -> bool {
        match self {
            ImapError::LoginFailed { status, .. } => !matches!(
                status.code.as_ref().map(Code::name),
                Some("UNAVAILABLE" | "SERVERBUG" | "INUSE" | "LIMIT")
            ),
            _ => false,
        }
    }

    /// The stage the error belongs to, when it names one.
    pub fn stage(&self) -> Option<ImapStage> {
        match self {
            ImapError::Timeout { stage, .. }
            | ImapError::Io { stage, .. }
            | ImapError::Closed { stage }
            | ImapError::Protocol { stage, .. }
            | ImapError::Rejected { stage, .. } => Some(*stage),
            ImapError::Greeting(_) => Some(ImapStage::Greeting),
            ImapError::StartTlsUnavailable | ImapError::StartTlsInjection => {
                Some(ImapStage::StartTls)
            }
            ImapError::LoginDisabled | ImapError::LoginFailed { .. } => Some(ImapStage::Login),
            _ => None,
        }
    }
}

/// Maps a read/write failure at `stage` to an [`ImapError`].
pub(super) fn conn_error(stage: ImapStage, e: crate::conn::ConnError) -> ImapError {
    use crate::conn::ConnError;
    match e {
        ConnError::Timeout(after) => ImapError::Timeout { stage, after },
        ConnError::Closed => ImapError::Closed { stage },
        ConnError::Io(source) => ImapError::Io { stage, source },
    }
}
