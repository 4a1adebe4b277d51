//! The login lockouts as the administrator sees them: `pillarbox auth blocked` and
//! `pillarbox auth unblock`, run beside a running server.
//!
//! The counts live in the server's memory (and, on PostgreSQL, in the store's shared
//! `login_failures` rows); the CLI reaches neither the memory nor, through the store's
//! interface, a listing of those rows. So two settings in the store, which every engine
//! has and every node and the CLI read, carry what they need:
//!
//! - [`LOCKOUTS`]: the locks in force, written by the node that locks (a JSON array of
//!   `{"source", "account", "until"}`, `until` in Unix seconds), pruned of expired ones
//!   as it is rewritten;
//! - [`UNBLOCKED`]: unblock requests (`{"source": address, "account": null, "at_ms"}`
//!   for every lock from an address, `{"source": null, "account": name, …}` for every
//!   lock of an account): a node finding
//!   a lock in its memory asks this setting (one read, only while a lock holds) and lifts
//!   the lock when it began before the request. The CLI also deletes the store's shared
//!   rows of what it unblocks, so the other nodes of a cluster let the client in too.
//!
//! Losing a write to [`LOCKOUTS`] to a race between nodes only hides a lock from the
//! listing; it never lifts one.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pillarbox_store::{Store, StoreError};
use serde_json::{Value, json};

use crate::limiter::{LockKey, normalise_account};

/// The setting holding the locks in force.
pub const LOCKOUTS: &str = "auth.lockouts";
/// The setting holding unblock requests.
pub const UNBLOCKED: &str = "auth.unblocked";

/// A lock in force, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    /// The client address (its /64 for IPv6) and, for a single account, its name.
    pub key: LockKey,
    /// When it ends (Unix seconds).
    pub until: i64,
}

impl Lockout {
    /// The time it has left (zero once over).
    pub fn remaining(&self) -> Duration {
        Duration::from_secs((self.until - unix_now()).max(0) as u64)
    }
}

fn unix_now() -> i64 {
    unix(SystemTime::now()) / 1000
}

/// `t` in Unix milliseconds.
pub(crate) fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn key_json(k: &LockKey) -> (Value, Value) {
    (
        Value::String(k.source.to_string()),
        k.account.clone().map_or(Value::Null, Value::String),
    )
}

fn key_of(v: &Value) -> Option<LockKey> {
    Some(LockKey {
        source: v.get("source")?.as_str()?.parse().ok()?,
        account: v.get("account").and_then(Value::as_str).map(str::to_string),
    })
}

async fn read_array(store: &Store, name: &str) -> Result<Vec<Value>, StoreError> {
    Ok(store
        .setting(name)
        .await?
        .and_then(|s| serde_json::from_str::<Vec<Value>>(&s).ok())
        .unwrap_or_default())
}

async fn write_array(store: &Store, name: &str, items: &[Value]) -> Result<(), StoreError> {
    if items.is_empty() {
        store.setting_delete(name).await?;
        Ok(())
    } else {
        store
            .setting_put(name, &Value::Array(items.to_vec()).to_string())
            .await
    }
}

/// The locks in force, soonest to end first.
pub async fn blocked(store: &Store) -> Result<Vec<Lockout>, StoreError> {
    let now = unix_now();
    let mut out: Vec<Lockout> = read_array(store, LOCKOUTS)
        .await?
        .iter()
        .filter_map(|v| {
            Some(Lockout {
                key: key_of(v)?,
                until: v.get("until")?.as_i64()?,
            })
        })
        .filter(|l| l.until > now)
        .collect();
    out.sort_by(|a, b| a.until.cmp(&b.until).then_with(|| a.key.cmp(&b.key)));
    Ok(out)
}

/// What `pillarbox auth unblock` takes: a client address, or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnblockTarget {
    /// Every lock of this address: the address's own and its accounts'.
    Address(IpAddr),
    /// Every lock of this account, from any address.
    Account(String),
}

