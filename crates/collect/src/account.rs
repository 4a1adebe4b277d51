//! A collection account's settings (the seed's "Internet Mail Account" and connection
//! profile: protocol, address, port, timeout, encryption and TLS versions, login or
//! OAuth2, proxy, schedule, leave-on-server, IMAP folders, code page, destination),
//! the Microsoft 365 and Gmail presets, the secrets kept beside them, and validation.
//!
//! Pure data and checks: no I/O. Secrets never appear in `Debug` output nor in the
//! settings JSON (they live in their own store columns).

use std::fmt;

use pillarbox_client::oauth::preset;
use pillarbox_config::TlsVersion;
use pillarbox_config::window::{SendWindow, parse_offset};
use pillarbox_net::ClientTlsMode;
use pillarbox_net::dial::ProxyKind;
use serde::{Deserialize, Serialize};

/// Which protocol reads the remote mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Pop3,
    Imap,
}

impl Protocol {
    /// The usual port for a TLS mode.
    pub fn default_port(self, tls: Encryption) -> u16 {
        match (self, tls) {
            (Protocol::Pop3, Encryption::Ssl) => 995,
            (Protocol::Pop3, _) => 110,
            (Protocol::Imap, Encryption::Ssl) => 993,
            (Protocol::Imap, _) => 143,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Pop3 => "POP3",
            Protocol::Imap => "IMAP",
        })
    }
}

/// The seed's "Cryptographic protocol": none, SSL (implicit TLS) or TLS (explicit:
/// STARTTLS for IMAP, STLS for POP3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    None,
    Ssl,
    Tls,
}

impl Encryption {
    pub fn mode(self) -> ClientTlsMode {
        match self {
            Encryption::None => ClientTlsMode::None,
            Encryption::Ssl => ClientTlsMode::Implicit,
            Encryption::Tls => ClientTlsMode::StartTls,
        }
    }

    /// `none`, `ssl`/`implicit`, `tls`/`starttls`/`stls`/`explicit`.
    pub fn parse(s: &str) -> Result<Encryption, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "plain" => Ok(Encryption::None),
            "ssl" | "implicit" => Ok(Encryption::Ssl),
            "tls" | "starttls" | "stls" | "explicit" => Ok(Encryption::Tls),
            _ => Err(format!(
                "unknown encryption {s:?}: expected none, implicit (SSL) or starttls (TLS)"
            )),
        }
    }
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encryption::None => "none",
            Encryption::Ssl => "implicit TLS (SSL)",
            Encryption::Tls => "STARTTLS (TLS)",
        })
    }
}

/// How the account logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AuthMethod {
    /// User name and password (SASL PLAIN, LOGIN, or USER/PASS).
    Password,
    /// OAuth2 token (XOAUTH2 or OAUTHBEARER); client secret and refresh token are secrets.
    OAuth2 {
        /// `microsoft365` or `gmail`: token URL and scope.
        preset: Option<String>,
        tenant: Option<String>,
        token_url: Option<String>,
        client_id: String,
        scope: Option<String>,
    },
}

/// A proxy (the seed's Proxy tab); its password is a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxySettings {
    pub kind: ProxyKindName,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    /// Windows domain (HTTP CONNECT Basic credentials as `DOMAIN\user`).
    pub domain: Option<String>,
}

/// [`ProxyKind`] as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKindName {
    Socks4,
    Socks4a,
    Socks5,
    Http,
}

impl ProxyKindName {
    pub fn kind(self) -> ProxyKind {
        match self {
            ProxyKindName::Socks4 => ProxyKind::Socks4,
            ProxyKindName::Socks4a => ProxyKind::Socks4a,
            ProxyKindName::Socks5 => ProxyKind::Socks5,
            ProxyKindName::Http => ProxyKind::HttpConnect,
        }
    }
}

