//! Tokens of a framed command: atoms, numbers, quoted strings, literals, astrings,
//! nstrings, mailbox names, flags, dates, sequence sets and parenthesised lists
//! (RFC 9051 §4 and §9).
//!
//! The lexer walks the bytes the [`super::Framer`] collected and the literal slots it
//! recorded; strings are returned as zero-copy slices of the command buffer unless
//! unescaping forces a copy. It never allocates per token otherwise, never panics on any
//! input, and does no I/O.

use bytes::Bytes;

use super::datetime::{Date, DateTime};
use super::error::{ParseError, ParseErrorKind as K};
use super::flag::Flag;
use super::mailbox::Mailbox;
use super::sequence::{SequenceError, SequenceSet};

/// RFC 9051 §9 `CTL`.
fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// RFC 9051 §9 `ATOM-CHAR`: any 7-bit CHAR except `atom-specials`.
pub(crate) fn is_atom_char(b: u8) -> bool {
    b.is_ascii()
        && !is_ctl(b)
        && !matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

/// RFC 9051 §9 `ASTRING-CHAR = ATOM-CHAR / resp-specials`, leniently also 8-bit bytes
/// (clients in UTF-8 mode send unquoted UTF-8 names; it is unambiguous).
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']' || b >= 0x80
}

/// RFC 9051 §9 `tag = 1*<any ASTRING-CHAR except "+">` (7-bit only).
pub(crate) fn is_tag_char(b: u8) -> bool {
    (is_atom_char(b) || b == b']') && b != b'+'
}

/// RFC 9051 §9 `list-char = ATOM-CHAR / list-wildcards / resp-specials` (plus 8-bit).
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// Longest tag the framer reports for error replies (the parser takes any length).
pub(crate) const MAX_TAG: usize = 255;

/// The RFC 9051 §9 `tag` at the start of a line, if one is followed by a space within the first
/// `MAX_TAG + 1` bytes.
pub(crate) fn scan_tag(line: &[u8]) -> Option<&[u8]> {
    let head = line.get(..line.len().min(MAX_TAG + 1)).unwrap_or_default();
    let end = head.iter().position(|&b| b == b' ')?;
    let tag = line.get(..end)?;
    (!tag.is_empty() && tag.iter().all(|&b| is_tag_char(b))).then_some(tag)
}

/// Where the framer put one literal in the command buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiteralSlot {
    /// Offset of the announcement (`{` or `~`).
    pub at: usize,
    /// Offset of the octets (just after the announcement's `}`).
    pub start: usize,
    /// End of the octets; equal to `start` for a streamed literal.
    pub end: usize,
    /// `~{n}` (literal8).
    pub binary: bool,
    /// Index of the session's handle, for a streamed literal.
    pub streamed: Option<usize>,
}

/// A literal's contents as the lexer sees them.
pub(crate) enum LiteralToken {
    Inline(Bytes),
    Streamed(usize),
}

/// An uppercased keyword in a stack buffer, for `match`ing without allocating.
pub(crate) struct Upper {
    buf: [u8; 24],
    len: usize,
}

