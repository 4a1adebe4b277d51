//! SQL for the outbound queue (PostgreSQL twin of `sqlite/queue.rs`). Several nodes
//! dispatch from one queue: due recipients are leased with `FOR UPDATE SKIP LOCKED`
//! (two nodes never take the same one), each lease names the node that holds it, the
//! holder renews its leases while it lives, and a node that starts again gives back
//! the leases its previous run held. A dead node's leases lapse at their expiry and
//! the others take them.

use postgres::Row;

use super::Tx;
use crate::blob::{BlobHash, StoredBlob};
use crate::error::{Result, StoreError};
use crate::types::{AccountId, QueueId};
use crate::{
    NewQueuedMessage, QueueItem, QueueListing, QueueRecipientInfo, QueuedRecipient, RecipientResult,
};

pub(crate) fn enqueue(c: &mut Tx<'_>, blob: &StoredBlob, m: &NewQueuedMessage) -> Result<QueueId> {
    super::blobs::incref(c, blob)?;
    let now = super::now();
    let id: i64 = c
        .query_one(
            "INSERT INTO queue_messages (blob_hash, size, sender, envid, ret, account_id, source, route, \
             created_at, trace) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &blob.hash.as_str(),
                &(blob.size as i64),
                &m.sender,
                &m.envid,
                &m.ret,
                &m.account.map(|a| a.0),
                &m.source,
                &m.route,
                &now,
                &m.trace,
            ],
        )?
        .get(0);
    let mut addresses = Vec::with_capacity(m.recipients.len());
    let mut domains = Vec::with_capacity(m.recipients.len());
    let mut orcpts = Vec::with_capacity(m.recipients.len());
    let mut notifies = Vec::with_capacity(m.recipients.len());
    for QueuedRecipient {
        address,
        orcpt,
        notify,
    } in &m.recipients
    {
        addresses.push(address.as_str());
        domains.push(address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default());
        orcpts.push(orcpt.as_deref());
        notifies.push(notify.as_deref());
    }
    c.execute(
        "INSERT INTO queue_recipients (queue_id, recipient, domain, orcpt, notify, next_attempt) \
         SELECT $1, r, d, o, n, $6 FROM unnest($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[]) \
         WITH ORDINALITY AS t(r, d, o, n, i) ORDER BY i",
        &[&id, &addresses, &domains, &orcpts, &notifies, &now],
    )?;
    Ok(QueueId(id))
}

/// Number of recipients not yet delivered or failed.
pub(crate) fn pending_count(c: &mut Tx<'_>) -> Result<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM queue_recipients WHERE status = 'queued'",
        &[],
    )?
    .get(0))
}

/// When the oldest message still waiting entered the queue (None: the queue is empty).
pub(crate) fn oldest(c: &mut Tx<'_>) -> Result<Option<i64>> {
    Ok(c.query_one(
        "SELECT MIN(m.created_at) FROM queue_messages m WHERE EXISTS \
         (SELECT 1 FROM queue_recipients r WHERE r.queue_id = m.id AND r.status = 'queued')",
        &[],
    )?
    .get(0))
}

fn item(r: &Row) -> Result<QueueItem> {
    Ok(QueueItem {
        recipient_id: r.get(0),
        queue_id: QueueId(r.get(1)),
        recipient: r.get(2),
        domain: r.get(3),
        orcpt: r.get(4),
        notify: r.get(5),
        attempts: r.get::<_, i64>(6).max(0) as u32,
        delay_warned: r.get(7),
        created_at: r.get(8),
        sender: r.get(9),
        envid: r.get(10),
        ret: r.get(11),
        account: r.get::<_, Option<i64>>(12).map(AccountId),
        blob: BlobHash::parse(r.get(13))?,
        size: r.get::<_, i64>(14).max(0) as u64,
        route: r.get(15),
        trace: r.get(16),
    })
}

