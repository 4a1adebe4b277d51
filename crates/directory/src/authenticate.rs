//! Password authentication with the service policy applied, shared by every protocol.
//!
//! Order of checks: the failure lockouts (this login name from the client address, then
//! the address as a whole unless it is in `network.trusted`); the password (an unknown user
//! is verified against a dummy hash, so it costs the same as a wrong password; the same
//! name and password verified within the login cache's TTL, against the account's
//! current hash, are not hashed again); then, only for a correct password, the
//! account's service policy, whose reason may be shown.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use pillarbox_monitor::{EventKind, NewEvent};
use pillarbox_store::{Account, AccountUpdate, StoreError};

use crate::limiter::LockKey;
use crate::lockouts;
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
        let name = creds.username.as_str();
        let exempt = self.trusted.contains(peer);
        self.check_locks(peer, name, exempt).await?;
        let account = self.store.account_get(creds.username.trim()).await?;
        let cached = account.as_ref().is_some_and(|a| {
            self.logins.hit(
                &creds.username,
                &creds.password,
                a.id,
                &a.password_hash,
                Instant::now(),
            )
        });
        let ok = cached || {
            let stored = account
                .as_ref()
                .map(|a| a.password_hash.clone())
                .unwrap_or_else(|| password::dummy_hash().to_string());
            let pw = creds.password.clone();
            self.verifications
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.hash_blocking(move || password::verify(&pw, &stored))
                .await
                .unwrap_or(false)
        };
        let account = match (account, ok) {
            (Some(a), true) => a,
            (a, _) => {
                if let Some(a) = a {
                    self.logins.purge_account(a.id);
                }
                let locked = self.count_failure(peer, name, exempt).await;
                let m = &self.monitor;
                m.count(&format!("login.failed.{}", service.key()), None, 1);
                m.event(
                    NewEvent::new(
                        EventKind::LoginFailed,
                        format!("{service} login failed for {:?}", creds.username),
                    )
                    .account(creds.username.trim())
                    .ip(peer),
                );
                for key in &locked {
                    let what = match &key.account {
                        Some(a) => {
                            format!("{a:?} locked out from {peer} after repeated failed logins")
                        }
                        None => format!("{peer} locked out after repeated failed logins"),
                    };
                    m.event(NewEvent::new(EventKind::LoginLocked, what).ip(peer));
                    m.hook(
                        "login.failure_burst",
                        None,
                        serde_json::json!({
                            "ip": peer.to_string(),
                            "account": key.account,
                            "service": service.to_string(),
                        }),
                    );
                }
                return Err(AuthError::InvalidCredentials);
            }
        };
        if self.limiter.record_success(peer, name)
            && let Err(e) = self
                .store
                .login_succeeded(&LockKey::pair(peer, name).store_key())
                .await
        {
            tracing::warn!(error = %e, "cannot clear failed logins in the store");
        }
        policy::check(
            &account.services,
            account.disabled,
            service,
            peer,
            &self.lan,
        )
        .map_err(|d| {
            self.monitor.event(
                NewEvent::new(
                    EventKind::PolicyRefused,
                    format!("{service} login refused by policy: {d}"),
                )
                .account(&account.address())
                .ip(peer),
            );
            AuthError::Denied(d)
        })?;
        let mut verified_hash = account.password_hash.clone();
        if !cached && password::needs_rehash(&account.password_hash) {
            verified_hash = self
                .rehash(&account, &creds.password)
                .await
                .unwrap_or(verified_hash);
        }
        if !cached {
            self.logins.insert(
                &creds.username,
                &creds.password,
                account.id,
                &verified_hash,
                Instant::now(),
            );
        }
        self.monitor.count(
            &format!("login.ok.{}", service.key()),
            Some(&account.domain),
            1,
        );
        self.monitor.event(
            NewEvent::new(EventKind::LoginOk, format!("{service} login"))
                .account(&account.address())
                .ip(peer),
        );
        Ok(account)
    }

    /// `Err(RateLimited)` while `name` is locked out from `peer`, or `peer` as a whole
    /// (unless `exempt`): in this node's memory (unless the CLI unblocked it since) or,
    /// on a cluster, in the store's shared counts.
    async fn check_locks(&self, peer: IpAddr, name: &str, exempt: bool) -> Result<(), AuthError> {
        let Some(_) = self.limiter.limits() else {
            return Ok(());
        };
        while let Err(locked) = self.limiter.check(peer, name, exempt) {
            match lockouts::unblocked_since(&self.store, &locked.key, locked.since).await {
                Ok(true) => {
                    tracing::info!(lock = %locked.key, "login lock lifted by an administrator");
                    self.limiter.unblock(&locked.key);
                }
                Ok(false) => return Err(AuthError::RateLimited(locked.remaining)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read login unblock requests");
                    return Err(AuthError::RateLimited(locked.remaining));
                }
            }
        }
        for (key, _) in self.limiter.keys(peer, name, exempt) {
            if let Some(wait) = self.store.login_locked(&key.store_key()).await? {
                return Err(AuthError::RateLimited(wait));
            }
        }
        Ok(())
    }

    /// Counts a failed login of `name` from `peer`, here and in the store (shared by a
    /// cluster's nodes; the embedded store keeps none), and lists each new lock for
    /// `pillarbox auth blocked`. Returns the keys it locked.
    async fn count_failure(&self, peer: IpAddr, name: &str, exempt: bool) -> Vec<LockKey> {
        let Some(limits) = self.limiter.limits() else {
            return Vec::new();
        };
        let mut locked = self.limiter.record_failure(peer, name, exempt);
        for (key, max) in self.limiter.keys(peer, name, exempt) {
            match self
                .store
                .login_failed(&key.store_key(), max, limits.window, limits.lockout)
                .await
            {
                Ok(true) if !locked.contains(&key) => locked.push(key),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot count a failed login in the store")
                }
            }
        }
        if !locked.is_empty() {
            let _guard = self.lockout_writes.lock().await;
            let until = SystemTime::now() + limits.lockout;
            for key in &locked {
                if let Err(e) = lockouts::record(&self.store, key, until).await {
                    tracing::warn!(error = %e, lock = %key, "cannot list a login lock in the store");
                }
            }
        }
        locked
    }

    /// Replaces an imported hash with argon2id after a successful login; returns the
    /// new hash once stored. Failure to do so is logged, never fatal to the login.
    async fn rehash(&self, account: &Account, password: &str) -> Option<String> {
        let pw = password.to_string();
        let new_hash = self.hash_blocking(move || password::hash(&pw)).await?;
        let update = AccountUpdate {
            password_hash: Some(new_hash.clone()),
            ..Default::default()
        };
        match self.store.account_update(account.id, update).await {
            Ok(_) => Some(new_hash),
            Err(e) => {
                tracing::warn!(user = %account.address(), error = %e, "could not upgrade password hash");
                None
            }
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
