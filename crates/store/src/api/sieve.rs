//! Sieve scripts (RFC 5228) as ManageSieve (RFC 5804) and delivery see them: each
//! account's named scripts with at most one active, the server-wide scripts kept as
//! settings (`sieve:before`, `sieve:after`, `sieve:before:DOMAIN`,
//! `sieve:after:DOMAIN`, `sieve:global:NAME` for `include :global`), and the memory
//! scripts keep between deliveries (vacation replies sent, duplicate ids seen), each
//! entry with its expiry.

use crate::Store;
use crate::error::Result;
use crate::types::AccountId;

/// One stored script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveScript {
    pub name: String,
    /// The source, UTF-8.
    pub content: String,
    /// Whether it is the account's active script.
    pub active: bool,
    pub updated_at: i64,
}

/// What delivery needs to filter one message: the active script of each account
/// that has one, and every server-wide script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SieveForDelivery {
    /// `(account, script)` for the accounts asked about that have an active script.
    pub personal: Vec<(AccountId, SieveScript)>,
    /// `(setting name, source)` of every setting whose name starts with `sieve:`.
    pub server: Vec<(String, String)>,
}

impl Store {
    /// The account's scripts, by name.
    pub async fn sieve_list(&self, account: AccountId) -> Result<Vec<SieveScript>> {
        db_read!(self, |c, sql| sql::sieve::list(c, account))
    }

    /// One script by name.
    pub async fn sieve_get(&self, account: AccountId, name: &str) -> Result<Option<SieveScript>> {
        let name = name.to_string();
        db_read!(self, |c, sql| sql::sieve::get(c, account, &name))
    }

    /// Stores a script under `name`, replacing one of that name (which stays active
    /// if it was). The caller has compiled it.
    pub async fn sieve_put(&self, account: AccountId, name: &str, content: &str) -> Result<()> {
        let (name, content) = (name.to_string(), content.to_string());
        db_write!(self, |t, sql| sql::sieve::put(
            t,
            account,
            &name,
            &content,
            sql::now()
        ))
    }

    /// Deletes a script. `NotFound` when there is none; `Conflict` when it is the
    /// active one (RFC 5804 §2.10: deactivate it first).
    pub async fn sieve_delete(&self, account: AccountId, name: &str) -> Result<()> {
        let name = name.to_string();
        db_write!(self, |t, sql| sql::sieve::delete(t, account, &name))
    }

    /// Renames a script, keeping whether it is active. `NotFound`, or `Conflict` when
    /// `new` exists.
    pub async fn sieve_rename(&self, account: AccountId, old: &str, new: &str) -> Result<()> {
        let (old, new) = (old.to_string(), new.to_string());
        db_write!(self, |t, sql| sql::sieve::rename(
            t,
            account,
            &old,
            &new,
            sql::now()
        ))
    }

    /// Makes `name` the active script (the one active before stops being), or, with
    /// `None`, deactivates every script. `NotFound` when there is no such script.
    pub async fn sieve_activate(&self, account: AccountId, name: Option<&str>) -> Result<()> {
        let name = name.map(str::to_string);
        db_write!(self, |t, sql| sql::sieve::activate(
            t,
            account,
            name.as_deref()
        ))
    }

    /// The active scripts of `accounts` and every server-wide script, in one read.
    pub async fn sieve_for_delivery(&self, accounts: Vec<AccountId>) -> Result<SieveForDelivery> {
        db_read!(self, |c, sql| sql::sieve::for_delivery(c, &accounts))
    }

    /// Which of `keys` the account's scripts remember at `now` (not expired).
    pub async fn sieve_memory_has(
        &self,
        account: AccountId,
        keys: Vec<String>,
        now: i64,
    ) -> Result<Vec<String>> {
        db_read!(self, |c, sql| sql::sieve::memory_has(
            c, account, &keys, now
        ))
    }

    /// Remembers `(key, expires_at)` for the account, replacing earlier entries, and
    /// forgets what expired before `now`.
    pub async fn sieve_memory_put(
        &self,
        account: AccountId,
        entries: Vec<(String, i64)>,
        now: i64,
    ) -> Result<()> {
        db_write!(self, |t, sql| sql::sieve::memory_put(
            t, account, &entries, now
        ))
    }
}
