//! SQL for the outbound queue: enqueue a message with its recipients.

use rusqlite::{Connection, params};

use crate::blob::BlobHash;
use crate::blob::StoredBlob;
use crate::error::Result;
use crate::error::StoreError;
use crate::types::{AccountId, QueueId};
use crate::{
    NewQueuedMessage, QueueItem, QueueListing, QueueRecipientInfo, QueuedRecipient, RecipientResult,
};

pub(crate) fn enqueue(c: &Connection, blob: &StoredBlob, m: &NewQueuedMessage) -> Result<QueueId> {
    super::blobs::incref(c, blob)?;
    let now = super::now();
    c.prepare_cached(
        "INSERT INTO queue_messages (blob_hash, size, sender, envid, ret, account_id, source, route, \
         created_at, trace) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        blob.hash.as_str(),
        blob.size as i64,
        m.sender,
        m.envid,
        m.ret,
        m.account.map(|a| a.0),
        m.source,
        m.route,
        now,
        m.trace
    ])?;
    let id = c.last_insert_rowid();
    let mut ins = c.prepare_cached(
        "INSERT INTO queue_recipients (queue_id, recipient, domain, orcpt, notify, next_attempt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for QueuedRecipient {
        address,
        orcpt,
        notify,
    } in &m.recipients
    {
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        ins.execute(params![id, address, domain, orcpt, notify, now])?;
    }
    Ok(QueueId(id))
}

/// Number of recipients not yet delivered or failed.
pub(crate) fn pending_count(c: &Connection) -> Result<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM queue_recipients WHERE status = 'queued'",
        [],
        |r| r.get(0),
    )?)
}

/// When the oldest message still waiting entered the queue (None: the queue is empty).
pub(crate) fn oldest(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT MIN(m.created_at) FROM queue_messages m WHERE EXISTS \
         (SELECT 1 FROM queue_recipients r WHERE r.queue_id = m.id AND r.status = 'queued')",
        [],
        |r| r.get(0),
    )?)
}

/// Leases up to `limit` due recipients (queued, due, not held, lease expired) until
/// `lease_until`, and returns them with their message.
pub(crate) fn lease_due(
    c: &Connection,
    now: i64,
    lease_until: i64,
    limit: i64,
    owner: &str,
) -> Result<Vec<QueueItem>> {
    let mut st = c.prepare_cached(
        "SELECT r.id, r.queue_id, r.recipient, r.domain, r.orcpt, r.notify, r.attempts, r.delay_warned, \
                m.created_at, m.sender, m.envid, m.ret, m.account_id, m.blob_hash, m.size, m.route, m.trace \
         FROM queue_recipients r JOIN queue_messages m ON m.id = r.queue_id \
         WHERE r.status = 'queued' AND r.next_attempt <= ?1 AND m.held = 0 \
           AND (r.lease_until IS NULL OR r.lease_until <= ?1) \
         ORDER BY r.next_attempt, r.queue_id LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![now, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, bool>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, Option<i64>>(12)?,
                r.get::<_, String>(13)?,
                r.get::<_, i64>(14)?,
                r.get::<_, Option<String>>(15)?,
                r.get::<_, Option<String>>(16)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut lease = c.prepare_cached(
        "UPDATE queue_recipients SET lease_until = ?2, lease_owner = ?3 WHERE id = ?1",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        lease.execute(params![row.0, lease_until, owner])?;
        out.push(QueueItem {
            recipient_id: row.0,
            queue_id: QueueId(row.1),
            recipient: row.2,
            domain: row.3,
            orcpt: row.4,
            notify: row.5,
            attempts: row.6.max(0) as u32,
            delay_warned: row.7,
            created_at: row.8,
            sender: row.9,
            envid: row.10,
            ret: row.11,
            account: row.12.map(AccountId),
            blob: BlobHash::parse(&row.13)?,
            size: row.14.max(0) as u64,
            route: row.15,
            trace: row.16,
        });
    }
    Ok(out)
}

/// When the next queued, unheld recipient is due (None: nothing waits).
pub(crate) fn next_due(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT MIN(MAX(r.next_attempt, COALESCE(r.lease_until, 0))) FROM queue_recipients r \
         JOIN queue_messages m ON m.id = r.queue_id WHERE r.status = 'queued' AND m.held = 0",
        [],
        |r| r.get(0),
    )?)
}

