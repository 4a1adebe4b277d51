//! The POP3 client: `reply` parses status lines, multi-line bodies, listings and CAPA
//! (pure, fuzzed); `client` runs the session (dial, greeting, STLS, CAPA, login, QUIT);
//! `mailbox` the transaction commands collection uses (STAT, UIDL, LIST, pipelined
//! RETR, DELE, RSET).
//!
//! Never stores or logs credentials; never deletes anything on its own.

mod client;
pub mod error;
mod mailbox;
pub mod reply;

pub use client::{LoginMethod, Pop3Client, Pop3ClientConfig, Pop3SessionInfo};
pub use error::{Pop3Error, Pop3Stage};
pub use reply::{DataLine, DotDecoder, Pop3Capabilities, ReplyError, Response, Status};
