//! Collection of users' mail from remote POP3/IMAP servers (MDaemon's MultiPOP,
//! eXchange POP3's "Internet Mail Accounts"), forwarding it to a downstream SMTP server
//! ("Exchange Connection"), and the connection test.
//!
//! - `account`: the settings of a collection account, presets, validation (pure).
//! - `registry`: accounts in the store (owner must have MultiPOP).
//! - `connect`: settings → dial options, client configurations, credentials/tokens.
//! - `run`: one run of one account (`run/pop3.rs`, `run/imap.rs`), storing through
//!   the delivery pipeline with each message's remote key in the same transaction.
//! - `scheduler`: the service that runs accounts on their schedules.
//! - `codepage`, `forward`: the code page rewrite and the forwarding decisions (pure).
//! - `probe`: the connection test (steps with times, a verdict that says what to fix).
//!
//! This crate never reads configuration files, contains no SQL, never logs a secret,
//! and never deletes or flags a remote message before its local copy is committed.

pub mod account;
pub mod codepage;
pub mod connect;
pub mod forward;
pub mod probe;
pub mod registry;
pub mod run;
pub mod scheduler;

pub use account::{AccountSettings, Destination, Encryption, Protocol, RecipientSource, Secrets};
pub use registry::RemoteAccount;
pub use run::{Progress, Quiet, RunError, RunLimits, RunReport, RunSummary, Runner};
pub use scheduler::Collector;

/// Why a collection-account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Invalid(String),
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("store: {0}")]
    Store(#[from] pillarbox_store::StoreError),
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The current time in RFC 5322 form.
pub(crate) fn rfc5322_now() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "Thu, 1 Jan 1970 00:00:00 +0000".into())
}