/// A proxy URL split up: `socks5://user:pass@host:port`, `http://DOMAIN\user@host:3128`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    pub settings: ProxySettings,
    pub password: Option<String>,
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("settings", &self.settings)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ProxyUrl {
    /// Parses `scheme://[user[:password]@]host:port` with scheme socks4, socks4a,
    /// socks5 or http; a user written `DOMAIN\user` carries the domain.
    pub fn parse(url: &str) -> Result<ProxyUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("invalid proxy {url:?}: expected e.g. socks5://host:1080"))?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "socks4" => ProxyKindName::Socks4,
            "socks4a" => ProxyKindName::Socks4a,
            "socks5" | "socks5h" => ProxyKindName::Socks5,
            "http" | "https" => ProxyKindName::Http,
            other => {
                return Err(format!(
                    "unknown proxy type {other:?}: expected socks4, socks4a, socks5 or http"
                ));
            }
        };
        let rest = rest.trim_end_matches('/');
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport)
            .ok_or_else(|| format!("invalid proxy address {hostport:?}: expected host:port"))?;
        let (mut username, mut password, mut domain) = (None, None, None);
        if let Some(c) = creds {
            let (user, pass) = match c.split_once(':') {
                Some((u, p)) => (u, Some(p.to_string())),
                None => (c, None),
            };
            let user = match user.split_once('\\') {
                Some((d, u)) => {
                    domain = Some(d.to_string());
                    u
                }
                None => user,
            };
            username = Some(user.to_string()).filter(|u| !u.is_empty());
            password = pass;
        }
        Ok(ProxyUrl {
            settings: ProxySettings {
                kind,
                host,
                port,
                username,
                domain,
            },
            password,
        })
    }
}

/// `host:port`, `[v6]:port`.
pub fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port.parse().ok().filter(|p| *p != 0)?))
}

/// When the account is collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Seconds between runs.
    pub interval_secs: u64,
    /// Optional windows such as `Mon-Fri 08:00-18:00`; none: any time.
    #[serde(default)]
    pub windows: Vec<String>,
    /// UTC offset the windows are written in.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "+00:00".into()
}

/// Which address a forwarded message is sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", content = "address", rename_all = "kebab-case")]
pub enum RecipientSource {
    /// The remote account's address (the default: one remote mailbox, one person).
    RemoteAddress,
    /// `Delivered-To`, `X-Original-To`, `Envelope-To`, then the first `To`/`Cc`
    /// address; the remote address when none is there.
    Headers,
    /// Always this address.
    Fixed(String),
}

/// Where collected mail goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Destination {
    /// A folder of the owner's mailbox (created when missing).
    Folder { name: String },
    /// The seed's "Exchange Connection": sent on to a downstream SMTP server through
    /// the named `[[queue.route]]`, to the original recipient.
    Forward {
        route: String,
        recipient: RecipientSource,
    },
}

/// Everything about a collection account except its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    /// Connect and per-answer timeout, seconds.
    pub timeout_secs: u64,
    pub encryption: Encryption,
    /// Allowed TLS versions (`1.2`, `1.3`).
    pub tls_versions: Vec<String>,
    /// Abort when the certificate does not verify.
    pub tls_verify: bool,
    pub auth: AuthMethod,
    pub username: String,
    /// The remote mailbox's address.
    pub remote_address: String,
    pub proxy: Option<ProxySettings>,
    pub schedule: Schedule,
    /// Keep messages on the server after collecting them.
    pub leave_on_server: bool,
    /// With `leave_on_server`: delete them this many days after collection.
    pub delete_after_days: Option<u32>,
    /// IMAP folders to collect.
    pub folders: Vec<String>,
    /// IMAP: set `\Seen` on collected messages.
    pub mark_seen: bool,
    /// IMAP: only messages without `\Seen`.
    #[serde(default)]
    pub only_unseen: bool,
    /// The charset undeclared 8-bit text is read with ("code page").
    pub code_page: Option<String>,
    pub destination: Destination,
}

/// The secrets of an account, stored apart from the settings.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    /// The remote password (stored in the account's `remote_secret` column).
    #[serde(skip)]
    pub password: Option<String>,
    pub proxy_password: Option<String>,
    pub oauth_client_secret: Option<String>,
    pub oauth_refresh_token: Option<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("Secrets")
            .field("password", &r(&self.password))
            .field("proxy_password", &r(&self.proxy_password))
            .field("oauth_client_secret", &r(&self.oauth_client_secret))
            .field("oauth_refresh_token", &r(&self.oauth_refresh_token))
            .finish()
    }
}

