//! Why an SMTP delivery attempt failed, sorted for the queue: [`SmtpError::is_permanent`]
//! says "bounce" (a 5xx the server gave for this message, or a message this server
//! can never take); everything else — DNS, TCP, timeouts, TLS, 4xx, 421, a garbled
//! reply, an authentication problem an administrator can fix — is "retry later".
//!
//! Every variant that comes from the server quotes its reply; none carries a secret.

use std::fmt;
use std::time::Duration;

use pillarbox_net::dial::DialError;

use super::reply::{Reply, ReplyError};
use crate::sasl::{Mechanism, SaslError};

/// The step of the session an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// The message body and the reply to its final dot.
    DataEnd,
    Rset,
    Quit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::DataEnd => "end of data",
            Stage::Rset => "RSET",
            Stage::Quit => "QUIT",
        })
    }
}

/// An SMTP client failure.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error(transparent)]
    Dial(#[from] DialError),
    #[error("no answer to {stage} within {} s", .after.as_secs_f32())]
    Timeout { stage: Stage, after: Duration },
    #[error("connection failed during {stage}: {source}")]
    Io {
        stage: Stage,
        source: std::io::Error,
    },
    #[error("the server closed the connection during {stage}")]
    Closed { stage: Stage },
    #[error("unreadable server reply during {stage}: {error}")]
    Protocol { stage: Stage, error: ReplyError },
    #[error("the server refused the session: {0}")]
    Greeting(Reply),
    #[error("{stage} refused: {reply}")]
    Rejected { stage: Stage, reply: Reply },
    #[error("the server is closing the connection: {0}")]
    ServiceClosing(Reply),
    #[error("server does not offer STARTTLS and TLS is required")]
    StartTlsUnavailable,
    #[error("the server sent data after its STARTTLS reply (possible injection); closed")]
    StartTlsInjection,
    #[error("the server offers no usable AUTH mechanism (offered: {})", if .offered.is_empty() { "none".to_string() } else { .offered.join(" ") })]
    AuthUnavailable { offered: Vec<String> },
    #[error("authentication with {mechanism} failed: {reply}{}", .detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthFailed {
        mechanism: Mechanism,
        reply: Reply,
        /// The error document a token mechanism's server sent (JSON), if any.
        detail: Option<String>,
    },
    #[error("SASL: {0}")]
    Sasl(#[from] SaslError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
    #[error("the message needs SMTPUTF8 and the server does not support it")]
    SmtputfUnsupported,
    #[error("the message ({size} bytes) exceeds the server's size limit ({limit} bytes)")]
    MessageTooLarge { size: usize, limit: u64 },
    #[error("the connection is unusable after an earlier failure")]
    Broken,
}

impl SmtpError {
    /// `true`: the message cannot be delivered this way (bounce); `false`: retry.
    pub fn is_permanent(&self) -> bool {
        match self {
            SmtpError::Greeting(r) | SmtpError::Rejected { reply: r, .. } => r.is_permanent(),
            SmtpError::SmtputfUnsupported
            | SmtpError::MessageTooLarge { .. }
            | SmtpError::InvalidAddress(_) => true,
            _ => false,
        }
    }

    /// The server refused our credentials or token. With a token mechanism the
    /// caller invalidates its cached token and tries once more.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, SmtpError::AuthFailed { .. })
    }

    /// The server's reply behind the error, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            SmtpError::Greeting(r)
            | SmtpError::Rejected { reply: r, .. }
            | SmtpError::ServiceClosing(r)
            | SmtpError::AuthFailed { reply: r, .. } => Some(r),
            _ => None,
        }
    }

    /// Whether the connection can carry another command after this error.
    pub(super) fn leaves_connection_usable(&self) -> bool {
        matches!(
            self,
            SmtpError::Rejected { .. }
                | SmtpError::SmtputfUnsupported
                | SmtpError::MessageTooLarge { .. }
                | SmtpError::InvalidAddress(_)
                | SmtpError::Config(_)
        )
    }
}

/// Maps a read/write failure at `stage` to an [`SmtpError`].
pub(super) fn conn_error(stage: Stage, e: crate::conn::ConnError) -> SmtpError {
    use crate::conn::ConnError;
    match e {
        ConnError::Timeout(after) => SmtpError::Timeout { stage, after },
        ConnError::Closed => SmtpError::Closed { stage },
        ConnError::Io(source) => SmtpError::Io { stage, source },
    }
}
