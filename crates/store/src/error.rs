//! The store's error type. Callers sort errors into "not found", "conflict" (a uniqueness
//! or state rule), "full" and everything else (a transient server fault).

use thiserror::Error;

/// What can go wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change would break a rule (name taken, domain still has accounts, ...).
    #[error("{0}")]
    Conflict(String),
    /// The database engine failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed a statement.
    #[error("database error: {0}")]
    Postgres(#[from] postgres::Error),
    /// The database cannot be reached (or the connection was lost): a transient
    /// failure; nothing unconfirmed was taken for a success.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A blob or directory operation failed.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The transaction could not be committed; nothing of it was stored.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The account's quota would be exceeded.
    #[error("quota exceeded")]
    OverQuota,
    /// A collected message whose remote key was recorded already: nothing was stored.
    #[error("collected already")]
    AlreadyCollected,
    /// The disk is full; nothing of the operation was stored.
    #[error("disk full")]
    DiskFull,
    /// The store's writer has stopped (process shutting down).
    #[error("store is shut down")]
    Closed,
    /// A secret could not be sealed or opened, or the key is unusable.
    #[error("{0}")]
    Secret(String),
    /// The data directory is locked by another running server.
    #[error("data directory {0} is in use by another Pillarbox server")]
    Locked(String),
}

impl StoreError {
    /// True when the disk is full (ENOSPC, or SQLite's "database or disk is full").
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull => true,
            StoreError::Io(e) => e.raw_os_error() == Some(28),
            StoreError::Database(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::DISK_FULL),
            _ => false,
        }
    }
}

impl StoreError {
    /// True for failures that go away by themselves (the database unreachable, the
    /// store shutting down): the protocols answer with a temporary error.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Closed)
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
