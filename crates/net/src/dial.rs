//! The outbound dialer: one way to open a connection to a remote server for the queue,
//! collection and the connection test. It resolves the host (system resolver), connects
//! to each address in turn, optionally tunnels through a SOCKS4/4a/5 or HTTP CONNECT
//! proxy, optionally starts implicit TLS, and times every step into a [`DialReport`]
//! that a person can read ("DNS 3 ms → 192.0.2.1; TCP 12 ms; TLSv1.3 …").
//!
//! It knows no mail protocol: STARTTLS/STLS are the protocol clients' business, which
//! call [`upgrade_tls`] after their command was accepted. It never logs proxy or
//! protocol credentials, and it never waits without a deadline: the whole of
//! [`connect`] is bounded by [`DialOptions::connect_timeout`], and a timeout names the
//! stage that was running.

#[cfg(feature = "legacy-tls")]
mod legacy;
mod proxy;
mod tls;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::stream::BoxedStream;
use crate::tls::client::{ClientTls, ClientTlsError, ClientTlsMode};

pub use tls::{CertSummary, TlsReport, upgrade_tls, upgrade_tls_reporting};

/// Where to connect: a host name or an IP literal, and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    pub fn new(host: impl Into<String>, port: u16) -> Target {
        Target {
            host: host.into(),
            port,
        }
    }

    /// The host as an IP address when it is an IP literal (brackets allowed for IPv6).
    pub fn ip(&self) -> Option<IpAddr> {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h.parse().ok()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') && !self.host.starts_with('[') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Which proxy protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS4: the target is resolved here and sent as an IPv4 address.
    Socks4,
    /// SOCKS4a: the proxy resolves the target name.
    Socks4a,
    /// SOCKS5 (RFC 1928), with username/password authentication (RFC 1929) when set.
    Socks5,
    /// HTTP `CONNECT` tunnel (RFC 9110 §9.3.6), Basic proxy authentication when set.
    HttpConnect,
}

impl fmt::Display for ProxyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyKind::Socks4 => "SOCKS4",
            ProxyKind::Socks4a => "SOCKS4a",
            ProxyKind::Socks5 => "SOCKS5",
            ProxyKind::HttpConnect => "HTTP CONNECT",
        })
    }
}

/// A proxy every outbound connection of a route or account goes through.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Windows domain of the proxy account (eXchange POP3's proxy settings). Sent as
    /// `DOMAIN\user` in HTTP Basic credentials; SOCKS has no place for it.
    pub domain: Option<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("domain", &self.domain)
            .finish()
    }
}

impl ProxyConfig {
    fn target(&self) -> Target {
        Target::new(self.host.clone(), self.port)
    }
}

/// How to dial.
#[derive(Debug, Clone)]
pub struct DialOptions {
    /// Bound on the whole of [`connect`]: DNS, TCP, proxy handshake and implicit TLS.
    pub connect_timeout: Duration,
    pub proxy: Option<ProxyConfig>,
    /// TLS settings; only [`ClientTlsMode::Implicit`] acts in [`connect`].
    pub tls: ClientTls,
    /// Server name for TLS (SNI and certificate check); default: the target host.
    pub sni: Option<String>,
}

impl Default for DialOptions {
    fn default() -> Self {
        DialOptions {
            connect_timeout: Duration::from_secs(30),
            proxy: None,
            tls: ClientTls {
                mode: ClientTlsMode::None,
                ..ClientTls::default()
            },
            sni: None,
        }
    }
}

impl DialOptions {
    /// The name TLS is started for: the configured SNI, or the target host.
    pub fn server_name<'a>(&'a self, target: &'a Target) -> &'a str {
        self.sni.as_deref().unwrap_or(&target.host)
    }
}

/// The proxy step of a dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyReport {
    pub kind: ProxyKind,
    /// The proxy as configured (`host:port`).
    pub proxy: String,
    /// How long the proxy handshake took (after TCP to the proxy).
    pub duration: Duration,
}

/// What each step of a dial did and how long it took.
#[derive(Debug, Clone)]
pub struct DialReport {
    /// Name resolution of the host connected to (the proxy's host when proxied):
    /// `None` when it was an IP literal.
    pub dns: Option<(Duration, Vec<IpAddr>)>,
    /// The TCP connect: its duration and the address that answered.
    pub tcp: (Duration, SocketAddr),
    pub proxy: Option<ProxyReport>,
    /// Implicit TLS; STARTTLS reports come from [`upgrade_tls`].
    pub tls: Option<TlsReport>,
}

