//! The sections of the configuration file, each with its defaults. A missing section or
//! key takes its default, so an empty file (or none) is a working configuration.

mod clients;
mod collect;
mod mail_auth;
mod monitor;
mod protocols;
mod queue;
mod scan;

pub use clients::*;
pub use collect::*;
pub use mail_auth::*;
pub use monitor::*;
pub use protocols::*;
pub use queue::*;
pub use scan::*;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::types::{IpRanges, Seconds, TlsVersion};

/// `[server]`: who we are and where data lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// The host name used in greetings, `Received:` headers and the generated certificate.
    pub hostname: String,
    /// Where the database, blobs and generated certificate live.
    pub data_dir: PathBuf,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            hostname: default_hostname(),
            data_dir: PathBuf::from("./pillarbox-data"),
        }
    }
}

fn default_hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `[listen]`: the addresses each service binds; an empty list turns the service off.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenSection {
    /// SMTP for incoming mail (MX), STARTTLS offered.
    #[serde(deserialize_with = "socket_addrs")]
    pub smtp: Vec<SocketAddr>,
    /// Message submission with STARTTLS (port 587 in production).
    #[serde(deserialize_with = "socket_addrs")]
    pub submission: Vec<SocketAddr>,
    /// Message submission over implicit TLS (port 465 in production).
    #[serde(deserialize_with = "socket_addrs")]
    pub submissions: Vec<SocketAddr>,
    /// IMAP with STARTTLS.
    #[serde(deserialize_with = "socket_addrs")]
    pub imap: Vec<SocketAddr>,
    /// IMAP over implicit TLS.
    #[serde(deserialize_with = "socket_addrs")]
    pub imaps: Vec<SocketAddr>,
    /// POP3 with STLS.
    #[serde(deserialize_with = "socket_addrs")]
    pub pop3: Vec<SocketAddr>,
    /// POP3 over implicit TLS.
    #[serde(deserialize_with = "socket_addrs")]
    pub pop3s: Vec<SocketAddr>,
    /// Client autoconfig (and later the admin API and web console), plain HTTP.
    #[serde(deserialize_with = "socket_addrs")]
    pub http: Vec<SocketAddr>,
    /// The same over implicit TLS (port 443 in production; Outlook asks only over
    /// HTTPS). Off unless configured.
    #[serde(deserialize_with = "socket_addrs")]
    pub https: Vec<SocketAddr>,
    /// Prometheus metrics (`/metrics`), plain HTTP; keep it on a private address.
    #[serde(deserialize_with = "socket_addrs")]
    pub metrics: Vec<SocketAddr>,
    /// ManageSieve (RFC 5804, port 4190), STARTTLS offered.
    #[serde(deserialize_with = "socket_addrs")]
    pub managesieve: Vec<SocketAddr>,
}

fn local(port: u16) -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], port))]
}

impl Default for ListenSection {
    fn default() -> Self {
        ListenSection {
            smtp: local(2525),
            submission: local(2587),
            submissions: local(2465),
            imap: local(2143),
            imaps: local(2993),
            pop3: local(2110),
            pop3s: local(2995),
            http: local(8080),
            https: Vec::new(),
            metrics: local(9480),
            managesieve: local(4190),
        }
    }
}

fn socket_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(d).map_err(|_| {
        de::Error::custom("expected an address such as \"0.0.0.0:25\" or a list of them")
    })? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    items
        .iter()
        .map(|s| {
            s.trim().parse::<SocketAddr>().map_err(|_| {
                de::Error::custom(format!(
                    "invalid listen address \"{s}\": expected IP:PORT such as \"0.0.0.0:25\" or \"[::]:993\""
                ))
            })
        })
        .collect()
}

/// `[tls]`: the server certificate and protocol versions.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain; when absent a self-signed certificate is generated.
    pub certificate: Option<PathBuf>,
    /// PEM private key matching `certificate`.
    pub private_key: Option<PathBuf>,
    /// Lowest TLS version accepted from clients ("1.2" or "1.3").
    pub min_version: TlsVersion,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            certificate: None,
            private_key: None,
            min_version: TlsVersion::Tls12,
        }
    }
}

/// `[network]`: address lists that policies refer to.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSection {
    /// The LAN, for "only from LAN IPs" service policies.
    pub lan: IpRanges,
    /// Networks allowed to authenticate with a plaintext password without TLS.
    pub trusted: IpRanges,
    /// Networks allowed to relay through SMTP without authenticating.
    pub relay: IpRanges,
    /// Load balancers that prefix every connection with a PROXY protocol header
    /// (HAProxy's `send-proxy` or `send-proxy-v2`). A connection from one of these
    /// networks must begin with a header, whose client address then stands for the
    /// connection everywhere (service policy, limits, logs, `Received:`); connections
    /// from anywhere else are never read for one. Empty (the default): off.
    pub proxy_trusted: IpRanges,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            lan: IpRanges::from_static(&[
                "127.0.0.0/8",
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "169.254.0.0/16",
                "::1/128",
                "fc00::/7",
                "fe80::/10",
            ]),
            trusted: IpRanges::from_static(&["127.0.0.0/8", "::1/128"]),
            relay: IpRanges::default(),
            proxy_trusted: IpRanges::default(),
        }
    }
}

