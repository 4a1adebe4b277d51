//! Pillarbox's outbound protocol clients: the SMTP client the queue delivers with,
//! the POP3 and IMAP clients collection reads remote mailboxes with (POP3 also logs in
//! for POP-before-SMTP), the SASL client mechanisms they use, and OAuth2 token sources
//! for XOAUTH2/OAUTHBEARER.
//!
//! Every connection is opened by `pillarbox_net::dial`, so proxies, implicit TLS and
//! the timed connection report work the same for all of them. Reply parsers
//! (`smtp::reply`, `pop3::reply`, `imap::response`) are pure and fuzzed. This crate never reads
//! configuration files, never touches the store, and never logs a secret.

mod conn;
pub mod imap;
pub mod oauth;
pub mod policy;
pub mod pop3;
pub mod sasl;
pub mod smtp;

pub use conn::ConnError;
pub use policy::TlsPolicy;
pub use sasl::{Credentials, Mechanism, Secret};
