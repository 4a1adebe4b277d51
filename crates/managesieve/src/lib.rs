//! The ManageSieve server (RFC 5804): how Roundcube, Thunderbird's Sieve add-on and
//! sieve-connect upload, check and activate each user's Sieve scripts.
//!
//! [`proto`] is the pure wire format (commands with quoted strings and literals,
//! responses), fuzzed. `session.rs` is one connection: the capability greeting,
//! STARTTLS, AUTHENTICATE with the directory's SASL mechanisms and IMAP's service
//! policy (plaintext mechanisms only after TLS or from trusted networks, the per-IP
//! failure limiter), then the script commands over the store, every script compiled
//! with `pillarbox-sieve` before it is stored (a script that does not compile is never
//! installed) and quotas on the number and size of scripts.
//!
//! No SQL here, and no other protocol crate.

pub mod proto;
mod session;

use std::sync::Arc;
use std::time::Duration;

use pillarbox_config::IpRanges;
use pillarbox_directory::Directory;
use pillarbox_net::{Connection, ServerTls};

/// The line a client refused by a connection limit reads.
pub const REFUSAL: &str = "BYE (TRYLATER) \"Too many connections, try again later\"\r\n";

/// Settings a session needs.
#[derive(Debug, Clone)]
pub struct ManageSieveSettings {
    /// Networks allowed plaintext authentication without TLS.
    pub trusted: IpRanges,
    /// Time allowed for the STARTTLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Scripts an account may keep.
    pub max_scripts: usize,
    /// Largest script, in octets.
    pub max_script_size: usize,
    /// A session idle this long is closed.
    pub idle_timeout: Duration,
}

/// The ManageSieve service. Cheap to clone.
#[derive(Clone)]
pub struct ManageSieveService {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub settings: ManageSieveSettings,
    pub directory: Directory,
    pub tls: Option<ServerTls>,
}

impl std::fmt::Debug for ManageSieveService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManageSieveService").finish_non_exhaustive()
    }
}

impl ManageSieveService {
    /// A service over `directory`; `tls` enables STARTTLS.
    pub fn new(
        settings: ManageSieveSettings,
        directory: Directory,
        tls: Option<ServerTls>,
    ) -> ManageSieveService {
        ManageSieveService {
            inner: Arc::new(Inner {
                settings,
                directory,
                tls,
            }),
        }
    }

    /// Runs the session of an accepted connection to its end.
    pub async fn handle(&self, conn: Connection) {
        session::Session::new(self.inner.clone(), conn).run().await;
    }
}
