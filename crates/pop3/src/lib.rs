//! The POP3 server: RFC 1939 with CAPA and response codes (RFC 2449, RFC 3206), STLS
//! (RFC 2595), SASL AUTH (RFC 5034) and PIPELINING, on a plain listener (port 110,
//! STLS offered) and an implicit-TLS one (port 995).
//!
//! A session ([`session`]) reads pipelined command lines ([`io`]), parses them with the
//! pure [`proto`] module, and runs one handler per command family (`cmd/`) on the data of
//! its state: AUTHORIZATION (login through the directory, which applies the per-IP
//! failure limiter and the account's service policy), TRANSACTION (a snapshot of the
//! INBOX, [`maildrop`]) and UPDATE (the deletions, committed through the store on QUIT
//! only). One session per account holds the maildrop lock.
//!
//! This crate never contains SQL, never writes a mailbox except through
//! `Store::expunge_uids` in the UPDATE state, and never depends on another protocol
//! crate.

mod cmd;
mod io;
pub mod maildrop;
pub mod proto;
pub mod readahead;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pillarbox_config::{IpRanges, Pop3Section};
use pillarbox_directory::Directory;
use pillarbox_net::{BoxedStream, Connection, ServerTls, TlsInfo};
use tokio_util::sync::CancellationToken;

use crate::maildrop::{MaildropLocks, WireSizeCache};

/// The line a client refused by a connection limit reads.
pub const REFUSAL: &str = "-ERR [SYS/TEMP] too many connections, try again later\r\n";

/// Settings a session needs.
#[derive(Debug, Clone)]
pub struct Pop3Settings {
    pub pop3: Pop3Section,
    /// Networks allowed plaintext authentication without TLS.
    pub trusted: IpRanges,
    /// Time allowed for the STLS handshake.
    pub tls_handshake_timeout: Duration,
}

/// The POP3 service, shared by the plain and the implicit-TLS listeners (so that the
/// maildrop lock covers both). Cheap to clone.
#[derive(Clone)]
pub struct Pop3Service {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub settings: Pop3Settings,
    pub directory: Directory,
    /// The certificate for STLS; `None` disables STLS.
    pub tls: Option<ServerTls>,
    pub locks: MaildropLocks,
    pub sizes: WireSizeCache,
}

impl std::fmt::Debug for Pop3Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Service").finish_non_exhaustive()
    }
}

impl Pop3Service {
    /// A service over `directory`; `tls` enables STLS on plain connections.
    pub fn new(
        settings: Pop3Settings,
        directory: Directory,
        tls: Option<ServerTls>,
    ) -> Pop3Service {
        if settings.pop3.apop {
            tracing::warn!(
                "pop3.apop is set, but APOP needs plaintext-equivalent passwords and Pillarbox stores only hashes; APOP stays off"
            );
        }
        Pop3Service {
            inner: Arc::new(Inner {
                settings,
                directory,
                tls,
                locks: MaildropLocks::new(),
                sizes: WireSizeCache::new(256 * 1024),
            }),
        }
    }

    /// The maildrop lock registry (for tests and monitoring).
    pub fn locks(&self) -> &MaildropLocks {
        &self.inner.locks
    }

    /// Runs the session of an accepted connection to its end.
    pub async fn handle(&self, conn: Connection) {
        let live = self
            .inner
            .directory
            .monitor()
            .sessions()
            .and_then(|s| s.get(conn.id));
        if let (Some(l), Some(t)) = (&live, &conn.tls) {
            l.set_tls(&t.version);
        }
        let mut session = session::Session::new(
            self.inner.clone(),
            conn.stream,
            conn.peer,
            conn.tls,
            conn.shutdown,
        );
        session.live = live;
        session.run().await;
    }

    /// Runs a session over any stream (tests use an in-memory duplex). `tls` is set
    /// when the stream is already TLS (implicit TLS); otherwise STLS is offered.
    pub async fn run(
        &self,
        stream: BoxedStream,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        shutdown: CancellationToken,
    ) {
        session::Session::new(self.inner.clone(), stream, peer, tls, shutdown)
            .run()
            .await;
    }
}
