//! Metadata and blob storage. The only crate that contains SQL.
//!
//! [`Store`] is the one interface everything above uses: domains, accounts, aliases,
//! mailboxes, messages, the outbound queue and collection state, the change feed that
//! tells sessions a mailbox changed, and the few things the nodes of a cluster must
//! agree on (leases, cluster-wide locks, pacing, shared settings). Behind it is an
//! *engine*, chosen at open time: the embedded SQLite engine (`sqlite/`, one server per
//! data directory) or PostgreSQL (`postgres/`, shared by any number of nodes). Callers
//! never see which: no rusqlite or postgres type crosses this crate's public API, and
//! every method is written once over both (see `engine`).
//!
//! Durability rule: every async write method returns only after its transaction has
//! committed (SQLite with `synchronous=FULL`; PostgreSQL with its commit); blobs are
//! durable before the rows that reference them are written. Change notifications are
//! sent only after commit.

#[macro_use]
mod engine;
mod api;
pub mod backup;
mod blob;
mod changes;
mod cluster;
mod error;
mod migrate;
mod postgres;
mod rules;
mod seal;
mod sqlite;
mod types;

pub use api::{
    AddressLookup, Alert, CollectedMark, CollectionAccount, CollectionUpdate, DeliveredEntry,
    DeliveryOutcome, Event, EventFilter, GcReport, GreylistPolicy, LocalTarget, MetadataSet,
    NewCollectionAccount, NewMessage, NewQuarantined, NewQueuedMessage, OutboxItem, OutboxResult,
    Quarantined, QueueItem, QueueListing, QueueRecipientInfo, QueuedRecipient, RecipientResult,
    SessionInfo, SieveForDelivery, SieveScript, StatDelta, StatValue, TraceStep, Webhook,
};
pub use blob::{BlobHash, BlobStore, BlobWriter, StoredBlob};
pub use changes::{Change, ChangeFeed};
pub use cluster::{NodeInfo, Slot};
pub use error::{Result, StoreError};
pub use migrate::{MigrationReport, MigrationStep, migrate_to_postgres};
pub use types::*;

/// The schema version this build migrates to (the number of migrations;
/// both engines carry the same list).
pub const SCHEMA_VERSION: u32 = sqlite::migrations::MIGRATIONS.len() as u32;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use engine::Engine;

/// `url` with its password hidden, for messages and logs.
pub fn redact_url(url: &str) -> String {
    postgres::redact(url)
}

/// Who opens the store. Only one server may hold an embedded data directory; tools
/// (CLI, sendmail) may open it beside a running server, and their changes reach the
/// server through the change log it polls. On PostgreSQL any number of servers
/// (nodes) and tools share the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A long-running server: holds the data-directory lock (embedded) or its node
    /// name (PostgreSQL), and announces changes.
    Server,
    /// A short-lived tool process.
    Tool,
}

/// Which engine keeps the metadata (and, on PostgreSQL, the blobs).
#[derive(Debug, Clone, Default)]
pub enum EngineOptions {
    /// SQLite in the data directory (the default).
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by every node.
    Postgres {
        /// `postgres://user:password@host:port/database?sslmode=...`.
        url: String,
        /// Most connections this process opens.
        pool_size: usize,
        /// Extra CA (PEM) trusted for the database's certificate.
        tls_ca_file: Option<PathBuf>,
        /// Verify the database's certificate (on by default).
        tls_verify: bool,
    },
}

/// How the store keeps data.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Blobs up to this many octets live in the database, written in the same
    /// transaction as the rows that reference them (one commit instead of a file
    /// create, two fsyncs and a rename); larger blobs are files (SQLite) or chunked
    /// rows (PostgreSQL). 0: never inline.
    pub inline_blob_max: usize,
    /// The key that seals stored secrets (see `seal`); `None`: `data_dir/secrets.key`.
    /// Every node of a cluster needs the same key.
    pub secrets_key: Option<PathBuf>,
    /// The engine.
    pub engine: EngineOptions,
    /// This node's name in a cluster (leases and locks name their holder); `None`:
    /// the host name. Ignored by the embedded engine.
    pub node_name: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            inline_blob_max: 64 * 1024,
            secrets_key: None,
            engine: EngineOptions::Sqlite,
            node_name: None,
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
            .field("node", &self.inner.node)
            .finish()
    }
}

struct Inner {
    data_dir: PathBuf,
    role: Role,
    engine: Engine,
    blobs: BlobStore,
    changes: Arc<ChangeFeed>,
    sealer: seal::Sealer,
    /// Owner of each mailbox announced so far (owners never change).
    owners: std::sync::Mutex<std::collections::HashMap<MailboxId, AccountId>>,
    /// The name leases and locks are held under.
    node: String,
    /// Random per process: tells this process's own notifications from others'.
    incarnation: u64,
    /// Slots and pacing of a single node (the embedded engine keeps them in memory).
    local: cluster::Local,
    _lock: Option<File>,
}