/// An open connection and how it was made.
pub struct Dialed {
    pub stream: BoxedStream,
    pub report: DialReport,
}

impl fmt::Debug for Dialed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialed")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

/// The step a dial was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialStage {
    Dns,
    Connect,
    Proxy,
    Tls,
}

impl fmt::Display for DialStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DialStage::Dns => "DNS resolution",
            DialStage::Connect => "TCP connect",
            DialStage::Proxy => "proxy handshake",
            DialStage::Tls => "TLS handshake",
        })
    }
}

/// Why a dial failed, worded for the person reading the log or the connection test.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("cannot resolve {host}: {source}")]
    Dns { host: String, source: io::Error },
    #[error("{host} resolves to no address")]
    NoAddress { host: String },
    #[error("cannot connect to {target}: {}", join_attempts(.attempts))]
    Connect {
        target: String,
        attempts: Vec<(SocketAddr, io::Error)>,
    },
    #[error("timed out after {} ms during {stage}", .after.as_millis())]
    Timeout { stage: DialStage, after: Duration },
    #[error("{kind} proxy {proxy}: {reason}")]
    Proxy {
        kind: ProxyKind,
        proxy: String,
        reason: String,
    },
    #[error("{kind} proxy {proxy} refused the credentials: {reason}")]
    ProxyAuth {
        kind: ProxyKind,
        proxy: String,
        reason: String,
    },
    #[error("TLS configuration: {0}")]
    TlsConfig(#[from] ClientTlsError),
    #[error("{name:?} is not a valid TLS server name")]
    InvalidServerName { name: String },
    #[error("certificate of {server_name} not trusted: {reason}")]
    TlsUntrusted { server_name: String, reason: String },
    #[error("TLS handshake with {server_name} failed: {reason}")]
    TlsHandshake { server_name: String, reason: String },
}

impl DialError {
    /// The stage the error belongs to.
    pub fn stage(&self) -> DialStage {
        match self {
            DialError::Dns { .. } | DialError::NoAddress { .. } => DialStage::Dns,
            DialError::Connect { .. } => DialStage::Connect,
            DialError::Timeout { stage, .. } => *stage,
            DialError::Proxy { .. } | DialError::ProxyAuth { .. } => DialStage::Proxy,
            DialError::TlsConfig(_)
            | DialError::InvalidServerName { .. }
            | DialError::TlsUntrusted { .. }
            | DialError::TlsHandshake { .. } => DialStage::Tls,
        }
    }
}

