//! SQL for messages and mailbox entries: insert, append with UID/MODSEQ assignment,
//! release of unreferenced messages.

use rusqlite::{Connection, params};

use crate::blob::StoredBlob;
use crate::error::{Result, StoreError};
use crate::types::{MailboxId, MessageId};

/// Inserts a message row for `blob` with `refs` references and takes a blob reference.
pub(crate) fn insert(
    c: &Connection,
    blob: &StoredBlob,
    structure: &[u8],
    received_at: i64,
    refs: i64,
) -> Result<MessageId> {
    super::blobs::incref(c, blob)?;
    c.prepare_cached(
        "INSERT INTO messages (blob_hash, size, received_at, structure, refcount) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![blob.hash.as_str(), blob.size as i64, received_at, structure, refs])?;
    Ok(MessageId(c.last_insert_rowid()))
}

/// Drops `n` references to a message; the last one deletes it and releases its blob.
pub(crate) fn release(c: &Connection, message: i64, n: i64) -> Result<()> {
    let (refs, hash): (i64, String) = c
        .prepare_cached("SELECT refcount, blob_hash FROM messages WHERE id = ?1")?
        .query_row([message], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if refs - n <= 0 {
        c.prepare_cached("DELETE FROM messages WHERE id = ?1")?
            .execute([message])?;
        super::blobs::decref(c, &hash, 1)?;
    } else {
        c.prepare_cached("UPDATE messages SET refcount = refcount - ?2 WHERE id = ?1")?
            .execute(params![message, n])?;
    }
    Ok(())
}

/// Drops references to many messages at once (`counts`: message id → references
/// dropped). Messages left without references are deleted and their blobs released.
pub(crate) fn release_many(
    c: &Connection,
    counts: &std::collections::HashMap<i64, i64>,
) -> Result<()> {
    if counts.values().any(|&n| n != 1) {
        for (&m, &n) in counts {
            release(c, m, n)?;
        }
        return Ok(());
    }
    let mut ids = String::from("[");
    for (i, m) in counts.keys().enumerate() {
        if i > 0 {
            ids.push(',');
        }
        ids.push_str(&m.to_string());
    }
    ids.push(']');
    c.prepare_cached(
        "UPDATE messages SET refcount = refcount - 1 WHERE id IN (SELECT value FROM json_each(?1))",
    )?
    .execute([&ids])?;
    let hashes: Vec<String> = c
        .prepare_cached(
            "DELETE FROM messages WHERE refcount <= 0 AND id IN (SELECT value FROM json_each(?1)) RETURNING blob_hash",
        )?
        .query_map([&ids], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    super::blobs::decref_many(c, &hashes)
}

/// The UID and MODSEQ given to a new entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Appended {
    pub uid: u32,
    pub modseq: u64,
}

/// Appends an entry for `message` to `mailbox`: next UID, next MODSEQ, quota accounting.
/// The message's reference count must already include this entry.
pub(crate) fn append_entry(
    c: &Connection,
    mailbox: MailboxId,
    message: MessageId,
    size: u64,
    flags: u32,
    keywords: &str,
    internal_date: i64,
) -> Result<Appended> {
    let (account, uidnext, modseq): (i64, i64, i64) = c
        .prepare_cached("SELECT account_id, uidnext, highestmodseq FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("mailbox"),
            e => e.into(),
        })?;
    if uidnext >= u32::MAX as i64 {
        return Err(StoreError::Conflict("mailbox has used up its UIDs".into()));
    }
    let modseq = modseq + 1;
    c.prepare_cached("UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1")?
        .execute(params![mailbox.0, uidnext + 1, modseq])?;
    c.prepare_cached(
        "INSERT INTO mailbox_entries (mailbox_id, uid, message_id, flags, keywords, modseq, internal_date, saved_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![mailbox.0, uidnext, message.0, flags, keywords, modseq, internal_date, super::now()])?;
    c.prepare_cached("UPDATE accounts SET used_bytes = used_bytes + ?2 WHERE id = ?1")?
        .execute(params![account, size as i64])?;
    Ok(Appended {
        uid: uidnext as u32,
        modseq: modseq as u64,
    })
}

/// Quota and usage of the account owning `mailbox`.
pub(crate) fn quota_of(c: &Connection, account: i64) -> Result<(u64, u64)> {
    let (quota, used): (i64, i64) = c
        .prepare_cached("SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?1")?
        .query_row([account], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((quota.max(0) as u64, used.max(0) as u64))
}
