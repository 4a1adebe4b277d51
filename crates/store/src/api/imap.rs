//! Reads IMAP sessions need to keep their view of a selected mailbox exact: a snapshot
//! to start from and the delta since the last HIGHESTMODSEQ seen, each read in one
//! transaction.

use crate::Store;
use crate::error::Result;
use crate::sqlite;
use crate::types::{Entry, Mailbox, MailboxId};

impl Store {
    /// The mailbox, all its entries (by UID) and the first UID not yet claimed as
    /// `\Recent` by a session (see [`Store::claim_recent`]), read from one consistent
    /// snapshot.
    pub async fn mailbox_snapshot(
        &self,
        mailbox: MailboxId,
    ) -> Result<(Mailbox, Vec<Entry>, u32)> {
        self.inner
            .readers
            .read(move |c| sqlite::imap::snapshot(c, mailbox))
            .await
    }

    /// The mailbox (its current HIGHESTMODSEQ and UIDNEXT), the entries changed or added
    /// after `since` (by UID) and the UIDs expunged after it, from one consistent
    /// snapshot: every change up to the returned HIGHESTMODSEQ is included.
    pub async fn mailbox_delta(
        &self,
        mailbox: MailboxId,
        since: u64,
    ) -> Result<(Mailbox, Vec<Entry>, Vec<u32>)> {
        self.inner
            .readers
            .read(move |c| sqlite::imap::delta(c, mailbox, since))
            .await
    }
}
