//! SQL for the quarantine and the greylist (PostgreSQL twin of `sqlite/scan.rs`).

use postgres::Row;

use super::Tx;
use crate::api::{GreylistPolicy, NewQuarantined, Quarantined};
use crate::error::{Result, StoreError};
use crate::types::AccountId;

const COLUMNS: &str = "id, created_at, expires_at, blob_hash, size, sender, recipients, \
                       account_id, reason, verdict, source";

fn row(r: &Row) -> Result<Quarantined> {
    let id: i64 = r.get(0);
    let rcpts: String = r.get(6);
    Ok(Quarantined {
        id,
        created_at: r.get(1),
        expires_at: r.get(2),
        blob_hash: r.get(3),
        size: r.get::<_, i64>(4) as u64,
        sender: r.get(5),
        recipients: serde_json::from_str(&rcpts)
            .map_err(|e| StoreError::Corrupt(format!("quarantine {id}: recipients: {e}")))?,
        account: r.get::<_, Option<i64>>(7).map(AccountId),
        reason: r.get(8),
        verdict: r.get(9),
        source: r.get(10),
    })
}

pub(crate) fn quarantine_put(c: &mut Tx<'_>, q: &NewQuarantined, now: i64) -> Result<i64> {
    super::blobs::incref(c, &q.blob)?;
    let rcpts =
        serde_json::to_string(&q.recipients).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let size = q.blob.size as i64;
    let account = q.account.map(|a| a.0);
    Ok(c.query_one(
        "INSERT INTO quarantine (created_at, expires_at, blob_hash, size, sender, recipients, \
         account_id, reason, verdict, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
        &[
            &now,
            &q.expires_at,
            &q.blob.hash.as_str(),
            &size,
            &q.sender,
            &rcpts,
            &account,
            &q.reason,
            &q.verdict,
            &q.source,
        ],
    )?
    .get(0))
}

pub(crate) fn quarantine_list(c: &mut Tx<'_>, limit: i64) -> Result<Vec<Quarantined>> {
    let sql = format!("SELECT {COLUMNS} FROM quarantine ORDER BY id DESC LIMIT $1");
    c.query(&sql, &[&limit])?.iter().map(row).collect()
}

pub(crate) fn quarantine_get(c: &mut Tx<'_>, id: i64) -> Result<Option<Quarantined>> {
    let sql = format!("SELECT {COLUMNS} FROM quarantine WHERE id = $1");
    c.query_opt(&sql, &[&id])?.as_ref().map(row).transpose()
}

pub(crate) fn quarantine_delete(c: &mut Tx<'_>, id: i64) -> Result<bool> {
    match c.query_opt(
        "DELETE FROM quarantine WHERE id = $1 RETURNING blob_hash",
        &[&id],
    )? {
        Some(r) => {
            let h: String = r.get(0);
            super::blobs::decref(c, &h, 1)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

pub(crate) fn quarantine_expire(c: &mut Tx<'_>, now: i64) -> Result<usize> {
    let ids: Vec<i64> = c
        .query("SELECT id FROM quarantine WHERE expires_at < $1", &[&now])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in &ids {
        quarantine_delete(c, *id)?;
    }
    Ok(ids.len())
}

fn get_row(c: &mut Tx<'_>, key: &str) -> Result<Option<(i64, i64, i64)>> {
    Ok(c.query_opt(
        "SELECT first_seen, last_seen, passes FROM greylist WHERE key = $1 FOR UPDATE",
        &[&key],
    )?
    .map(|r| (r.get(0), r.get(1), r.get(2))))
}

fn set_row(c: &mut Tx<'_>, key: &str, (first, last, passes): (i64, i64, i64)) -> Result<()> {
    c.execute(
        "INSERT INTO greylist (key, first_seen, last_seen, passes) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET first_seen = excluded.first_seen, \
         last_seen = excluded.last_seen, passes = excluded.passes",
        &[&key, &first, &last, &passes],
    )?;
    Ok(())
}

pub(crate) fn greylist_check(
    c: &mut Tx<'_>,
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
    let old = get_row(c, triplet)?;
    let (new, verdict) = crate::rules::greylist_step(old, p, now);
    set_row(c, triplet, new)?;
    if verdict.is_ok() && new.2 > 0 {
        let (first, _, passes) = get_row(c, network)?.unwrap_or((now, now, 0));
        set_row(c, network, (first, now, passes + 1))?;
    }
    Ok(verdict)
}

pub(crate) fn greylist_expire(c: &mut Tx<'_>, cutoff: i64) -> Result<usize> {
    Ok(c.execute("DELETE FROM greylist WHERE last_seen < $1", &[&cutoff])? as usize)
}