impl Upper {
    pub(crate) fn new(s: &[u8]) -> Upper {
        let mut up = Upper {
            buf: [0; 24],
            len: 0,
        };
        // Longer words match nothing: leave them empty.
        if s.len() <= up.buf.len() {
            for (d, s) in up.buf.iter_mut().zip(s) {
                *d = s.to_ascii_uppercase();
            }
            up.len = s.len();
        }
        up
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

/// A cursor over one framed command.
pub(crate) struct Lexer<'a> {
    buf: &'a Bytes,
    pos: usize,
    slots: &'a [LiteralSlot],
    next_slot: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(buf: &'a Bytes, slots: &'a [LiteralSlot]) -> Lexer<'a> {
        Lexer {
            buf,
            pos: 0,
            slots,
            next_slot: 0,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// A position to come back to with [`Lexer::reset`].
    pub(crate) fn mark(&self) -> (usize, usize) {
        (self.pos, self.next_slot)
    }

    /// Goes back to a [`Lexer::mark`].
    pub(crate) fn reset(&mut self, mark: (usize, usize)) {
        (self.pos, self.next_slot) = mark;
    }

    /// An error of `kind` at the current position.
    pub(crate) fn err(&self, kind: K, reason: &'static str) -> ParseError {
        ParseError::new(kind, reason, self.pos)
    }

    /// `Syntax`, or `UnexpectedEnd` when the input is exhausted.
    pub(crate) fn expected(&self, reason: &'static str) -> ParseError {
        if self.at_end() {
            self.err(K::UnexpectedEnd, reason)
        } else {
            self.err(K::Syntax, reason)
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.buf.get(self.pos + ahead).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn slice(&self, start: usize, end: usize) -> Bytes {
        if start <= end && end <= self.buf.len() {
            self.buf.slice(start..end)
        } else {
            Bytes::new()
        }
    }

    fn bytes(&self, start: usize, end: usize) -> &'a [u8] {
        self.buf.get(start..end).unwrap_or_default()
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, reason: &'static str) -> Result<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.expected(reason))
        }
    }

    /// Consumes a run of spaces, returning how many.
    pub(crate) fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    /// RFC 9051 §9 `SP`; a run of spaces is tolerated.
    pub(crate) fn sp(&mut self) -> Result<()> {
        if self.skip_spaces() == 0 {
            return Err(self.expected("expected a space"));
        }
        Ok(())
    }

    /// Whether a space and something other than the end of the command follow: the
    /// test for an optional `SP item`. Consumes the spaces only then.
    pub(crate) fn sp_then_more(&mut self) -> bool {
        let save = self.pos;
        if self.skip_spaces() > 0 && !self.at_end() {
            return true;
        }
        self.pos = save;
        false
    }

    /// The command's end, after tolerated trailing spaces.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.skip_spaces();
        if self.at_end() {
            Ok(())
        } else {
            Err(self.err(K::TrailingData, "unexpected characters after the command"))
        }
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.bytes(start, self.pos)
    }

    /// The bytes matching `pred`, shared (possibly empty).
    pub(crate) fn take_bytes(&mut self, pred: impl Fn(u8) -> bool) -> Bytes {
        let start = self.pos;
        self.take_while(pred);
        self.slice(start, self.pos)
    }

    /// RFC 9051 §9 `atom`.
    pub(crate) fn atom(&mut self) -> Result<&'a [u8]> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return Err(self.expected("expected an atom"));
        }
        Ok(a)
    }

    /// An atom, shared.
    pub(crate) fn atom_bytes(&mut self) -> Result<Bytes> {
        let start = self.pos;
        self.atom()?;
        Ok(self.slice(start, self.pos))
    }

    /// A keyword: letters, digits, `.`, `-`, `=`, `$`, uppercased for matching.
    pub(crate) fn keyword(&mut self) -> Result<Upper> {
        let w = self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'='));
        if w.is_empty() {
            return Err(self.expected("expected a keyword"));
        }
        Ok(Upper::new(w))
    }

    /// Consumes `word` (case-insensitively) if it is the next keyword.
    pub(crate) fn eat_keyword(&mut self, word: &[u8]) -> bool {
        let save = self.pos;
        match self.keyword() {
            Ok(k) if k.as_bytes() == word => true,
            _ => {
                self.pos = save;
                false
            }
        }
    }

    fn digits(&mut self) -> Result<&'a [u8]> {
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.is_empty() {
            return Err(self.expected("expected a number"));
        }
        Ok(d)
    }

    /// RFC 9051 §9 `number64` (0 ..= 2^63-1).
    pub(crate) fn number64(&mut self) -> Result<u64> {
        let start = self.pos;
        let d = self.digits()?;
        d.iter()
            .try_fold(0u64, |n, &b| {
                n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            })
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or(ParseError::new(K::Number, "number out of range", start))
    }

    /// RFC 9051 §9 `number` (32-bit).
    pub(crate) fn number(&mut self) -> Result<u32> {
        let start = self.pos;
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| ParseError::new(K::Number, "number out of range", start))
    }

    /// RFC 9051 §9 `nz-number`.
    pub(crate) fn nz_number(&mut self) -> Result<u32> {
        let start = self.pos;
        if self.peek() == Some(b'0') {
            return Err(ParseError::new(
                K::Number,
                "expected a non-zero number",
                start,
            ));
        }
        self.number()
    }

    /// RFC 9051 §9 `nz-number64`.
    pub(crate) fn nz_number64(&mut self) -> Result<u64> {
        let start = self.pos;
        if self.peek() == Some(b'0') {
            return Err(ParseError::new(
                K::Number,
                "expected a non-zero number",
                start,
            ));
        }
        self.number64()
    }

    /// RFC 9051 §9 `quoted`. 8-bit octets are accepted (UTF-8 in IMAP4rev2 and after
    /// UTF8=ACCEPT; raw charsets from older clients).
    pub(crate) fn quoted(&mut self) -> Result<Bytes> {
        self.expect(b'"', "expected a quoted string")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return Err(self.err(K::QuotedString, "unterminated quoted string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    if !matches!(self.peek_at(1), Some(b'"' | b'\\')) {
                        return Err(self.err(K::QuotedString, "invalid escape in quoted string"));
                    }
                    escaped = true;
                    self.pos += 2;
                }
                Some(b'\r' | b'\n' | 0) => {
                    return Err(self.err(K::QuotedString, "CR, LF or NUL in quoted string"));
                }
                Some(_) => self.pos += 1,
            }
        }
        let end = self.pos;
        self.pos += 1;
        if !escaped {
            return Ok(self.slice(start, end));
        }
        let raw = self.bytes(start, end);
        let mut out = Vec::with_capacity(raw.len());
        let mut iter = raw.iter();
        while let Some(&b) = iter.next() {
            out.push(if b == b'\\' {
                iter.next().copied().unwrap_or(b)
            } else {
                b
            });
        }
        Ok(Bytes::from(out))
    }

    /// RFC 9051 §9 `literal` / `literal8`: `{n}`, `{n+}`, `~{n}` as recorded by the
    /// framer. Returns the contents and whether it was literal8.
    pub(crate) fn literal(&mut self) -> Result<(LiteralToken, bool)> {
        let slot = match self.slots.get(self.next_slot) {
            Some(slot) if slot.at == self.pos => *slot,
            _ => return Err(self.expected("expected a literal at the end of a line")),
        };
        self.next_slot += 1;
        self.pos = slot.end;
        let token = match slot.streamed {
            Some(index) => LiteralToken::Streamed(index),
            None => LiteralToken::Inline(self.slice(slot.start, slot.end)),
        };
        Ok((token, slot.binary))
    }

    fn inline_literal(&mut self) -> Result<Bytes> {
        let start = self.pos;
        match self.literal()? {
            (_, true) => Err(ParseError::new(
                K::Literal,
                "literal8 is not allowed here",
                start,
            )),
            (LiteralToken::Streamed(_), _) => Err(ParseError::new(
                K::Literal,
                "a streamed literal is only allowed for an APPEND message",
                start,
            )),
            (LiteralToken::Inline(b), false) => Ok(b),
        }
    }

    /// RFC 9051 §9 `string = quoted / literal`.
    pub(crate) fn string(&mut self) -> Result<Bytes> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{' | b'~') => self.inline_literal(),
            _ => Err(self.expected("expected a string")),
        }
    }

    /// RFC 9051 §9 `astring = 1*ASTRING-CHAR / string`.
    pub(crate) fn astring(&mut self) -> Result<Bytes> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            Some(b'~') if self.peek_at(1) == Some(b'{') => self.string(),
            _ => {
                let start = self.pos;
                if self.take_while(is_astring_char).is_empty() {
                    return Err(self.expected("expected a string or atom"));
                }
                Ok(self.slice(start, self.pos))
            }
        }
    }

    /// RFC 9051 §9 `nstring = string / nil`.
    pub(crate) fn nstring(&mut self) -> Result<Option<Bytes>> {
        if matches!(self.peek(), Some(b'n' | b'N')) {
            let a = self.atom()?;
            if a.eq_ignore_ascii_case(b"NIL") {
                return Ok(None);
            }
            return Err(self.err(K::Syntax, "expected a string or NIL"));
        }
        self.string().map(Some)
    }

    /// RFC 9051 §9 `mailbox = "INBOX" / astring`, INBOX normalised.
    pub(crate) fn mailbox(&mut self) -> Result<Mailbox> {
        self.astring().map(Mailbox::new)
    }

    /// RFC 9051 §9 `list-mailbox = 1*list-char / string`. `~` is a `list-char`
    /// (`ATOM-CHAR`): only `~{` opens a literal8, which `string` then refuses.
    pub(crate) fn list_mailbox(&mut self) -> Result<Bytes> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            Some(b'~') if self.peek_at(1) == Some(b'{') => self.string(),
            _ => {
                let start = self.pos;
                if self.take_while(is_list_char).is_empty() {
                    return Err(self.expected("expected a mailbox pattern"));
                }
                Ok(self.slice(start, self.pos))
            }
        }
    }

    /// RFC 9051 §9 `sequence-set`, RFC 5182 §2.1 `"$"`.
    pub(crate) fn sequence_set(&mut self) -> Result<SequenceSet> {
        let start = self.pos;
        let token =
            self.take_while(|b| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*' | b'$'));
        SequenceSet::parse(token).map_err(|e| {
            let (kind, reason) = match e {
                SequenceError::Empty if self.at_end() => {
                    (K::UnexpectedEnd, "expected a sequence set")
                }
                SequenceError::Empty => (K::SequenceSet, "expected a sequence set"),
                SequenceError::Zero => (K::SequenceSet, "0 is not a valid message number"),
                SequenceError::Overflow => (K::SequenceSet, "message number out of range"),
                SequenceError::Syntax => (K::SequenceSet, "malformed sequence set"),
            };
            ParseError::new(kind, reason, start)
        })
    }

    /// RFC 9051 §9 `date = date-text / DQUOTE date-text DQUOTE`.
    pub(crate) fn date(&mut self) -> Result<Date> {
        let start = self.pos;
        let quoted = self.eat(b'"');
        let text = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'-');
        if quoted && !self.eat(b'"') {
            return Err(ParseError::new(K::Date, "malformed date", start));
        }
        Date::parse(text).ok_or(ParseError::new(K::Date, "malformed date", start))
    }

    /// RFC 9051 §9 `date-time` (always quoted).
    pub(crate) fn date_time(&mut self) -> Result<DateTime> {
        let start = self.pos;
        let text = self.quoted()?;
        DateTime::parse(&text).ok_or(ParseError::new(K::Date, "malformed date-time", start))
    }

    /// RFC 9051 §9 `flag`: `\Answered` … `\Draft`, `flag-keyword`, `flag-extension`.
    pub(crate) fn flag(&mut self) -> Result<Flag> {
        let start = self.pos;
        let backslash = self.eat(b'\\');
        let name = self.take_while(is_atom_char);
        if name.is_empty() && !backslash {
            return Err(self.expected("expected a flag"));
        }
        Flag::from_token(self.slice(start, self.pos)).ok_or(ParseError::new(
            K::Flag,
            "invalid flag",
            start,
        ))
    }

    /// RFC 9051 §9 `flag-list = "(" [flag *(SP flag)] ")"`.
    pub(crate) fn flag_list(&mut self) -> Result<Vec<Flag>> {
        self.paren_list(true, |lx| lx.flag())
    }

    /// `"(" item *(SP item) ")"`, tolerating spaces after `(`, before `)` and runs of
    /// spaces between items. `allow_empty` admits `()`.
    pub(crate) fn paren_list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Lexer<'a>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.expect(b'(', "expected '('")?;
        self.skip_spaces();
        let mut items = Vec::new();
        if self.eat(b')') {
            if !allow_empty {
                return Err(self.err(K::Syntax, "empty list"));
            }
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            let spaces = self.skip_spaces();
            if self.eat(b')') {
                return Ok(items);
            }
            if spaces == 0 {
                return Err(self.expected("expected a space or ')'"));
            }
        }
    }
}
