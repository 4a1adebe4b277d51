//! The framer: cuts the client's byte stream into commands and literals
//! (RFC 9051 §2.2, §4.3 literals, §7.5 continuation; RFC 7888 LITERAL+/LITERAL-;
//! RFC 3516 literal8).
//!
//! It owns line and command size caps, literal announcements and the skipping of
//! over-long or refused input. It does no I/O: the session owns the socket and the read
//! buffer and calls [`Framer::advance`] on whatever it has read. It never parses command
//! arguments (that is [`super::parse_command`]), never writes the `+` continuation
//! (the session does, when it accepts a synchronizing literal) and never buffers more
//! than its caps, whatever the client sends.

use std::fmt;
use std::mem;

use bytes::Bytes;

use super::announce::{LineEnd, command_word, literal_suffix, message_literal};
use super::command::Tag;
use super::lexer::{LiteralSlot, MAX_TAG, scan_tag};

/// Size caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerConfig {
    /// Longest line (text between CRLFs, literal octets excluded).
    pub max_line: usize,
    /// Most bytes one command may hold in memory: all its lines plus its inline
    /// literals. Streamed literals do not count.
    pub max_command: usize,
}

impl Default for FramerConfig {
    fn default() -> FramerConfig {
        FramerConfig {
            max_line: 64 * 1024,
            max_command: 1024 * 1024,
        }
    }
}

/// What a literal stands for, as far as the framer can tell before reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralRole {
    /// A message of an APPEND (RFC 9051 §6.3.12, RFC 3502) or a REPLACE (RFC 8508):
    /// stream it to a spool and enforce APPENDLIMIT.
    AppendMessage,
    /// Anything else (a string argument): keep it inline.
    Other,
}

/// A literal the client announced; the session must decide what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralAnnouncement {
    /// Octets announced.
    pub size: u64,
    /// `{n}`: the client waits for `+` before sending. `{n+}` (RFC 7888) is not.
    pub synchronizing: bool,
    /// `~{n}` (literal8, RFC 3516).
    pub binary: bool,
    /// 0 for the command's first literal, then 1, 2, ….
    pub index: usize,
    /// The command's tag, if its first line started with a valid one.
    pub tag: Option<Tag>,
    /// The command name as written (second word of the first line), possibly empty.
    pub command: Bytes,
    /// Whether this is an APPEND message.
    pub role: LiteralRole,
    /// Whether [`Framer::accept_inline`] would take it within `max_command`.
    pub fits_inline: bool,
}

impl LiteralAnnouncement {
    /// RFC 7888 §4: with LITERAL- (not LITERAL+), a non-synchronizing literal over 4096
    /// octets must be refused with `BAD [TOOBIG]`.
    pub fn exceeds_literal_minus(&self) -> bool {
        !self.synchronizing && self.size > 4096
    }
}

/// Why the framer dropped a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameErrorKind {
    /// A line exceeded `max_line`.
    #[error("line too long")]
    LineTooLong,
    /// The command exceeded `max_command`.
    #[error("command too long")]
    CommandTooLong,
    /// A literal announcement with an impossible size.
    #[error("literal size out of range")]
    LiteralSize,
}

/// A command the framer dropped; its input has been skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The tag, when the first line started with one: reply `TAG BAD`, else `* BAD`.
    pub tag: Option<Tag>,
    /// Why.
    pub kind: FrameErrorKind,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for FrameError {}

/// A decision method was called with no literal waiting, or an inline literal would
/// exceed `max_command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// No literal is waiting for a decision.
    #[error("no literal is waiting for a decision")]
    NoPendingLiteral,
    /// The literal does not fit in `max_command`; reject it.
    #[error("literal too large to keep in memory")]
    TooLarge,
}

/// A complete command: its lines, inline literals and the handles of streamed ones.
/// Give it to [`super::parse_command`].
#[derive(Debug)]
pub struct FramedCommand<H> {
    pub(crate) bytes: Bytes,
    pub(crate) slots: Vec<LiteralSlot>,
    pub(crate) handles: Vec<H>,
    pub(crate) tag: Option<Tag>,
}

