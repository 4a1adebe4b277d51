//! Reads IMAP sessions need to keep their view of a selected mailbox exact: a snapshot
//! to start from and the delta since the last HIGHESTMODSEQ seen, each read in one
//! transaction. Entries come with the blob of their message: message ids are reused
//! after a message is deleted, blob names (content hashes) never name other content.

use crate::Store;
use crate::blob::BlobHash;
use crate::error::Result;
use crate::sqlite;
use crate::types::{MailboxDelta, MailboxId, MailboxSnapshot};

impl Store {
    /// The mailbox, all its entries (by UID, with their blobs) and the first UID not yet
    /// claimed as `\Recent` by a session (see [`Store::claim_recent`]), read from one
    /// consistent snapshot.
    pub async fn mailbox_snapshot(&self, mailbox: MailboxId) -> Result<MailboxSnapshot> {
        self.inner
            .readers
            .read(move |c| sqlite::imap::snapshot(c, mailbox))
            .await
    }

    /// The mailbox (its current HIGHESTMODSEQ and UIDNEXT), the entries changed or added
    /// after `since` (by UID, with their blobs) and the UIDs expunged after it, from one
    /// consistent snapshot: every change up to the returned HIGHESTMODSEQ is included.
    pub async fn mailbox_delta(&self, mailbox: MailboxId, since: u64) -> Result<MailboxDelta> {
        self.inner
            .readers
            .read(move |c| sqlite::imap::delta(c, mailbox, since))
            .await
    }

    /// The contents of `hashes`, in order: inline blobs from the database and the
    /// others from their files, all in one job on a pooled read connection (no
    /// connection is opened for it). `None` for a blob that no longer exists.
    pub async fn blob_contents(&self, hashes: Vec<BlobHash>) -> Result<Vec<Option<Vec<u8>>>> {
        let blobs = self.inner.blobs.clone();
        self.inner
            .readers
            .read(move |c| {
                let inline = sqlite::imap::inline_blobs(c, &hashes)?;
                Ok(hashes
                    .iter()
                    .zip(inline)
                    .map(|(h, data)| data.or_else(|| std::fs::read(blobs.path(h)).ok()))
                    .collect())
            })
            .await
    }
}