impl Secrets {
    /// The JSON kept in the store's `secrets` column (`None` when there is nothing).
    pub fn to_column(&self) -> Option<String> {
        let empty = self.proxy_password.is_none()
            && self.oauth_client_secret.is_none()
            && self.oauth_refresh_token.is_none();
        (!empty).then(|| serde_json::to_string(self).unwrap_or_default())
    }

    /// Reads the store's columns back.
    pub fn from_columns(password: Option<String>, column: Option<&str>) -> Secrets {
        let mut s: Secrets = column
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        s.password = password;
        s
    }
}

/// A provider preset applied to new settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub host: &'static str,
    pub port: u16,
    pub encryption: Encryption,
    pub oauth_preset: &'static str,
}

/// The Microsoft 365 / Gmail server of `protocol` (the seed's default settings).
pub fn provider_preset(name: &str, protocol: Protocol) -> Option<Preset> {
    let p = preset(name)?;
    let e = match protocol {
        Protocol::Pop3 => p.pop3,
        Protocol::Imap => p.imap,
    };
    Some(Preset {
        host: e.host,
        port: e.port,
        encryption: match e.tls {
            ClientTlsMode::None => Encryption::None,
            ClientTlsMode::Implicit => Encryption::Ssl,
            ClientTlsMode::StartTls => Encryption::Tls,
        },
        oauth_preset: p.name,
    })
}

/// The lowest allowed TLS version, or why the list cannot be honoured.
pub fn min_tls_version(versions: &[String]) -> Result<TlsVersion, String> {
    let mut parsed = Vec::new();
    for v in versions {
        parsed.push(v.parse::<TlsVersion>()?);
    }
    if parsed.is_empty() {
        return Ok(TlsVersion::Tls12);
    }
    // Old servers: from the lowest version named up (through OpenSSL).
    if parsed.contains(&TlsVersion::Tls10) {
        return Ok(TlsVersion::Tls10);
    }
    if parsed.contains(&TlsVersion::Tls11) {
        return Ok(TlsVersion::Tls11);
    }
    if parsed.contains(&TlsVersion::Tls12) {
        if !parsed.contains(&TlsVersion::Tls13) {
            return Err(
                "TLS 1.2 alone cannot be enforced (1.3 is always allowed with 1.2); allow \"1.2,1.3\" or \"1.3\"".into(),
            );
        }
        return Ok(TlsVersion::Tls12);
    }
    Ok(TlsVersion::Tls13)
}