/// `[limits]`: connection limits shared by every listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsSection {
    /// Connections open at once, all services together.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_connections_per_ip: usize,
    /// How long sessions may take to finish after SIGTERM.
    pub shutdown_grace: Seconds,
    /// How long a TLS handshake may take.
    pub tls_handshake_timeout: Seconds,
    /// How long a connection from `network.proxy_trusted` may take to send its PROXY
    /// protocol header (the specification asks for at least 3 seconds).
    pub proxy_header_timeout: Seconds,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_connections: 10_000,
            max_connections_per_ip: 100,
            shutdown_grace: Seconds::secs(30),
            tls_handshake_timeout: Seconds::secs(30),
            proxy_header_timeout: Seconds::secs(5),
        }
    }
}

/// `[auth]`: failed-login limits, per (client IP, account) and per client IP, and the
/// verified-logins cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// Failed logins for one account from one IP (its /64 for IPv6) within
    /// `failure_window` before that account is refused from that address (other
    /// accounts from the same address still log in); 0 turns the limits off.
    pub max_failures: u32,
    /// Failed logins from one IP (its /64 for IPv6), whatever the accounts, within
    /// `failure_window` before every login from that address is refused: much higher
    /// than `max_failures`, since a webmail or application server speaks for many
    /// users. Addresses in `network.trusted` are exempt from this limit (they can still
    /// lock a single account); 0 turns this limit off.
    pub max_failures_per_address: u32,
    /// The window in which failures are counted.
    pub failure_window: Seconds,
    /// How long an account from an IP, or an IP, is refused once it reached its limit.
    pub lockout: Seconds,
    /// How long a verified login (name and password) is remembered, so the same
    /// login again is not hashed again; 0 turns the cache off. Never the password
    /// itself: a keyed hash of it, forgotten at once when the password changes.
    pub login_cache_ttl: Seconds,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            max_failures: 5,
            max_failures_per_address: 50,
            failure_window: Seconds::mins(1),
            lockout: Seconds::mins(5),
            login_cache_ttl: Seconds::secs(60),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// "text" or "json".
    pub format: LogFormat,
    /// A tracing filter such as "info" or "info,pillarbox_smtp=debug".
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// `[store]`: how data is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite` (embedded, in the data directory: the default) or `postgres` (a
    /// database several nodes share; see `url`).
    pub engine: StoreEngine,
    /// The PostgreSQL database: `postgres://user:password@host:port/database`, with
    /// `?sslmode=disable|prefer|require` (default prefer: TLS when the server offers it).
    pub url: Option<String>,
    /// Most database connections this node opens.
    pub pool_size: usize,
    /// Extra CA certificate (PEM) trusted for the database's TLS certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// Verify the database's TLS certificate and name.
    pub tls_verify: bool,
    /// This node's name in a cluster (each node needs its own); default: the host
    /// name. Leases and locks name the node that holds them.
    pub node_name: Option<String>,
    /// Messages up to this size are stored inside the database (one commit makes them
    /// durable); larger ones are files under `data_dir/blobs` (SQLite) or chunked rows
    /// (PostgreSQL). 0 never stores a message inline.
    pub inline_blob_max: crate::types::ByteSize,
    /// The key that seals the secrets stored for other servers (smart-host and
    /// collection passwords, OAuth2 tokens); created at first start. Default:
    /// `data_dir/secrets.key`. Keep it out of database backups, and back it up apart.
    /// Every node of a cluster needs the same key.
    pub secrets_key_file: Option<PathBuf>,
}

/// The storage engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreEngine {
    /// SQLite in the data directory.
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by every node.
    Postgres,
}

impl StoreSection {
    /// The settings must agree: PostgreSQL needs a URL that says where it is.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        if self.engine == StoreEngine::Postgres {
            let url = self.url.as_deref().unwrap_or("").trim();
            if url.is_empty() {
                return Err((
                    "store.url".into(),
                    "engine = \"postgres\" needs url = \"postgres://user:password@host:5432/database\""
                        .into(),
                ));
            }
            let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
            if !is_url && !url.contains('=') {
                return Err((
                    "store.url".into(),
                    "expected postgres://user:password@host:port/database (or key=value pairs such as \"host=db dbname=mail\")".into(),
                ));
            }
        } else if self.url.is_some() {
            return Err((
                "store.url".into(),
                "url is used only with engine = \"postgres\"".into(),
            ));
        }
        if self.pool_size < 2 {
            return Err((
                "store.pool_size".into(),
                "expected a number of connections of at least 2".into(),
            ));
        }
        if let Some(name) = &self.node_name
            && (name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        {
            return Err((
                "store.node_name".into(),
                "expected 1 to 64 letters, digits, '-', '_' or '.'".into(),
            ));
        }
        Ok(())
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            engine: StoreEngine::Sqlite,
            url: None,
            pool_size: 16,
            tls_ca_file: None,
            tls_verify: true,
            node_name: None,
            inline_blob_max: crate::types::ByteSize(64 * 1024),
            secrets_key_file: None,
        }
    }
}