/// Leases up to `limit` due recipients (queued, due, not held, lease free or lapsed)
/// to `owner` until `lease_until`, skipping rows another node is leasing right now.
pub(crate) fn lease_due(
    c: &mut Tx<'_>,
    now: i64,
    lease_until: i64,
    limit: i64,
    owner: &str,
) -> Result<Vec<QueueItem>> {
    let rows = c.query(
        "WITH due AS ( \
             SELECT r.id FROM queue_recipients r JOIN queue_messages m ON m.id = r.queue_id \
             WHERE r.status = 'queued' AND r.next_attempt <= $1 AND NOT m.held \
               AND (r.lease_until IS NULL OR r.lease_until <= $1) \
             ORDER BY r.next_attempt, r.queue_id LIMIT $2 FOR UPDATE OF r SKIP LOCKED), \
         leased AS ( \
             UPDATE queue_recipients r SET lease_until = $3, lease_owner = $4 FROM due \
             WHERE r.id = due.id RETURNING r.*) \
         SELECT r.id, r.queue_id, r.recipient, r.domain, r.orcpt, r.notify, r.attempts, r.delay_warned, \
                m.created_at, m.sender, m.envid, m.ret, m.account_id, m.blob_hash, m.size, m.route, m.trace \
         FROM leased r JOIN queue_messages m ON m.id = r.queue_id \
         ORDER BY r.next_attempt, r.queue_id, r.id",
        &[&now, &limit, &lease_until, &owner],
    )?;
    rows.iter().map(item).collect()
}

/// When the next queued, unheld recipient is due (None: nothing waits).
pub(crate) fn next_due(c: &mut Tx<'_>) -> Result<Option<i64>> {
    Ok(c.query_one(
        "SELECT MIN(GREATEST(r.next_attempt, COALESCE(r.lease_until, 0))) FROM queue_recipients r \
             JOIN queue_messages m ON m.id = r.queue_id WHERE r.status = 'queued' AND NOT m.held",
        &[],
    )?
    .get(0))
}

/// Records delivery results; a message whose recipients are all finished leaves the queue.
pub(crate) fn record(c: &mut Tx<'_>, now: i64, results: &[(i64, RecipientResult)]) -> Result<()> {
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
        let q = c.query_opt(
            "UPDATE queue_recipients SET status = $2, \
                 next_attempt = COALESCE($3, next_attempt), \
                 last_error = COALESCE($4, last_error), \
                 attempts = attempts + $5, \
                 last_attempt = CASE WHEN $5 > 0 THEN $6 ELSE last_attempt END, \
                 delay_warned = delay_warned OR $7, \
                 lease_until = NULL, lease_owner = NULL, \
                 finished_at = CASE WHEN $8 THEN $6 ELSE NULL END \
             WHERE id = $1 RETURNING queue_id",
            &[
                id,
                &status,
                &next,
                &error,
                &attempt_inc,
                &now,
                &warned,
                &finished,
            ],
        )?;
        if finished
            && let Some(q) = q.map(|r| r.get::<_, i64>(0))
            && !touched.contains(&q)
        {
            touched.push(q);
        }
    }
    touched.sort_unstable();
    for q in touched {
        // Lock the message: two nodes finishing its last recipients remove it once.
        if c.query_opt(
            "SELECT id FROM queue_messages WHERE id = $1 FOR UPDATE",
            &[&q],
        )?
        .is_none()
        {
            continue;
        }
        let open: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM queue_recipients WHERE queue_id = $1 AND status = 'queued'",
                &[&q],
            )?
            .get(0);
        if open == 0 {
            remove_message(c, q)?;
        }
    }
    Ok(())
}

fn remove_message(c: &mut Tx<'_>, q: i64) -> Result<()> {
    c.execute("DELETE FROM queue_recipients WHERE queue_id = $1", &[&q])?;
    let hash = c.query_opt(
        "DELETE FROM queue_messages WHERE id = $1 RETURNING blob_hash",
        &[&q],
    )?;
    if let Some(h) = hash {
        super::blobs::decref(c, h.get(0), 1)?;
    }
    Ok(())
}

/// Deletes a queued message outright (`queue delete`).
pub(crate) fn delete(c: &mut Tx<'_>, q: QueueId) -> Result<()> {
    if c.query_opt(
        "SELECT id FROM queue_messages WHERE id = $1 FOR UPDATE",
        &[&q.0],
    )?
    .is_none()
    {
        return Err(StoreError::NotFound("queued message"));
    }
    remove_message(c, q.0)
}

/// Holds or releases one message or all; returns how many messages changed.
pub(crate) fn set_held(c: &mut Tx<'_>, q: Option<QueueId>, held: bool) -> Result<usize> {
    let only = q.map(|q| q.0);
    let n = c.execute(
        "UPDATE queue_messages SET held = $2 WHERE ($1::BIGINT IS NULL OR id = $1) AND held != $2",
        &[&only, &held],
    )?;
    if n == 0 && q.is_some() && !exists(c, only)? {
        return Err(StoreError::NotFound("queued message"));
    }
    Ok(n as usize)
}