impl AccountSettings {
    /// Checks what the types cannot; returns the setting at fault and why.
    pub fn validate(&self, secrets: &Secrets) -> Result<(), String> {
        if self.host.trim().is_empty() || self.host.contains(char::is_whitespace) {
            return Err("host: expected a host name or IP address".into());
        }
        if self.port == 0 {
            return Err("port: expected 1 to 65535".into());
        }
        if !(1..=3600).contains(&self.timeout_secs) {
            return Err("timeout: expected 1 to 3600 seconds".into());
        }
        min_tls_version(&self.tls_versions).map_err(|e| format!("tls-versions: {e}"))?;
        if self.username.is_empty() || self.username.contains(['\r', '\n']) {
            return Err("user: expected the remote login name".into());
        }
        if !self.remote_address.contains('@') {
            return Err("address: expected the remote mailbox's address (user@domain)".into());
        }
        match &self.auth {
            AuthMethod::Password if secrets.password.as_deref().is_none_or(str::is_empty) => {
                return Err("password: required (use --password-stdin)".into());
            }
            AuthMethod::OAuth2 {
                preset: p,
                token_url,
                client_id,
                ..
            } => {
                if client_id.is_empty() {
                    return Err("oauth-client-id: required for OAuth2".into());
                }
                if token_url.is_none() && p.as_deref().and_then(preset).is_none() {
                    return Err("oauth2: needs a token URL or the microsoft365/gmail preset".into());
                }
                if secrets.oauth_refresh_token.is_none() && secrets.oauth_client_secret.is_none() {
                    return Err("oauth2: needs a refresh token or a client secret".into());
                }
            }
            AuthMethod::Password => {}
        }
        if let Some(p) = &self.proxy
            && (p.host.is_empty() || p.port == 0)
        {
            return Err("proxy: expected host:port".into());
        }
        if self.schedule.interval_secs == 0 {
            return Err("interval: expected at least 1 second".into());
        }
        for w in &self.schedule.windows {
            SendWindow::parse(w).map_err(|e| format!("window: {e}"))?;
        }
        parse_offset(&self.schedule.timezone).map_err(|e| format!("timezone: {e}"))?;
        if self.delete_after_days.is_some() && !self.leave_on_server {
            return Err("delete-after-days: only with leave-on-server".into());
        }
        if self.protocol == Protocol::Imap && self.folders.is_empty() {
            return Err("folder: IMAP needs at least one folder (default INBOX)".into());
        }
        if self.protocol == Protocol::Pop3 && (self.mark_seen || self.only_unseen) {
            return Err("mark-seen / only-unseen: POP3 has no flags".into());
        }
        if let Some(cp) = &self.code_page {
            crate::codepage::CodePage::parse(cp).map_err(|e| format!("code-page: {e}"))?;
        }
        match &self.destination {
            Destination::Folder { name } if name.trim().is_empty() => {
                return Err("folder-dest: expected a folder name".into());
            }
            Destination::Forward { route, recipient } => {
                if route.is_empty() {
                    return Err("forward: expected the name of a [[queue.route]]".into());
                }
                if let RecipientSource::Fixed(a) = recipient
                    && !a.contains('@')
                {
                    return Err("recipient: expected an address".into());
                }
            }
            Destination::Folder { .. } => {}
        }
        Ok(())
    }

    /// A one-line description for listings.
    pub fn summary(&self) -> String {
        let dest = match &self.destination {
            Destination::Folder { name } => format!("folder {name}"),
            Destination::Forward { route, .. } => format!("forward via {route}"),
        };
        format!(
            "{} {}@{}:{} ({}), every {}, {}, {dest}",
            self.protocol,
            self.username,
            self.host,
            self.port,
            self.encryption,
            humanize(self.schedule.interval_secs),
            if self.leave_on_server {
                "leave on server"
            } else {
                "delete"
            }
        )
    }
}

