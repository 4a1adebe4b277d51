//! Typed Pillarbox configuration: one TOML file, every setting with a default.
//!
//! `Config::default()` is what `pillarbox serve` runs with when no file is given.
//! [`Config::load`] and [`Config::parse`] turn a file into a `Config` or a [`ConfigError`]
//! that names the file, the line and the key, and says what was expected.
//!
//! This crate owns the *shape* of the configuration and its validation. It never opens
//! sockets or databases, and it is never global: the binary reads the file once and
//! passes the sections down explicitly. Validation that touches the filesystem is limited
//! to checking that configured files exist.

mod error;
mod locate;
mod sections;
mod types;
pub mod window;

pub use error::ConfigError;
pub use sections::*;
pub use types::{ByteSize, Cidr, IpRanges, Seconds, TlsVersion};

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Host name, data directory.
    pub server: ServerSection,
    /// Listener addresses per service.
    pub listen: ListenSection,
    /// Server certificate and TLS versions.
    pub tls: TlsSection,
    /// LAN, trusted and relay networks.
    pub network: NetworkSection,
    /// Connection limits and timeouts shared by all listeners.
    pub limits: LimitsSection,
    /// Login failure limits.
    pub auth: AuthSection,
    /// Event log, traces, statistics, sessions, metrics, alerts, webhooks.
    pub monitor: MonitorSection,
    /// SPF, DKIM and DMARC checks on the MX.
    pub mail_auth: MailAuthSection,
    /// DKIM signing of the mail we send.
    pub dkim: DkimSection,
    /// Sender rewriting for forwarded mail.
    pub srs: SrsSection,
    /// Antivirus, spam, DNS lists, greylisting, quarantine.
    pub scan: ScanSection,
    /// Logging.
    pub log: LogSection,
    /// SMTP (MX and submission) settings.
    pub smtp: SmtpSection,
    /// IMAP settings.
    pub imap: ImapSection,
    /// POP3 settings.
    pub pop3: Pop3Section,
    /// ManageSieve settings.
    pub managesieve: ManageSieveSection,
    /// Sieve filtering at delivery.
    pub sieve: SieveSection,
    /// Outbound queue settings.
    pub queue: QueueSection,
    /// Storage settings.
    pub store: StoreSection,
    /// Mail collection (MultiPOP) settings.
    pub collect: CollectSection,
    /// The client settings profile served to mail clients (autoconfig).
    pub clients: ClientsSection,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates `text`, reporting errors against `file`.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| error::from_toml(&e, text, file))?;
        let mut config = config;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        config.resolve_paths(&base);
        config
            .validate()
            .map_err(|(key, message)| error::at_key(text, file, &key, message))?;
        Ok(config)
    }

    /// Checks what the types alone cannot: files that must exist, settings that must agree.
    /// Returns the dotted key at fault and what is expected.
    fn validate(&self) -> Result<(), (String, String)> {
        let must_exist = |key: &str, p: &Option<PathBuf>| -> Result<(), (String, String)> {
            match p {
                Some(full) if !full.is_file() => Err((
                    key.to_string(),
                    format!(
                        "file {} does not exist or is not a readable file",
                        full.display()
                    ),
                )),
                _ => Ok(()),
            }
        };
        must_exist("tls.certificate", &self.tls.certificate)?;
        must_exist("tls.private_key", &self.tls.private_key)?;
        must_exist("store.tls_ca_file", &self.store.tls_ca_file)?;
        self.store.check()?;
        self.scan.check()?;
        match (&self.tls.certificate, &self.tls.private_key) {
            (Some(_), None) => {
                return Err((
                    "tls.certificate".into(),
                    "a certificate needs tls.private_key too".into(),
                ));
            }
            (None, Some(_)) => {
                return Err((
                    "tls.private_key".into(),
                    "a private key needs tls.certificate too".into(),
                ));
            }
            _ => {}
        }
        if self.server.hostname.trim().is_empty() {
            return Err((
                "server.hostname".into(),
                "expected a host name such as mail.example.com".into(),
            ));
        }
        if self.smtp.max_recipients == 0 {
            return Err((
                "smtp.max_recipients".into(),
                "expected a number of at least 1".into(),
            ));
        }
        if self.limits.proxy_header_timeout.get().is_zero() {
            return Err((
                "limits.proxy_header_timeout".into(),
                "expected a duration of at least 1s (proxy-protocol.txt asks for 3s or more)"
                    .into(),
            ));
        }
        self.validate_queue()?;
        self.collect.check()?;
        self.clients.check()?;
        self.monitor.check()?;
        if self.queue.retry_intervals.is_empty() {
            return Err((
                "queue.retry_intervals".into(),
                "expected at least one interval such as \"5m\"".into(),
            ));
        }
        Ok(())
    }

    /// Routes and rules must agree; send windows must parse.
    fn validate_queue(&self) -> Result<(), (String, String)> {
        let q = &self.queue;
        for (i, r) in q.routes.iter().enumerate() {
            let key = |k: &str| format!("queue.route.{i}.{k}");
            if q.routes.iter().filter(|x| x.name == r.name).count() > 1 {
                return Err((
                    key("name"),
                    format!("route name {:?} is used twice", r.name),
                ));
            }
            if r.kind == RouteKind::Smarthost && r.host.as_deref().is_none_or(str::is_empty) {
                return Err((key("host"), "a smarthost route needs a host".into()));
            }
            if r.auth != AuthRequirement::None
                && r.credentials == CredentialSource::Route
                && r.username.is_none()
                && r.oauth2.is_none()
            {
                return Err((
                    key("username"),
                    "authentication needs a username (or oauth2, or credentials = \"account\")"
                        .into(),
                ));
            }
            if let Some(o) = &r.oauth2
                && o.token_url.is_none()
                && !matches!(o.preset.as_deref(), Some("microsoft365" | "gmail"))
            {
                return Err((
                    key("oauth2"),
                    "oauth2 needs token_url or preset = \"microsoft365\" | \"gmail\"".into(),
                ));
            }
        }
        for (i, rule) in q.rules.iter().enumerate() {
            if rule.route != "direct" && !q.routes.iter().any(|r| r.name == rule.route) {
                return Err((
                    format!("queue.rule.{i}.route"),
                    format!("no route named {:?}", rule.route),
                ));
            }
        }
        for (i, w) in q.send_windows.iter().enumerate() {
            crate::window::SendWindow::parse(w)
                .map_err(|e| (format!("queue.send_windows.{i}"), e))?;
        }
        crate::window::parse_offset(&q.timezone).map_err(|e| ("queue.timezone".to_string(), e))?;
        Ok(())
    }

    /// Makes relative paths relative to the directory of the configuration file.
    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.server.data_dir);
        if let Some(p) = self.tls.certificate.as_mut() {
            fix(p);
        }
        if let Some(p) = self.tls.private_key.as_mut() {
            fix(p);
        }
        if let Some(p) = self.store.tls_ca_file.as_mut() {
            fix(p);
        }
        if let Some(p) = self.store.secrets_key_file.as_mut() {
            fix(p);
        }
    }
}
