//! Collection (MultiPOP) state: the remote accounts an account collects from, the keys
//! of what has been collected (recorded in the transaction that stored the message, so
//! a message is never collected twice and never marked without being stored), run
//! leases (one run of an account at a time, across processes) and last results.
//!
//! Secrets are sealed before they are stored and opened when read (see `seal`), and
//! redacted in `Debug`.

use crate::error::Result;
use crate::seal::Column;
use crate::types::{AccountId, CollectionId};
use crate::{DeliveryOutcome, LocalTarget, NewMessage, NewQueuedMessage, Store};

/// A stored collection account.
#[derive(Clone, PartialEq, Eq)]
pub struct CollectionAccount {
    pub id: CollectionId,
    /// The local account that owns it (and receives its mail).
    pub account: AccountId,
    pub name: String,
    /// The remote mailbox's address (also used by the queue's "log on using sender's
    /// Internet Mail Account settings").
    pub remote_address: Option<String>,
    pub remote_username: Option<String>,
    /// The remote password.
    pub remote_secret: Option<String>,
    /// Other secrets (JSON, opaque here).
    pub secrets: Option<String>,
    /// Settings (JSON, opaque here).
    pub settings: String,
    pub enabled: bool,
    pub lease_until: Option<i64>,
    pub last_run_at: Option<i64>,
    pub last_result: Option<String>,
    pub last_success_at: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for CollectionAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectionAccount")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("name", &self.name)
            .field("remote_address", &self.remote_address)
            .field("remote_username", &self.remote_username)
            .field(
                "remote_secret",
                &self.remote_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("secrets", &self.secrets.as_ref().map(|_| "<redacted>"))
            .field("settings", &self.settings)
            .field("enabled", &self.enabled)
            .field("last_run_at", &self.last_run_at)
            .field("last_result", &self.last_result)
            .finish_non_exhaustive()
    }
}

/// A collection account to create.
#[derive(Clone)]
pub struct NewCollectionAccount {
    pub account: AccountId,
    pub name: String,
    pub remote_address: Option<String>,
    pub remote_username: Option<String>,
    pub remote_secret: Option<String>,
    pub secrets: Option<String>,
    pub settings: String,
    pub enabled: bool,
}

impl std::fmt::Debug for NewCollectionAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCollectionAccount")
            .field("account", &self.account)
            .field("name", &self.name)
            .field("remote_address", &self.remote_address)
            .field("remote_username", &self.remote_username)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct CollectionUpdate {
    pub remote_address: Option<Option<String>>,
    pub remote_username: Option<Option<String>>,
    pub remote_secret: Option<Option<String>>,
    pub secrets: Option<Option<String>>,
    pub settings: Option<String>,
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for CollectionUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectionUpdate")
            .field("remote_address", &self.remote_address)
            .field("remote_username", &self.remote_username)
            .field("settings", &self.settings)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// The remote key a delivery records: `collection` collected `key` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedMark {
    pub collection: CollectionId,
    pub key: String,
    pub at: i64,
}

impl Store {
    pub async fn collection_create(
        &self,
        mut new: NewCollectionAccount,
    ) -> Result<CollectionAccount> {
        let sealer = &self.inner.sealer;
        new.remote_secret = sealer.seal_opt(Column::RemoteSecret, new.remote_secret.as_deref())?;
        new.secrets = sealer.seal_opt(Column::CollectionSecrets, new.secrets.as_deref())?;
        let created = db_write!(self, |t, sql| sql::collect::create(t, &new))?;
        self.unseal_collection(created)
    }

    pub async fn collection_get(&self, name: &str) -> Result<Option<CollectionAccount>> {
        let name = name.to_string();
        let found = db_read!(self, |c, sql| sql::collect::get(c, &name))?;
        found.map(|a| self.unseal_collection(a)).transpose()
    }

