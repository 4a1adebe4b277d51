//! The command parser: a [`FramedCommand`] in, a typed [`Command`] or a precise
//! [`ParseError`] out (RFC 9051 §6 and §9 `command`).
//!
//! This file owns the tag, the command name dispatch and the special lines of IDLE and
//! AUTHENTICATE; one file per command family owns the arguments. The parser knows
//! nothing of session state (which commands are allowed now, what is enabled): it
//! accepts every spelling the grammar allows, plus a few unambiguous sloppinesses of
//! real clients (lowercase names, runs of spaces, trailing spaces, spaces inside
//! parentheses). It does no I/O and never panics.

mod append;
mod auth;
mod connection;
mod fetch;
mod list;
mod mailbox;
mod metadata;
mod quota;
mod search;
mod sort;
mod store;

pub use auth::{SaslResponse, parse_sasl_response};

use super::command::{Command, CommandBody, LiteralData, Tag};
use super::error::{ParseError, ParseErrorKind as K};
use super::frame::FramedCommand;
use super::lexer::{Lexer, Result, is_tag_char};

/// Parses one framed command (RFC 9051 §9 `command = tag SP (command-any / command-auth
/// / command-nonauth / command-select) CRLF`).
///
/// The error carries the tag when one could be read, so the session can reply
/// `TAG BAD reason`, else `* BAD reason`. On error the handles of streamed literals are
/// dropped, so a handle type should clean up its spool file on `Drop`.
pub fn parse_command<H>(framed: FramedCommand<H>) -> std::result::Result<Command<H>, ParseError> {
    let FramedCommand {
        bytes,
        slots,
        handles,
        ..
    } = framed;
    let mut lx = Lexer::new(&bytes, &slots);
    let tag = tag(&mut lx)?;
    let body = body(&mut lx, handles).map_err(|e| e.with_tag(&tag))?;
    Ok(Command { tag, body })
}

/// Checks the line that ends IDLE (RFC 2177 §3, RFC 9051 §6.3.13 `idle = "IDLE" CRLF
/// "DONE"`). Case-insensitive, trailing spaces tolerated.
pub fn parse_idle_done<H>(framed: &FramedCommand<H>) -> std::result::Result<(), ParseError> {
    let mut lx = Lexer::new(&framed.bytes, &framed.slots);
    if !lx.eat_keyword(b"DONE") {
        return Err(lx.expected("expected DONE"));
    }
    lx.finish()
}

/// RFC 9051 §9 `tag`.
fn tag(lx: &mut Lexer<'_>) -> Result<Tag> {
    let tag = lx.take_bytes(is_tag_char);
    if tag.is_empty() {
        return Err(lx.err(K::InvalidTag, "expected a tag"));
    }
    let tag = Tag(tag);
    match lx.peek() {
        Some(b' ') => Ok(tag),
        None => Err(lx
            .err(K::MissingCommand, "expected a command after the tag")
            .with_tag(&tag)),
        Some(_) => Err(lx.err(K::InvalidTag, "invalid character in tag")),
    }
}

