//! SQL for IMAP sessions: consistent snapshots of a mailbox (the mailbox row and its
//! entries, or its changes since a MODSEQ) read inside one read transaction, so the
//! HIGHESTMODSEQ a session records covers exactly the changes it saw.

use rusqlite::Connection;

use crate::error::{Result, StoreError};
use crate::types::{Entry, Mailbox, MailboxId};

/// The mailbox row and every entry, from one snapshot.
pub(crate) fn snapshot(c: &Connection, mailbox: MailboxId) -> Result<(Mailbox, Vec<Entry>)> {
    let tx = c.unchecked_transaction()?;
    let mb = super::mailboxes::get_by_id(&tx, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let entries = super::entries::list(&tx, mailbox)?;
    drop(tx);
    Ok((mb, entries))
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
