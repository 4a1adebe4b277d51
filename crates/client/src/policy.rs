//! The STARTTLS/STLS policy shared by the SMTP and POP3 clients: whether to upgrade,
//! and whether a missing or failed upgrade is fatal.
//!
//! Plain data; the clients apply it.

/// What to do about STARTTLS (SMTP) or STLS (POP3) when the TLS mode is STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Never upgrade.
    None,
    /// Upgrade when offered; plaintext when the server does not offer it or refuses
    /// it, and (SMTP) when the handshake fails — then the client reconnects without
    /// TLS. For direct MX delivery (RFC 3207 §4, RFC 7435).
    Opportunistic,
    /// Upgrade or nothing: no offer, a refusal or a failed handshake is an error.
    Required,
}
