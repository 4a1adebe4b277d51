//! The POP3 client: `reply` parses status lines, multi-line bodies and CAPA (pure,
//! fuzzed); `client` runs the session (dial, greeting, STLS, CAPA, login, QUIT).
//! Today it logs in for POP-before-SMTP; mail collection grows it into a full client
//! (STAT, UIDL, RETR, DELE) on `Pop3Client::command` and the reply parser.
//!
//! Never stores or logs credentials; never deletes anything on its own.

mod client;
pub mod error;
pub mod reply;

pub use client::{LoginMethod, Pop3Client, Pop3ClientConfig, Pop3SessionInfo};
pub use error::{Pop3Error, Pop3Stage};
pub use reply::{DataLine, Pop3Capabilities, ReplyError, Response, Status};
