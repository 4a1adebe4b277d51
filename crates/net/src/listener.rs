//! Accept loops. Each listener accepts connections, applies the connection limits
//! (answering refused clients with the protocol's own line), performs the implicit TLS
//! handshake when the listener is TLS-only, and runs the session under a span that
//! carries the connection id and peer address. Accepting stops when shutdown begins.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::limits::{ConnectionLimits, LimitRefusal};
use crate::shutdown::Shutdown;
use crate::stream::{BoxedStream, TlsInfo};
use crate::tls::server::ServerTls;

/// Whether a listener speaks TLS from the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text first; the protocol may offer STARTTLS.
    Plain,
    /// TLS from the first byte (465, 993, 995).
    Implicit,
}

/// What the accept loop needs to know about the service behind a listener.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// Service name for logs, e.g. `smtp` or `imaps`.
    pub service: &'static str,
    pub tls: TlsMode,
    /// The line sent to a client refused by a connection limit (protocol syntax).
    pub refusal: &'static str,
}

/// An accepted connection, handed to the protocol session.
pub struct Connection {
    pub id: u64,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub stream: BoxedStream,
    /// Set when the connection is already TLS (implicit TLS listeners).
    pub tls: Option<TlsInfo>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("tls", &self.tls)
            .finish()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh connection id (unique in this process).
pub fn next_connection_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Everything an accept loop shares with the others.
#[derive(Debug, Clone)]
pub struct AcceptContext {
    pub tls: ServerTls,
    pub limits: ConnectionLimits,
    pub shutdown: Shutdown,
    pub handshake_timeout: Duration,
}

/// Runs the accept loop of `listener` until shutdown; each connection runs `handler`.
pub async fn serve<H, Fut>(
    listener: TcpListener,
    spec: ListenerSpec,
    ctx: AcceptContext,
    handler: H,
) where
    H: Fn(Connection) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let token = ctx.shutdown.token();
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(service = spec.service, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let permit = match ctx.limits.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                refuse(tcp, peer, &spec, why);
                continue;
            }
        };
        let id = next_connection_id();
        let span = tracing::info_span!("conn", id, peer = %peer, service = spec.service);
        let (spec, ctx2, handler) = (spec.clone(), ctx.clone(), handler.clone());
        ctx.shutdown.spawn(
            async move {
                let _permit = permit;
                let local = tcp.local_addr().unwrap_or(peer);
                let Some((stream, tls)) = establish(tcp, &spec, &ctx2).await else {
                    return;
                };
                tracing::debug!(tls = tls.as_ref().map(|t| t.to_string()), "connected");
                handler(Connection {
                    id,
                    peer,
                    local,
                    stream,
                    tls,
                    shutdown: ctx2.shutdown.token(),
                })
                .await;
                tracing::debug!("disconnected");
            }
            .instrument(span),
        );
    }
}

/// Wraps the socket in TLS for implicit-TLS listeners.
async fn establish(
    tcp: TcpStream,
    spec: &ListenerSpec,
    ctx: &AcceptContext,
) -> Option<(BoxedStream, Option<TlsInfo>)> {
    match spec.tls {
        TlsMode::Plain => Some((Box::new(tcp), None)),
        TlsMode::Implicit => {
            match tokio::time::timeout(ctx.handshake_timeout, ctx.tls.acceptor().accept(tcp)).await
            {
                Ok(Ok(tls)) => {
                    let info = TlsInfo::from_common(tls.get_ref().1);
                    Some((Box::new(tls), Some(info)))
                }
                Ok(Err(e)) => {
                    tracing::info!(error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::info!("TLS handshake timed out");
                    None
                }
            }
        }
    }
}

fn refuse(mut tcp: TcpStream, peer: SocketAddr, spec: &ListenerSpec, why: LimitRefusal) {
    tracing::warn!(service = spec.service, %peer, ?why, "connection refused by limit");
    let line = spec.refusal;
    // Implicit-TLS clients cannot read a plaintext line; just close for them.
    let plain = spec.tls == TlsMode::Plain;
    tokio::spawn(async move {
        if plain {
            let _ =
                tokio::time::timeout(Duration::from_secs(5), tcp.write_all(line.as_bytes())).await;
        }
        let _ = tcp.shutdown().await;
    });
}
