//! Mailboxes and the delivery of a new message into mailboxes and the queue.

use crate::blob::StoredBlob;
use crate::changes::Change;
use crate::error::{Result, StoreError};
use crate::types::{AccountId, Mailbox, MailboxId, MessageId, QueueId};
use crate::{NewQueuedMessage, Store};

/// A message about to be stored: its durable blob and the structure parsed at delivery.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub blob: StoredBlob,
    /// Serialised parsed structure (envelope, MIME tree); opaque to the store.
    pub structure: Vec<u8>,
    /// Seconds since the Unix epoch; becomes the INTERNALDATE.
    pub received_at: i64,
}

/// One local mailbox the message goes into.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    pub account: AccountId,
    /// Mailbox name; `None` (or a name that does not exist) means INBOX.
    pub mailbox: Option<String>,
    /// IMAP system flags bitmask (see the IMAP crate), usually 0.
    pub flags: u32,
    /// Space-separated keywords, usually empty.
    pub keywords: String,
    /// When false, the account's quota is not checked (system mail such as bounces).
    pub enforce_quota: bool,
}

/// Where a local target ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredEntry {
    pub account: AccountId,
    pub mailbox: MailboxId,
    pub uid: u32,
    pub modseq: u64,
}

/// The result of [`Store::deliver`]: one entry per local target, in order, and the
/// queue id when remote recipients were queued.
#[derive(Debug)]
pub struct DeliveryOutcome {
    pub message: Option<MessageId>,
    pub local: Vec<std::result::Result<DeliveredEntry, StoreError>>,
    pub queued: Option<QueueId>,
}

/// The changes a delivery announces: every mailbox it added to, and the queue.
pub(crate) fn delivery_changes(outcome: &DeliveryOutcome) -> Vec<Change> {
    let mut changes: Vec<Change> = outcome
        .local
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|e| Change::Mailbox {
            account: e.account,
            mailbox: e.mailbox,
        })
        .collect();
    if outcome.queued.is_some() {
        changes.push(Change::Queue);
    }
    changes
}

impl Store {
    /// Stores one message for local mailboxes and/or the outbound queue in a single
    /// transaction. A local target over quota (or whose account vanished) is refused
    /// alone; the others still succeed. Returns once everything is durable.
    pub async fn deliver(
        &self,
        message: NewMessage,
        local: Vec<LocalTarget>,
        queue: Option<NewQueuedMessage>,
    ) -> Result<DeliveryOutcome> {
        db_write!(
            self,
            |t, sql| sql::delivery::deliver(t, &message, &local, queue.as_ref()),
            |o| delivery_changes(o)
        )
    }

    /// The mailboxes of an account, by name.
    pub async fn mailbox_list(&self, account: AccountId) -> Result<Vec<Mailbox>> {
        db_read!(self, |c, sql| sql::mailboxes::list(c, account))
    }

    /// A mailbox by name.
    pub async fn mailbox_get(&self, account: AccountId, name: &str) -> Result<Option<Mailbox>> {
        let name = name.to_string();
        db_read!(self, |c, sql| sql::mailboxes::get(c, account, &name))
    }
}
