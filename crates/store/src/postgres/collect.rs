//! SQL for collection (PostgreSQL twin of `sqlite/collect.rs`): remote accounts, the
//! keys of what was collected (recorded in the delivery's transaction), run leases
//! (one run of an account at a time across every node) and last results.

use postgres::Row;

use super::Tx;
use crate::NewQueuedMessage;
use crate::api::{
    CollectedMark, CollectionAccount, CollectionUpdate, DeliveryOutcome, LocalTarget,
    NewCollectionAccount, NewMessage,
};
use crate::error::{Result, StoreError};
use crate::types::{AccountId, CollectionId};

const COLUMNS: &str = "id, account_id, name, remote_address::TEXT, remote_username, remote_secret, \
    secrets, settings, enabled, lease_until, last_run_at, last_result, last_success_at, created_at";

fn row(r: &Row) -> CollectionAccount {
    CollectionAccount {
        id: CollectionId(r.get(0)),
        account: AccountId(r.get(1)),
        name: r.get(2),
        remote_address: r.get(3),
        remote_username: r.get(4),
        remote_secret: r.get(5),
        secrets: r.get(6),
        settings: r.get(7),
        enabled: r.get(8),
        lease_until: r.get(9),
        last_run_at: r.get(10),
        last_result: r.get(11),
        last_success_at: r.get(12),
        created_at: r.get(13),
    }
}

pub(crate) fn create(c: &mut Tx<'_>, n: &NewCollectionAccount) -> Result<CollectionAccount> {
    let id: i64 = c
        .query_opt(
            "INSERT INTO collection_accounts (account_id, name, remote_address, remote_username, \
             remote_secret, secrets, settings, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[
                &n.account.0,
                &n.name,
                &n.remote_address,
                &n.remote_username,
                &n.remote_secret,
                &n.secrets,
                &n.settings,
                &n.enabled,
                &super::now(),
            ],
        )?
        .ok_or_else(|| {
            StoreError::Conflict(format!(
                "a collection account named {:?} exists already",
                n.name
            ))
        })?
        .get(0);
    by_id(c, CollectionId(id))?.ok_or(StoreError::NotFound("collection account"))
}

pub(crate) fn get(c: &mut Tx<'_>, name: &str) -> Result<Option<CollectionAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM collection_accounts WHERE name = $1");
    Ok(c.query_opt(&sql, &[&name])?.map(|r| row(&r)))
}

pub(crate) fn by_id(c: &mut Tx<'_>, id: CollectionId) -> Result<Option<CollectionAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM collection_accounts WHERE id = $1");
    Ok(c.query_opt(&sql, &[&id.0])?.map(|r| row(&r)))
}

pub(crate) fn list(c: &mut Tx<'_>, account: Option<AccountId>) -> Result<Vec<CollectionAccount>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM collection_accounts WHERE $1::BIGINT IS NULL OR account_id = $1 \
         ORDER BY name COLLATE \"C\""
    );
    Ok(c.query(&sql, &[&account.map(|a| a.0)])?
        .iter()
        .map(row)
        .collect())
}

pub(crate) fn update(
    c: &mut Tx<'_>,
    id: CollectionId,
    u: &CollectionUpdate,
) -> Result<CollectionAccount> {
    let sql = format!("SELECT {COLUMNS} FROM collection_accounts WHERE id = $1 FOR UPDATE");
    let cur = c
        .query_opt(&sql, &[&id.0])?
        .map(|r| row(&r))
        .ok_or(StoreError::NotFound("collection account"))?;
    c.execute(
        "UPDATE collection_accounts SET remote_address = $2, remote_username = $3, \
         remote_secret = $4, secrets = $5, settings = $6, enabled = $7 WHERE id = $1",
        &[
            &id.0,
            u.remote_address.as_ref().unwrap_or(&cur.remote_address),
            u.remote_username.as_ref().unwrap_or(&cur.remote_username),
            u.remote_secret.as_ref().unwrap_or(&cur.remote_secret),
            u.secrets.as_ref().unwrap_or(&cur.secrets),
            u.settings.as_ref().unwrap_or(&cur.settings),
            &u.enabled.unwrap_or(cur.enabled),
        ],
    )?;
    by_id(c, id)?.ok_or(StoreError::NotFound("collection account"))
}

