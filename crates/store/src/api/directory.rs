//! Domains, accounts and aliases.

use crate::Store;
use crate::changes::Change;
use crate::error::Result;
use crate::seal::Column;
use crate::types::{Account, AccountId, AccountUpdate, Alias, Domain, ServiceFlags};

impl Store {
    /// Adds a local domain.
    pub async fn domain_create(&self, name: &str) -> Result<Domain> {
        let name = name.trim().to_ascii_lowercase();
        db_write!(self, |t, sql| sql::domains::create(t, &name))
    }

    /// Looks up a local domain (case-insensitive).
    pub async fn domain_get(&self, name: &str) -> Result<Option<Domain>> {
        let name = name.to_string();
        db_read!(self, |c, sql| sql::domains::get(c, &name))
    }

    /// Every local domain, by name.
    pub async fn domain_list(&self) -> Result<Vec<Domain>> {
        db_read!(self, |c, sql| sql::domains::list(c))
    }

    /// Removes a domain that has no accounts left (its aliases go with it).
    pub async fn domain_delete(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        db_write!(self, |t, sql| sql::domains::delete(t, &name))
    }

    /// Creates an account with the default mailboxes (INBOX, Drafts, Sent, Trash, Junk, Archive).
    pub async fn account_create(
        &self,
        address: &str,
        password_hash: &str,
        services: ServiceFlags,
    ) -> Result<Account> {
        let (address, hash) = (address.to_string(), password_hash.to_string());
        db_write!(
            self,
            |t, sql| sql::accounts::create(t, &address, &hash, services),
            |a| vec![Change::MailboxList { account: a.id }]
        )
    }

    /// Looks an account up by address (case-insensitive).
    pub async fn account_get(&self, address: &str) -> Result<Option<Account>> {
        let address = address.to_string();
        let found = db_read!(self, |c, sql| sql::accounts::get(c, &address))?;
        Ok(found.map(|a| self.unseal_account(a)))
    }

    /// Looks an account up by id.
    pub async fn account_get_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        let found = db_read!(self, |c, sql| sql::accounts::get_by_id(c, id))?;
        Ok(found.map(|a| self.unseal_account(a)))
    }

    /// Accounts, all or of one domain.
    pub async fn account_list(&self, domain: Option<&str>) -> Result<Vec<Account>> {
        let domain = domain.map(str::to_string);
        let all = db_read!(self, |c, sql| sql::accounts::list(c, domain.as_deref()))?;
        Ok(all.into_iter().map(|a| self.unseal_account(a)).collect())
    }

    /// Changes the fields set in `update`.
    pub async fn account_update(
        &self,
        id: AccountId,
        mut update: AccountUpdate,
    ) -> Result<Account> {
        if let Some(Some(p)) = &update.smarthost_password {
            update.smarthost_password =
                Some(Some(self.inner.sealer.seal(Column::SmarthostPassword, p)?));
        }
        let account = db_write!(self, |t, sql| sql::accounts::update(t, id, &update))?;
        Ok(self.unseal_account(account))
    }

    /// `a` with its stored secret opened. A secret that does not open (the key file
    /// was replaced) is logged and left out: it must never keep the account from
    /// logging in or receiving mail.
    fn unseal_account(&self, mut a: Account) -> Account {
        let stored = a.smarthost_password.take();
        match self
            .inner
            .sealer
            .open_opt(Column::SmarthostPassword, stored.as_deref())
        {
            Ok(p) => a.smarthost_password = p,
            Err(e) => {
                tracing::warn!(account = %a.address(), error = %e, "smart-host password unreadable")
            }
        }
        a
    }

    /// Deletes an account and everything it owns.
    pub async fn account_delete(&self, id: AccountId) -> Result<()> {
        db_write!(self, |t, sql| sql::accounts::delete(t, id), |_r| vec![
            Change::MailboxList { account: id }
        ])
    }

    /// Adds `source -> target` (`*@domain` is the catch-all).
    pub async fn alias_create(&self, source: &str, target: &str) -> Result<Alias> {
        let (s, d) = (source.trim().to_string(), target.trim().to_string());
        db_write!(self, |t, sql| sql::accounts::alias_create(t, &s, &d))
    }

    /// Aliases, all or of one domain.
    pub async fn alias_list(&self, domain: Option<&str>) -> Result<Vec<Alias>> {
        let domain = domain.map(str::to_string);
        db_read!(self, |c, sql| sql::accounts::alias_list(
            c,
            domain.as_deref()
        ))
    }

    /// Targets of the alias `local@domain` (exact; `*` asks for the catch-all).
    pub async fn alias_targets(&self, local: &str, domain: &str) -> Result<Vec<String>> {
        let (l, d) = (local.to_string(), domain.to_string());
        db_read!(self, |c, sql| sql::accounts::alias_targets(c, &l, &d))
    }

    /// Removes `source -> target`, or all of `source`'s aliases; returns how many.
    pub async fn alias_delete(&self, source: &str, target: Option<&str>) -> Result<usize> {
        let (s, d) = (source.to_string(), target.map(str::to_string));
        db_write!(self, |t, sql| sql::accounts::alias_delete(
            t,
            &s,
            d.as_deref()
        ))
    }
}

/// Everything address resolution needs to know about one address, read at once.
#[derive(Debug, Clone, Default)]
pub struct AddressLookup {
    /// The domain is local.
    pub local_domain: bool,
    /// The account with exactly this address.
    pub account: Option<Account>,
    /// Targets of the alias with exactly this address.
    pub aliases: Vec<String>,
    /// Targets of the domain's catch-all (`*@domain`).
    pub catch_all: Vec<String>,
}

impl Store {
    /// Looks up `local@domain` as an account, an alias and the domain's catch-all in one
    /// read (delivery resolves every recipient with it).
    pub async fn address_lookup(&self, local: &str, domain: &str) -> Result<AddressLookup> {
        let (l, d) = (local.to_string(), domain.to_string());
        db_read!(self, |c, sql| {
            if sql::domains::get(c, &d)?.is_none() {
                return Ok(AddressLookup::default());
            }
            // Delivery needs no secrets: the smart-host password stays out.
            let account = sql::accounts::get(c, &format!("{l}@{d}"))?.map(|mut a| {
                a.smarthost_password = None;
                a
            });
            Ok(AddressLookup {
                local_domain: true,
                account,
                aliases: sql::accounts::alias_targets(c, &l, &d)?,
                catch_all: sql::accounts::alias_targets(c, "*", &d)?,
            })
        })
    }
}
