//! `[scan]`: content scanning of the mail we receive (antivirus with clamd, spam with
//! rspamd and milters), the checks made at connection time (DNSBL/DNSWL, greylisting,
//! early talkers, rate limits), the quarantine, and learning from users' Junk moves.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::types::{ByteSize, Seconds};

/// What to do with a message when a scanner cannot give a verdict (down, slow, garbled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnScanError {
    /// Refuse for now (`451 4.7.1` at SMTP; collected mail stays on the remote server
    /// until the next run).
    #[default]
    Tempfail,
    /// Take the message with an `X-Pillarbox-Scan: unscanned (...)` header.
    AcceptAndTag,
}

/// A message bigger than the antivirus limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Oversize {
    /// Scan its first `clamd_max_size` bytes (the default; viruses ride at the start
    /// of attachments as often as anywhere, and clamd refuses more anyway).
    #[default]
    ScanFirst,
    /// Do not scan it; it gets an `X-Pillarbox-Scan: unscanned (too big)` header.
    SkipWithHeader,
}

/// `[scan]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanSection {
    /// clamd's socket: `host:port` or `unix:/path` (Debian: `unix:/run/clamav/clamd.ctl`).
    /// Empty (the default): no virus scanning.
    pub clamd: String,
    /// How long clamd may take for one message.
    pub clamd_timeout: Seconds,
    /// The most clamd is sent of one message (clamd's own `StreamMaxLength` must be at
    /// least this).
    pub clamd_max_size: ByteSize,
    /// A message bigger than `clamd_max_size`.
    pub oversize: Oversize,
    /// rspamd's normal worker, `host:port` (usually `127.0.0.1:11333`). Empty: off.
    pub rspamd: String,
    /// rspamd's controller, `host:port` (usually `127.0.0.1:11334`), for learning.
    pub rspamd_controller: String,
    /// The controller's password (its `enable_password`), if it has one.
    pub rspamd_password: String,
    /// How long rspamd may take for one message.
    pub rspamd_timeout: Seconds,
    /// Milters every message is shown to, in order.
    pub milter: Vec<MilterEntry>,
    /// Listeners whose mail is scanned: `smtp` (the MX), `submission`, `submissions`,
    /// `collect`. Mail from authenticated clients is scanned only if their listener is
    /// listed.
    pub listeners: Vec<String>,
    /// A scanner down at the MX or on submission.
    pub on_error: OnScanError,
    /// A scanner down while collecting.
    pub collect_on_error: OnScanError,
    /// Refuse at DATA (`554 5.7.1`) mail scoring at least this; also when rspamd's own
    /// action is `reject`. Per domain: `[[scan.domain]]`.
    pub reject_score: f64,
    /// File mail scoring at least this in the recipient's Junk mailbox (per account:
    /// `pillarbox spam threshold`; per domain: `[[scan.domain]]`).
    pub junk_score: f64,
    /// Quarantine mail scoring at least this instead of delivering it (0: never).
    pub quarantine_score: f64,
    /// Add `X-Spam-Score`, `X-Spam-Status`, `X-Spam-Symbols` (and `X-Spam-Flag: YES`
    /// at the junk score).
    pub spam_headers: bool,
    /// Answer `451 4.7.1` when rspamd's action is `greylist` or `soft reject`.
    pub rspamd_greylist: bool,
    /// Report messages moved into Junk over IMAP as spam, and out of it as ham, to
    /// rspamd's controller.
    pub learn: bool,
    /// Days a quarantined message is kept.
    pub quarantine_days: u32,
    /// Thresholds of one domain.
    pub domain: Vec<DomainThresholds>,
    /// DNS block and allow lists checked for clients of the MX.
    pub dnsbl: Vec<DnsList>,
    /// Refuse clients of the MX whose DNS list weights add up to at least this.
    pub dnsbl_reject_weight: f64,
    /// Nameservers for the DNS lists (`ip:port`); empty: `[mail_auth] resolver`, then
    /// `[queue] resolver`, then the system's.
    pub resolver: Vec<SocketAddr>,
    /// How long a DNS list may take to answer.
    pub dns_timeout: Seconds,
    /// Greylisting of our own.
    pub greylist: GreylistSection,
    /// Wait this long before greeting an MX client, and refuse it if it talks first
    /// (0: greet at once, still refusing a client whose first command arrived before
    /// the greeting was sent).
    pub greet_delay: Seconds,
    /// New MX connections per client address per minute (0: no limit); trusted and
    /// relay networks are exempt.
    pub max_connections_per_minute: u32,
    /// Messages per client address per minute on the MX (0: no limit).
    pub max_messages_per_minute: u32,
}

