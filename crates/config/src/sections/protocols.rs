//! `[smtp]`, `[imap]` and `[pop3]`: per-protocol limits and policies.

use serde::Deserialize;

use crate::types::{ByteSize, Seconds};

/// What SMTP does with a bare LF or bare CR inside message data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BareNewline {
    /// Refuse the message with `554 5.6.0` (the default: no smuggling ambiguity at all).
    #[default]
    Reject,
    /// Accept lines ending in a bare LF as if they ended in CRLF; the message still ends
    /// only at `<CRLF>.<CRLF>`. A bare CR is always refused.
    Normalize,
}

/// `[smtp]`: MX and submission.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSection {
    /// Largest message accepted (advertised with SIZE, enforced while receiving).
    pub max_message_size: ByteSize,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Bad commands in a session before `421` and close.
    pub max_errors: u32,
    /// Idle time allowed while waiting for a command or data (RFC 5321 §4.5.3.2).
    pub timeout: Seconds,
    /// Bare LF / bare CR handling in DATA.
    pub bare_newline: BareNewline,
    /// Longest text line in a message, CRLF included (RFC 5321 §4.5.3.1.6); 0: no limit.
    pub max_line_length: usize,
    /// On submission, an authenticated user may only send as its own addresses and aliases.
    pub submission_sender_must_match: bool,
}

impl Default for SmtpSection {
    fn default() -> Self {
        SmtpSection {
            max_message_size: ByteSize(50 * 1024 * 1024),
            max_recipients: 100,
            max_errors: 20,
            timeout: Seconds::mins(5),
            bare_newline: BareNewline::Reject,
            max_line_length: 1000,
            submission_sender_must_match: true,
        }
    }
}

/// `[imap]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImapSection {
    /// Largest message accepted by APPEND (advertised as APPENDLIMIT).
    pub append_limit: ByteSize,
    /// Longest command line, literals excluded.
    pub max_line: ByteSize,
    /// Inactivity before the server logs a client out (RFC 9051 requires ≥ 30 minutes).
    pub idle_timeout: Seconds,
    /// Bad commands in a session before `BYE`.
    pub max_bad_commands: u32,
    /// How often an idling client (IDLE) is sent `* OK Still here`, so that NAT boxes and
    /// firewalls keep the connection open.
    pub idle_keepalive: Seconds,
}

impl Default for ImapSection {
    fn default() -> Self {
        ImapSection {
            append_limit: ByteSize(50 * 1024 * 1024),
            max_line: ByteSize(64 * 1024),
            idle_timeout: Seconds::mins(30),
            max_bad_commands: 20,
            idle_keepalive: Seconds::mins(2),
        }
    }
}

/// `[pop3]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pop3Section {
    /// Inactivity before the server closes the session (RFC 1939: at least 10 minutes).
    pub idle_timeout: Seconds,
    /// Bad commands in a session before the server closes it.
    pub max_errors: u32,
    /// Advertised LOGIN-DELAY (RFC 2449), if any; enforced between logins.
    pub login_delay: Option<Seconds>,
    /// EXPIRE policy in days (RFC 2449 §6.7), advertised and enforced: messages POP3
    /// retrieved and left on the server are removed this many days later (0: at the
    /// end of the session that retrieved them); absent means "NEVER".
    pub expire_days: Option<u32>,
    /// Offer APOP (off: it needs plaintext-equivalent passwords).
    pub apop: bool,
}

impl Default for Pop3Section {
    fn default() -> Self {
        Pop3Section {
            idle_timeout: Seconds::mins(10),
            max_errors: 10,
            login_delay: None,
            expire_days: None,
            apop: false,
        }
    }
}

/// `[managesieve]`: the ManageSieve server (RFC 5804) on the `managesieve` listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManageSieveSection {
    /// Scripts one account may keep.
    pub max_scripts: usize,
    /// Largest script accepted, in bytes.
    pub max_script_size: crate::types::ByteSize,
    /// A session idle this long is closed.
    pub idle_timeout: crate::types::Seconds,
}

impl Default for ManageSieveSection {
    fn default() -> Self {
        ManageSieveSection {
            max_scripts: 20,
            max_script_size: crate::types::ByteSize(64 * 1024),
            idle_timeout: crate::types::Seconds(std::time::Duration::from_secs(30 * 60)),
        }
    }
}

/// `[sieve]`: filtering at delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SieveSection {
    /// Run the accounts' and the server-wide Sieve scripts on every delivery. Off:
    /// scripts are kept (and ManageSieve still edits them) but none runs.
    pub enabled: bool,
    /// How long a node uses the server-wide scripts (`pillarbox sieve server-set`)
    /// before it reads them again; an account's own script applies at once.
    pub server_scripts_refresh: crate::types::Seconds,
}

impl Default for SieveSection {
    fn default() -> Self {
        SieveSection {
            enabled: true,
            server_scripts_refresh: crate::types::Seconds::secs(10),
        }
    }
}
