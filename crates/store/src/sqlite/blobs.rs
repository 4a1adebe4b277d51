//! SQL for blob reference counts. A blob row exists while something references the blob
//! or until garbage collection removes it; `zero_since` marks when it became unused.

use rusqlite::{Connection, params};

use crate::blob::{BlobHash, StoredBlob};
use crate::error::Result;

/// Adds one reference to `blob`, creating its row (and storing the content of an inline
/// blob) if needed.
pub(crate) fn incref(c: &Connection, blob: &StoredBlob) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO blobs (hash, size, refcount, zero_since) VALUES (?1, ?2, 1, NULL) \
         ON CONFLICT (hash) DO UPDATE SET refcount = refcount + 1, zero_since = NULL",
    )?
    .execute(params![blob.hash.as_str(), blob.size as i64])?;
    if let Some(data) = blob.inline.as_deref() {
        c.prepare_cached("INSERT OR IGNORE INTO blob_data (hash, data) VALUES (?1, ?2)")?
            .execute(params![blob.hash.as_str(), data])?;
    }
    Ok(())
}

/// The content of an inline blob, or None when `hash` is not stored inline.
pub(crate) fn inline_data(c: &Connection, hash: &BlobHash) -> Result<Option<Vec<u8>>> {
    use rusqlite::OptionalExtension;
    Ok(
        c.prepare_cached("SELECT data FROM blob_data WHERE hash = ?1")?
            .query_row([hash.as_str()], |r| r.get(0))
            .optional()?,
    )
}

/// Drops `n` references to `hash`.
pub(crate) fn decref(c: &Connection, hash: &str, n: i64) -> Result<()> {
    c.prepare_cached(
        "UPDATE blobs SET refcount = MAX(refcount - ?2, 0), \
         zero_since = CASE WHEN refcount - ?2 <= 0 THEN ?3 ELSE NULL END WHERE hash = ?1",
    )?
    .execute(params![hash, n, super::now()])?;
    Ok(())
}

/// Drops one reference for each hash in `hashes` (a hash may repeat).
pub(crate) fn decref_many(c: &Connection, hashes: &[String]) -> Result<()> {
    let mut counts: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for h in hashes {
        *counts.entry(h.as_str()).or_insert(0) += 1;
    }
    if counts.values().any(|&n| n != 1) {
        for (h, n) in counts {
            decref(c, h, n)?;
        }
        return Ok(());
    }
    let json =
        serde_json::to_string(hashes).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    c.prepare_cached(
        "UPDATE blobs SET refcount = MAX(refcount - 1, 0), \
         zero_since = CASE WHEN refcount - 1 <= 0 THEN ?2 ELSE NULL END \
         WHERE hash IN (SELECT value FROM json_each(?1))",
    )?
    .execute(params![json, super::now()])?;
    Ok(())
}

/// Removes the rows of blobs unused since before `cutoff` (inline content goes with
/// them) and returns their hashes, each with whether it was inline.
pub(crate) fn take_unused(
    c: &Connection,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<(BlobHash, bool)>> {
    let rows: Vec<(String, bool)> = c
        .prepare_cached(
            "SELECT b.hash, EXISTS (SELECT 1 FROM blob_data d WHERE d.hash = b.hash) FROM blobs b \
             WHERE b.refcount = 0 AND b.zero_since <= ?1 LIMIT ?2",
        )?
        .query_map(params![cutoff, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut del = c.prepare_cached("DELETE FROM blobs WHERE hash = ?1 AND refcount = 0")?;
    let mut del_data = c.prepare_cached("DELETE FROM blob_data WHERE hash = ?1")?;
    let mut out = Vec::with_capacity(rows.len());
    for (h, inline) in rows {
        del.execute([&h])?;
        if inline {
            del_data.execute([&h])?;
        }
        out.push((BlobHash::parse(&h)?, inline));
    }
    Ok(out)
}

/// True when a row exists for `hash`.
pub(crate) fn known(c: &Connection, hash: &BlobHash) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = ?1)")?
            .query_row([hash.as_str()], |r| r.get(0))?,
    )
}

/// Reference count of `hash` (None when no row).
pub(crate) fn refcount(c: &Connection, hash: &BlobHash) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    Ok(
        c.prepare_cached("SELECT refcount FROM blobs WHERE hash = ?1")?
            .query_row([hash.as_str()], |r| r.get(0))
            .optional()?,
    )
}