/// Dispatches on the command name (RFC 9051 §9 `command-any`, `command-auth`,
/// `command-nonauth`, `command-select`).
fn body<H>(lx: &mut Lexer<'_>, handles: Vec<H>) -> Result<CommandBody<H>> {
    lx.skip_spaces();
    if lx.at_end() {
        return Err(lx.err(K::MissingCommand, "expected a command after the tag"));
    }
    let start = lx.pos();
    let name = lx
        .keyword()
        .map_err(|_| ParseError::new(K::UnknownCommand, "unknown command", start))?;
    use CommandBody as C;
    let body = match name.as_bytes() {
        b"CAPABILITY" => C::Capability,
        b"NOOP" => C::Noop,
        b"LOGOUT" => C::Logout,
        b"ID" => C::Id(connection::id(lx)?),
        b"ENABLE" => C::Enable(connection::enable(lx)?),
        b"STARTTLS" => C::StartTls,
        b"AUTHENTICATE" => C::Authenticate(auth::authenticate(lx)?),
        b"LOGIN" => C::Login(auth::login(lx)?),
        b"UNAUTHENTICATE" => C::Unauthenticate,
        b"SELECT" => C::Select(mailbox::select(lx)?),
        b"EXAMINE" => C::Examine(mailbox::select(lx)?),
        b"CREATE" => C::Create(mailbox::create(lx)?),
        b"DELETE" => C::Delete(mailbox::mailbox_arg(lx)?),
        b"RENAME" => {
            let (from, to) = mailbox::rename(lx)?;
            C::Rename { from, to }
        }
        b"SUBSCRIBE" => C::Subscribe(mailbox::mailbox_arg(lx)?),
        b"UNSUBSCRIBE" => C::Unsubscribe(mailbox::mailbox_arg(lx)?),
        b"LIST" => C::List(list::list(lx)?),
        b"LSUB" => {
            let (reference, pattern) = list::lsub(lx)?;
            C::Lsub { reference, pattern }
        }
        b"NAMESPACE" => C::Namespace,
        b"STATUS" => {
            let (mailbox, items) = mailbox::status(lx)?;
            C::Status { mailbox, items }
        }
        b"APPEND" => C::Append(resolve_handles(append::append(lx)?, handles, lx)?),
        b"IDLE" => C::Idle,
        b"GETQUOTA" => C::GetQuota(quota::getquota(lx)?),
        b"GETQUOTAROOT" => C::GetQuotaRoot(mailbox::mailbox_arg(lx)?),
        b"SETQUOTA" => {
            let (root, limits) = quota::setquota(lx)?;
            C::SetQuota { root, limits }
        }
        b"GETMETADATA" => C::GetMetadata(metadata::getmetadata(lx)?),
        b"SETMETADATA" => {
            let (mailbox, entries) = metadata::setmetadata(lx)?;
            C::SetMetadata { mailbox, entries }
        }
        b"COMPRESS" => C::Compress(connection::compress(lx)?),
        b"CHECK" => C::Check,
        b"CLOSE" => C::Close,
        b"UNSELECT" => C::Unselect,
        b"EXPUNGE" => C::Expunge,
        b"SEARCH" => C::Search(search::search(lx, false)?),
        b"FETCH" => C::Fetch(fetch::fetch(lx, false)?),
        b"STORE" => C::Store(store::store(lx, false)?),
        b"COPY" => C::Copy(store::copy_move(lx, false)?),
        b"MOVE" => C::Move(store::copy_move(lx, false)?),
        b"SORT" => C::Sort(sort::sort(lx, false)?),
        b"THREAD" => C::Thread(sort::thread(lx, false)?),
        b"REPLACE" => C::Replace(resolve_replace(append::replace(lx, false)?, handles, lx)?),
        b"UID" => uid(lx, handles)?,
        _ => return Err(ParseError::new(K::UnknownCommand, "unknown command", start)),
    };
    lx.finish()?;
    Ok(body)
}

/// RFC 9051 §9 `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`,
/// RFC 5256 §5 UID SORT / UID THREAD, RFC 8508 §5 UID REPLACE.
fn uid<H>(lx: &mut Lexer<'_>, handles: Vec<H>) -> Result<CommandBody<H>> {
    use CommandBody as C;
    lx.sp()?;
    let start = lx.pos();
    let name = lx.keyword()?;
    Ok(match name.as_bytes() {
        b"SEARCH" => C::Search(search::search(lx, true)?),
        b"FETCH" => C::Fetch(fetch::fetch(lx, true)?),
        b"STORE" => C::Store(store::store(lx, true)?),
        b"COPY" => C::Copy(store::copy_move(lx, true)?),
        b"MOVE" => C::Move(store::copy_move(lx, true)?),
        b"SORT" => C::Sort(sort::sort(lx, true)?),
        b"THREAD" => C::Thread(sort::thread(lx, true)?),
        b"EXPUNGE" => C::UidExpunge(store::uid_expunge(lx)?),
        b"REPLACE" => C::Replace(resolve_replace(append::replace(lx, true)?, handles, lx)?),
        _ => {
            return Err(ParseError::new(
                K::UnknownCommand,
                "unknown UID command",
                start,
            ));
        }
    })
}

/// [`resolve_handles`] for REPLACE's one message.
fn resolve_replace<H>(
    r: super::command::Replace<usize>,
    handles: Vec<H>,
    lx: &Lexer<'_>,
) -> Result<super::command::Replace<H>> {
    let append = super::command::Append {
        mailbox: r.mailbox,
        messages: vec![r.message],
    };
    let mut append = resolve_handles(append, handles, lx)?;
    let message = append
        .messages
        .pop()
        .ok_or(lx.err(K::Literal, "missing message"))?;
    Ok(super::command::Replace {
        uid: r.uid,
        target: r.target,
        mailbox: append.mailbox,
        message,
    })
}

/// Replaces the framer's streamed-literal indices by the session's handles.
fn resolve_handles<H>(
    append: super::command::Append<usize>,
    handles: Vec<H>,
    lx: &Lexer<'_>,
) -> Result<super::command::Append<H>> {
    let mut handles: Vec<Option<H>> = handles.into_iter().map(Some).collect();
    let mut messages = Vec::with_capacity(append.messages.len());
    for m in append.messages {
        let data = match m.data {
            LiteralData::Inline(b) => LiteralData::Inline(b),
            LiteralData::Streamed(i) => LiteralData::Streamed(
                handles
                    .get_mut(i)
                    .and_then(Option::take)
                    .ok_or(lx.err(K::Literal, "streamed literal out of place"))?,
            ),
        };
        messages.push(super::command::AppendMessage {
            flags: m.flags,
            date: m.date,
            data,
            binary: m.binary,
            utf8: m.utf8,
        });
    }
    Ok(super::command::Append {
        mailbox: append.mailbox,
        messages,
    })
}