/// `90` → `1m30s`.
pub fn humanize(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> AccountSettings {
        AccountSettings {
            protocol: Protocol::Imap,
            host: "imap.example.net".into(),
            port: 993,
            timeout_secs: 60,
            encryption: Encryption::Ssl,
            tls_versions: vec!["1.2".into(), "1.3".into()],
            tls_verify: true,
            auth: AuthMethod::Password,
            username: "bob".into(),
            remote_address: "bob@example.net".into(),
            proxy: None,
            schedule: Schedule {
                interval_secs: 600,
                windows: vec![],
                timezone: utc(),
            },
            leave_on_server: true,
            delete_after_days: None,
            folders: vec!["INBOX".into()],
            mark_seen: false,
            only_unseen: false,
            code_page: None,
            destination: Destination::Folder {
                name: "INBOX".into(),
            },
        }
    }

    fn pw() -> Secrets {
        Secrets {
            password: Some("pw".into()),
            ..Secrets::default()
        }
    }

    #[test]
    fn validation_table() {
        type Edit = fn(&mut AccountSettings);
        let cases: &[(&str, Edit, Option<&str>)] = &[
            ("valid", |_| {}, None),
            ("empty host", |s| s.host.clear(), Some("host")),
            ("port 0", |s| s.port = 0, Some("port")),
            ("timeout 0", |s| s.timeout_secs = 0, Some("timeout")),
            (
                "tls 1.0 for an old server",
                |s| s.tls_versions = vec!["1.0".into(), "1.2".into()],
                None,
            ),
            (
                "tls 0.9",
                |s| s.tls_versions = vec!["0.9".into()],
                Some("invalid TLS version"),
            ),
            (
                "tls 1.2 only",
                |s| s.tls_versions = vec!["1.2".into()],
                Some("1.2 alone"),
            ),
            (
                "tls 1.3 only",
                |s| s.tls_versions = vec!["1.3".into()],
                None,
            ),
            ("no @", |s| s.remote_address = "bob".into(), Some("address")),
            (
                "bad window",
                |s| s.schedule.windows = vec!["Funday 1-2".into()],
                Some("window"),
            ),
            (
                "bad tz",
                |s| s.schedule.timezone = "CET".into(),
                Some("timezone"),
            ),
            (
                "days without leave",
                |s| {
                    s.leave_on_server = false;
                    s.delete_after_days = Some(3)
                },
                Some("delete-after-days"),
            ),
            (
                "pop3 mark seen",
                |s| {
                    s.protocol = Protocol::Pop3;
                    s.mark_seen = true
                },
                Some("POP3 has no flags"),
            ),
            ("no folders", |s| s.folders.clear(), Some("folder")),
            (
                "code page",
                |s| s.code_page = Some("klingon".into()),
                Some("code-page"),
            ),
            (
                "utf-16 code page",
                |s| s.code_page = Some("utf-16le".into()),
                Some("code-page"),
            ),
            (
                "good code page",
                |s| s.code_page = Some("Shift_JIS".into()),
                None,
            ),
            (
                "forward empty route",
                |s| {
                    s.destination = Destination::Forward {
                        route: String::new(),
                        recipient: RecipientSource::RemoteAddress,
                    }
                },
                Some("forward"),
            ),
        ];
        for (name, edit, expect) in cases {
            let mut s = sample();
            edit(&mut s);
            match (s.validate(&pw()), expect) {
                (Ok(()), None) => {}
                (Err(e), Some(x)) => assert!(e.contains(x), "{name}: {e}"),
                (r, _) => panic!("{name}: {r:?}"),
            }
        }
        assert!(
            sample()
                .validate(&Secrets::default())
                .unwrap_err()
                .contains("password")
        );
    }

    #[test]
    fn proxy_urls() {
        let p = ProxyUrl::parse("socks5://alice:s3cret@127.0.0.1:1080").unwrap();
        assert_eq!(p.settings.kind, ProxyKindName::Socks5);
        assert_eq!(
            (p.settings.host.as_str(), p.settings.port),
            ("127.0.0.1", 1080)
        );
        assert_eq!(p.settings.username.as_deref(), Some("alice"));
        assert_eq!(p.password.as_deref(), Some("s3cret"));
        assert!(!format!("{p:?}").contains("s3cret"));
        let p = ProxyUrl::parse("http://CORP\\bob@proxy.example:3128").unwrap();
        assert_eq!(p.settings.domain.as_deref(), Some("CORP"));
        assert_eq!(p.settings.username.as_deref(), Some("bob"));
        assert_eq!(p.password, None);
        assert_eq!(
            ProxyUrl::parse("socks4://[::1]:1080")
                .unwrap()
                .settings
                .host,
            "::1"
        );
        assert!(ProxyUrl::parse("ftp://x:1").is_err());
        assert!(ProxyUrl::parse("socks5://host").is_err());
    }

    #[test]
    fn presets_and_secrets() {
        let p = provider_preset("office365", Protocol::Imap).unwrap();
        assert_eq!(
            (p.host, p.port, p.encryption),
            ("outlook.office365.com", 993, Encryption::Ssl)
        );
        let p = provider_preset("gmail", Protocol::Pop3).unwrap();
        assert_eq!((p.host, p.port), ("pop.gmail.com", 995));
        assert!(provider_preset("aol", Protocol::Imap).is_none());
        let s = Secrets {
            password: Some("pw".into()),
            proxy_password: Some("pp".into()),
            ..Secrets::default()
        };
        let col = s.to_column().unwrap();
        assert!(!col.contains("\"pw\""), "the password has its own column");
        assert_eq!(Secrets::from_columns(Some("pw".into()), Some(&col)), s);
        assert!(!format!("{s:?}").contains("pp"));
        assert_eq!(Secrets::default().to_column(), None);
        let json = serde_json::to_string(&sample()).unwrap();
        let back: AccountSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
    }
}
