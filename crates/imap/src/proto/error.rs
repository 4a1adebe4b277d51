//! Parse errors: what the session needs to answer `TAG BAD reason` or `* BAD reason`.
//!
//! Owns the error type and its classes; it never decides the reply text beyond a short
//! human reason, and does no I/O.

use std::fmt;

use super::command::Tag;

/// The class of a parse error. Tests match on it; sessions may map some classes to
/// response codes (e.g. [`ParseErrorKind::UnknownCommand`] stays a plain BAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// The line holds no tag, or a tag with characters RFC 9051 §9 `tag` forbids.
    InvalidTag,
    /// A tag and nothing else.
    MissingCommand,
    /// A command name this server does not know.
    UnknownCommand,
    /// The input ended where more was required.
    UnexpectedEnd,
    /// Something other than what the grammar allows at this point.
    Syntax,
    /// Input left over after a complete command.
    TrailingData,
    /// A number that is malformed, out of range, or zero where zero is not allowed.
    Number,
    /// A malformed sequence set.
    SequenceSet,
    /// A malformed date or date-time.
    Date,
    /// A malformed flag (`\`, `\*` in a command).
    Flag,
    /// A malformed quoted string (CR, LF, NUL, bad escape, no closing quote).
    QuotedString,
    /// A literal where the grammar forbids it (literal8 outside APPEND, a streamed
    /// literal outside an APPEND message).
    Literal,
    /// Invalid BASE64 in AUTHENTICATE.
    Base64,
    /// An option, parameter or item name the grammar leaves open but this server does
    /// not know (RFC 4466 requires BAD for those).
    UnknownOption,
    /// Options that are individually valid but not together (e.g. VANISHED without
    /// CHANGEDSINCE, RECURSIVEMATCH alone).
    InvalidCombination,
    /// Parentheses or NOT/OR nested deeper than the parser allows.
    TooDeep,
}

/// A command that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The command's tag when one could be read: reply `TAG BAD`, else `* BAD`.
    pub tag: Option<Tag>,
    /// The error class.
    pub kind: ParseErrorKind,
    /// A short human reason, e.g. "expected sequence set".
    pub reason: &'static str,
    /// Byte offset into the command where the error was noticed.
    pub offset: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, reason: &'static str, offset: usize) -> ParseError {
        ParseError {
            tag: None,
            kind,
            reason,
            offset,
        }
    }

    pub(crate) fn with_tag(mut self, tag: &Tag) -> ParseError {
        self.tag = Some(tag.clone());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for ParseError {}
