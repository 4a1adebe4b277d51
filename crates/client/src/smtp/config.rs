//! How the SMTP client connects and logs in: EHLO name, dial options (connect timeout,
//! proxy, TLS mode and verification), the STARTTLS policy, AUTH mode and credentials,
//! SASL preference, and the per-command timeouts of RFC 5321 §4.5.3.2.
//!
//! Plain data: the queue fills it from its route configuration; nothing here reads
//! files or the environment.

use std::time::Duration;

use pillarbox_net::dial::DialOptions;

pub use crate::policy::TlsPolicy;
use crate::sasl::{Credentials, Mechanism};

/// AUTH behaviour (the Accredo seed's "Authorisation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No AUTH.
    None,
    /// User name and secret both required; the server must offer a usable mechanism.
    Required,
    /// User name required, the password may be empty. AUTH is skipped when the
    /// server offers none.
    Optional,
}

/// Time allowed for each server answer. [`SmtpTimeouts::rfc5321`] gives the RFC's
/// minimums; [`SmtpTimeouts::uniform`] one value for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpTimeouts {
    /// The 220 greeting.
    pub greeting: Duration,
    pub mail: Duration,
    pub rcpt: Duration,
    /// The 354 after DATA.
    pub data_init: Duration,
    /// Each block of the message written.
    pub data_block: Duration,
    /// The reply after the final `.`.
    pub data_end: Duration,
    /// EHLO, STARTTLS, AUTH, RSET, QUIT.
    pub other: Duration,
}

impl SmtpTimeouts {
    /// RFC 5321 §4.5.3.2: greeting 5 min, MAIL 5, RCPT 5, DATA initiation 2, data
    /// block 3, DATA termination 10; other commands 5.
    pub const fn rfc5321() -> SmtpTimeouts {
        const MIN: u64 = 60;
        SmtpTimeouts {
            greeting: Duration::from_secs(5 * MIN),
            mail: Duration::from_secs(5 * MIN),
            rcpt: Duration::from_secs(5 * MIN),
            data_init: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            data_end: Duration::from_secs(10 * MIN),
            other: Duration::from_secs(5 * MIN),
        }
    }

    /// The same timeout for every command (a route's single `command_timeout`).
    pub const fn uniform(d: Duration) -> SmtpTimeouts {
        SmtpTimeouts {
            greeting: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_end: d,
            other: d,
        }
    }
}

impl Default for SmtpTimeouts {
    fn default() -> Self {
        SmtpTimeouts::rfc5321()
    }
}

/// Everything [`super::SmtpClient::connect`] needs besides the target.
#[derive(Debug, Clone)]
pub struct SmtpClientConfig {
    /// The name sent in EHLO/HELO ("local host name").
    pub ehlo_name: String,
    /// Connect timeout, proxy, TLS mode (none / implicit / STARTTLS), verification,
    /// SNI.
    pub dial: DialOptions,
    /// STARTTLS behaviour; only consulted when `dial.tls.mode` is STARTTLS.
    pub tls_policy: TlsPolicy,
    pub auth: AuthMode,
    pub credentials: Option<Credentials>,
    /// SASL mechanisms in order of preference; the first one the server offers and
    /// that fits the secret is used.
    pub mechanisms: Vec<Mechanism>,
    pub timeouts: SmtpTimeouts,
}

impl SmtpClientConfig {
    /// Plain SMTP without AUTH, RFC timeouts, default dial options.
    pub fn new(ehlo_name: impl Into<String>) -> SmtpClientConfig {
        SmtpClientConfig {
            ehlo_name: ehlo_name.into(),
            dial: DialOptions::default(),
            tls_policy: TlsPolicy::Opportunistic,
            auth: AuthMode::None,
            credentials: None,
            mechanisms: Mechanism::default_preference(),
            timeouts: SmtpTimeouts::rfc5321(),
        }
    }
}
