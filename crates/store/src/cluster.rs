//! What the nodes of a cluster agree on through the store, behind the same methods on
//! both engines: slots of a lock (delivery connections per destination, one POP3
//! session per maildrop), pacing (messages per minute through a route), the failed
//! logins of a client network, shared settings, and the nodes themselves. The embedded
//! engine has one node, so it keeps slots and pacing in memory; PostgreSQL keeps them
//! in tables, each held under the node's name with a lease its heartbeat renews, so a
//! node that dies lets go of what it held within [`LOCK_TTL`].

use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::changes::ChangeFeed;
use crate::engine::Engine;
use crate::error::{Result, StoreError};
use crate::postgres::{self, Db, PgOptions, Tx};
use crate::{EngineOptions, Role, Store, StoreOptions, seal};

/// How long a cluster lock outlives its holder's last heartbeat.
pub const LOCK_TTL: Duration = Duration::from_secs(90);
/// How often a node says it is alive and renews its locks.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// One slot of a lock, held until given back (or, on PostgreSQL, until the holder's
/// heartbeat stops for [`LOCK_TTL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    name: String,
    slot: i64,
}

/// A node of the cluster as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub started_at: i64,
    pub last_seen: i64,
}

/// Slots and pacing of the one node of an embedded store.
#[derive(Debug, Default)]
pub(crate) struct Local {
    slots: Mutex<HashMap<String, Vec<bool>>>,
    pacing: Mutex<HashMap<String, i64>>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The name a process holds leases under: the configured node name (or the host
/// name) for a server, a name of its own for a tool.
pub(crate) fn node_name(role: Role, configured: Option<&str>) -> String {
    let host = configured
        .map(str::to_string)
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_string());
    match role {
        Role::Server => host,
        Role::Tool => format!("{host}/tool-{}", std::process::id()),
    }
}

/// The advisory-lock key that says a node name is in use.
fn node_lock_key(node: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("pillarbox node {node}").as_bytes());
    i64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Connects to PostgreSQL, applies migrations, checks that this node seals secrets
/// with the cluster's key, and for a server takes its node name, gives back what its
/// previous run held and starts relaying other nodes' changes to `feed`. Runs on a
/// thread of its own (the driver blocks, and callers may be async).
pub(crate) fn open_postgres(
    options: &StoreOptions,
    role: Role,
    node: &str,
    sealer: &seal::Sealer,
    feed: Weak<ChangeFeed>,
    incarnation: u64,
) -> Result<Db> {
    let EngineOptions::Postgres {
        url,
        pool_size,
        tls_ca_file,
        tls_verify,
    } = &options.engine
    else {
        return Err(StoreError::Corrupt("not a PostgreSQL store".into()));
    };
    let pg = PgOptions {
        url: url.clone(),
        pool_size: *pool_size,
        tls_ca_file: tls_ca_file.clone(),
        tls_verify: *tls_verify,
    };
    let node = node.to_string();
    let fingerprint = sealer.fingerprint().to_string();
    let key_path = sealer.path().display().to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            let db = Db::connect(&pg)?;
            db.write_blocking(postgres::migrations_run)?;
            let held = db.write_blocking(|t| {
                postgres::settings::init(
                    t,
                    "secrets_key_fingerprint",
                    &fingerprint,
                    postgres::now(),
                )
            })?;
            if held != fingerprint {
                return Err(StoreError::Secret(format!(
                    "the secrets key {key_path} is not the key this cluster seals secrets with; \
                     copy the key file of a running node here (or set [store] secrets_key_file)"
                )));
            }
            if role == Role::Server {
                postgres::listen::start(
                    db.clone(),
                    feed,
                    incarnation,
                    Some((node_lock_key(&node), node.clone())),
                )?;
                db.write_blocking(|t| {
                    postgres::nodes::heartbeat(t, &node, postgres::now(), true)?;
                    postgres::nodes::clear_locks(t, &node)?;
                    Ok(())
                })?;
            }
            Ok(db)
        })
        .join()
        .unwrap_or_else(|_| Err(StoreError::Corrupt("opening the database panicked".into())))
    })
}

