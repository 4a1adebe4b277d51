//! Domains, accounts, aliases and credentials, and the rules on who may use what.
//!
//! [`Directory`] is what the protocol crates ask: "is this password right" (with
//! constant-time checks and per-IP failure limits), "may this account use IMAP from this
//! address" ([`policy`]), "where does mail for this address go" ([`resolve`]), "may this
//! user send as that address". SASL mechanisms live in [`sasl`], shared by SMTP, IMAP and
//! POP3. This crate never speaks a network protocol and contains no SQL: it works through
//! the `store` crate.

pub mod limiter;
pub mod password;
pub mod policy;
pub mod resolve;
pub mod sasl;

mod admin;
mod authenticate;
mod hashing;

pub use authenticate::{AuthError, Credentials};
pub use limiter::LoginLimiter;
pub use policy::{PolicyDenial, Service};
pub use resolve::Resolution;

use pillarbox_config::{AuthSection, IpRanges};
use pillarbox_store::Store;

/// The directory: accounts and the policies around them.
#[derive(Clone)]
pub struct Directory {
    store: Store,
    lan: IpRanges,
    limiter: LoginLimiter,
    /// Password hashing runs on a few dedicated threads (one per core).
    hashing: hashing::HashPool,
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
            limiter: LoginLimiter::new(
                auth.max_failures,
                auth.failure_window.get(),
                auth.lockout.get(),
            ),
            hashing: hashing::HashPool::new(cores),
        }
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
}