pub(crate) fn delete(c: &mut Tx<'_>, id: CollectionId) -> Result<()> {
    c.execute(
        "DELETE FROM collection_seen WHERE collection_id = $1",
        &[&id.0],
    )?;
    let n = c.execute("DELETE FROM collection_accounts WHERE id = $1", &[&id.0])?;
    if n == 0 {
        return Err(StoreError::NotFound("collection account"));
    }
    Ok(())
}

/// Every remote key collected from `id`, with when.
pub(crate) fn seen(c: &mut Tx<'_>, id: CollectionId) -> Result<Vec<(String, i64)>> {
    Ok(c.query(
        "SELECT remote_key, collected_at FROM collection_seen WHERE collection_id = $1",
        &[&id.0],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

pub(crate) fn forget(c: &mut Tx<'_>, id: CollectionId, keys: &[String]) -> Result<usize> {
    Ok(c.execute(
        "DELETE FROM collection_seen WHERE collection_id = $1 AND remote_key = ANY($2)",
        &[&id.0, &keys],
    )? as usize)
}

/// Takes the run lease for `owner` when it is free or lapsed; false when another run
/// (on any node) holds it.
pub(crate) fn lease(
    c: &mut Tx<'_>,
    id: CollectionId,
    now: i64,
    until: i64,
    owner: &str,
) -> Result<bool> {
    let n = c.execute(
        "UPDATE collection_accounts SET lease_until = $3, lease_owner = $4 \
         WHERE id = $1 AND (lease_until IS NULL OR lease_until <= $2)",
        &[&id.0, &now, &until, &owner],
    )?;
    Ok(n == 1)
}

/// Gives back the run leases `owner` held (that node starting again).
pub(crate) fn clear_leases(c: &mut Tx<'_>, owner: &str) -> Result<usize> {
    Ok(c.execute(
        "UPDATE collection_accounts SET lease_until = NULL, lease_owner = NULL \
         WHERE lease_owner = $1",
        &[&owner],
    )? as usize)
}

/// Releases the lease and records how the run went.
pub(crate) fn finish_run(
    c: &mut Tx<'_>,
    id: CollectionId,
    at: i64,
    result: &str,
    success: bool,
) -> Result<()> {
    c.execute(
        "UPDATE collection_accounts SET lease_until = NULL, lease_owner = NULL, last_run_at = $2, \
         last_result = $3, last_success_at = CASE WHEN $4 THEN $2 ELSE last_success_at END \
         WHERE id = $1",
        &[&id.0, &at, &result, &success],
    )?;
    Ok(())
}

/// Stores a collected message and records its remote key, atomically. A key recorded
/// already, or a message that went nowhere, fails the job so nothing of it stays.
pub(crate) fn deliver(
    c: &mut Tx<'_>,
    m: &NewMessage,
    local: &[LocalTarget],
    queue: Option<&NewQueuedMessage>,
    mark: &CollectedMark,
) -> Result<DeliveryOutcome> {
    let n = c.execute(
        "INSERT INTO collection_seen (collection_id, remote_key, collected_at) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&mark.collection.0, &mark.key, &mark.at],
    )?;
    if n == 0 {
        return Err(StoreError::AlreadyCollected);
    }
    let mut outcome = super::delivery::deliver(c, m, local, queue)?;
    // Nothing asked for (a Sieve script discarded or refused it): the key alone is
    // recorded, so the message is not collected again.
    let nothing_asked = local.is_empty() && queue.is_none();
    if !nothing_asked && outcome.queued.is_none() && !outcome.local.iter().any(|r| r.is_ok()) {
        let first = outcome.local.drain(..).find_map(|r| r.err());
        return Err(first.unwrap_or(StoreError::NotFound("recipient")));
    }
    Ok(outcome)
}