impl Store {
    /// Opens (creating if needed) the embedded store in `data_dir` with default options.
    pub fn open(data_dir: &Path, role: Role) -> Result<Store> {
        Self::open_with(data_dir, role, StoreOptions::default())
    }

    /// Opens the store: the embedded one in `data_dir` (the SQLite database
    /// `pillarbox.db` and the `blobs/` directory, created if needed), or the
    /// PostgreSQL database the options name (`data_dir` then only holds the secrets
    /// key by default and temporary files). Migrations are applied. Blocking.
    pub fn open_with(data_dir: &Path, role: Role, options: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        if role == Role::Server {
            // Leftovers of writes interrupted by a crash: never renamed, never referenced.
            blobs.clean_tmp(Duration::from_secs(3600))?;
        }
        let key = options
            .secrets_key
            .clone()
            .unwrap_or_else(|| data_dir.join("secrets.key"));
        let sealer = seal::Sealer::load_or_create(&key)?;
        let changes = Arc::new(ChangeFeed::new());
        let incarnation: u64 = rand::random();
        let (engine, blobs, node, lock) = match &options.engine {
            EngineOptions::Sqlite => {
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
                let readers = std::thread::available_parallelism()
                    .map(|n| n.get() * 2)
                    .unwrap_or(4)
                    .max(4);
                let (writer, readers) =
                    sqlite::open(&data_dir.join("pillarbox.db"), readers, &sealer)?;
                let blobs =
                    blobs.with_inline(options.inline_blob_max, blob::Meta::Sqlite(readers.clone()));
                let node = match role {
                    Role::Server => "server".to_string(),
                    Role::Tool => format!("tool-{}", std::process::id()),
                };
                (Engine::Sqlite { writer, readers }, blobs, node, lock)
            }
            EngineOptions::Postgres { .. } => {
                let node = cluster::node_name(role, options.node_name.as_deref());
                let db = cluster::open_postgres(
                    &options,
                    role,
                    &node,
                    &sealer,
                    Arc::downgrade(&changes),
                    incarnation,
                )?;
                let blobs =
                    blobs.with_inline(options.inline_blob_max, blob::Meta::Postgres(db.clone()));
                (Engine::Postgres { db }, blobs, node, None)
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                role,
                engine,
                blobs,
                changes,
                sealer,
                owners: std::sync::Mutex::new(std::collections::HashMap::new()),
                node,
                incarnation,
                local: cluster::Local::default(),
                _lock: lock,
            }),
        })
    }

    /// Write transactions committed since open (on SQLite each costs one fsync); for
    /// statistics.
    pub fn commits(&self) -> u64 {
        match &self.inner.engine {
            Engine::Sqlite { writer, .. } => writer.commits(),
            Engine::Postgres { db } => db.commits(),
        }
    }

    /// True when several nodes share this store (PostgreSQL): the binary then shares
    /// what a single node keeps in its data directory (the generated certificate).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner.engine, Engine::Postgres { .. })
    }

    /// What the store is: the data directory, or the database URL (password hidden).
    pub fn location(&self) -> String {
        match &self.inner.engine {
            Engine::Sqlite { .. } => self.inner.data_dir.display().to_string(),
            Engine::Postgres { db } => db.url().to_string(),
        }
    }

    /// The name this process holds leases and locks under.
    pub fn node_name(&self) -> &str {
        &self.inner.node
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The blobs.
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// The change feed: subscribe to learn when mailboxes or the queue change.
    pub fn changes(&self) -> &ChangeFeed {
        &self.inner.changes
    }

    /// Starts a server's background work: on SQLite, the poll of the change log that
    /// tools write (every `every`); on PostgreSQL, the node's heartbeat and the renewal
    /// of the locks it holds (changes from other nodes arrive by LISTEN already).
    pub fn spawn_background(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        match &self.inner.engine {
            Engine::Sqlite { readers, .. } => {
                sqlite::spawn_change_poller(readers.clone(), self.inner.changes.clone(), every)
            }
            Engine::Postgres { db } => cluster::spawn_heartbeat(db.clone(), self.node_name()),
        }
    }

    /// Announces `changes` after their commit (SQLite): directly in the server,
    /// through the change log from a tool process.
    async fn announce(&self, changes: Vec<Change>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        match (&self.inner.engine, self.inner.role) {
            (Engine::Sqlite { writer, .. }, Role::Tool) => {
                writer
                    .write(move |t| sqlite::change_log_append(t, &changes))
                    .await
            }
            _ => {
                self.publish(changes);
                Ok(())
            }
        }
    }

    /// Publishes committed changes on this process's feed.
    fn publish(&self, changes: Vec<Change>) {
        for c in changes {
            self.inner.changes.publish(c);
        }
    }
}

// Both engines must carry the same migrations.
const _: () =
    assert!(sqlite::migrations::MIGRATIONS.len() == postgres::migrations::MIGRATIONS.len());
