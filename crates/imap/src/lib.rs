//! IMAP4rev2 / IMAP4rev1 server.
//!
//! For now this crate holds only [`proto`], the pure protocol layer: the framer that cuts
//! the client's byte stream into commands and literals, the command parser, the typed
//! responses and their encoder, and modified UTF-7. The session state machine and the
//! listener will live beside it (`session.rs`, `cmd/`) and drive `proto`; `proto` never
//! depends on them.

#![forbid(unsafe_code)]

pub mod proto;
