//! The SMTP client the outbound queue delivers with: `reply` and `capabilities` parse
//! what the server says (pure), `data` encodes the body (pure), `client` opens the
//! session (dial, greeting, EHLO, STARTTLS), `auth` logs in, `send` runs transactions.
//!
//! Never decides routing or retries: it reports, per recipient and per message, what
//! the server answered, and sorts failures into permanent and transient.

mod auth;
pub mod capabilities;
mod client;
pub mod config;
pub mod data;
pub mod error;
pub mod reply;
mod send;

pub use capabilities::Capabilities;
pub use client::{SessionInfo, SmtpClient};
pub use config::{AuthMode, SmtpClientConfig, SmtpTimeouts, TlsPolicy};
pub use error::{SmtpError, Stage};
pub use reply::{EnhancedCode, Reply, ReplyClass, ReplyError, parse_reply};
pub use send::{Envelope, RcptSpec, SendOutcome, xtext};