impl<H> FramedCommand<H> {
    /// The tag, if the first line starts with one.
    pub fn tag(&self) -> Option<&Tag> {
        self.tag.as_ref()
    }

    /// The command's bytes: lines without CRLF, literal announcements followed by the
    /// inline octets. Mind passwords before logging it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives back the streamed literals' handles, e.g. when the command is refused.
    pub fn into_handles(self) -> Vec<H> {
        self.handles
    }
}

/// What [`Framer::advance`] found.
#[derive(Debug)]
pub enum FrameEvent<'a, H> {
    /// All input was consumed; read more and call again.
    NeedMore,
    /// A complete command.
    Command(FramedCommand<H>),
    /// A literal was announced. Call [`Framer::accept_inline`],
    /// [`Framer::accept_streamed`] or [`Framer::reject_literal`]; until then `advance`
    /// reports the same announcement again without consuming anything. After accepting
    /// a synchronizing literal, send a `+` continuation.
    Literal(LiteralAnnouncement),
    /// Octets of a streamed literal, to be written to its destination.
    LiteralData(&'a [u8]),
    /// The streamed literal is complete (reported without consuming input).
    LiteralEnd,
    /// A command was dropped and skipped; reply BAD. `discarded` are handles of
    /// literals it had already streamed.
    Error {
        /// What went wrong, and the tag.
        error: FrameError,
        /// Handles of literals this command had streamed.
        discarded: Vec<H>,
    },
}

/// The result of one [`Framer::advance`] call.
#[derive(Debug)]
pub struct Advance<'a, H> {
    /// Bytes of the input consumed; drop them from the read buffer after handling the
    /// event (a [`FrameEvent::LiteralData`] borrows them).
    pub consumed: usize,
    /// What happened.
    pub event: FrameEvent<'a, H>,
}

#[derive(Debug, Clone)]
enum State {
    /// Reading a line into the command buffer.
    Line,
    /// A literal was announced; waiting for the session.
    Decide(LiteralAnnouncement, usize),
    /// Reading an accepted literal into the command buffer.
    Inline { remaining: u64 },
    /// Handing out an accepted literal's octets.
    Stream { remaining: u64 },
    /// Throwing away a refused non-synchronizing literal, then the rest of its command.
    Discard {
        remaining: u64,
        error: Option<FrameErrorKind>,
    },
    /// Throwing away the rest of a line; `tail` keeps its last bytes to spot a literal
    /// announcement at its end, `probe` the first line's start while the tag is unknown.
    Skip {
        tail: Vec<u8>,
        probe: Option<Vec<u8>>,
        line_len: usize,
        error: Option<FrameErrorKind>,
    },
}

enum Step<'a, H> {
    /// Consumed this many bytes; go on.
    Continue(usize),
    /// Consumed this many bytes; report.
    Event(usize, FrameEvent<'a, H>),
}

