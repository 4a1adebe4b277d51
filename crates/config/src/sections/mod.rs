//! The sections of the configuration file, each with its defaults. A missing section or
//! key takes its default, so an empty file (or none) is a working configuration.

mod clients;
mod collect;
mod protocols;
mod queue;

pub use clients::*;
pub use collect::*;
pub use protocols::*;
pub use queue::*;

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
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_connections: 10_000,
            max_connections_per_ip: 100,
            shutdown_grace: Seconds::secs(30),
            tls_handshake_timeout: Seconds::secs(30),
        }
    }
}

/// `[auth]`: failed-login limits, per client IP.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// Failed logins from one IP within `failure_window` before it is refused.
    pub max_failures: u32,
    /// The window in which failures are counted.
    pub failure_window: Seconds,
    /// How long an IP is refused once it reached `max_failures`.
    pub lockout: Seconds,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            max_failures: 5,
            failure_window: Seconds::mins(1),
            lockout: Seconds::mins(5),
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
    /// Messages up to this size are stored inside the database (one commit makes them
    /// durable); larger ones are files under `data_dir/blobs`. 0 stores every message as
    /// a file.
    pub inline_blob_max: crate::types::ByteSize,
    /// The key that seals the secrets stored for other servers (smart-host and
    /// collection passwords, OAuth2 tokens); created at first start. Default:
    /// `data_dir/secrets.key`. Keep it out of database backups, and back it up apart.
    pub secrets_key_file: Option<PathBuf>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            inline_blob_max: crate::types::ByteSize(64 * 1024),
            secrets_key_file: None,
        }
    }
}