impl Default for ScanSection {
    fn default() -> Self {
        ScanSection {
            clamd: String::new(),
            clamd_timeout: Seconds::secs(60),
            clamd_max_size: ByteSize(25 * 1024 * 1024),
            oversize: Oversize::default(),
            rspamd: String::new(),
            rspamd_controller: String::new(),
            rspamd_password: String::new(),
            rspamd_timeout: Seconds::secs(30),
            milter: Vec::new(),
            listeners: vec!["smtp".into(), "collect".into()],
            on_error: OnScanError::Tempfail,
            collect_on_error: OnScanError::Tempfail,
            reject_score: 15.0,
            junk_score: 6.0,
            quarantine_score: 0.0,
            spam_headers: true,
            rspamd_greylist: true,
            learn: true,
            quarantine_days: 30,
            domain: Vec::new(),
            dnsbl: Vec::new(),
            dnsbl_reject_weight: 1.0,
            resolver: Vec::new(),
            dns_timeout: Seconds::secs(5),
            greylist: GreylistSection::default(),
            greet_delay: Seconds::secs(0),
            max_connections_per_minute: 0,
            max_messages_per_minute: 0,
        }
    }
}

impl ScanSection {
    /// Whether mail arriving on `listener` is scanned.
    pub fn scans(&self, listener: &str) -> bool {
        self.listeners.iter().any(|l| l == listener)
    }

    /// The (junk, reject) scores for a recipient in `domain`.
    pub fn thresholds(&self, domain: &str) -> (f64, f64) {
        match self
            .domain
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(domain))
        {
            Some(d) => (
                d.junk_score.unwrap_or(self.junk_score),
                d.reject_score.unwrap_or(self.reject_score),
            ),
            None => (self.junk_score, self.reject_score),
        }
    }

    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        const LISTENERS: [&str; 4] = ["smtp", "submission", "submissions", "collect"];
        for l in &self.listeners {
            if !LISTENERS.contains(&l.as_str()) {
                return Err((
                    "scan.listeners".to_string(),
                    format!("expected one of {}", LISTENERS.join(", ")),
                ));
            }
        }
        let endpoint = |key: &str, v: &str| -> Result<(), (String, String)> {
            if v.is_empty() || v.starts_with("unix:") || v.starts_with('/') {
                return Ok(());
            }
            let host_ok = |h: &str| {
                !h.is_empty() && (!h.contains(':') || (h.starts_with('[') && h.ends_with(']')))
            };
            match v.rsplit_once(':') {
                Some((h, p)) if host_ok(h) && p.parse::<u16>().is_ok_and(|p| p > 0) => Ok(()),
                _ => Err((
                    key.to_string(),
                    "expected host:port ([::1]:port for IPv6) or unix:/path/to/socket".to_string(),
                )),
            }
        };
        endpoint("scan.clamd", &self.clamd)?;
        endpoint("scan.rspamd", &self.rspamd)?;
        endpoint("scan.rspamd_controller", &self.rspamd_controller)?;
        for (i, m) in self.milter.iter().enumerate() {
            if m.address.is_empty() {
                return Err((
                    format!("scan.milter.{i}.address"),
                    "expected host:port or unix:/path/to/socket".into(),
                ));
            }
            endpoint(&format!("scan.milter.{i}.address"), &m.address)?;
            for l in &m.listeners {
                if !LISTENERS.contains(&l.as_str()) {
                    return Err((
                        format!("scan.milter.{i}.listeners"),
                        format!("expected one of {}", LISTENERS.join(", ")),
                    ));
                }
            }
        }
        for (i, d) in self.dnsbl.iter().enumerate() {
            if d.zone.trim_matches('.').is_empty() || d.zone.contains(' ') {
                return Err((
                    format!("scan.dnsbl.{i}.zone"),
                    "expected a DNS zone such as zen.spamhaus.org".into(),
                ));
            }
        }
        if self.clamd_max_size.0 == 0 {
            return Err((
                "scan.clamd_max_size".into(),
                "expected a size of at least 1 byte".into(),
            ));
        }
        if !(self.reject_score.is_finite() && self.junk_score.is_finite()) {
            return Err(("scan.reject_score".into(), "expected a number".into()));
        }
        Ok(())
    }
}

