//! IMAP4rev2 / IMAP4rev1 server (RFC 9051, RFC 3501) with the extensions listed in
//! [`caps`]: a plain listener (port 143, STARTTLS) and an implicit-TLS one (port 993).
//!
//! How it is cut, following the data path:
//!
//! - [`proto`] is the pure protocol layer: the framer that cuts the byte stream into
//!   commands and literals, the command parser, typed responses and their encoder.
//! - `io` owns the socket: read buffer, batched writes, COMPRESS=DEFLATE and the
//!   STARTTLS swap.
//! - `session` is the state machine (not authenticated, authenticated, selected,
//!   logout) with the one table of legal commands per state; `cmd/` holds one file per
//!   command family.
//! - `view` is a selected session's picture of its mailbox (UID ↔ sequence numbers,
//!   flags, pending expunges), kept in memory and re-synchronised from the store's change
//!   feed; `render/`, `search/`, `sort` and `thread` are pure functions over messages.
//!
//! This crate never contains SQL (it works through `pillarbox_store::Store`), never
//! depends on another protocol crate, and never writes to a socket while holding a lock.

#![forbid(unsafe_code)]
// Handlers return `Result<StatusResponse, StatusResponse>`: both sides are the reply to
// send, built once per command, so the size of the error variant costs nothing.
#![allow(clippy::result_large_err)]

pub mod proto;

mod cache;
mod caps;
mod catalogue;
mod cmd;
mod io;
mod limit;
mod load;
mod names;
mod render;
mod search;
mod session;
mod sort;
mod thread;
mod view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pillarbox_config::{ImapSection, IpRanges};
use pillarbox_directory::Directory;
use pillarbox_net::{BoxedStream, Connection, ServerTls, TlsInfo};
use tokio_util::sync::CancellationToken;

/// The line a client refused by a connection limit reads.
pub const REFUSAL: &str = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";

/// Memory the message cache may use (structures and header blocks).
const MESSAGE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Settings a session needs.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// The `[imap]` section.
    pub imap: ImapSection,
    /// Networks allowed plaintext authentication without TLS.
    pub trusted: IpRanges,
    /// Time allowed for the STARTTLS handshake.
    pub tls_handshake_timeout: Duration,
    /// The spam filter told about Junk moves (`[scan] learn`), if any.
    pub scanners: Option<Arc<pillarbox_scan::policy::Scanners>>,
}

/// The IMAP service, shared by the plain and the implicit-TLS listeners. Cheap to clone.
#[derive(Clone)]
pub struct ImapService {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub settings: ImapSettings,
    pub directory: Directory,
    /// The certificate for STARTTLS; `None` disables STARTTLS.
    pub tls: Option<ServerTls>,
    /// Structures and headers of messages, shared by every session.
    pub cache: cache::MessageCache,
    /// MESSAGELIMIT (RFC 9738): the most messages one command processes.
    pub message_limit: u32,
}

impl std::fmt::Debug for ImapService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapService").finish_non_exhaustive()
    }
}

impl ImapService {
    /// A service over `directory`; `tls` enables STARTTLS on plain connections.
    pub fn new(settings: ImapSettings, directory: Directory, tls: Option<ServerTls>) -> Self {
        ImapService {
            inner: Arc::new(Inner {
                settings,
                directory,
                tls,
                cache: cache::MessageCache::new(MESSAGE_CACHE_BYTES),
                message_limit: limit::DEFAULT_MESSAGE_LIMIT,
            }),
        }
    }

    /// Sets the MESSAGELIMIT (RFC 9738; at least 1). Call it before the service is
    /// cloned: a service already shared keeps its limit.
    pub fn with_message_limit(mut self, limit: u32) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.message_limit = limit.max(1);
        }
        self
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

    /// Runs a session over any stream (tests use an in-memory duplex). `tls` is set when
    /// the stream is already TLS (implicit TLS); otherwise STARTTLS is offered.
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
