//! SQL for blobs (PostgreSQL twin of `sqlite/blobs.rs`), and the content of large
//! blobs, which a cluster cannot keep in one node's files: `blob_chunks` holds them in
//! rows of [`CHUNK`] octets, written and committed before anything references them,
//! read back a range at a time (a 50 MiB message is never in one row or in memory).

use super::Tx;
use crate::blob::{BlobHash, StoredBlob};
use crate::error::Result;

/// Octets per row of `blob_chunks`.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Adds one reference to `blob`, creating its row (and storing the content of an inline
/// blob) if needed.
pub(crate) fn incref(c: &mut Tx<'_>, blob: &StoredBlob) -> Result<()> {
    c.execute(
        "INSERT INTO blobs (hash, size, refcount, zero_since) VALUES ($1, $2, 1, NULL) \
         ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + 1, zero_since = NULL",
        &[&blob.hash.as_str(), &(blob.size as i64)],
    )?;
    if let Some(data) = blob.inline.as_deref() {
        c.execute(
            "INSERT INTO blob_data (hash, data) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&blob.hash.as_str(), &data],
        )?;
    }
    Ok(())
}

/// The content of an inline blob, or None when `hash` is not stored inline.
pub(crate) fn inline_data(c: &mut Tx<'_>, hash: &BlobHash) -> Result<Option<Vec<u8>>> {
    Ok(c.query_opt(
        "SELECT data FROM blob_data WHERE hash = $1",
        &[&hash.as_str()],
    )?
    .map(|r| r.get(0)))
}

/// Drops `n` references to `hash`.
pub(crate) fn decref(c: &mut Tx<'_>, hash: &str, n: i64) -> Result<()> {
    c.execute(
        "UPDATE blobs SET refcount = GREATEST(refcount - $2, 0), \
         zero_since = CASE WHEN refcount - $2 <= 0 THEN $3::BIGINT ELSE NULL END WHERE hash = $1",
        &[&hash, &n, &super::now()],
    )?;
    Ok(())
}

/// Drops one reference for each hash in `hashes` (a hash may repeat).
pub(crate) fn decref_many(c: &mut Tx<'_>, hashes: &[String]) -> Result<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for h in hashes {
        *counts.entry(h.as_str()).or_insert(0) += 1;
    }
    let keys: Vec<&str> = counts.keys().copied().collect();
    let ns: Vec<i64> = counts.values().copied().collect();
    c.execute(
        "UPDATE blobs b SET refcount = GREATEST(b.refcount - d.n, 0), \
         zero_since = CASE WHEN b.refcount - d.n <= 0 THEN $3::BIGINT ELSE NULL END \
         FROM unnest($1::TEXT[], $2::BIGINT[]) AS d(hash, n) WHERE b.hash = d.hash",
        &[&keys, &ns, &super::now()],
    )?;
    Ok(())
}

/// Removes the rows of blobs unused since before `cutoff`, with their content (inline
/// or chunks), and returns their hashes. Chunks written or found again after `cutoff`
/// (a write in flight reusing the content) are kept, as the file engine keeps young
/// files.
pub(crate) fn take_unused(c: &mut Tx<'_>, cutoff: i64, limit: i64) -> Result<Vec<BlobHash>> {
    let hashes: Vec<String> = c
        .query(
            "DELETE FROM blobs WHERE hash IN (SELECT hash FROM blobs \
             WHERE refcount = 0 AND zero_since <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
             AND refcount = 0 RETURNING hash",
            &[&cutoff, &limit],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    c.execute("DELETE FROM blob_data WHERE hash = ANY($1)", &[&hashes])?;
    c.execute(
        "DELETE FROM blob_chunks k WHERE k.hash = ANY($1) AND NOT EXISTS \
         (SELECT 1 FROM blob_chunks y WHERE y.hash = k.hash AND y.seq = 0 AND y.written_at > $2)",
        &[&hashes, &cutoff],
    )?;
    hashes.iter().map(|h| BlobHash::parse(h)).collect()
}

/// Removes chunks that no blob row references and that were written before `cutoff`
/// (a crash between the chunks' commit and the referencing one); returns how many
/// blobs' chunks went.
pub(crate) fn remove_orphan_chunks(c: &mut Tx<'_>, cutoff: i64) -> Result<usize> {
    let gone = c.query(
        "DELETE FROM blob_chunks k WHERE k.hash IN (SELECT y.hash FROM blob_chunks y \
         WHERE y.seq = 0 AND y.written_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = y.hash) LIMIT 1000) \
         RETURNING k.seq",
        &[&cutoff],
    )?;
    Ok(gone.iter().filter(|r| r.get::<_, i64>(0) == 0).count())
}

/// Reference count of `hash` (None when no row).
pub(crate) fn refcount(c: &mut Tx<'_>, hash: &BlobHash) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT refcount FROM blobs WHERE hash = $1",
        &[&hash.as_str()],
    )?
    .map(|r| r.get(0)))
}

