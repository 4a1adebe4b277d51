//! Pillarbox's outbound protocol clients: the SMTP client the queue delivers with,
//! a POP3 client (login for POP-before-SMTP now, collection later), the SASL client
//! mechanisms both use, and OAuth2 token sources for XOAUTH2/OAUTHBEARER.
//!
//! Every connection is opened by `pillarbox_net::dial`, so proxies, implicit TLS and
//! the timed connection report work the same for all of them. Reply parsers
//! (`smtp::reply`, `pop3::reply`) are pure and fuzzed. This crate never reads
//! configuration files, never touches the store, and never logs a secret.

mod conn;
pub mod oauth;
pub mod policy;
pub mod pop3;
pub mod sasl;
pub mod smtp;

pub use conn::ConnError;
pub use policy::TlsPolicy;
pub use sasl::{Credentials, Mechanism, Secret};
