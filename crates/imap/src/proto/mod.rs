//! The pure IMAP protocol layer: bytes in, typed commands or precise errors out; typed
//! responses in, bytes out.
//!
//! It owns the wire syntax of IMAP4rev2 (RFC 9051), IMAP4rev1 (RFC 3501) and the
//! extensions Pillarbox speaks, and nothing else. It does no I/O, holds no session state,
//! knows no mailbox and never panics on input: every byte sequence a client can send ends
//! in a [`Command`], a [`ParseError`] or a [`FrameError`].
//!
//! How a session drives it:
//!
//! 1. Feed received bytes to a [`Framer`] with [`Framer::advance`]; it reports
//!    [`FrameEvent`]s and how many bytes it consumed.
//! 2. On [`FrameEvent::Literal`] decide: [`Framer::accept_inline`] (small literals, kept in
//!    the command), [`Framer::accept_streamed`] (an APPEND message that goes to a spool
//!    file: the framer then hands out [`FrameEvent::LiteralData`] chunks) or
//!    [`Framer::reject_literal`] (too big). Send `+ ` for synchronizing literals that were
//!    accepted.
//! 3. On [`FrameEvent::Command`] call [`parse_command`] to get a typed [`Command`]. Within
//!    IDLE and AUTHENTICATE exchanges call [`Framer::expect_line`] before each client
//!    line and use [`parse_idle_done`] and [`parse_sasl_response`] on it instead.
//!    On [`FrameEvent::Error`] reply `TAG BAD` (or `* BAD`): the input is already skipped.
//! 4. Answer with [`Response`]s written by [`Response::encode`], or stream large FETCH
//!    bodies with [`FetchWriter`].

mod announce;
mod command;
mod datetime;
mod encode;
mod error;
mod fetch_attr;
mod flag;
mod frame;
mod lexer;
mod mailbox;
pub mod mutf7;
pub mod objectid;
mod parse;
mod response;
mod search_key;
mod sequence;

pub use command::*;
pub use datetime::{Date, DateTime};
pub use encode::{
    EncodeOptions, FetchWriter, StreamedItem, write_astring, write_literal, write_literal_header,
    write_nstring, write_string,
};
pub use error::{ParseError, ParseErrorKind};
pub use fetch_attr::{FetchAttr, FetchAttrs, Partial, Section, SectionText};
pub use flag::Flag;
pub use frame::{
    Advance, DecisionError, FrameError, FrameErrorKind, FrameEvent, FramedCommand, Framer,
    FramerConfig, LiteralAnnouncement, LiteralRole,
};
pub use mailbox::{Mailbox, MailboxNameError, NameEncoding};
pub use parse::{SaslResponse, parse_command, parse_idle_done, parse_sasl_response};
pub use response::*;
pub use search_key::{EntryType, ModSeqEntry, PartialRange, SearchKey, SearchReturn};
pub use sequence::{SeqNum, SeqRange, SequenceError, SequenceSet};