/// Makes one message (or all) due now; returns how many recipients changed.
pub(crate) fn retry_now(c: &mut Tx<'_>, q: Option<QueueId>, now: i64) -> Result<usize> {
    let only = q.map(|q| q.0);
    let n = c.execute(
        "UPDATE queue_recipients SET next_attempt = $2, lease_until = NULL, lease_owner = NULL \
         WHERE status = 'queued' AND ($1::BIGINT IS NULL OR queue_id = $1)",
        &[&only, &now],
    )?;
    if n == 0 && q.is_some() && !exists(c, only)? {
        return Err(StoreError::NotFound("queued message"));
    }
    Ok(n as usize)
}

fn exists(c: &mut Tx<'_>, q: Option<i64>) -> Result<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM queue_messages WHERE id = $1", &[&q])?
            .is_some(),
    )
}

/// Every queued message with its recipients (or just `only`).
pub(crate) fn list(c: &mut Tx<'_>, only: Option<QueueId>) -> Result<Vec<QueueListing>> {
    let only = only.map(|q| q.0);
    let mut out: Vec<QueueListing> = c
        .query(
            "SELECT id, sender, size, created_at, held, source, route, trace FROM queue_messages \
             WHERE $1::BIGINT IS NULL OR id = $1 ORDER BY id",
            &[&only],
        )?
        .iter()
        .map(|r| QueueListing {
            id: QueueId(r.get(0)),
            sender: r.get(1),
            size: r.get::<_, i64>(2).max(0) as u64,
            created_at: r.get(3),
            held: r.get(4),
            source: r.get(5),
            route: r.get(6),
            trace: r.get(7),
            recipients: Vec::new(),
        })
        .collect();
    let ids: Vec<i64> = out.iter().map(|m| m.id.0).collect();
    let rows = c.query(
        "SELECT queue_id, id, recipient, status, attempts, next_attempt, last_attempt, last_error \
         FROM queue_recipients WHERE queue_id = ANY($1) ORDER BY queue_id, id",
        &[&ids],
    )?;
    let mut at = 0;
    for r in rows {
        let q: i64 = r.get(0);
        while at < out.len() && out[at].id.0 != q {
            at += 1;
        }
        let Some(m) = out.get_mut(at) else { break };
        m.recipients.push(QueueRecipientInfo {
            id: r.get(1),
            address: r.get(2),
            status: r.get(3),
            attempts: r.get::<_, i64>(4).max(0) as u32,
            next_attempt: r.get(5),
            last_attempt: r.get(6),
            last_error: r.get(7),
        });
    }
    Ok(out)
}

/// Gives back the leases `owner` held (that node starting again: its previous run's
/// leases must not delay their recipients until they lapse).
pub(crate) fn clear_leases(c: &mut Tx<'_>, owner: &str) -> Result<usize> {
    Ok(c.execute(
        "UPDATE queue_recipients SET lease_until = NULL, lease_owner = NULL \
         WHERE lease_owner = $1",
        &[&owner],
    )? as usize)
}

/// Extends the leases `owner` holds to `until` (the node is alive and still working).
pub(crate) fn renew_leases(c: &mut Tx<'_>, owner: &str, until: i64) -> Result<usize> {
    Ok(c.execute(
        "UPDATE queue_recipients SET lease_until = $2 \
         WHERE lease_owner = $1 AND status = 'queued' AND lease_until IS NOT NULL",
        &[&owner, &until],
    )? as usize)
}

/// The login of the collection account whose remote address is `address`, if any.
pub(crate) fn collection_login(c: &mut Tx<'_>, address: &str) -> Result<Option<(String, String)>> {
    Ok(c.query_opt(
        "SELECT remote_username, COALESCE(remote_secret, '') FROM collection_accounts \
             WHERE remote_address = $1 AND remote_username IS NOT NULL ORDER BY id LIMIT 1",
        &[&address],
    )?
    .map(|r| (r.get(0), r.get(1))))
}

/// The whole-queue hold switch (kept in `counters`).
pub(crate) fn global_hold(c: &mut Tx<'_>) -> Result<bool> {
    Ok(
        c.query_opt("SELECT value FROM counters WHERE name = 'queue_hold'", &[])?
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0)
            != 0,
    )
}

pub(crate) fn set_global_hold(c: &mut Tx<'_>, held: bool) -> Result<()> {
    c.execute(
        "INSERT INTO counters (name, value) VALUES ('queue_hold', $1) \
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        &[&(held as i64)],
    )?;
    Ok(())
}
