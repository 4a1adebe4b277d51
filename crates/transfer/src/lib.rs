//! Moving mail in and out of Pillarbox: import from Maildir/Maildir++ (Dovecot's
//! `dovecot-uidlist` and `dovecot-keywords` honoured, so UIDs, UIDVALIDITY, flags and
//! keywords survive) and from mbox (mboxo/mboxrd; `Status`, `X-Status`, `X-Keywords`,
//! `X-Mozilla-Status`), and export to both, readable by Dovecot and mutt.
//!
//! `migrate` copies another IMAP server's mailboxes over an `ImapClient` of the
//! collection client (every folder, mapped by special use; flags, keywords, dates;
//! the source's UIDs kept when the local mailbox is new, which makes a second run
//! copy only what is new and bring the flags up to date).
//!
//! `maildir` and `mbox` are the formats, pure (and fuzzed: the files are untrusted
//! input); `import` and `export` move messages through the store's own operations
//! (never around them), one mailbox at a time. An import can be run again after an
//! interruption: a message whose exact bytes are already in the target mailbox is
//! skipped, so nothing is imported twice. A broken message is reported and skipped,
//! never the whole import.

pub mod export;
pub mod import;
pub mod maildir;
pub mod mbox;
pub mod migrate;

/// Something the caller shows as the work goes (a progress bar).
pub trait Progress: Send + Sync {
    /// `total` messages are about to be processed in `mailbox`.
    fn mailbox(&self, mailbox: &str, total: u64);
    /// One more message processed.
    fn advance(&self);
}

/// A [`Progress`] that shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn mailbox(&self, _: &str, _: u64) {}
    fn advance(&self) {}
}

/// Why a transfer stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{0}")]
    Store(#[from] pillarbox_store::StoreError),
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn io_err(path: &std::path::Path, e: &std::io::Error) -> TransferError {
    TransferError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// What a transfer did, per mailbox and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// (mailbox, messages transferred, skipped as already there).
    pub mailboxes: Vec<(String, u64, u64)>,
    pub transferred: u64,
    pub skipped: u64,
    /// Messages that could not be read or stored, each with why.
    pub broken: Vec<String>,
    /// UIDs kept from the source (Maildir with `dovecot-uidlist`, IMAP migration).
    pub uids_kept: u64,
    /// Messages copied before whose flags changed at the source (IMAP migration).
    pub flags_updated: u64,
}
