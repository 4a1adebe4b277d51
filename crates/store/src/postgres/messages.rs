//! SQL for messages and mailbox entries (PostgreSQL twin of `sqlite/messages.rs`).
//! The UID and MODSEQ of a new entry come from one `UPDATE ... RETURNING` on the
//! mailbox row, whose lock then orders every writer of that mailbox until commit.

use super::Tx;
use crate::blob::StoredBlob;
use crate::error::{Result, StoreError};
use crate::types::{MailboxId, MessageId};

/// Inserts a message row for `blob` with `refs` references and takes a blob reference.
pub(crate) fn insert(
    c: &mut Tx<'_>,
    blob: &StoredBlob,
    structure: &[u8],
    received_at: i64,
    refs: i64,
) -> Result<MessageId> {
    super::blobs::incref(c, blob)?;
    let id: i64 = c
        .query_one(
            "INSERT INTO messages (blob_hash, size, received_at, structure, refcount) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &blob.hash.as_str(),
                &(blob.size as i64),
                &received_at,
                &structure,
                &refs,
            ],
        )?
        .get(0);
    Ok(MessageId(id))
}

/// Drops references to many messages at once (`counts`: message id → references
/// dropped). Messages left without references are deleted and their blobs released.
pub(crate) fn release_many(
    c: &mut Tx<'_>,
    counts: &std::collections::HashMap<i64, i64>,
) -> Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = counts.keys().copied().collect();
    ids.sort_unstable();
    let drops: Vec<i64> = ids.iter().map(|m| counts[m]).collect();
    let gone: Vec<i64> = c
        .query(
            "UPDATE messages m SET refcount = m.refcount - d.n \
             FROM unnest($1::BIGINT[], $2::BIGINT[]) AS d(id, n) WHERE m.id = d.id \
             RETURNING m.id, m.refcount",
            &[&ids, &drops],
        )?
        .iter()
        .filter(|r| r.get::<_, i64>(1) <= 0)
        .map(|r| r.get(0))
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    let hashes: Vec<String> = c
        .query(
            "DELETE FROM messages WHERE id = ANY($1) RETURNING blob_hash",
            &[&gone],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
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
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    message: MessageId,
    size: u64,
    flags: u32,
    keywords: &str,
    internal_date: i64,
) -> Result<Appended> {
    let Some(r) = c.query_opt(
        "UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 \
         WHERE id = $1 AND uidnext < 4294967295 \
         RETURNING account_id, uidnext - 1, highestmodseq",
        &[&mailbox.0],
    )?
    else {
        let exists = c
            .query_opt("SELECT 1 FROM mailboxes WHERE id = $1", &[&mailbox.0])?
            .is_some();
        return Err(if exists {
            StoreError::Conflict("mailbox has used up its UIDs".into())
        } else {
            StoreError::NotFound("mailbox")
        });
    };
    let (account, uid, modseq): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
    c.execute(
        "INSERT INTO mailbox_entries (mailbox_id, uid, message_id, flags, keywords, modseq, internal_date, saved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &mailbox.0,
            &uid,
            &message.0,
            &i64::from(flags),
            &keywords,
            &modseq,
            &internal_date,
            &super::now(),
        ],
    )?;
    c.execute(
        "UPDATE accounts SET used_bytes = used_bytes + $2 WHERE id = $1",
        &[&account, &(size as i64)],
    )?;
    Ok(Appended {
        uid: uid as u32,
        modseq: modseq as u64,
    })
}

/// Quota and usage of `account`, locking its row until commit so that concurrent
/// deliveries check the quota one after the other.
pub(crate) fn quota_of(c: &mut Tx<'_>, account: i64) -> Result<(u64, u64)> {
    let r = c
        .query_opt(
            "SELECT quota_bytes, used_bytes FROM accounts WHERE id = $1 FOR UPDATE",
            &[&account],
        )?
        .ok_or(StoreError::NotFound("account"))?;
    let (quota, used): (i64, i64) = (r.get(0), r.get(1));
    Ok((quota.max(0) as u64, used.max(0) as u64))
}