    pub async fn collection_by_id(&self, id: CollectionId) -> Result<Option<CollectionAccount>> {
        let found = db_read!(self, |c, sql| sql::collect::by_id(c, id))?;
        found.map(|a| self.unseal_collection(a)).transpose()
    }

    /// `a` with its stored secrets opened.
    fn unseal_collection(&self, mut a: CollectionAccount) -> Result<CollectionAccount> {
        let sealer = &self.inner.sealer;
        a.remote_secret = sealer.open_opt(Column::RemoteSecret, a.remote_secret.as_deref())?;
        a.secrets = sealer.open_opt(Column::CollectionSecrets, a.secrets.as_deref())?;
        Ok(a)
    }

    /// Every collection account, or those of one local account, by name.
    pub async fn collection_list(
        &self,
        account: Option<AccountId>,
    ) -> Result<Vec<CollectionAccount>> {
        let all = db_read!(self, |c, sql| sql::collect::list(c, account))?;
        all.into_iter().map(|a| self.unseal_collection(a)).collect()
    }

    pub async fn collection_update(
        &self,
        id: CollectionId,
        mut update: CollectionUpdate,
    ) -> Result<CollectionAccount> {
        let sealer = &self.inner.sealer;
        if let Some(Some(s)) = &update.remote_secret {
            update.remote_secret = Some(Some(sealer.seal(Column::RemoteSecret, s)?));
        }
        if let Some(Some(s)) = &update.secrets {
            update.secrets = Some(Some(sealer.seal(Column::CollectionSecrets, s)?));
        }
        let updated = db_write!(self, |t, sql| sql::collect::update(t, id, &update))?;
        self.unseal_collection(updated)
    }

    /// Deletes the account and what it remembers having collected.
    pub async fn collection_delete(&self, id: CollectionId) -> Result<()> {
        db_write!(self, |t, sql| sql::collect::delete(t, id))
    }

    /// Every remote key collected from `id`, with its collection time.
    pub async fn collection_seen(&self, id: CollectionId) -> Result<Vec<(String, i64)>> {
        db_read!(self, |c, sql| sql::collect::seen(c, id))
    }

    /// Forgets remote keys (messages no longer on the server).
    pub async fn collection_forget(&self, id: CollectionId, keys: Vec<String>) -> Result<usize> {
        if keys.is_empty() {
            return Ok(0);
        }
        db_write!(self, |t, sql| sql::collect::forget(t, id, &keys))
    }

    /// Takes the run lease of `id` until `until` when no other run (on any node)
    /// holds it.
    pub async fn collection_lease(&self, id: CollectionId, now: i64, until: i64) -> Result<bool> {
        let owner = self.inner.node.clone();
        db_write!(self, |t, sql| sql::collect::lease(
            t, id, now, until, &owner
        ))
    }

    /// Gives back the run leases this node's previous run held (call when its
    /// collector starts).
    pub async fn collection_clear_leases(&self) -> Result<usize> {
        let owner = self.inner.node.clone();
        db_write!(self, |t, sql| sql::collect::clear_leases(t, &owner))
    }

    /// Releases the lease and records the run's result.
    pub async fn collection_finish_run(
        &self,
        id: CollectionId,
        at: i64,
        result: String,
        success: bool,
    ) -> Result<()> {
        db_write!(self, |t, sql| sql::collect::finish_run(
            t, id, at, &result, success
        ))
    }

    /// [`Store::deliver`] for a collected message: records `mark` in the same
    /// transaction. Fails with `AlreadyCollected` (nothing stored) when the key was
    /// recorded before, and with the refusal when the message went nowhere.
    pub async fn deliver_collected(
        &self,
        message: NewMessage,
        local: Vec<LocalTarget>,
        queue: Option<NewQueuedMessage>,
        mark: CollectedMark,
    ) -> Result<DeliveryOutcome> {
        db_write!(
            self,
            |t, sql| sql::collect::deliver(t, &message, &local, queue.as_ref(), &mark),
            |o| super::mail::delivery_changes(o)
        )
    }
}
