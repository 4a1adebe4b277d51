//! SQL for the quarantine and the greylist (see `api/scan.rs`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::api::{GreylistPolicy, NewQuarantined, Quarantined};
use crate::error::{Result, StoreError};
use crate::types::AccountId;

const COLUMNS: &str = "id, created_at, expires_at, blob_hash, size, sender, recipients, \
                       account_id, reason, verdict, source";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Quarantined, String)> {
    Ok((
        Quarantined {
            id: r.get(0)?,
            created_at: r.get(1)?,
            expires_at: r.get(2)?,
            blob_hash: r.get(3)?,
            size: r.get::<_, i64>(4)? as u64,
            sender: r.get(5)?,
            recipients: Vec::new(),
            account: r.get::<_, Option<i64>>(7)?.map(AccountId),
            reason: r.get(8)?,
            verdict: r.get(9)?,
            source: r.get(10)?,
        },
        r.get(6)?,
    ))
}

fn finish((mut q, rcpts): (Quarantined, String)) -> Result<Quarantined> {
    q.recipients = serde_json::from_str(&rcpts)
        .map_err(|e| StoreError::Corrupt(format!("quarantine {}: recipients: {e}", q.id)))?;
    Ok(q)
}

pub(crate) fn quarantine_put(c: &Connection, q: &NewQuarantined, now: i64) -> Result<i64> {
    super::blobs::incref(c, &q.blob)?;
    let rcpts =
        serde_json::to_string(&q.recipients).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    c.execute(
        "INSERT INTO quarantine (created_at, expires_at, blob_hash, size, sender, recipients, \
         account_id, reason, verdict, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            now,
            q.expires_at,
            q.blob.hash.as_str(),
            q.blob.size as i64,
            q.sender,
            rcpts,
            q.account.map(|a| a.0),
            q.reason,
            q.verdict,
            q.source
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub(crate) fn quarantine_list(c: &Connection, limit: i64) -> Result<Vec<Quarantined>> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM quarantine ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = st.query_map([limit], row)?;
    rows.map(|r| finish(r?)).collect()
}

pub(crate) fn quarantine_get(c: &Connection, id: i64) -> Result<Option<Quarantined>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM quarantine WHERE id = ?1"),
        [id],
        row,
    )
    .optional()?
    .map(finish)
    .transpose()
}

pub(crate) fn quarantine_delete(c: &Connection, id: i64) -> Result<bool> {
    let hash: Option<String> = c
        .query_row(
            "DELETE FROM quarantine WHERE id = ?1 RETURNING blob_hash",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    match hash {
        Some(h) => {
            super::blobs::decref(c, &h, 1)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

pub(crate) fn quarantine_expire(c: &Connection, now: i64) -> Result<usize> {
    let ids: Vec<i64> = c
        .prepare("SELECT id FROM quarantine WHERE expires_at < ?1")?
        .query_map([now], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        quarantine_delete(c, *id)?;
    }
    Ok(ids.len())
}

fn get_row(c: &Connection, key: &str) -> Result<Option<(i64, i64, i64)>> {
    Ok(
        c.prepare_cached("SELECT first_seen, last_seen, passes FROM greylist WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?,
    )
}

fn set_row(c: &Connection, key: &str, (first, last, passes): (i64, i64, i64)) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO greylist (key, first_seen, last_seen, passes) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (key) DO UPDATE SET first_seen = excluded.first_seen, \
         last_seen = excluded.last_seen, passes = excluded.passes",
    )?
    .execute(params![key, first, last, passes])?;
    Ok(())
}

pub(crate) fn greylist_check(
    c: &Connection,
    network: &str,
    triplet: &str,
    p: GreylistPolicy,
    now: i64,
) -> Result<std::result::Result<(), i64>> {
    if p.auto_whitelist_after > 0
        && let Some((first, last, passes)) = get_row(c, network)?
        && passes >= p.auto_whitelist_after
        && now - last <= p.remember
    {
        set_row(c, network, (first, now, passes))?;
        return Ok(Ok(()));
    }
    let (new, verdict) = crate::rules::greylist_step(get_row(c, triplet)?, p, now);
    set_row(c, triplet, new)?;
    if verdict.is_ok() && new.2 > 0 {
        let (first, _, passes) = get_row(c, network)?.unwrap_or((now, now, 0));
        set_row(c, network, (first, now, passes + 1))?;
    }
    Ok(verdict)
}

pub(crate) fn greylist_expire(c: &Connection, cutoff: i64) -> Result<usize> {
    Ok(c.execute("DELETE FROM greylist WHERE last_seen < ?1", [cutoff])?)
}
