//! The outbound queue.

use crate::Store;
use crate::error::Result;
use crate::sqlite;
use crate::types::AccountId;

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

impl Store {
    /// Recipients still waiting for delivery.
    pub async fn queue_pending_count(&self) -> Result<i64> {
        self.inner.readers.read(sqlite::queue::pending_count).await
    }
}
