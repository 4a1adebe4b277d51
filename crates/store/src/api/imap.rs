//! Reads IMAP sessions need to keep their view of a selected mailbox exact: a snapshot
//! to start from and the delta since the last HIGHESTMODSEQ seen, each read in one
//! transaction. Entries come with the blob of their message: message ids are reused
//! after a message is deleted, blob names (content hashes) never name other content.

use crate::Store;
use crate::blob::BlobHash;
use crate::engine::Engine;
use crate::error::Result;
use crate::types::{MailboxDelta, MailboxId, MailboxSnapshot};

impl Store {
    /// The mailbox, all its entries (by UID, with their blobs) and the first UID not yet
    /// claimed as `\Recent` by a session (see [`Store::claim_recent`]), read from one
    /// consistent snapshot.
    pub async fn mailbox_snapshot(&self, mailbox: MailboxId) -> Result<MailboxSnapshot> {
        db_read!(self, |c, sql| sql::imap::snapshot(c, mailbox))
    }

    /// The mailbox (its current HIGHESTMODSEQ and UIDNEXT), the entries changed or added
    /// after `since` (by UID, with their blobs), the UIDs expunged after it and the
    /// first UID not yet claimed as `\Recent`, from one consistent snapshot: every
    /// change up to the returned HIGHESTMODSEQ is included.
    pub async fn mailbox_delta(&self, mailbox: MailboxId, since: u64) -> Result<MailboxDelta> {
        db_read!(self, |c, sql| sql::imap::delta(c, mailbox, since))
    }

    /// The contents of `hashes`, in order, all in one job on a pooled read connection
    /// (no connection is opened for it): inline blobs and, on PostgreSQL, chunked ones
    /// from the database, the others from their files. `None` for a blob that no
    /// longer exists.
    pub async fn blob_contents(&self, hashes: Vec<BlobHash>) -> Result<Vec<Option<Vec<u8>>>> {
        match &self.inner.engine {
            Engine::Sqlite { readers, .. } => {
                let blobs = self.inner.blobs.clone();
                readers
                    .read(move |c| {
                        let inline = crate::sqlite::imap::inline_blobs(c, &hashes)?;
                        Ok(hashes
                            .iter()
                            .zip(inline)
                            .map(|(h, data)| data.or_else(|| std::fs::read(blobs.path(h)).ok()))
                            .collect())
                    })
                    .await
            }
            Engine::Postgres { db } => {
                db.read(move |c| crate::postgres::imap::blob_contents(c, &hashes))
                    .await
            }
        }
    }
}
