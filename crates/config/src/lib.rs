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
    /// Logging.
    pub log: LogSection,
    /// SMTP (MX and submission) settings.
    pub smtp: SmtpSection,
    /// IMAP settings.
    pub imap: ImapSection,
    /// POP3 settings.
    pub pop3: Pop3Section,
    /// Outbound queue settings.
    pub queue: QueueSection,
    /// Storage settings.
    pub store: StoreSection,
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
        if self.queue.retry_intervals.is_empty() {
            return Err((
                "queue.retry_intervals".into(),
                "expected at least one interval such as \"5m\"".into(),
            ));
        }
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
    }
}
