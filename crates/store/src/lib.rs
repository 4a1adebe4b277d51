//! Metadata and blob storage. The only crate that contains SQL.
//!
//! [`Store`] is the one interface everything above uses: domains, accounts, aliases,
//! mailboxes, messages, the outbound queue and collection state, plus the change feed
//! that tells sessions a mailbox changed. Behind it is an *engine*; today the embedded
//! SQLite engine (`sqlite`), tomorrow also PostgreSQL, chosen at open time. Callers never
//! see which: no rusqlite type crosses this crate's public API.
//!
//! Durability rule: every async write method returns only after its transaction has
//! committed with `synchronous=FULL`; blobs are fsync'd and renamed before the rows that
//! reference them are written. Change notifications are sent only after commit.

mod api;
mod blob;
mod changes;
mod error;
mod seal;
mod sqlite;
mod types;

pub use api::{
    AddressLookup, CollectedMark, CollectionAccount, CollectionUpdate, DeliveredEntry,
    DeliveryOutcome, GcReport, LocalTarget, NewCollectionAccount, NewMessage, NewQueuedMessage,
    QueueItem, QueueListing, QueueRecipientInfo, QueuedRecipient, RecipientResult,
};
pub use blob::{BlobHash, BlobStore, BlobWriter, StoredBlob};
pub use changes::{Change, ChangeFeed};
pub use error::{Result, StoreError};
pub use types::*;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Who opens the store. Only one server may hold a data directory; tools (CLI, sendmail)
/// may open it beside a running server, and their changes reach the server's sessions
/// through the change log it polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The long-running server: holds the data-directory lock and announces changes.
    Server,
    /// A short-lived tool process.
    Tool,
}

/// How the store keeps data.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Blobs up to this many octets live in the database, written in the same
    /// transaction as the rows that reference them (one commit instead of a file
    /// create, two fsyncs and a rename); larger blobs are files. 0: always files.
    pub inline_blob_max: usize,
    /// The key that seals stored secrets (see `seal`); `None`: `data_dir/secrets.key`.
    pub secrets_key: Option<PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            inline_blob_max: 64 * 1024,
            secrets_key: None,
        }
    }
}

/// The storage handle. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.inner.data_dir)
            .finish()
    }
}

struct Inner {
    data_dir: PathBuf,
    role: Role,
    writer: sqlite::Writer,
    readers: sqlite::Readers,
    blobs: BlobStore,
    changes: ChangeFeed,
    sealer: seal::Sealer,
    /// Owner of each mailbox announced so far (owners never change).
    owners: std::sync::Mutex<std::collections::HashMap<MailboxId, AccountId>>,
    _lock: Option<File>,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir` with default options.
    pub fn open(data_dir: &Path, role: Role) -> Result<Store> {
        Self::open_with(data_dir, role, StoreOptions::default())
    }

    /// Opens (creating if needed) the store in `data_dir`: the SQLite database
    /// `pillarbox.db`, the `blobs/` directory, migrations applied.
    pub fn open_with(data_dir: &Path, role: Role, options: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let lock = match role {
            Role::Server => {
                let f = File::create(data_dir.join("server.lock"))?;
                if f.try_lock().is_err() {
                    return Err(StoreError::Locked(data_dir.display().to_string()));
                }
                Some(f)
            }
            Role::Tool => None,
        };
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        if role == Role::Server {
            // Leftovers of writes interrupted by a crash: never renamed, never referenced.
            blobs.clean_tmp(Duration::from_secs(3600))?;
        }
        let readers = std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(4)
            .max(4);
        let key = options
            .secrets_key
            .clone()
            .unwrap_or_else(|| data_dir.join("secrets.key"));
        let sealer = seal::Sealer::load_or_create(&key)?;
        let (writer, readers) = sqlite::open(&data_dir.join("pillarbox.db"), readers, &sealer)?;
        let blobs = blobs.with_inline(options.inline_blob_max, readers.clone());
        let changes = ChangeFeed::new();
        Ok(Store {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                role,
                writer,
                readers,
                blobs,
                changes,
                sealer,
                owners: std::sync::Mutex::new(std::collections::HashMap::new()),
                _lock: lock,
            }),
        })
    }

    /// Write transactions committed since open (each costs one fsync); for statistics.
    pub fn commits(&self) -> u64 {
        self.inner.writer.commits()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The blob files.
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// The change feed: subscribe to learn when mailboxes or the queue change.
    pub fn changes(&self) -> &ChangeFeed {
        &self.inner.changes
    }

    /// Starts the task that announces changes made by other processes (server role).
    pub fn spawn_change_poller(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut last = match store.inner.readers.read(sqlite::change_log_head).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(error = %e, "store: change poller cannot start");
                    return;
                }
            };
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let since = last;
                match store
                    .inner
                    .readers
                    .read(move |c| sqlite::change_log_since(c, since))
                    .await
                {
                    Ok(rows) => {
                        for (seq, change) in rows {
                            last = last.max(seq);
                            store.inner.changes.publish(change);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "store: change poll failed"),
                }
            }
        })
    }

    /// Announces `changes` after their commit: directly in the server, through the
    /// change log from a tool process.
    async fn announce(&self, changes: Vec<Change>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        match self.inner.role {
            Role::Server => {
                for c in changes {
                    self.inner.changes.publish(c);
                }
                Ok(())
            }
            Role::Tool => {
                self.inner
                    .writer
                    .write(move |t| sqlite::change_log_append(t, &changes))
                    .await
            }
        }
    }
}
