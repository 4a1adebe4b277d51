//! `[mail_auth]`: the checks the MX makes of mail from other servers (SPF, DKIM, DMARC),
//! what a failing DMARC policy leads to, and the resolver they ask.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::types::{IpRanges, Seconds};

/// `[dkim]`: signing of the mail we send.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DkimSection {
    /// When a domain's keys cannot be opened: `defer` (the default: the message waits
    /// and the error is logged) or `send_unsigned` (it goes out unsigned, with a
    /// warning).
    pub on_key_error: OnKeyError,
}

/// `[dkim] on_key_error`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnKeyError {
    #[default]
    Defer,
    SendUnsigned,
}

/// `[mail_auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailAuthSection {
    /// Check SPF, DKIM and DMARC on the MX and write `Authentication-Results`.
    pub enabled: bool,
    /// The authserv-id of our `Authentication-Results` fields (default: the host name);
    /// fields claiming it that arrive from outside are removed.
    pub authserv_id: String,
    /// Refuse (`550 5.7.1`) mail failing DMARC from a domain whose policy is `reject`.
    pub dmarc_reject: bool,
    /// File mail failing DMARC from a domain whose policy is `quarantine` in the
    /// recipient's Junk mailbox.
    pub dmarc_quarantine: bool,
    /// Forwarders whose mail is never refused or quarantined for DMARC (they break SPF
    /// and often DKIM when they forward): addresses or networks.
    pub trusted_forwarders: IpRanges,
    /// Nameservers (`ip:port`); empty: `[queue] resolver`, or the system's.
    pub resolver: Vec<SocketAddr>,
    /// How long one DNS query may take.
    pub dns_timeout: Seconds,
}

impl Default for MailAuthSection {
    fn default() -> Self {
        MailAuthSection {
            enabled: true,
            authserv_id: String::new(),
            dmarc_reject: true,
            dmarc_quarantine: true,
            trusted_forwarders: IpRanges::default(),
            resolver: Vec::new(),
            dns_timeout: Seconds::secs(5),
        }
    }
}

/// `[srs]`: the Sender Rewriting Scheme for mail forwarded elsewhere (aliases pointing
/// outside, Sieve redirects), so the next server's SPF check sees our domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SrsSection {
    /// Rewrite the envelope sender of forwarded mail, and take bounces to the
    /// rewritten addresses.
    pub enabled: bool,
    /// The domain of the rewritten addresses (default: the server's host name); mail
    /// for it must reach this server (an MX or A record).
    pub domain: String,
    /// Days a rewritten address accepts bounces.
    pub max_age_days: u32,
}

impl Default for SrsSection {
    fn default() -> Self {
        SrsSection {
            enabled: true,
            domain: String::new(),
            max_age_days: 21,
        }
    }
}
