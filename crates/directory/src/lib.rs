//! Domains, accounts, aliases and credentials, and the rules on who may use what.
//!
//! [`Directory`] is what the protocol crates ask: "is this password right" (with
//! constant-time checks and failure limits per address and account, see [`limiter`]
//! and [`lockouts`]), "may this account use IMAP from this
//! address" ([`policy`]), "where does mail for this address go" ([`resolve`]), "may this
//! user send as that address". SASL mechanisms live in [`sasl`], shared by SMTP, IMAP and
//! POP3. A login verified a moment ago is not hashed again (`login_cache`, keyed by an
//! HMAC of name and password, never the password). This crate never speaks a network protocol and contains no SQL: it works through
//! the `store` crate.

pub mod limiter;
pub mod lockouts;
pub mod password;
pub mod policy;
pub mod resolve;
pub mod sasl;
pub mod srs;

mod admin;
mod authenticate;
mod hashing;
mod login_cache;

pub use authenticate::{AuthError, Credentials};
pub use limiter::{LockKey, LoginLimiter};
pub use lockouts::{Lockout, UnblockTarget};
pub use policy::{PolicyDenial, Service};
pub use resolve::Resolution;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pillarbox_config::{AuthSection, IpRanges};
use pillarbox_store::Store;

/// The directory: accounts and the policies around them.
#[derive(Clone)]
pub struct Directory {
    store: Store,
    lan: IpRanges,
    /// `network.trusted`: exempt from the address-only failure limit, and believed when
    /// they name the client they speak for (IMAP `ID` `x-originating-ip`).
    trusted: IpRanges,
    limiter: LoginLimiter,
    /// Serialises this process's writes to the lockout listing (a read-modify-write).
    lockout_writes: Arc<tokio::sync::Mutex<()>>,
    /// Password hashing runs on a few dedicated threads (one per core).
    hashing: hashing::HashPool,
    /// Logins verified within `[auth] login_cache_ttl`, shared by every protocol.
    logins: Arc<login_cache::LoginCache>,
    /// Passwords checked against a hash so far (cache hits excluded).
    verifications: Arc<AtomicU64>,
    /// Where logins and refusals are recorded (every protocol reaches it here).
    monitor: pillarbox_monitor::Monitor,
    /// The Sender Rewriting Scheme for forwarded mail (`[srs]`), when on.
    srs: Option<srs::Srs>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

impl Directory {
    /// A directory over `store`, with `lan` as the LAN for "only from LAN" policies and
    /// `auth` as the login failure limits.
    pub fn new(store: Store, lan: IpRanges, auth: &AuthSection) -> Directory {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Directory {
            store,
            lan,
            trusted: IpRanges::default(),
            limiter: LoginLimiter::new(
                auth.max_failures,
                auth.max_failures_per_address,
                auth.failure_window.get(),
                auth.lockout.get(),
            ),
            lockout_writes: Arc::new(tokio::sync::Mutex::new(())),
            hashing: hashing::HashPool::new(cores),
            logins: Arc::new(login_cache::LoginCache::new(auth.login_cache_ttl.get())),
            verifications: Arc::new(AtomicU64::new(0)),
            monitor: pillarbox_monitor::Monitor::disabled(),
            srs: None,
        }
    }

    /// This directory treating `trusted` (the server's `network.trusted`) as trusted
    /// hosts: never locked out as a whole address (a single account from them still
    /// is), and believed when they pass on their client's address. Without it (tools,
    /// tests) no address is trusted.
    pub fn with_trusted(mut self, trusted: IpRanges) -> Directory {
        self.trusted = trusted;
        self
    }

    /// The trusted networks (`network.trusted`).
    pub fn trusted(&self) -> &IpRanges {
        &self.trusted
    }

    /// The client address a connection from `peer` speaks for when it names one
    /// (`claimed`, e.g. IMAP `ID ("x-originating-ip" "192.0.2.7")`, as Dovecot takes it):
    /// `Some` only when `peer` is in `network.trusted` and `claimed` is an IP address
    /// (an IPv6 one may be in brackets). Logins of that connection should then be
    /// checked, limited and recorded under the returned address.
    pub fn originating_peer(&self, peer: IpAddr, claimed: &str) -> Option<IpAddr> {
        if !self.trusted.contains(peer) {
            return None;
        }
        let c = claimed.trim();
        let c = c
            .strip_prefix('[')
            .and_then(|c| c.strip_suffix(']'))
            .unwrap_or(c);
        c.parse().ok()
    }

    /// This directory rewriting forwarded senders with `srs` and taking bounces to
    /// its addresses.
    pub fn with_srs(mut self, srs: srs::Srs) -> Directory {
        self.srs = Some(srs);
        self
    }

    /// The Sender Rewriting Scheme, when on.
    pub fn srs(&self) -> Option<&srs::Srs> {
        self.srs.as_ref()
    }

    /// This directory recording into `monitor` (the server's; tools record nothing).
    pub fn with_monitor(mut self, monitor: pillarbox_monitor::Monitor) -> Directory {
        self.monitor = monitor;
        self
    }

    /// The monitor the services record through.
    pub fn monitor(&self) -> &pillarbox_monitor::Monitor {
        &self.monitor
    }

    /// The store this directory works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The LAN ranges.
    pub fn lan(&self) -> &IpRanges {
        &self.lan
    }

    /// The login failure limiter (shared by every protocol).
    pub fn limiter(&self) -> &LoginLimiter {
        &self.limiter
    }

    /// How many passwords were checked against a stored hash since start (logins the
    /// login cache answered are not counted): a statistic, and how tests see the cache.
    pub fn password_verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}
