//! SQL for IMAP sessions: consistent snapshots of a mailbox (the mailbox row and its
//! entries, or its changes since a MODSEQ) read inside one read transaction, so the
//! HIGHESTMODSEQ a session records covers exactly the changes it saw.

use rusqlite::Connection;

use crate::error::{Result, StoreError};
use crate::types::{Entry, Mailbox, MailboxId};

/// The mailbox row, every entry and the first UID still `\Recent` (not yet claimed by
/// a session), from one snapshot.
pub(crate) fn snapshot(c: &Connection, mailbox: MailboxId) -> Result<(Mailbox, Vec<Entry>, u32)> {
    let tx = c.unchecked_transaction()?;
    let mb = super::mailboxes::get_by_id(&tx, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let entries = super::entries::list(&tx, mailbox)?;
    let first_recent: i64 = tx
        .prepare_cached("SELECT first_recent_uid FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))?;
    drop(tx);
    Ok((mb, entries, u32::try_from(first_recent).unwrap_or(u32::MAX)))
}

/// The mailbox row, the entries changed after `since` and the UIDs expunged after it,
/// from one snapshot.
pub(crate) fn delta(
    c: &Connection,
    mailbox: MailboxId,
    since: u64,
) -> Result<(Mailbox, Vec<Entry>, Vec<u32>)> {
    let tx = c.unchecked_transaction()?;
    let mb = super::mailboxes::get_by_id(&tx, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let (changed, expunged) = if mb.highestmodseq > since {
        super::entries::changes_since(&tx, mailbox, since)?
    } else {
        (Vec::new(), Vec::new())
    };
    drop(tx);
    Ok((mb, changed, expunged))
}
