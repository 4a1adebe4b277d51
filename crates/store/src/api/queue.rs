//! The outbound queue.

use crate::Store;
use crate::blob::BlobHash;
use crate::changes::Change;
use crate::error::Result;
use crate::types::{AccountId, QueueId};

/// A message for remote recipients, written to the queue at delivery.
#[derive(Debug, Clone)]
pub struct NewQueuedMessage {
    /// Envelope sender (empty for the null sender `<>`).
    pub sender: String,
    /// DSN ENVID (RFC 3461), if given.
    pub envid: Option<String>,
    /// DSN RET (`FULL` or `HDRS`), if given.
    pub ret: Option<String>,
    /// The authenticated account that submitted it, if any.
    pub account: Option<AccountId>,
    /// Where it came from, for the queue listing (e.g. `smtp 192.0.2.1`).
    pub source: String,
    /// A route name that overrides the routing rules (collection forwarding).
    pub route: Option<String>,
    /// The message's trace id (monitoring), if it has one.
    pub trace: Option<String>,
    pub recipients: Vec<QueuedRecipient>,
}

/// One remote recipient with its DSN parameters.
#[derive(Debug, Clone)]
pub struct QueuedRecipient {
    pub address: String,
    /// DSN ORCPT, if given.
    pub orcpt: Option<String>,
    /// DSN NOTIFY (e.g. `SUCCESS,FAILURE`), if given.
    pub notify: Option<String>,
}

/// One leased recipient with what is needed to deliver its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub recipient_id: i64,
    pub queue_id: QueueId,
    pub recipient: String,
    pub domain: String,
    pub orcpt: Option<String>,
    pub notify: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    pub delay_warned: bool,
    /// When the message entered the queue (seconds since the epoch).
    pub created_at: i64,
    /// Envelope sender; empty for `<>`.
    pub sender: String,
    pub envid: Option<String>,
    pub ret: Option<String>,
    pub account: Option<AccountId>,
    pub blob: BlobHash,
    pub size: u64,
    /// A route chosen by the producer, overriding the rules.
    pub route: Option<String>,
    /// The message's trace id (monitoring), if it has one.
    pub trace: Option<String>,
}

/// What happened to a recipient in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientResult {
    /// Accepted by the remote server (its reply).
    Delivered { detail: String },
    /// Try again at `next_attempt`; `error` is the reason (the remote's reply).
    Retry { next_attempt: i64, error: String },
    /// Permanently refused.
    Failed { error: String },
    /// Given up after the expiry time.
    Expired { error: String },
    /// A delay warning was sent; stays queued.
    DelayWarned,
    /// The lease is given back without an attempt (shutdown, send window closed).
    Released,
}

/// A queued message for `queue list`/`show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueListing {
    pub id: QueueId,
    pub sender: String,
    pub size: u64,
    pub created_at: i64,
    pub held: bool,
    pub source: String,
    pub route: Option<String>,
    pub trace: Option<String>,
    pub recipients: Vec<QueueRecipientInfo>,
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueRecipientInfo {
    pub id: i64,
    pub address: String,
    /// queued, delivered, failed or expired.
    pub status: String,
    pub attempts: u32,
    pub next_attempt: i64,
    pub last_attempt: Option<i64>,
    pub last_error: Option<String>,
}

impl Store {
    /// Recipients still waiting for delivery.
    pub async fn queue_pending_count(&self) -> Result<i64> {
        db_read!(self, |c, sql| sql::queue::pending_count(c))
    }

    /// When the oldest message still waiting entered the queue (seconds), if any.
    pub async fn queue_oldest(&self) -> Result<Option<i64>> {
        db_read!(self, |c, sql| sql::queue::oldest(c))
    }

    /// Leases due recipients to this node until `lease_until` so no other runner (on
    /// any node) takes them.
    pub async fn queue_lease_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<QueueItem>> {
        let owner = self.inner.node.clone();
        db_write!(self, |t, sql| sql::queue::lease_due(
            t,
            now,
            lease_until,
            limit,
            &owner
        ))
    }

    /// The login (user name, secret) of the collection account that collects mail for
    /// `address`: "log on using sender's Internet Mail Account settings".
    pub async fn collection_login_for(&self, address: &str) -> Result<Option<(String, String)>> {
        let a = address.to_string();
        let found = db_read!(self, |c, sql| sql::queue::collection_login(c, &a))?;
        found
            .map(|(user, secret)| {
                let secret = self
                    .inner
                    .sealer
                    .open(crate::seal::Column::RemoteSecret, &secret)?;
                Ok((user, secret))
            })
            .transpose()
    }

    /// Gives back the leases this node's previous run held; call when its runner
    /// starts.
    pub async fn queue_clear_leases(&self) -> Result<usize> {
        let owner = self.inner.node.clone();
        db_write!(self, |t, sql| sql::queue::clear_leases(t, &owner))
    }

    /// Extends the leases this node holds to `until` (its delivery tasks are alive).
    pub async fn queue_renew_leases(&self, until: i64) -> Result<usize> {
        let owner = self.inner.node.clone();
        db_write!(self, |t, sql| sql::queue::renew_leases(t, &owner, until))
    }

    /// When the next recipient is due, if any.
    pub async fn queue_next_due(&self) -> Result<Option<i64>> {
        db_read!(self, |c, sql| sql::queue::next_due(c))
    }

    /// Records attempt results (and removes finished messages, releasing their blobs).
    pub async fn queue_record(&self, now: i64, results: Vec<(i64, RecipientResult)>) -> Result<()> {
        db_write!(self, |t, sql| sql::queue::record(t, now, &results))
    }

    /// Queued messages, all or one.
    pub async fn queue_list(&self, only: Option<QueueId>) -> Result<Vec<QueueListing>> {
        db_read!(self, |c, sql| sql::queue::list(c, only))
    }

    /// Holds (or releases) one message or the whole queue.
    pub async fn queue_set_held(&self, only: Option<QueueId>, held: bool) -> Result<usize> {
        db_write!(
            self,
            |t, sql| sql::queue::set_held(t, only, held),
            |_r| vec![Change::Queue]
        )
    }

    /// True while the whole queue is held: nothing is sent, new mail waits too.
    pub async fn queue_is_held(&self) -> Result<bool> {
        db_read!(self, |c, sql| sql::queue::global_hold(c))
    }

    /// Holds or releases the whole queue.
    pub async fn queue_hold_all(&self, held: bool) -> Result<()> {
        db_write!(
            self,
            |t, sql| sql::queue::set_global_hold(t, held),
            |_r| vec![Change::Queue]
        )
    }

    /// Makes one message (or all) due now.
    pub async fn queue_retry_now(&self, only: Option<QueueId>, now: i64) -> Result<usize> {
        db_write!(
            self,
            |t, sql| sql::queue::retry_now(t, only, now),
            |_r| vec![Change::Queue]
        )
    }

    /// Deletes a queued message and its recipients.
    pub async fn queue_delete(&self, id: QueueId) -> Result<()> {
        db_write!(self, |t, sql| sql::queue::delete(t, id))
    }
}
