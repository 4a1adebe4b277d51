//! The change feed: after a commit, the store announces which mailbox (or the queue)
//! changed, so IMAP IDLE, POP3 and the queue runner react without polling the database.
//! A notification carries no data; receivers re-read what they need.

use tokio::sync::broadcast;

use crate::types::{AccountId, MailboxId};

/// Something that changed, announced after its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Entries of a mailbox were added, changed or removed.
    Mailbox {
        account: AccountId,
        mailbox: MailboxId,
    },
    /// The mailbox list of an account changed (create, delete, rename).
    MailboxList { account: AccountId },
    /// The outbound queue has new or changed work.
    Queue,
    /// Anything may have changed (this node was cut off from the others' announcements
    /// for a while): re-read everything, as after a `Lagged`.
    Resync,
}

/// A broadcast channel of changes. Slow receivers that fall behind see `Lagged` and
/// must re-read their state completely.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    tx: broadcast::Sender<Change>,
}

impl ChangeFeed {
    pub(crate) fn new() -> ChangeFeed {
        let (tx, _) = broadcast::channel(4096);
        ChangeFeed { tx }
    }

    /// A new receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    pub(crate) fn publish(&self, change: Change) {
        let _ = self.tx.send(change);
    }
}