/// Records delivery results; a message whose recipients are all finished leaves the queue.
pub(crate) fn record(c: &Connection, now: i64, results: &[(i64, RecipientResult)]) -> Result<()> {
    let mut touched = Vec::new();
    for (id, result) in results {
        let (status, next, error, attempt_inc, warned): (
            &str,
            Option<i64>,
            Option<&str>,
            i64,
            bool,
        ) = match result {
            RecipientResult::Delivered { detail } => {
                ("delivered", None, Some(detail.as_str()), 1, false)
            }
            RecipientResult::Retry {
                next_attempt,
                error,
            } => (
                "queued",
                Some(*next_attempt),
                Some(error.as_str()),
                1,
                false,
            ),
            RecipientResult::Failed { error } => ("failed", None, Some(error.as_str()), 1, false),
            RecipientResult::Expired { error } => ("expired", None, Some(error.as_str()), 0, false),
            RecipientResult::DelayWarned => ("queued", None, None, 0, true),
            RecipientResult::Released => ("queued", None, None, 0, false),
        };
        let finished = status != "queued";
        c.prepare_cached(
            "UPDATE queue_recipients SET status = ?2, \
                 next_attempt = COALESCE(?3, next_attempt), \
                 last_error = COALESCE(?4, last_error), \
                 attempts = attempts + ?5, \
                 last_attempt = CASE WHEN ?5 > 0 THEN ?6 ELSE last_attempt END, \
                 delay_warned = MAX(delay_warned, ?7), \
                 lease_until = NULL, lease_owner = NULL, \
                 finished_at = CASE WHEN ?8 THEN ?6 ELSE NULL END \
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            status,
            next,
            error,
            attempt_inc,
            now,
            warned,
            finished
        ])?;
        if finished {
            let q: Option<i64> = c
                .query_row(
                    "SELECT queue_id FROM queue_recipients WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .ok();
            if let Some(q) = q
                && !touched.contains(&q)
            {
                touched.push(q);
            }
        }
    }
    for q in touched {
        let open: i64 = c.query_row(
            "SELECT COUNT(*) FROM queue_recipients WHERE queue_id = ?1 AND status = 'queued'",
            [q],
            |r| r.get(0),
        )?;
        if open == 0 {
            remove_message(c, q)?;
        }
    }
    Ok(())
}

fn remove_message(c: &Connection, q: i64) -> Result<()> {
    let hash: Option<String> = c
        .query_row(
            "SELECT blob_hash FROM queue_messages WHERE id = ?1",
            [q],
            |r| r.get(0),
        )
        .ok();
    c.execute("DELETE FROM queue_recipients WHERE queue_id = ?1", [q])?;
    c.execute("DELETE FROM queue_messages WHERE id = ?1", [q])?;
    if let Some(h) = hash {
        super::blobs::decref(c, &h, 1)?;
    }
    Ok(())
}

/// Deletes a queued message outright (`queue delete`).
pub(crate) fn delete(c: &Connection, q: QueueId) -> Result<()> {
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM queue_messages WHERE id = ?1)",
        [q.0],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(StoreError::NotFound("queued message"));
    }
    remove_message(c, q.0)
}

/// Holds or releases one message or all; returns how many messages changed.
pub(crate) fn set_held(c: &Connection, q: Option<QueueId>, held: bool) -> Result<usize> {
    let n = c.execute(
        "UPDATE queue_messages SET held = ?2 WHERE (?1 IS NULL OR id = ?1) AND held != ?2",
        params![q.map(|q| q.0), held],
    )?;
    if n == 0 && q.is_some() && !exists(c, q)? {
        return Err(StoreError::NotFound("queued message"));
    }
    Ok(n)
}