impl UnblockTarget {
    /// An address when `s` is one, else an account name.
    pub fn parse(s: &str) -> UnblockTarget {
        match s.trim().parse::<IpAddr>() {
            Ok(ip) => UnblockTarget::Address(LockKey::address(ip).source),
            Err(_) => UnblockTarget::Account(normalise_account(s)),
        }
    }

    fn matches(&self, k: &LockKey) -> bool {
        match self {
            UnblockTarget::Address(ip) => k.source == *ip,
            UnblockTarget::Account(a) => k.account.as_deref() == Some(a.as_str()),
        }
    }
}

/// Lifts the locks `target` names: removed from the listing, recorded as an unblock
/// request for the nodes, and their shared counts deleted from the store. Returns the
/// locks that were in force. Requests older than `keep` (the longest lockout) are
/// pruned. An address with no listed lock still has its shared count cleared, and an
/// unblock request recorded, so a lock missing from the listing is lifted too.
pub async fn unblock(
    store: &Store,
    target: &UnblockTarget,
    keep: Duration,
) -> Result<Vec<Lockout>, StoreError> {
    let now_ms = unix(SystemTime::now());
    let lifted: Vec<Lockout> = blocked(store)
        .await?
        .into_iter()
        .filter(|l| target.matches(&l.key))
        .collect();
    let remaining: Vec<Value> = read_array(store, LOCKOUTS)
        .await?
        .into_iter()
        .filter(|v| key_of(v).is_some_and(|k| !target.matches(&k)))
        .collect();
    write_array(store, LOCKOUTS, &remaining).await?;

    let mut keys: Vec<LockKey> = lifted.iter().map(|l| l.key.clone()).collect();
    if let UnblockTarget::Address(ip) = target {
        keys.push(LockKey::address(*ip));
    }
    keys.sort();
    keys.dedup();
    for k in &keys {
        store.login_succeeded(&k.store_key()).await?;
    }
    let oldest = now_ms - keep.as_millis() as i64 - 60_000;
    let mut requests: Vec<Value> = read_array(store, UNBLOCKED)
        .await?
        .into_iter()
        .filter(|v| v.get("at_ms").and_then(Value::as_i64).unwrap_or(0) >= oldest)
        .collect();
    requests.push(match target {
        UnblockTarget::Address(ip) => {
            json!({ "source": ip.to_string(), "account": null, "at_ms": now_ms })
        }
        UnblockTarget::Account(a) => json!({ "source": null, "account": a, "at_ms": now_ms }),
    });
    write_array(store, UNBLOCKED, &requests).await?;
    Ok(lifted)
}

/// Records that `key` is locked until `until` (a node locked it).
pub(crate) async fn record(
    store: &Store,
    key: &LockKey,
    until: SystemTime,
) -> Result<(), StoreError> {
    let now = unix_now();
    let mut items: Vec<Value> = read_array(store, LOCKOUTS)
        .await?
        .into_iter()
        .filter(|v| {
            v.get("until").and_then(Value::as_i64).unwrap_or(0) > now
                && key_of(v).as_ref() != Some(key)
        })
        .collect();
    let (source, account) = key_json(key);
    items.push(json!({ "source": source, "account": account, "until": unix(until) / 1000 }));
    write_array(store, LOCKOUTS, &items).await
}

/// True when an unblock request for `key` came at or after `since` (the lock began).
pub(crate) async fn unblocked_since(
    store: &Store,
    key: &LockKey,
    since: SystemTime,
) -> Result<bool, StoreError> {
    let since = unix(since);
    Ok(read_array(store, UNBLOCKED).await?.iter().any(|v| {
        let at = v.get("at_ms").and_then(Value::as_i64).unwrap_or(0);
        // A request names an address (every lock from it) or an account (its locks
        // from every address).
        let source_ok = match v.get("source").and_then(Value::as_str) {
            Some(s) => s.parse::<IpAddr>().ok() == Some(key.source),
            None => true,
        };
        let account_ok = match v.get("account").and_then(Value::as_str) {
            Some(a) => key.account.as_deref() == Some(a),
            None => true,
        };
        at >= since && source_ok && account_ok
    }))
}
