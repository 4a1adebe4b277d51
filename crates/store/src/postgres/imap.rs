//! SQL for IMAP sessions (PostgreSQL twin of `sqlite/imap.rs`): consistent snapshots of
//! a mailbox and its changes since a MODSEQ. Every read job runs in one REPEATABLE READ
//! transaction, so the HIGHESTMODSEQ a session records covers exactly what it saw.

use postgres::Row;

use super::Tx;
use crate::blob::BlobHash;
use crate::error::{Result, StoreError};
use crate::types::{BlobEntry, Entry, MailboxDelta, MailboxId, MailboxSnapshot, MessageId};

const COLUMNS: &str = "e.uid, e.message_id, e.flags, e.keywords, e.modseq, e.internal_date, m.size, m.blob_hash, e.saved_at";

fn row(r: &Row) -> Result<BlobEntry> {
    Ok(BlobEntry {
        entry: Entry {
            uid: r.get::<_, i64>(0) as u32,
            message: MessageId(r.get(1)),
            flags: r.get::<_, i64>(2) as u32,
            keywords: r.get(3),
            modseq: r.get::<_, i64>(4) as u64,
            internal_date: r.get(5),
            size: r.get::<_, i64>(6).max(0) as u64,
            saved_at: r.get(8),
        },
        blob: BlobHash::parse(r.get(7))?,
    })
}

/// The mailbox row, every entry with its message's blob, and the first UID still
/// `\Recent` (not yet claimed by a session).
pub(crate) fn snapshot(c: &mut Tx<'_>, mailbox: MailboxId) -> Result<MailboxSnapshot> {
    let mb = super::mailboxes::get_by_id(c, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let sql = format!(
        "SELECT {COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = $1 ORDER BY e.uid"
    );
    let entries = c
        .query(&sql, &[&mailbox.0])?
        .iter()
        .map(row)
        .collect::<Result<Vec<_>>>()?;
    Ok(MailboxSnapshot {
        mailbox: mb,
        entries,
        first_unclaimed_recent: first_unclaimed_recent(c, mailbox)?,
    })
}

/// The first UID of `mailbox` no session has claimed as `\Recent`.
fn first_unclaimed_recent(c: &mut Tx<'_>, mailbox: MailboxId) -> Result<u32> {
    let first: i64 = c
        .query_one(
            "SELECT first_recent_uid FROM mailboxes WHERE id = $1",
            &[&mailbox.0],
        )?
        .get(0);
    Ok(u32::try_from(first).unwrap_or(u32::MAX))
}

/// The mailbox row, the entries changed after `since` with their blobs and the UIDs
/// expunged after it.
pub(crate) fn delta(c: &mut Tx<'_>, mailbox: MailboxId, since: u64) -> Result<MailboxDelta> {
    let mb = super::mailboxes::get_by_id(c, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let first_unclaimed_recent = first_unclaimed_recent(c, mailbox)?;
    if mb.highestmodseq <= since {
        return Ok(MailboxDelta {
            mailbox: mb,
            changed: Vec::new(),
            expunged: Vec::new(),
            first_unclaimed_recent,
        });
    }
    let since = since as i64;
    let sql = format!(
        "SELECT {COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = $1 AND e.modseq > $2 ORDER BY e.uid"
    );
    let changed = c
        .query(&sql, &[&mailbox.0, &since])?
        .iter()
        .map(row)
        .collect::<Result<Vec<_>>>()?;
    let expunged = c
        .query(
            "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
            &[&mailbox.0, &since],
        )?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u32)
        .collect();
    Ok(MailboxDelta {
        mailbox: mb,
        changed,
        expunged,
        first_unclaimed_recent,
    })
}

/// The whole content of each of `hashes` (inline or chunked), `None` for a blob that
/// is not stored, read in the job's one transaction.
pub(crate) fn blob_contents(c: &mut Tx<'_>, hashes: &[BlobHash]) -> Result<Vec<Option<Vec<u8>>>> {
    hashes
        .iter()
        .map(|h| super::blobs::read_range(c, h, 0, usize::MAX))
        .collect()
}