/// The framer. `H` is the session's handle type for streamed literals.
///
/// A session's read loop, with APPEND messages streamed to a spool (here a `Vec`):
///
/// ```
/// use pillarbox_imap::proto::*;
///
/// let mut framer: Framer<usize> = Framer::default();
/// let mut spools: Vec<Vec<u8>> = Vec::new();
/// let mut replies: Vec<u8> = Vec::new();
/// let mut commands = Vec::new();
/// let mut input: &[u8] = b"a1 APPEND INBOX (\\Seen) {5}\r\nhello\r\na2 NOOP\r\n";
/// loop {
///     let adv = framer.advance(input);
///     match adv.event {
///         FrameEvent::NeedMore => break, // read more from the socket
///         FrameEvent::Literal(lit) => {
///             if lit.role == LiteralRole::AppendMessage {
///                 // Check APPENDLIMIT here; refuse with `NO [TOOBIG]` and reject_literal().
///                 spools.push(Vec::new());
///                 framer.accept_streamed(spools.len() - 1).unwrap();
///             } else if framer.accept_inline().is_err() {
///                 framer.reject_literal(); // and reply BAD [TOOBIG]
///                 continue;
///             }
///             if lit.synchronizing {
///                 replies.extend_from_slice(b"+ Ready for literal data\r\n");
///             }
///         }
///         FrameEvent::LiteralData(bytes) => spools.last_mut().unwrap().extend_from_slice(bytes),
///         FrameEvent::LiteralEnd => {} // fsync the spool file
///         FrameEvent::Command(framed) => commands.push(parse_command(framed)),
///         FrameEvent::Error { error, .. } => {
///             StatusResponse::bad(error.tag, error.kind.to_string())
///                 .encode(&mut replies, EncodeOptions::default());
///         }
///     }
///     input = &input[adv.consumed..];
/// }
/// assert_eq!(spools, [b"hello".to_vec()]);
/// let Ok(Command { body: CommandBody::Append(append), .. }) = &commands[0] else { panic!() };
/// assert_eq!(append.messages[0].data, LiteralData::Streamed(0));
/// assert_eq!(replies, b"+ Ready for literal data\r\n");
/// ```
#[derive(Debug)]
pub struct Framer<H> {
    config: FramerConfig,
    state: State,
    buf: Vec<u8>,
    line_start: usize,
    slots: Vec<LiteralSlot>,
    handles: Vec<H>,
    tag: Option<Tag>,
    raw_line: bool,
}

const TAIL: usize = 32;

impl<H> Framer<H> {
    /// A framer with the given caps.
    pub fn new(config: FramerConfig) -> Framer<H> {
        Framer {
            config,
            state: State::Line,
            buf: Vec::new(),
            line_start: 0,
            slots: Vec::new(),
            handles: Vec::new(),
            tag: None,
            raw_line: false,
        }
    }

    /// Makes the next line a plain client line rather than a command: it is reported
    /// as a [`FrameEvent::Command`] even when empty, and a `{n}` at its end is not a
    /// literal. For the lines of an AUTHENTICATE exchange (see
    /// [`super::parse_sasl_response`]) and IDLE's `DONE` ([`super::parse_idle_done`]).
    pub fn expect_line(&mut self) {
        self.raw_line = true;
    }

    /// The caps in force.
    pub fn config(&self) -> FramerConfig {
        self.config
    }