/// Makes sure the chunks of `hash` are stored: when they are (another write of the
/// same content), marks them as just written so garbage collection spares them and
/// returns false; otherwise the caller writes them.
pub(crate) fn chunks_present(c: &mut Tx<'_>, hash: &BlobHash) -> Result<bool> {
    let n = c.execute(
        "UPDATE blob_chunks SET written_at = $2 WHERE hash = $1 AND seq = 0",
        &[&hash.as_str(), &super::now()],
    )?;
    Ok(n > 0)
}

/// Stores chunk `seq` of `hash`.
pub(crate) fn put_chunk(c: &mut Tx<'_>, hash: &BlobHash, seq: i64, data: &[u8]) -> Result<()> {
    c.execute(
        "INSERT INTO blob_chunks (hash, seq, data, written_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hash, seq) DO UPDATE SET written_at = EXCLUDED.written_at",
        &[&hash.as_str(), &seq, &data, &super::now()],
    )?;
    Ok(())
}

/// True when `hash` is stored (inline or in chunks).
pub(crate) fn exists(c: &mut Tx<'_>, hash: &BlobHash) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM blob_data WHERE hash = $1 \
             UNION ALL SELECT 1 FROM blob_chunks WHERE hash = $1 AND seq = 0 LIMIT 1",
        &[&hash.as_str()],
    )?
    .is_some())
}

/// `len` octets of `hash` from `offset` (fewer at the end), from the inline content or
/// the chunks covering the range; None when the blob is not stored.
pub(crate) fn read_range(
    c: &mut Tx<'_>,
    hash: &BlobHash,
    offset: u64,
    len: usize,
) -> Result<Option<Vec<u8>>> {
    if let Some(data) = inline_data(c, hash)? {
        let start = (offset as usize).min(data.len());
        let end = start.saturating_add(len).min(data.len());
        return Ok(Some(data[start..end].to_vec()));
    }
    let first = (offset / CHUNK as u64) as i64;
    let last = (offset.saturating_add(len as u64).saturating_sub(1) / CHUNK as u64) as i64;
    let rows = c.query(
        "SELECT seq, data FROM blob_chunks WHERE hash = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
        &[&hash.as_str(), &first, &last.max(first)],
    )?;
    if rows.is_empty() {
        let stored = c
            .query_opt(
                "SELECT 1 FROM blob_chunks WHERE hash = $1 AND seq = 0",
                &[&hash.as_str()],
            )?
            .is_some();
        return Ok(stored.then(Vec::new));
    }
    let mut out = Vec::with_capacity(len.min(16 * 1024 * 1024));
    for r in rows {
        let seq: i64 = r.get(0);
        let data: &[u8] = r.get(1);
        let base = seq as u64 * CHUNK as u64;
        let from = offset.saturating_sub(base) as usize;
        if from >= data.len() {
            continue;
        }
        let want = len - out.len();
        let to = from.saturating_add(want).min(data.len());
        out.extend_from_slice(&data[from..to]);
        if out.len() >= len {
            break;
        }
    }
    Ok(Some(out))
}