/// `[[scan.milter]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MilterEntry {
    /// A name for logs and headers.
    pub name: String,
    /// `host:port` or `unix:/path`.
    pub address: String,
    /// How long one reply may take (the end-of-message reply included).
    pub timeout: Seconds,
    /// The milter down or broken: `tempfail` or `accept_and_tag` (default: `[scan]
    /// on_error`).
    pub on_error: Option<OnScanError>,
    /// Listeners whose mail this milter sees (empty: every listener `[scan]
    /// listeners` names).
    pub listeners: Vec<String>,
}

impl Default for MilterEntry {
    fn default() -> Self {
        MilterEntry {
            name: String::new(),
            address: String::new(),
            timeout: Seconds::secs(60),
            on_error: None,
            listeners: Vec::new(),
        }
    }
}

/// `[[scan.domain]]`: thresholds of one domain's recipients.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainThresholds {
    pub name: String,
    pub junk_score: Option<f64>,
    pub reject_score: Option<f64>,
}

/// What a DNS list lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsListKind {
    /// Client addresses (IPv4 reversed by octet, IPv6 by nibble).
    #[default]
    Ip,
    /// Domains (the HELO name and the MAIL FROM domain), DBL style.
    Domain,
}

/// `[[scan.dnsbl]]`: one block list (positive weight) or allow list (negative weight).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsList {
    pub zone: String,
    pub kind: DnsListKind,
    /// Added to the client's DNS list weight when listed (negative for allow lists).
    pub weight: f64,
    /// Only these answers count (e.g. `127.0.0.2`); empty: any address in 127.0.0.0/8.
    pub returns: Vec<std::net::IpAddr>,
}

impl Default for DnsList {
    fn default() -> Self {
        DnsList {
            zone: String::new(),
            kind: DnsListKind::Ip,
            weight: 1.0,
            returns: Vec::new(),
        }
    }
}

/// `[scan.greylist]`: refuse (`451 4.7.1`) the first delivery attempt of an unknown
/// (client network, sender, recipient) triplet, accept a retry after `delay`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GreylistSection {
    pub enabled: bool,
    /// How long a sender must wait before its retry is accepted.
    pub delay: Seconds,
    /// How long a first attempt is remembered waiting for a retry.
    pub retry_window: Seconds,
    /// After this many accepted retries the client network is let through at once.
    pub auto_whitelist_after: u32,
    /// How long an accepted triplet (and an auto-whitelisted network) is remembered
    /// since it was last seen.
    pub remember: Seconds,
}

impl Default for GreylistSection {
    fn default() -> Self {
        GreylistSection {
            enabled: false,
            delay: Seconds::secs(300),
            retry_window: Seconds::secs(4 * 3600),
            auto_whitelist_after: 5,
            remember: Seconds::secs(35 * 86400),
        }
    }
}
