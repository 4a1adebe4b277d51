//! Administrative operations that need more than the store: hashing passwords and
//! validating service flags before they are stored.

use pillarbox_store::{Account, AccountUpdate, ServiceFlags, StoreError};

use crate::policy;
use crate::{Directory, password};

impl Directory {
    /// Creates `address` with `password` (hashed with argon2id) and `services`.
    pub async fn add_account(
        &self,
        address: &str,
        password: &str,
        services: ServiceFlags,
    ) -> Result<Account, StoreError> {
        policy::validate_flags(&services).map_err(|d| StoreError::Conflict(d.to_string()))?;
        let pw = password.to_string();
        let hash = self
            .hash_blocking(move || password::hash(&pw))
            .await
            .unwrap_or_else(|| "!".into());
        self.store.account_create(address, &hash, services).await
    }

    /// Sets a new password. Logins verified with the old one are forgotten (they would
    /// no longer match the stored hash anyway).
    pub async fn set_password(
        &self,
        account: &Account,
        password: &str,
    ) -> Result<Account, StoreError> {
        let pw = password.to_string();
        let hash = self
            .hash_blocking(move || password::hash(&pw))
            .await
            .unwrap_or_else(|| "!".into());
        let updated = self
            .store
            .account_update(
                account.id,
                AccountUpdate {
                    password_hash: Some(hash),
                    ..Default::default()
                },
            )
            .await;
        self.logins.purge_account(account.id);
        updated
    }

    /// Applies `update`, refusing flags the policy forbids (connector without IMAP).
    pub async fn update_account(
        &self,
        account: &Account,
        update: AccountUpdate,
    ) -> Result<Account, StoreError> {
        if let Some(flags) = &update.services {
            policy::validate_flags(flags).map_err(|d| StoreError::Conflict(d.to_string()))?;
        }
        let new_password = update.password_hash.is_some();
        let updated = self.store.account_update(account.id, update).await;
        if new_password {
            self.logins.purge_account(account.id);
        }
        updated
    }
}
