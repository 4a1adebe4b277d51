//! `[queue]`, `[[queue.route]]` and `[[queue.rule]]`: the outbound queue's schedule,
//! retries and expiry, and where mail goes (the eXchange POP3 "Outgoing Mail" screen, the
//! Accredo SMTP settings, MDaemon's per-account smart host credentials).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::types::{Seconds, TlsVersion};

/// `[queue]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSection {
    /// "Retry failed messages every…": the waits between attempts; the last one repeats.
    pub retry_intervals: Vec<Seconds>,
    /// "Delete failed messages after…": when a recipient still undelivered expires.
    pub expire_after: Seconds,
    /// Send a delay warning to the sender after this long, if set.
    pub delay_warning_after: Option<Seconds>,
    /// "Send any waiting messages immediately"; when false, only inside `send_windows`.
    pub send_immediately: bool,
    /// The seed's Schedule: when mail may be sent if not immediately, e.g.
    /// `["Mon-Fri 08:00-18:00", "Sat 09:00-12:00"]` (times in `timezone`).
    pub send_windows: Vec<String>,
    /// Fixed UTC offset the windows are written in, e.g. "+01:00".
    pub timezone: String,
    /// Deliveries in flight at once, all destinations together.
    pub max_deliveries: usize,
    /// Connections at once to one destination (domain or smart host).
    pub max_connections_per_destination: usize,
    /// Messages sent over one connection before it is closed.
    pub max_messages_per_connection: usize,
    /// Nameservers (`ip:port`) for MX lookups on direct routes; empty: the system's.
    pub resolver: Vec<SocketAddr>,
    /// Domains that must be reached over TLS on direct routes (no plaintext fallback).
    pub require_tls_domains: Vec<String>,
    /// Sender of bounces and delay warnings (the `From:`); empty: MAILER-DAEMON@hostname.
    pub bounce_from: String,
    /// Where mail goes: named routes.
    #[serde(rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Which route a message takes: the first rule that matches; no match: `direct`
    /// (or the route named "default" when there is one).
    #[serde(rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

impl QueueSection {
    /// The `From:` of bounces and delay warnings: `bounce_from`, or
    /// `MAILER-DAEMON@hostname` when it is empty.
    pub fn bounce_sender(&self, hostname: &str) -> String {
        if self.bounce_from.is_empty() {
            format!("MAILER-DAEMON@{hostname}")
        } else {
            self.bounce_from.clone()
        }
    }
}

impl Default for QueueSection {
    fn default() -> Self {
        QueueSection {
            retry_intervals: vec![
                Seconds::mins(1),
                Seconds::mins(5),
                Seconds::mins(15),
                Seconds::mins(30),
                Seconds::mins(60),
                Seconds::mins(120),
                Seconds::mins(240),
            ],
            expire_after: Seconds::secs(5 * 24 * 3600),
            delay_warning_after: None,
            send_immediately: true,
            send_windows: Vec::new(),
            timezone: "+00:00".into(),
            max_deliveries: 100,
            max_connections_per_destination: 4,
            max_messages_per_connection: 100,
            resolver: Vec::new(),
            require_tls_domains: Vec::new(),
            bounce_from: String::new(),
            routes: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// How a route reaches the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// Straight to the recipient domain's MX hosts.
    #[default]
    Direct,
    /// Through a relay ("send messages through ISP's mail server").
    Smarthost,
}

/// Transport security of an outbound connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundTls {
    /// No TLS.
    None,
    /// TLS from the first byte ("SSL", port 465).
    Implicit,
    /// STARTTLS, required.
    Starttls,
    /// STARTTLS when offered, plaintext otherwise (direct delivery's default).
    Opportunistic,
}

/// Route authentication ("Authorisation" in the Accredo seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthRequirement {
    /// No AUTH.
    #[default]
    None,
    /// User name and password.
    Required,
    /// User name required, password may be empty.
    Optional,
}

