//! Password authentication with the service policy applied, shared by every protocol.
//!
//! Order of checks: the client address's failure lockout; the password (an unknown user
//! is verified against a dummy hash, so it costs the same as a wrong password); then,
//! only for a correct password, the account's service policy, whose reason may be shown.

use std::net::IpAddr;
use std::time::Duration;

use pillarbox_store::{Account, AccountUpdate, StoreError};

use crate::policy::{self, PolicyDenial, Service};
use crate::{Directory, password};

/// A login name and password, from LOGIN, USER/PASS or a SASL mechanism.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why a login did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Too many failures from this address; try again later.
    #[error("too many failed logins from this address; try again in {} seconds", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// Unknown user or wrong password (deliberately indistinguishable).
    #[error("invalid user name or password")]
    InvalidCredentials,
    /// The password was right but the policy refuses this service.
    #[error("{0}")]
    Denied(PolicyDenial),
    /// The store failed; the client should retry later.
    #[error("temporary server error: {0}")]
    Temporary(#[from] StoreError),
}

impl Directory {
    /// Checks `creds` for `service` from `peer` and returns the account.
    pub async fn authenticate(
        &self,
        creds: &Credentials,
        service: Service,
        peer: IpAddr,
    ) -> Result<Account, AuthError> {
        self.limiter.check(peer).map_err(AuthError::RateLimited)?;
        let account = self.store.account_get(creds.username.trim()).await?;
        let stored = account
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| password::dummy_hash().to_string());
        let pw = creds.password.clone();
        let ok = self
            .hash_blocking(move || password::verify(&pw, &stored))
            .await
            .unwrap_or(false);
        let account = match (account, ok) {
            (Some(a), true) => a,
            _ => {
                let locked = self.limiter.record_failure(peer);
                tracing::warn!(user = %creds.username, %peer, %service, locked, "authentication failed");
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.limiter.record_success(peer);
        policy::check(&account.services, account.disabled, service, peer, &self.lan).map_err(|d| {
            tracing::info!(user = %account.address(), %peer, %service, reason = %d, "login refused by policy");
            AuthError::Denied(d)
        })?;
        if password::needs_rehash(&account.password_hash) {
            self.rehash(&account, &creds.password).await;
        }
        tracing::info!(user = %account.address(), %peer, %service, "authenticated");
        Ok(account)
    }

    /// Replaces an imported hash with argon2id after a successful login. Failure to do so
    /// is logged, never fatal to the login.
    async fn rehash(&self, account: &Account, password: &str) {
        let pw = password.to_string();
        let Some(new_hash) = self.hash_blocking(move || password::hash(&pw)).await else {
            return;
        };
        let update = AccountUpdate {
            password_hash: Some(new_hash),
            ..Default::default()
        };
        if let Err(e) = self.store.account_update(account.id, update).await {
            tracing::warn!(user = %account.address(), error = %e, "could not upgrade password hash");
        }
    }

    /// Runs password hashing work on the hashing pool (one thread per core).
    pub(crate) async fn hash_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        self.hashing.run(f).await
    }

    /// The service policy alone, for sessions that already know the account.
    pub fn check_service(
        &self,
        account: &Account,
        service: Service,
        peer: IpAddr,
    ) -> Result<(), PolicyDenial> {
        policy::check(
            &account.services,
            account.disabled,
            service,
            peer,
            &self.lan,
        )
    }
}