    /// Whether the framer is between commands (no partial command buffered).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Line) && self.buf.is_empty()
    }

    /// Consumes input up to the next event. Call it in a loop, dropping `consumed`
    /// bytes from the read buffer each time, until [`FrameEvent::NeedMore`].
    ///
    /// It stops right after a complete command, so bytes that follow (e.g. after
    /// STARTTLS or COMPRESS) stay in the session's buffer.
    pub fn advance<'a>(&mut self, input: &'a [u8]) -> Advance<'a, H> {
        let mut consumed = 0;
        loop {
            let rest = input.get(consumed..).unwrap_or_default();
            let step = match &mut self.state {
                State::Line => self.step_line(rest),
                State::Decide(announcement, _) => {
                    Step::Event(0, FrameEvent::Literal(announcement.clone()))
                }
                State::Inline { .. } => self.step_inline(rest),
                State::Stream { .. } => self.step_stream(rest),
                State::Discard { .. } => self.step_discard(rest),
                State::Skip { .. } => self.step_skip(rest),
            };
            match step {
                Step::Continue(0) if rest.is_empty() => {
                    return Advance {
                        consumed,
                        event: FrameEvent::NeedMore,
                    };
                }
                Step::Continue(n) => consumed += n,
                Step::Event(n, event) => {
                    return Advance {
                        consumed: consumed + n,
                        event,
                    };
                }
            }
        }
    }

    /// Keeps the announced literal in the command (for string arguments and small
    /// messages). Fails with [`DecisionError::TooLarge`] if it would exceed
    /// `max_command`: then reject it.
    pub fn accept_inline(&mut self) -> Result<(), DecisionError> {
        let State::Decide(announcement, at) = &self.state else {
            return Err(DecisionError::NoPendingLiteral);
        };
        if !announcement.fits_inline {
            return Err(DecisionError::TooLarge);
        }
        let start = self.buf.len();
        let size = announcement.size;
        self.slots.push(LiteralSlot {
            at: *at,
            start,
            end: start + usize::try_from(size).unwrap_or(usize::MAX - start),
            binary: announcement.binary,
            streamed: None,
        });
        self.state = State::Inline { remaining: size };
        Ok(())
    }

    /// Streams the announced literal: `advance` hands its octets out as
    /// [`FrameEvent::LiteralData`] then reports [`FrameEvent::LiteralEnd`]; the parsed
    /// command carries `handle` in its place.
    pub fn accept_streamed(&mut self, handle: H) -> Result<(), DecisionError> {
        let State::Decide(announcement, at) = &self.state else {
            return Err(DecisionError::NoPendingLiteral);
        };
        let start = self.buf.len();
        self.slots.push(LiteralSlot {
            at: *at,
            start,
            end: start,
            binary: announcement.binary,
            streamed: Some(self.handles.len()),
        });
        self.handles.push(handle);
        self.state = State::Stream {
            remaining: announcement.size,
        };
        Ok(())
    }

    /// Refuses the announced literal; the session replies NO or BAD itself. A
    /// synchronizing literal is never sent by the client; a non-synchronizing one is
    /// read and thrown away with the rest of its command. Returns the handles of
    /// literals the command had already streamed. Does nothing if no literal waits.
    pub fn reject_literal(&mut self) -> Vec<H> {
        let State::Decide(announcement, _) = &self.state else {
            return Vec::new();
        };
        self.state = if announcement.synchronizing {
            State::Line
        } else {
            State::Discard {
                remaining: announcement.size,
                error: None,
            }
        };
        self.reset().handles
    }

    fn reset(&mut self) -> FramedCommand<H> {
        self.line_start = 0;
        self.raw_line = false;
        FramedCommand {
            bytes: Bytes::from(mem::take(&mut self.buf)),
            slots: mem::take(&mut self.slots),
            handles: mem::take(&mut self.handles),
            tag: self.tag.take(),
        }
    }

    fn line_len(&self) -> usize {
        self.buf.len() - self.line_start
    }

    fn step_line<'a>(&mut self, rest: &'a [u8]) -> Step<'a, H> {
        let lf = rest.iter().position(|&b| b == b'\n');
        let chunk = lf.map_or(rest, |i| rest.get(..i).unwrap_or_default());
        // One byte of slack for the CR of CRLF.
        if self.line_len() + chunk.len() > self.config.max_line + 1 {
            return self.overflow(FrameErrorKind::LineTooLong);
        }
        if self.buf.len() + chunk.len() > self.config.max_command + 1 {
            return self.overflow(FrameErrorKind::CommandTooLong);
        }
        self.buf.extend_from_slice(chunk);
        let Some(i) = lf else {
            return Step::Continue(rest.len());
        };
        if self.buf.len() > self.line_start && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.line_len() > self.config.max_line || self.buf.len() > self.config.max_command {
            let kind = if self.line_len() > self.config.max_line {
                FrameErrorKind::LineTooLong
            } else {
                FrameErrorKind::CommandTooLong
            };
            return self.drop_command(i + 1, kind);
        }
        self.end_of_line(i + 1)
    }

    fn end_of_line<'a>(&mut self, consumed: usize) -> Step<'a, H> {
        if mem::take(&mut self.raw_line) {
            return Step::Event(consumed, FrameEvent::Command(self.reset()));
        }
        let first_line = self.slots.is_empty();
        if first_line {
            if self.buf.is_empty() {
                // Tolerated: an empty line between commands.
                return Step::Continue(consumed);
            }
            self.tag = scan_tag(&self.buf).map(|t| Tag(Bytes::copy_from_slice(t)));
        }
        let line = self.buf.get(self.line_start..).unwrap_or_default();
        match literal_suffix(line) {
            LineEnd::Plain => Step::Event(consumed, FrameEvent::Command(self.reset())),
            LineEnd::BadLiteralSize => self.drop_command(consumed, FrameErrorKind::LiteralSize),
            LineEnd::Literal(suffix) => {
                let at = self.line_start + suffix.at;
                let index = self.slots.len();
                let command = command_word(&self.buf);
                let role = if message_literal(&self.buf, at, index) {
                    LiteralRole::AppendMessage
                } else {
                    LiteralRole::Other
                };
                let fits_inline = usize::try_from(suffix.size)
                    .ok()
                    .and_then(|s| s.checked_add(self.buf.len()))
                    .is_some_and(|total| total <= self.config.max_command);
                let announcement = LiteralAnnouncement {
                    size: suffix.size,
                    synchronizing: suffix.sync,
                    binary: suffix.binary,
                    index,
                    tag: self.tag.clone(),
                    command: Bytes::copy_from_slice(command),
                    role,
                    fits_inline,
                };
                self.line_start = self.buf.len();
                self.state = State::Decide(announcement.clone(), at);
                Step::Event(consumed, FrameEvent::Literal(announcement))
            }
        }
    }

    /// Drops the command whose last line was just read completely.
    fn drop_command<'a>(&mut self, consumed: usize, kind: FrameErrorKind) -> Step<'a, H> {
        let line = self.buf.get(self.line_start..).unwrap_or_default();
        let line_len = line.len();
        let tail_len = line.len().min(TAIL);
        let tail = line
            .get(line.len() - tail_len..)
            .unwrap_or_default()
            .to_vec();
        let tag = self
            .tag
            .clone()
            .or_else(|| scan_tag(&self.buf).map(|t| Tag(Bytes::copy_from_slice(t))));
        // Reuse the skip logic: it handles a literal announced at the end of the line.
        self.tag = tag;
        self.buf.clear();
        self.line_start = 0;
        self.state = State::Skip {
            tail,
            probe: None,
            line_len,
            error: Some(kind),
        };
        match self.skip_line_end() {
            Step::Continue(_) => Step::Continue(consumed),
            Step::Event(_, e) => Step::Event(consumed, e),
        }
    }

    /// Starts skipping an over-long line that has not ended yet.
    fn overflow<'a>(&mut self, kind: FrameErrorKind) -> Step<'a, H> {
        let probe = (self.tag.is_none() && self.slots.is_empty()).then(|| {
            let head = self.buf.get(..self.buf.len().min(MAX_TAG + 1));
            head.unwrap_or_default().to_vec()
        });
        // Keep the end of what was buffered: the line may end in a literal announcement.
        let line = self.buf.get(self.line_start..).unwrap_or_default();
        let tail = line
            .get(line.len().saturating_sub(TAIL)..)
            .unwrap_or_default()
            .to_vec();
        let line_len = line.len();
        self.buf.clear();
        self.line_start = 0;
        self.state = State::Skip {
            tail,
            probe,
            line_len,
            error: Some(kind),
        };
        Step::Continue(0)
    }

    fn step_skip<'a>(&mut self, rest: &'a [u8]) -> Step<'a, H> {
        let State::Skip {
            tail,
            probe,
            line_len,
            ..
        } = &mut self.state
        else {
            return Step::Continue(0);
        };
        let lf = rest.iter().position(|&b| b == b'\n');
        let chunk = lf.map_or(rest, |i| rest.get(..i).unwrap_or_default());
        *line_len = line_len.saturating_add(chunk.len());
        if let Some(head) = probe {
            let want = (MAX_TAG + 1).saturating_sub(head.len());
            head.extend_from_slice(chunk.get(..want.min(chunk.len())).unwrap_or_default());
            if lf.is_some() || head.len() > MAX_TAG || head.contains(&b' ') {
                self.tag = scan_tag(head).map(|t| Tag(Bytes::copy_from_slice(t)));
                *probe = None;
            }
        }
        tail.extend_from_slice(
            chunk
                .get(chunk.len().saturating_sub(TAIL)..)
                .unwrap_or_default(),
        );
        if tail.len() > TAIL {
            tail.drain(..tail.len() - TAIL);
        }
        let Some(i) = lf else {
            return Step::Continue(rest.len());
        };
        if tail.last() == Some(&b'\r') {
            tail.pop();
            *line_len = line_len.saturating_sub(1);
        }
        match self.skip_line_end() {
            Step::Continue(_) => Step::Continue(i + 1),
            Step::Event(_, e) => Step::Event(i + 1, e),
        }
    }

    /// At the end of a skipped line: go on discarding a non-synchronizing literal, or
    /// finish the command (reporting the error if there is one).
    fn skip_line_end<'a>(&mut self) -> Step<'a, H> {
        let State::Skip {
            tail,
            error,
            line_len,
            ..
        } = &mut self.state
        else {
            return Step::Continue(0);
        };
        // Which cap a line broke does not depend on where the input was cut: a line
        // over `max_line` is reported as such even if the command cap tripped first.
        let error = match *error {
            Some(FrameErrorKind::CommandTooLong) if *line_len > self.config.max_line => {
                Some(FrameErrorKind::LineTooLong)
            }
            e => e,
        };
        if let LineEnd::Literal(suffix) = literal_suffix(tail)
            && !suffix.sync
        {
            self.state = State::Discard {
                remaining: suffix.size,
                error,
            };
            return Step::Continue(0);
        }
        self.state = State::Line;
        let dropped = self.reset();
        match error {
            None => Step::Continue(0),
            Some(kind) => Step::Event(
                0,
                FrameEvent::Error {
                    error: FrameError {
                        tag: dropped.tag,
                        kind,
                    },
                    discarded: dropped.handles,
                },
            ),
        }
    }

    fn step_discard<'a>(&mut self, rest: &'a [u8]) -> Step<'a, H> {
        let State::Discard { remaining, error } = &mut self.state else {
            return Step::Continue(0);
        };
        let n = take_len(*remaining, rest.len());
        *remaining -= n as u64;
        if *remaining == 0 {
            let error = *error;
            self.state = State::Skip {
                tail: Vec::new(),
                probe: None,
                line_len: 0,
                error,
            };
        }
        Step::Continue(n)
    }

    fn step_inline<'a>(&mut self, rest: &'a [u8]) -> Step<'a, H> {
        let State::Inline { remaining } = &mut self.state else {
            return Step::Continue(0);
        };
        let n = take_len(*remaining, rest.len());
        *remaining -= n as u64;
        let done = *remaining == 0;
        self.buf
            .extend_from_slice(rest.get(..n).unwrap_or_default());
        if done {
            self.state = State::Line;
            self.line_start = self.buf.len();
        }
        Step::Continue(n)
    }

    fn step_stream<'a>(&mut self, rest: &'a [u8]) -> Step<'a, H> {
        let State::Stream { remaining } = &mut self.state else {
            return Step::Continue(0);
        };
        if *remaining == 0 {
            self.state = State::Line;
            self.line_start = self.buf.len();
            return Step::Event(0, FrameEvent::LiteralEnd);
        }
        let n = take_len(*remaining, rest.len());
        if n == 0 {
            return Step::Continue(0);
        }
        *remaining -= n as u64;
        Step::Event(
            n,
            FrameEvent::LiteralData(rest.get(..n).unwrap_or_default()),
        )
    }
}

impl<H> Default for Framer<H> {
    fn default() -> Framer<H> {
        Framer::new(FramerConfig::default())
    }
}

fn take_len(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}