fn join_attempts(attempts: &[(SocketAddr, io::Error)]) -> String {
    attempts
        .iter()
        .map(|(a, e)| format!("{a}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs `fut` until the dial's deadline, naming `stage` if the deadline passes.
async fn by_deadline<T>(
    deadline: Instant,
    total: Duration,
    stage: DialStage,
    fut: impl Future<Output = Result<T, DialError>>,
) -> Result<T, DialError> {
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(DialError::Timeout {
            stage,
            after: total,
        }),
    }
}

/// The steps of a dial that completed before it failed, for the connection test
/// ("DNS ok, TCP ok, proxy refused the credentials").
#[derive(Debug, Clone, Default)]
pub struct PartialDial {
    /// Name resolution, when a name was resolved (not for an IP literal).
    pub dns: Option<(Duration, Vec<IpAddr>)>,
    /// The TCP connect, when it succeeded.
    pub tcp: Option<(Duration, SocketAddr)>,
    /// The proxy handshake, when it succeeded.
    pub proxy: Option<ProxyReport>,
    /// The certificate the server presented, when a failed TLS handshake got that far.
    pub certificate: Option<CertSummary>,
}

/// A failed dial with what had worked before it failed.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct DialFailure {
    pub error: DialError,
    pub partial: PartialDial,
}

/// Opens a connection to `target` as `opts` says: resolve, connect, proxy, implicit TLS.
pub async fn connect(target: &Target, opts: &DialOptions) -> Result<Dialed, DialError> {
    connect_reporting(target, opts).await.map_err(|f| f.error)
}

/// [`connect`] that reports the steps which succeeded when a later one fails.
pub async fn connect_reporting(target: &Target, opts: &DialOptions) -> Result<Dialed, DialFailure> {
    let mut partial = PartialDial::default();
    let fail = |error: DialError, partial: &PartialDial| DialFailure {
        error,
        partial: partial.clone(),
    };
    let total = opts.connect_timeout;
    let deadline = Instant::now() + total;
    let first_hop = match &opts.proxy {
        Some(p) => p.target(),
        None => target.clone(),
    };
    let (dns, addrs) = by_deadline(deadline, total, DialStage::Dns, resolve(&first_hop))
        .await
        .map_err(|e| fail(e, &partial))?;
    partial.dns = dns.clone();
    let (tcp, socket) = by_deadline(
        deadline,
        total,
        DialStage::Connect,
        connect_any(&first_hop, &addrs, deadline),
    )
    .await
    .map_err(|e| fail(e, &partial))?;
    partial.tcp = Some(tcp);
    let addr = tcp.1;
    let (mut stream, proxy): (BoxedStream, _) = match &opts.proxy {
        None => (Box::new(socket), None),
        Some(p) => {
            let started = Instant::now();
            let tunnel = by_deadline(
                deadline,
                total,
                DialStage::Proxy,
                proxy::handshake(socket, p, target),
            )
            .await
            .map_err(|e| fail(e, &partial))?;
            let report = ProxyReport {
                kind: p.kind,
                proxy: p.target().to_string(),
                duration: started.elapsed(),
            };
            partial.proxy = Some(report.clone());
            (tunnel, Some(report))
        }
    };
    let mut tls = None;
    if opts.tls.mode == ClientTlsMode::Implicit {
        let name = opts.server_name(target);
        let upgraded =
            tokio::time::timeout_at(deadline, upgrade_tls_reporting(stream, name, &opts.tls)).await;
        let (s, r) = match upgraded {
            Ok(Ok(done)) => done,
            Ok(Err((e, cert))) => {
                partial.certificate = cert;
                return Err(fail(e, &partial));
            }
            Err(_) => {
                let e = DialError::Timeout {
                    stage: DialStage::Tls,
                    after: total,
                };
                return Err(fail(e, &partial));
            }
        };
        stream = s;
        tls = Some(r);
    }
    tracing::debug!(target = %target, %addr, proxied = proxy.is_some(), tls = tls.is_some(), "dialed");
    Ok(Dialed {
        stream,
        report: DialReport {
            dns,
            tcp,
            proxy,
            tls,
        },
    })
}

/// Resolves `target` with the system resolver, unless it is an IP literal.
async fn resolve(
    target: &Target,
) -> Result<(Option<(Duration, Vec<IpAddr>)>, Vec<SocketAddr>), DialError> {
    if let Some(ip) = target.ip() {
        return Ok((None, vec![SocketAddr::new(ip, target.port)]));
    }
    let started = Instant::now();
    let found = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|source| DialError::Dns {
            host: target.host.clone(),
            source,
        })?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in found {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(DialError::NoAddress {
            host: target.host.clone(),
        });
    }
    let ips = addrs.iter().map(|a| a.ip()).collect();
    Ok((Some((started.elapsed(), ips)), addrs))
}

/// Tries each address in order; the first that connects wins. Each attempt gets an
/// equal share of the time left, so one silent address does not starve the others.
/// TCP_NODELAY is set on the socket.
async fn connect_any(
    target: &Target,
    addrs: &[SocketAddr],
    deadline: Instant,
) -> Result<((Duration, SocketAddr), TcpStream), DialError> {
    let mut attempts = Vec::new();
    for (i, &addr) in addrs.iter().enumerate() {
        let started = Instant::now();
        let left = (addrs.len() - i) as u32;
        let share = deadline.saturating_duration_since(started) / left;
        let attempt = match tokio::time::timeout(share, TcpStream::connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no answer")),
        };
        match attempt {
            Ok(s) => {
                if let Err(e) = s.set_nodelay(true) {
                    attempts.push((addr, e));
                    continue;
                }
                return Ok(((started.elapsed(), addr), s));
            }
            Err(e) => attempts.push((addr, e)),
        }
    }
    Err(DialError::Connect {
        target: target.to_string(),
        attempts,
    })
}