/// The node's heartbeat: says it is alive and renews the locks it holds.
pub(crate) fn spawn_heartbeat(db: Db, node: &str) -> tokio::task::JoinHandle<()> {
    let node = node.to_string();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            let node = node.clone();
            let beat = db
                .write(move |t: &mut Tx<'_>| {
                    let now = postgres::now();
                    postgres::nodes::heartbeat(t, &node, now, false)?;
                    postgres::nodes::renew_locks(t, &node, now + LOCK_TTL.as_secs() as i64)?;
                    Ok(())
                })
                .await;
            if let Err(e) = beat {
                tracing::warn!(error = %e, "store: node heartbeat failed");
            }
        }
    })
}

impl Store {
    /// Takes one of `limit` slots of the lock `name` (across every node), or None when
    /// all are taken.
    pub async fn lock_slot(&self, name: &str, limit: usize) -> Result<Option<Slot>> {
        let limit = limit.max(1);
        match &self.inner.engine {
            Engine::Sqlite { .. } => {
                let mut slots = self
                    .inner
                    .local
                    .slots
                    .lock()
                    .map_err(|_| StoreError::Closed)?;
                let held = slots.entry(name.to_string()).or_default();
                if held.len() < limit {
                    held.resize(limit, false);
                }
                Ok(held.iter().take(limit).position(|h| !h).map(|i| {
                    held[i] = true;
                    Slot {
                        name: name.to_string(),
                        slot: i as i64,
                    }
                }))
            }
            Engine::Postgres { db } => {
                let (name, owner) = (name.to_string(), self.inner.node.clone());
                db.write(move |t| {
                    let now = postgres::now();
                    let until = now + LOCK_TTL.as_secs() as i64;
                    let slot =
                        postgres::nodes::lock_slot(t, &name, limit as i64, &owner, now, until)?;
                    Ok(slot.map(|slot| Slot {
                        name: name.clone(),
                        slot,
                    }))
                })
                .await
            }
        }
    }

    /// Gives a slot back.
    pub async fn unlock_slot(&self, slot: Slot) -> Result<()> {
        match &self.inner.engine {
            Engine::Sqlite { .. } => {
                let mut slots = self
                    .inner
                    .local
                    .slots
                    .lock()
                    .map_err(|_| StoreError::Closed)?;
                if let Some(h) = slots
                    .get_mut(&slot.name)
                    .and_then(|v| v.get_mut(slot.slot as usize))
                {
                    *h = false;
                }
                Ok(())
            }
            Engine::Postgres { db } => {
                let owner = self.inner.node.clone();
                db.write(move |t| postgres::nodes::unlock_slot(t, &slot.name, slot.slot, &owner))
                    .await
            }
        }
    }

    /// Paces messages through `name` (a route) at one per `interval` across every
    /// node: returns how long this message waits for its turn.
    pub async fn pace(&self, name: &str, interval: Duration) -> Result<Duration> {
        let step = interval.as_millis() as i64;
        let now = now_ms();
        let slot = match &self.inner.engine {
            Engine::Sqlite { .. } => {
                let mut pacing = self
                    .inner
                    .local
                    .pacing
                    .lock()
                    .map_err(|_| StoreError::Closed)?;
                let next = pacing.entry(name.to_string()).or_insert(0);
                let slot = (*next).max(now);
                *next = slot + step;
                slot
            }
            Engine::Postgres { db } => {
                let name = name.to_string();
                db.write(move |t| postgres::nodes::pace(t, &name, step, now))
                    .await?
            }
        };
        Ok(Duration::from_millis((slot - now).max(0) as u64))
    }

    /// How long `source` (a client network) stays locked out after failed logins on
    /// any node; None when it may log in. The embedded engine has one node, whose
    /// in-process limiter decides alone: None.
    pub async fn login_locked(&self, source: &str) -> Result<Option<Duration>> {
        match &self.inner.engine {
            Engine::Sqlite { .. } => Ok(None),
            Engine::Postgres { db } => {
                let source = source.to_string();
                let now = postgres::now();
                let until = db
                    .read(move |t| postgres::nodes::login_locked(t, &source, now))
                    .await?;
                Ok(until.map(|u| Duration::from_secs((u - now).max(1) as u64)))
            }
        }
    }

