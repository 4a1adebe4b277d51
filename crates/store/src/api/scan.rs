//! What content scanning keeps: the quarantine (messages held back with their verdict,
//! each holding a reference to its blob until it is released, deleted or expires) and
//! the greylist's memory, shared by every node of a cluster.

use crate::Store;
use crate::blob::StoredBlob;
use crate::error::Result;
use crate::types::AccountId;

/// A message to hold in quarantine.
#[derive(Debug, Clone)]
pub struct NewQuarantined {
    pub blob: StoredBlob,
    pub sender: String,
    pub recipients: Vec<String>,
    /// The owner to tell (collected mail), if any.
    pub account: Option<AccountId>,
    /// One line: `virus Eicar-Test-Signature`, `spam score 17.3`.
    pub reason: String,
    /// The scanners' verdict, JSON.
    pub verdict: String,
    /// Where it came from (`smtp 192.0.2.1`, `collect 7`).
    pub source: String,
    pub expires_at: i64,
}

/// A message held in quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    pub id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub blob_hash: String,
    pub size: u64,
    pub sender: String,
    pub recipients: Vec<String>,
    pub account: Option<AccountId>,
    pub reason: String,
    pub verdict: String,
    pub source: String,
}

/// How the greylist treats one (network, sender, recipient) triplet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreylistPolicy {
    /// Seconds a sender must wait before its retry is accepted.
    pub delay: i64,
    /// Seconds a first attempt waits for its retry.
    pub retry_window: i64,
    /// Accepted retries after which the network passes at once (0: never).
    pub auto_whitelist_after: i64,
    /// Seconds an accepted triplet or a whitelisted network is remembered.
    pub remember: i64,
}

impl Store {
    /// Holds a message in quarantine; returns its id.
    pub async fn quarantine_put(&self, q: NewQuarantined) -> Result<i64> {
        db_write!(self, |t, sql| sql::scan::quarantine_put(t, &q, sql::now()))
    }

    /// The quarantined messages, newest first.
    pub async fn quarantine_list(&self, limit: i64) -> Result<Vec<Quarantined>> {
        db_read!(self, |c, sql| sql::scan::quarantine_list(c, limit))
    }

    /// One quarantined message.
    pub async fn quarantine_get(&self, id: i64) -> Result<Option<Quarantined>> {
        db_read!(self, |c, sql| sql::scan::quarantine_get(c, id))
    }

    /// Removes a message from quarantine (after it was released, or to delete it);
    /// false when there was none.
    pub async fn quarantine_delete(&self, id: i64) -> Result<bool> {
        db_write!(self, |t, sql| sql::scan::quarantine_delete(t, id))
    }

    /// Removes what expired before `now`; returns how many.
    pub async fn quarantine_expire(&self, now: i64) -> Result<usize> {
        db_write!(self, |t, sql| sql::scan::quarantine_expire(t, now))
    }

    /// Greylisting: records an attempt of `triplet` from `network` at `now` and says
    /// whether it passes, or else in how many seconds a retry will.
    pub async fn greylist_check(
        &self,
        network: &str,
        triplet: &str,
        policy: GreylistPolicy,
        now: i64,
    ) -> Result<std::result::Result<(), i64>> {
        let (network, triplet) = (format!("w:{network}"), format!("t:{triplet}"));
        db_write!(self, |t, sql| sql::scan::greylist_check(
            t, &network, &triplet, policy, now
        ))
    }

    /// Forgets greylist entries last seen before `cutoff`; returns how many.
    pub async fn greylist_expire(&self, cutoff: i64) -> Result<usize> {
        db_write!(self, |t, sql| sql::scan::greylist_expire(t, cutoff))
    }
}
