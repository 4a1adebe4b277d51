//! The IMAP client for collection and the connection test: `response` frames and
//! parses server responses (pure, fuzzed), `command` builds arguments (sets, quoting,
//! modified UTF-7), `client` runs the session (dial, greeting, STARTTLS, CAPABILITY,
//! login, SELECT, UID SEARCH/FETCH/STORE/EXPUNGE, LOGOUT).
//!
//! Never stores or logs credentials; never deletes or flags anything on its own: the
//! caller decides when a message may be marked.

mod client;
pub mod command;
pub mod error;
pub mod response;

pub use client::{
    FetchedMessage, ImapClient, ImapClientConfig, ImapLogin, ImapSessionInfo, ListedMailbox,
    SelectedMailbox, parse_list,
};
pub use command::SearchCriteria;
pub use error::{ImapError, ImapStage};