/// Makes one message (or all) due now; returns how many recipients changed.
pub(crate) fn retry_now(c: &Connection, q: Option<QueueId>, now: i64) -> Result<usize> {
    let n = c.execute(
        "UPDATE queue_recipients SET next_attempt = ?2, lease_until = NULL, lease_owner = NULL \
         WHERE status = 'queued' AND (?1 IS NULL OR queue_id = ?1)",
        params![q.map(|q| q.0), now],
    )?;
    if n == 0 && q.is_some() && !exists(c, q)? {
        return Err(StoreError::NotFound("queued message"));
    }
    Ok(n)
}

fn exists(c: &Connection, q: Option<QueueId>) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM queue_messages WHERE id = ?1)",
        [q.map(|q| q.0)],
        |r| r.get(0),
    )?)
}

/// Every queued message with its recipients (or just `only`).
pub(crate) fn list(c: &Connection, only: Option<QueueId>) -> Result<Vec<QueueListing>> {
    let mut st = c.prepare_cached(
        "SELECT id, sender, size, created_at, held, source, route, trace FROM queue_messages \
         WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
    )?;
    let mut out: Vec<QueueListing> = st
        .query_map([only.map(|q| q.0)], |r| {
            Ok(QueueListing {
                id: QueueId(r.get(0)?),
                sender: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                created_at: r.get(3)?,
                held: r.get(4)?,
                source: r.get(5)?,
                route: r.get(6)?,
                trace: r.get(7)?,
                recipients: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut rs = c.prepare_cached(
        "SELECT id, recipient, status, attempts, next_attempt, last_attempt, last_error \
         FROM queue_recipients WHERE queue_id = ?1 ORDER BY id",
    )?;
    for m in out.iter_mut() {
        m.recipients = rs
            .query_map([m.id.0], |r| {
                Ok(QueueRecipientInfo {
                    id: r.get(0)?,
                    address: r.get(1)?,
                    status: r.get(2)?,
                    attempts: r.get::<_, i64>(3)?.max(0) as u32,
                    next_attempt: r.get(4)?,
                    last_attempt: r.get(5)?,
                    last_error: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(out)
}

/// Gives back the leases `owner` held (that server starting again: its previous
/// run's leases must not delay their recipients until they lapse), and leases from
/// before owners were recorded.
pub(crate) fn clear_leases(c: &Connection, owner: &str) -> Result<usize> {
    Ok(c.execute(
        "UPDATE queue_recipients SET lease_until = NULL, lease_owner = NULL \
         WHERE lease_until IS NOT NULL AND (lease_owner = ?1 OR lease_owner IS NULL)",
        [owner],
    )?)
}

/// Extends the leases `owner` holds to `until` (it is alive and still working).
pub(crate) fn renew_leases(c: &Connection, owner: &str, until: i64) -> Result<usize> {
    Ok(c.execute(
        "UPDATE queue_recipients SET lease_until = ?2 \
         WHERE lease_owner = ?1 AND status = 'queued' AND lease_until IS NOT NULL",
        params![owner, until],
    )?)
}

/// The login of the collection account whose remote address is `address`, if any.
pub(crate) fn collection_login(c: &Connection, address: &str) -> Result<Option<(String, String)>> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT remote_username, COALESCE(remote_secret, '') FROM collection_accounts \
         WHERE remote_address = ?1 COLLATE NOCASE AND remote_username IS NOT NULL ORDER BY id LIMIT 1",
        [address],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// The whole-queue hold switch (kept in `counters`).
pub(crate) fn global_hold(c: &Connection) -> Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT value FROM counters WHERE name = 'queue_hold'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .optional()?
    .unwrap_or(0)
        != 0)
}

pub(crate) fn set_global_hold(c: &Connection, held: bool) -> Result<()> {
    c.execute(
        "INSERT INTO counters (name, value) VALUES ('queue_hold', ?1) \
         ON CONFLICT (name) DO UPDATE SET value = ?1",
        [held as i64],
    )?;
    Ok(())
}