    /// Counts a failed login from `source` across the cluster; true when it locks the
    /// source out (`max` failures within `window`, for `lockout`).
    pub async fn login_failed(
        &self,
        source: &str,
        max: u32,
        window: Duration,
        lockout: Duration,
    ) -> Result<bool> {
        match &self.inner.engine {
            Engine::Sqlite { .. } => Ok(false),
            Engine::Postgres { db } => {
                let source = source.to_string();
                db.write(move |t| {
                    postgres::nodes::login_failed(
                        t,
                        &source,
                        postgres::now(),
                        i64::from(max),
                        window.as_secs() as i64,
                        lockout.as_secs() as i64,
                    )
                })
                .await
            }
        }
    }

    /// Forgets the failed logins of `source` (it logged in).
    pub async fn login_succeeded(&self, source: &str) -> Result<()> {
        match &self.inner.engine {
            Engine::Sqlite { .. } => Ok(()),
            Engine::Postgres { db } => {
                let source = source.to_string();
                db.write(move |t| postgres::nodes::login_succeeded(t, &source))
                    .await
            }
        }
    }

    /// A setting kept in the store.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let name = name.to_string();
        db_read!(self, |c, sql| sql::settings::get(c, &name))
    }

    /// Sets a setting kept in the store unless it has a value already (another node
    /// was first); returns the value that holds.
    pub async fn setting_init(&self, name: &str, value: &str) -> Result<String> {
        let (name, value) = (name.to_string(), value.to_string());
        db_write!(self, |t, sql| sql::settings::init(
            t,
            &name,
            &value,
            crate::sqlite::now()
        ))
    }

    /// [`Store::setting_init`] for a secret: sealed in the store like other secrets,
    /// returned in the clear.
    pub async fn secret_setting_init(&self, name: &str, value: &str) -> Result<String> {
        let sealed = self.inner.sealer.seal(seal::Column::Setting, value)?;
        let held = self.setting_init(name, &sealed).await?;
        self.inner.sealer.open(seal::Column::Setting, &held)
    }

    /// A secret setting, opened (`None` when unset).
    pub async fn secret_setting(&self, name: &str) -> Result<Option<String>> {
        match self.setting(name).await? {
            Some(v) => Ok(Some(self.inner.sealer.open(seal::Column::Setting, &v)?)),
            None => Ok(None),
        }
    }

    /// Sets a secret setting (sealed), replacing its value.
    pub async fn secret_setting_put(&self, name: &str, value: &str) -> Result<()> {
        let sealed = self.inner.sealer.seal(seal::Column::Setting, value)?;
        let name = name.to_string();
        db_write!(self, |t, sql| sql::settings::put(
            t,
            &name,
            &sealed,
            crate::sqlite::now()
        ))
    }

    /// Sets a setting, replacing its value.
    pub async fn setting_put(&self, name: &str, value: &str) -> Result<()> {
        let (name, value) = (name.to_string(), value.to_string());
        db_write!(self, |t, sql| sql::settings::put(
            t,
            &name,
            &value,
            crate::sqlite::now()
        ))
    }

    /// Removes a setting; true if it existed.
    pub async fn setting_delete(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        db_write!(self, |t, sql| sql::settings::delete(t, &name))
    }

    /// True when a server uses this store: the data directory's lock is held
    /// (embedded), or a node's heartbeat is recent (PostgreSQL).
    pub async fn server_running(&self) -> Result<bool> {
        match &self.inner.engine {
            Engine::Sqlite { .. } => Ok(
                match std::fs::File::open(self.inner.data_dir.join("server.lock")) {
                    Ok(f) => f.try_lock_shared().is_err(),
                    Err(_) => false,
                },
            ),
            Engine::Postgres { .. } => {
                let fresh = crate::sqlite::now() - 3 * HEARTBEAT.as_secs() as i64;
                Ok(self.nodes().await?.iter().any(|n| n.last_seen >= fresh))
            }
        }
    }

    /// The nodes of the cluster (one, "server", for the embedded engine).
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>> {
        match &self.inner.engine {
            Engine::Sqlite { .. } => Ok(vec![NodeInfo {
                name: self.inner.node.clone(),
                started_at: 0,
                last_seen: crate::sqlite::now(),
            }]),
            Engine::Postgres { db } => Ok(db
                .read(postgres::nodes::list)
                .await?
                .into_iter()
                .map(|(name, started_at, last_seen)| NodeInfo {
                    name,
                    started_at,
                    last_seen,
                })
                .collect()),
        }
    }
}
