//! The SMTP wire format, pure: command parsing, the reply catalogue, and the DATA
//! decoder. Nothing here does I/O or knows about sessions.

pub mod command;
pub mod data;
pub mod reply;

pub use command::{Command, MailParams, RcptParams};
pub use reply::{Reply, catalogue};