/// Whose credentials a smart host route logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CredentialSource {
    /// The route's own `username`/`password` (or OAuth2).
    #[default]
    Route,
    /// The sending account's own smart host login (MDaemon "per-account
    /// authentication"); falls back to the route's when the account has none.
    Account,
    /// The sender's collection account ("log on using sender's Internet Mail Account
    /// settings").
    Collection,
}

/// OAuth2 for a route (the Accredo seed's "Authentication Model: OAuth2").
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth2Config {
    /// "microsoft365" or "gmail" fill in the token endpoint and scope.
    pub preset: Option<String>,
    /// Microsoft 365 tenant (for the preset's token URL); default "common".
    pub tenant: Option<String>,
    pub token_url: Option<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// For the refresh-token grant; absent: client-credentials grant.
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// "XOAUTH2" (default) or "OAUTHBEARER".
    pub mechanism: Option<String>,
}

/// POP-before-SMTP: log into a POP3 account before sending ("wait until logged into
/// Internet Mail Account").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopBeforeSmtpConfig {
    pub host: String,
    #[serde(default = "default_pop_port")]
    pub port: u16,
    #[serde(default = "default_pop_tls")]
    pub tls: OutboundTls,
    #[serde(default = "default_true")]
    pub tls_verify: bool,
    pub username: String,
    #[serde(default)]
    pub password: String,
}

fn default_pop_port() -> u16 {
    110
}
fn default_pop_tls() -> OutboundTls {
    OutboundTls::None
}
fn default_true() -> bool {
    true
}

/// `[[queue.route]]`: one way out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    #[serde(default)]
    pub kind: RouteKind,
    /// Smart host name or address ("Server Address").
    pub host: Option<String>,
    /// Port; default 25 (direct), 587 (smart host with STARTTLS), 465 (implicit TLS).
    pub port: Option<u16>,
    /// Default: opportunistic for direct, starttls for smart hosts.
    pub tls: Option<OutboundTls>,
    /// Lowest TLS version accepted from the server.
    #[serde(default = "default_tls_min")]
    pub tls_min_version: TlsVersion,
    /// Check the server's certificate (default: on for smart hosts, off for
    /// opportunistic direct delivery, where most MX certificates do not match).
    pub tls_verify: Option<bool>,
    /// Extra CA certificates (PEM) to trust.
    pub tls_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub auth: AuthRequirement,
    /// SASL mechanisms in order of preference.
    #[serde(default = "default_mechanisms")]
    pub mechanisms: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Read the password from this file instead (first line).
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub credentials: CredentialSource,
    pub oauth2: Option<OAuth2Config>,
    pub pop_before_smtp: Option<PopBeforeSmtpConfig>,
    /// "Local host name": the EHLO name; default the server's host name.
    pub ehlo_name: Option<String>,
    /// Connection timeout in milliseconds (the Accredo seed's unit).
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    /// Timeout for each SMTP command reply (RFC 5321 §4.5.3.2; 5 minutes).
    #[serde(default = "default_command_timeout")]
    pub command_timeout: Seconds,
    /// "Batch emails per minute": 0 for no limit.
    #[serde(default)]
    pub messages_per_minute: u32,
    /// Connections at once through this route; 0: the queue's per-destination limit.
    #[serde(default)]
    pub max_connections: usize,
}

fn default_tls_min() -> TlsVersion {
    TlsVersion::Tls12
}
fn default_mechanisms() -> Vec<String> {
    ["PLAIN", "LOGIN", "CRAM-MD5"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_connect_ms() -> u64 {
    30_000
}
fn default_command_timeout() -> Seconds {
    Seconds::mins(5)
}

/// `[[queue.rule]]`: conditions (all that are given must match) and the route.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Recipient domain, exact or `*.example.com`.
    pub recipient_domain: Option<String>,
    /// Sender address, exact.
    pub sender: Option<String>,
    /// Sender domain, exact or `*.example.com`.
    pub sender_domain: Option<String>,
    /// The route's name.
    pub route: String,
}
