//! Accept loops. Each listener accepts connections, applies the connection limits
//! (answering refused clients with the protocol's own line), reads the PROXY protocol
//! header of connections from trusted balancers (so everything above sees the client's
//! address), performs the implicit TLS handshake when the listener is TLS-only, and runs
//! the session under a span that carries the connection id and the client's address.
//! Accepting stops when shutdown begins.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pillarbox_config::IpRanges;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, field};

use crate::limits::{ConnectionLimits, ConnectionPermit, LimitRefusal, ReservedSlot};
use crate::proxy_protocol::{Rewound, read_header};
use crate::shutdown::Shutdown;
use crate::stream::{AsyncStream, BoxedStream, TlsInfo};
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
    /// The client: the socket's peer, or the source named by the PROXY header of a
    /// trusted balancer.
    pub peer: SocketAddr,
    /// The address the client connected to (the header's destination behind a balancer).
    pub local: SocketAddr,
    /// The balancer the connection came through, when it had a PROXY header.
    pub proxy: Option<SocketAddr>,
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
            .field("proxy", &self.proxy)
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
    /// Peers whose connections begin with a PROXY protocol header.
    pub proxies: TrustedProxies,
}

/// The load balancers trusted to send PROXY protocol headers (proxy-protocol.txt §5:
/// the header is read only from configured sources, never guessed from the bytes).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    /// A connection from these networks must begin with a header; empty: none is read.
    pub networks: IpRanges,
    /// How long the header may take to arrive (§2: "at least 3 seconds").
    pub header_timeout: Duration,
}

/// How far a new connection has been admitted by the limits.
enum Admission {
    /// Counted against its own address.
    Direct(ConnectionPermit),
    /// From a trusted balancer: counted in the total; the client's address, against
    /// which it is counted next, comes with the header.
    Proxied(ReservedSlot),
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
        let admission = if ctx.proxies.networks.contains(peer.ip()) {
            ctx.limits.reserve().map(Admission::Proxied)
        } else {
            ctx.limits.admit(peer.ip()).map(Admission::Direct)
        };
        let admission = match admission {
            Ok(a) => a,
            Err(why) => {
                refuse(tcp, peer, &spec, why);
                continue;
            }
        };
        let id = next_connection_id();
        // `peer` is the client, known at once for a direct connection, after the header
        // for a proxied one; `proxy` is the balancer.
        let span = tracing::info_span!(
            "conn",
            id,
            peer = field::Empty,
            proxy = field::Empty,
            service = spec.service
        );
        let conn = run(
            tcp,
            peer,
            admission,
            id,
            spec.clone(),
            ctx.clone(),
            handler.clone(),
        );
        ctx.shutdown.spawn(conn.instrument(span));
    }
}

/// One connection: the PROXY header if it comes from a balancer, TLS if the listener is
/// implicit-TLS, then the session.
async fn run<H, Fut>(
    mut tcp: TcpStream,
    peer: SocketAddr,
    admission: Admission,
    id: u64,
    spec: ListenerSpec,
    ctx: AcceptContext,
    handler: H,
) where
    H: Fn(Connection) -> Fut,
    Fut: Future<Output = ()>,
{
    let local = tcp.local_addr().unwrap_or(peer);
    let (_permit, endpoints, early) = match admission {
        Admission::Direct(permit) => {
            Span::current().record("peer", field::display(peer));
            let direct = Endpoints {
                peer,
                local,
                proxy: None,
            };
            (permit, direct, Vec::new())
        }
        Admission::Proxied(slot) => match proxied(&mut tcp, peer, local, slot, &spec, &ctx).await {
            Some(admitted) => admitted,
            None => return,
        },
    };
    // Bytes that came with the header (a ClientHello sent at once) are read first.
    let established = if early.is_empty() {
        establish(tcp, &spec, &ctx).await
    } else {
        establish(Rewound::new(early, tcp), &spec, &ctx).await
    };
    let Some((stream, tls)) = established else {
        return;
    };
    tracing::debug!(tls = tls.as_ref().map(|t| t.to_string()), "connected");
    handler(Connection {
        id,
        peer: endpoints.peer,
        local: endpoints.local,
        proxy: endpoints.proxy,
        stream,
        tls,
        shutdown: ctx.shutdown.token(),
    })
    .await;
    tracing::debug!("disconnected");
}

/// The endpoints a session is told.
struct Endpoints {
    peer: SocketAddr,
    local: SocketAddr,
    proxy: Option<SocketAddr>,
}

/// Reads the PROXY header of a connection from the trusted balancer `balancer`, before
/// anything is written or a TLS handshake begins, and admits the client it names.
/// Closes the connection (returns `None`) when the header is missing, malformed or late,
/// or when the client has its per-address limit open. LOCAL (a health check) and
/// UNKNOWN headers keep the real endpoints. Returns the permit, the endpoints and the
/// bytes read after the header.
async fn proxied(
    tcp: &mut TcpStream,
    balancer: SocketAddr,
    local: SocketAddr,
    slot: ReservedSlot,
    spec: &ListenerSpec,
    ctx: &AcceptContext,
) -> Option<(ConnectionPermit, Endpoints, Vec<u8>)> {
    let span = Span::current();
    span.record("proxy", field::display(balancer));
    let (header, early) = match read_header(tcp, ctx.proxies.header_timeout).await {
        Ok(read) => read,
        Err(e) => {
            span.record("peer", field::display(balancer));
            tracing::warn!(
                error = %e,
                "connection from a trusted proxy closed: no valid PROXY protocol header"
            );
            return None;
        }
    };
    let client = header.source().unwrap_or(balancer);
    span.record("peer", field::display(client));
    tracing::debug!(version = ?header.version, addresses = ?header.addresses, "PROXY protocol header");
    let permit = match slot.admit(client.ip()) {
        Ok(permit) => permit,
        Err(why) => {
            tracing::warn!(service = spec.service, peer = %client, ?why, "connection refused by limit");
            send_refusal(tcp, spec).await;
            return None;
        }
    };
    let endpoints = Endpoints {
        peer: client,
        local: header.destination().unwrap_or(local),
        proxy: Some(balancer),
    };
    Some((permit, endpoints, early))
}

/// Wraps the socket in TLS for implicit-TLS listeners.
async fn establish<S: AsyncStream + 'static>(
    tcp: S,
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
    let spec = spec.clone();
    tokio::spawn(async move { send_refusal(&mut tcp, &spec).await });
}

/// Sends the protocol's refusal line (plain-text listeners only: implicit-TLS clients
/// cannot read one) and closes.
async fn send_refusal<S: AsyncWrite + Unpin>(io: &mut S, spec: &ListenerSpec) {
    if spec.tls == TlsMode::Plain {
        let line = spec.refusal.as_bytes();
        let _ = tokio::time::timeout(Duration::from_secs(5), io.write_all(line)).await;
    }
    let _ = io.shutdown().await;
}
