//! SQL for IMAP sessions: consistent snapshots of a mailbox (the mailbox row and its
//! entries with the blob of each message, or its changes since a MODSEQ, each with the
//! first UID not yet claimed as `\Recent`) read inside one read transaction, so the
//! HIGHESTMODSEQ a session records covers exactly the changes it saw.

use rusqlite::{Connection, params};

use crate::blob::BlobHash;
use crate::error::{Result, StoreError};
use crate::types::{BlobEntry, Entry, MailboxDelta, MailboxId, MailboxSnapshot, MessageId};

const COLUMNS: &str = "e.uid, e.message_id, e.flags, e.keywords, e.modseq, e.internal_date, m.size, m.blob_hash, e.saved_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Entry, String)> {
    Ok((
        Entry {
            uid: r.get::<_, i64>(0)? as u32,
            message: MessageId(r.get(1)?),
            flags: r.get::<_, i64>(2)? as u32,
            keywords: r.get(3)?,
            modseq: r.get::<_, i64>(4)? as u64,
            internal_date: r.get(5)?,
            size: r.get::<_, i64>(6)? as u64,
            saved_at: r.get(8)?,
        },
        r.get(7)?,
    ))
}

/// Runs `f` in a read transaction (BEGIN and COMMIT are cached statements: no parse
/// per call), so every query of `f` sees the same snapshot.
fn in_read_transaction<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    c.prepare_cached("BEGIN")?.execute([])?;
    let result = f(c);
    let end = c.prepare_cached("COMMIT").and_then(|mut st| st.execute([]));
    let value = result?;
    end?;
    Ok(value)
}

fn with_blobs(rows: Vec<(Entry, String)>) -> Result<Vec<BlobEntry>> {
    rows.into_iter()
        .map(|(entry, h)| {
            Ok(BlobEntry {
                entry,
                blob: BlobHash::parse(&h)?,
            })
        })
        .collect()
}

/// The mailbox row, every entry with its message's blob, and the first UID still
/// `\Recent` (not yet claimed by a session), from one snapshot.
pub(crate) fn snapshot(c: &Connection, mailbox: MailboxId) -> Result<MailboxSnapshot> {
    in_read_transaction(c, |c| {
        let mb = super::mailboxes::get_by_id(c, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
        let sql = format!(
            "SELECT {COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             WHERE e.mailbox_id = ?1 ORDER BY e.uid"
        );
        let rows = c
            .prepare_cached(&sql)?
            .query_map([mailbox.0], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(MailboxSnapshot {
            mailbox: mb,
            entries: with_blobs(rows)?,
            first_unclaimed_recent: first_unclaimed_recent(c, mailbox)?,
        })
    })
}

/// The first UID of `mailbox` no session has claimed as `\Recent`.
fn first_unclaimed_recent(c: &Connection, mailbox: MailboxId) -> Result<u32> {
    let first: i64 = c
        .prepare_cached("SELECT first_recent_uid FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))?;
    Ok(u32::try_from(first).unwrap_or(u32::MAX))
}

/// The mailbox row, the entries changed after `since` with their blobs, the UIDs
/// expunged after it and the first unclaimed `\Recent` UID, from one snapshot.
pub(crate) fn delta(c: &Connection, mailbox: MailboxId, since: u64) -> Result<MailboxDelta> {
    in_read_transaction(c, |c| {
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
        let sql = format!(
            "SELECT {COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             WHERE e.mailbox_id = ?1 AND e.modseq > ?2 ORDER BY e.uid"
        );
        let changed = c
            .prepare_cached(&sql)?
            .query_map(params![mailbox.0, since as i64], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let expunged = c
            .prepare_cached(
                "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
            )?
            .query_map(params![mailbox.0, since as i64], |r| {
                r.get::<_, i64>(0).map(|u| u as u32)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(MailboxDelta {
            mailbox: mb,
            changed: with_blobs(changed)?,
            expunged,
            first_unclaimed_recent,
        })
    })
}

/// The content of each inline blob among `hashes` (`None` for blobs kept as files or
/// absent), read on one connection.
pub(crate) fn inline_blobs(c: &Connection, hashes: &[BlobHash]) -> Result<Vec<Option<Vec<u8>>>> {
    hashes
        .iter()
        .map(|h| super::blobs::inline_data(c, h))
        .collect()
}
