//! IMAP server responses as a client reads them (RFC 9051 §7, RFC 3501 §7): framing
//! (where one response ends, literals included), then the parts a collecting client
//! needs: tagged and untagged status responses with their response codes, CAPABILITY,
//! EXISTS/RECENT/EXPUNGE, FLAGS, SEARCH, FETCH (UID, RFC822.SIZE, FLAGS, INTERNALDATE,
//! MODSEQ, `BODY[]`/`RFC822` content) and `+` continuations. Everything else is kept as
//! text or skipped structurally.
//!
//! Pure: bytes in, typed values or [`ResponseError`] out; no I/O. Never panics on any
//! input, never recurses without a depth bound, and never accepts a line or a literal
//! above its limits, so a hostile server cannot make us buffer without end.

use std::fmt;

/// Longest line (between literals) accepted, line end included.
pub const MAX_LINE: usize = 64 * 1024;
/// Deepest parenthesised nesting skipped (BODYSTRUCTURE of deeply nested messages).
const MAX_DEPTH: usize = 64;

/// Why bytes from the server are not a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("response line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("literal of {0} bytes is above the limit")]
    LiteralTooLarge(u64),
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// Where the first response in a buffer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole response of this many bytes (line end included) is buffered.
    Complete(usize),
    /// More bytes are needed; when known, how many the buffer must hold in total
    /// before it is worth looking again (the end of an announced literal).
    Incomplete(Option<usize>),
}

/// Finds the end of the first response in `buf`, skipping over literals (`{n}` at the
/// end of a line announces `n` raw bytes that may contain anything).
pub fn frame(buf: &[u8], max_literal: u64) -> Result<Frame, ResponseError> {
    let mut pos = 0usize;
    loop {
        let rest = &buf[pos..];
        let window = &rest[..rest.len().min(MAX_LINE)];
        let Some(nl) = memchr::memchr(b'\n', window) else {
            if rest.len() >= MAX_LINE {
                return Err(ResponseError::LineTooLong);
            }
            return Ok(Frame::Incomplete(None));
        };
        let line = &rest[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match literal_announcement(line) {
            Some(n) => {
                if n > max_literal {
                    return Err(ResponseError::LiteralTooLarge(n));
                }
                let end = (pos + nl + 1).saturating_add(n as usize);
                if buf.len() < end {
                    return Ok(Frame::Incomplete(Some(end)));
                }
                pos = end;
            }
            None => return Ok(Frame::Complete(pos + nl + 1)),
        }
    }
}

/// `{123}`, `{123+}` or `~{123}` at the end of a line: the literal's length.
fn literal_announcement(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', inner)?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The status of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        })
    }
}

/// A response code (`[...]` after the status, RFC 9051 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Capability(Vec<String>),
    UidValidity(u32),
    UidNext(u32),
    Unseen(u32),
    HighestModseq(u64),
    ReadOnly,
    ReadWrite,
    /// Any other code, name upper-cased, with its argument text.
    Other {
        name: String,
        text: String,
    },
}

impl Code {
    /// The code's name (`AUTHENTICATIONFAILED`, `UIDVALIDITY`, ...).
    pub fn name(&self) -> &str {
        match self {
            Code::Capability(_) => "CAPABILITY",
            Code::UidValidity(_) => "UIDVALIDITY",
            Code::UidNext(_) => "UIDNEXT",
            Code::Unseen(_) => "UNSEEN",
            Code::HighestModseq(_) => "HIGHESTMODSEQ",
            Code::ReadOnly => "READ-ONLY",
            Code::ReadWrite => "READ-WRITE",
            Code::Other { name, .. } => name,
        }
    }
}

/// A status line: tagged completion, or untagged OK/NO/BAD/PREAUTH/BYE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub status: Status,
    pub code: Option<Code>,
    pub text: String,
}

impl fmt::Display for StatusLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(c) = &self.code {
            match c {
                Code::Other { name, text } if !text.is_empty() => write!(f, " [{name} {text}]")?,
                c => write!(f, " [{}]", c.name())?,
            }
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// The attributes of one FETCH response a collecting client uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchAttrs {
    pub uid: Option<u32>,
    pub size: Option<u64>,
    pub flags: Option<Vec<String>>,
    /// As sent, e.g. `17-Jul-1996 02:44:25 -0700`.
    pub internal_date: Option<String>,
    pub modseq: Option<u64>,
    /// `BODY[]` (or `RFC822`, `BINARY[]`) content; `Some(empty)` for NIL.
    pub body: Option<Vec<u8>>,
}

/// An untagged response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untagged {
    Status(StatusLine),
    Capability(Vec<String>),
    Exists(u32),
    Recent(u32),
    Expunge(u32),
    Flags(Vec<String>),
    Search(Vec<u32>),
    Fetch {
        seq: u32,
        attrs: FetchAttrs,
    },
    /// LIST, STATUS, ENABLED, ID, NAMESPACE, ESEARCH, ...: keyword and the rest.
    Other {
        keyword: String,
        text: String,
    },
}

/// One server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `+ text` (a base64 SASL challenge during AUTHENTICATE).
    Continue(String),
    Tagged {
        tag: String,
        status: StatusLine,
    },
    Untagged(Untagged),
}

/// Parses one complete response as delimited by [`frame`].
pub fn parse(resp: &[u8]) -> Result<Response, ResponseError> {
    let mut c = Cursor { b: resp, pos: 0 };
    if c.eat(b'+') {
        c.eat(b' ');
        return Ok(Response::Continue(c.rest_of_line()));
    }
    if c.eat(b'*') {
        c.sp()?;
        return untagged(&mut c).map(Response::Untagged);
    }
    let tag = c.atom()?;
    if tag.is_empty() {
        return Err(c.error("expected a tag, * or +"));
    }
    let tag = String::from_utf8_lossy(tag).into_owned();
    c.sp()?;
    let status = status_line(&mut c)?;
    Ok(Response::Tagged { tag, status })
}

fn status_of(word: &[u8]) -> Option<Status> {
    Some(match word.to_ascii_uppercase().as_slice() {
        b"OK" => Status::Ok,
        b"NO" => Status::No,
        b"BAD" => Status::Bad,
        b"PREAUTH" => Status::PreAuth,
        b"BYE" => Status::Bye,
        _ => return None,
    })
}

fn status_line(c: &mut Cursor<'_>) -> Result<StatusLine, ResponseError> {
    let word = c.atom()?;
    let status = status_of(word).ok_or_else(|| c.error("expected OK, NO, BAD, PREAUTH or BYE"))?;
    c.eat(b' ');
    let code = if c.peek() == Some(b'[') {
        let code = resp_code(c)?;
        c.eat(b' ');
        Some(code)
    } else {
        None
    };
    Ok(StatusLine {
        status,
        code,
        text: c.rest_of_line(),
    })
}

fn resp_code(c: &mut Cursor<'_>) -> Result<Code, ResponseError> {
    c.expect(b'[')?;
    let start = c.pos;
    let Some(len) = memchr::memchr(b']', &c.b[start..]) else {
        return Err(c.error("unterminated response code"));
    };
    let inner = &c.b[start..start + len];
    c.pos = start + len + 1;
    let text = String::from_utf8_lossy(inner);
    let (name, arg) = match text.split_once(' ') {
        Some((n, a)) => (n.to_ascii_uppercase(), a.trim().to_string()),
        None => (text.to_ascii_uppercase(), String::new()),
    };
    let num = |s: &str| s.parse::<u64>().ok();
    Ok(match name.as_str() {
        "CAPABILITY" => Code::Capability(words(&arg)),
        "UIDVALIDITY" => match num(&arg).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Code::UidValidity(n),
            None => Code::Other { name, text: arg },
        },
        "UIDNEXT" => match num(&arg).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Code::UidNext(n),
            None => Code::Other { name, text: arg },
        },
        "UNSEEN" => match num(&arg).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Code::Unseen(n),
            None => Code::Other { name, text: arg },
        },
        "HIGHESTMODSEQ" => match num(&arg) {
            Some(n) => Code::HighestModseq(n),
            None => Code::Other { name, text: arg },
        },
        "READ-ONLY" => Code::ReadOnly,
        "READ-WRITE" => Code::ReadWrite,
        _ => Code::Other { name, text: arg },
    })
}

fn words(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_string).collect()
}

fn untagged(c: &mut Cursor<'_>) -> Result<Untagged, ResponseError> {
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let n = c.number()?;
        let n = u32::try_from(n).map_err(|_| c.error("message number out of range"))?;
        c.sp()?;
        let word = c.atom()?.to_ascii_uppercase();
        return match word.as_slice() {
            b"EXISTS" => Ok(Untagged::Exists(n)),
            b"RECENT" => Ok(Untagged::Recent(n)),
            b"EXPUNGE" => Ok(Untagged::Expunge(n)),
            b"FETCH" => {
                c.sp()?;
                Ok(Untagged::Fetch {
                    seq: n,
                    attrs: fetch_attrs(c)?,
                })
            }
            _ => Ok(Untagged::Other {
                keyword: String::from_utf8_lossy(&word).into_owned(),
                text: c.rest_of_line(),
            }),
        };
    }
    let start = c.pos;
    let word = c.atom()?.to_ascii_uppercase();
    if status_of(&word).is_some() {
        c.pos = start;
        return status_line(c).map(Untagged::Status);
    }
    c.eat(b' ');
    match word.as_slice() {
        b"CAPABILITY" => Ok(Untagged::Capability(words(&c.rest_of_line()))),
        b"FLAGS" => Ok(Untagged::Flags(flag_list(c)?)),
        b"SEARCH" => {
            let mut uids = Vec::new();
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                let n = c.number()?;
                uids.push(u32::try_from(n).map_err(|_| c.error("number out of range"))?);
                c.eat(b' ');
            }
            // Anything else (a CONDSTORE `(MODSEQ n)`) is ignored.
            Ok(Untagged::Search(uids))
        }
        _ => Ok(Untagged::Other {
            keyword: String::from_utf8_lossy(&word).into_owned(),
            text: c.rest_of_line(),
        }),
    }
}

fn flag_list(c: &mut Cursor<'_>) -> Result<Vec<String>, ResponseError> {
    c.expect(b'(')?;
    let mut flags = Vec::new();
    loop {
        match c.peek() {
            Some(b')') => {
                c.pos += 1;
                return Ok(flags);
            }
            Some(b' ') => c.pos += 1,
            Some(_) => {
                let f = c.atom()?;
                if f.is_empty() {
                    return Err(c.error("bad flag"));
                }
                flags.push(String::from_utf8_lossy(f).into_owned());
            }
            None => return Err(c.error("unterminated flag list")),
        }
    }
}

/// RFC 9051 §7.5.2 msg-att: `(` item *(SP item) `)`.
fn fetch_attrs(c: &mut Cursor<'_>) -> Result<FetchAttrs, ResponseError> {
    let mut a = FetchAttrs::default();
    c.expect(b'(')?;
    loop {
        match c.peek() {
            Some(b')') => {
                c.pos += 1;
                return Ok(a);
            }
            Some(b' ') => {
                c.pos += 1;
                continue;
            }
            None => return Err(c.error("unterminated FETCH attributes")),
            Some(_) => {}
        }
        let name = c.fetch_item_name()?.to_ascii_uppercase();
        c.sp()?;
        match name.as_slice() {
            b"UID" => {
                let n = c.number()?;
                a.uid = Some(u32::try_from(n).map_err(|_| c.error("UID out of range"))?);
            }
            b"RFC822.SIZE" => a.size = Some(c.number()?),
            b"FLAGS" => a.flags = Some(flag_list(c)?),
            b"INTERNALDATE" => {
                a.internal_date = c
                    .nstring()?
                    .map(|d| String::from_utf8_lossy(&d).into_owned())
            }
            b"MODSEQ" => {
                c.expect(b'(')?;
                a.modseq = Some(c.number()?);
                c.expect(b')')?;
            }
            b"BODY[]" | b"RFC822" | b"BINARY[]" | b"BODY[]<0>" | b"BINARY[]<0>" => {
                a.body = Some(c.nstring()?.unwrap_or_default());
            }
            _ => c.skip_value(0)?,
        }
    }
}

/// A read position in one response.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), ResponseError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {:?}", byte as char)))
        }
    }

    fn sp(&mut self) -> Result<(), ResponseError> {
        self.expect(b' ')
    }

    fn error(&self, what: &str) -> ResponseError {
        let end = self.b.len().min(self.pos + 40);
        let near = String::from_utf8_lossy(&self.b[self.pos.min(end)..end]);
        ResponseError::Malformed(format!("{what} at byte {} near {near:?}", self.pos))
    }

    /// An atom (may include `\` for flags, `.`, `-`); stops at SP, parens, brackets,
    /// quotes, braces and line ends. Empty when none is there.
    fn atom(&mut self) -> Result<&[u8], ResponseError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if matches!(
                b,
                b' ' | b'(' | b')' | b'[' | b']' | b'{' | b'"' | b'\r' | b'\n'
            ) || b < 0x20
                || b == 0x7f
            {
                break;
            }
            self.pos += 1;
        }
        Ok(&self.b[start..self.pos])
    }

    fn number(&mut self) -> Result<u64, ResponseError> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = &self.b[start..self.pos];
        if digits.is_empty() || digits.len() > 19 {
            return Err(self.error("expected a number"));
        }
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.error("expected a number"))
    }

    /// A FETCH item name with its bracketed section and `<origin>`:
    /// `BODY[HEADER.FIELDS (A B)]<0>`.
    fn fetch_item_name(&mut self) -> Result<Vec<u8>, ResponseError> {
        let mut name = self.atom()?.to_vec();
        if self.peek() == Some(b'[') {
            let start = self.pos;
            let Some(len) = memchr::memchr(b']', &self.b[start..]) else {
                return Err(self.error("unterminated section"));
            };
            self.pos = start + len + 1;
            name.extend_from_slice(&self.b[start..self.pos]);
            if self.peek() == Some(b'<') {
                let start = self.pos;
                let Some(len) = memchr::memchr(b'>', &self.b[start..]) else {
                    return Err(self.error("unterminated origin"));
                };
                self.pos = start + len + 1;
                name.extend_from_slice(&self.b[start..self.pos]);
            }
        }
        if name.is_empty() {
            return Err(self.error("expected a FETCH item"));
        }
        Ok(name)
    }

    /// nstring: NIL, a quoted string or a literal (also `~{n}` literal8).
    fn nstring(&mut self) -> Result<Option<Vec<u8>>, ResponseError> {
        match self.peek() {
            Some(b'"') => self.quoted().map(Some),
            Some(b'{') | Some(b'~') => self.literal().map(Some),
            _ => {
                let word = self.atom()?;
                if word.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    Err(self.error("expected a string or NIL"))
                }
            }
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, ResponseError> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if b != b'\r' && b != b'\n' => {
                            out.push(b);
                            self.pos += 1;
                        }
                        _ => return Err(self.error("bad escape in quoted string")),
                    }
                }
                Some(b'\r') | Some(b'\n') | None => {
                    return Err(self.error("unterminated quoted string"));
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Vec<u8>, ResponseError> {
        self.eat(b'~');
        self.expect(b'{')?;
        let n = self.number()?;
        self.eat(b'+');
        self.expect(b'}')?;
        self.eat(b'\r');
        self.expect(b'\n')?;
        let n = usize::try_from(n).map_err(|_| self.error("literal too large"))?;
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.error("literal runs past the response"))?;
        let data = self.b[self.pos..end].to_vec();
        self.pos = end;
        Ok(data)
    }

    /// Skips one value of any shape: a parenthesised list, a string, a literal, a
    /// number or an atom (with a bracketed part).
    fn skip_value(&mut self, depth: usize) -> Result<(), ResponseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        Some(b' ') => self.pos += 1,
                        None | Some(b'\r') | Some(b'\n') => {
                            return Err(self.error("unterminated list"));
                        }
                        Some(_) => self.skip_value(depth + 1)?,
                    }
                }
            }
            Some(b'"') => self.quoted().map(drop),
            Some(b'{') | Some(b'~') => self.literal().map(drop),
            Some(_) => {
                let before = self.pos;
                self.fetch_item_name()
                    .map_err(|_| {
                        self.pos = before;
                        self.error("expected a value")
                    })
                    .map(drop)
            }
            None => Err(self.error("expected a value")),
        }
    }

    /// The rest of the current line, line end removed, as text.
    fn rest_of_line(&mut self) -> String {
        let rest = &self.b[self.pos.min(self.b.len())..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.pos += end;
        String::from_utf8_lossy(line).trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &[u8]) -> Response {
        assert_eq!(
            frame(s, 1 << 20).unwrap(),
            Frame::Complete(s.len()),
            "{s:?}"
        );
        parse(s).unwrap()
    }

    #[test]
    fn framing_with_literals() {
        let r = b"* 1 FETCH (UID 7 BODY[] {5}\r\nab\r\nc)\r\n* 2 EXISTS\r\n";
        assert_eq!(frame(r, 100).unwrap(), Frame::Complete(37));
        assert_eq!(frame(&r[..20], 100).unwrap(), Frame::Incomplete(None));
        assert_eq!(frame(&r[..30], 100).unwrap(), Frame::Incomplete(Some(34)));
        assert_eq!(frame(r, 4), Err(ResponseError::LiteralTooLarge(5)));
        assert_eq!(
            frame(&vec![b'x'; MAX_LINE], 10),
            Err(ResponseError::LineTooLong)
        );
        assert_eq!(frame(b"* OK x\r\n", 10).unwrap(), Frame::Complete(8));
        // Two literals in one response, and a non-synchronising one.
        let r = b"* 3 FETCH (BODY[HEADER] {2}\r\nhi BODY[] {3+}\r\nabc)\r\nX";
        assert_eq!(frame(r, 100).unwrap(), Frame::Complete(r.len() - 1));
    }

    #[test]
    fn status_responses_and_codes() {
        // RFC 9051 §7.1 examples.
        assert_eq!(
            one(b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
            Response::Untagged(Untagged::Status(StatusLine {
                status: Status::Ok,
                code: Some(Code::UidValidity(3857529045)),
                text: "UIDs valid".into()
            }))
        );
        let Response::Untagged(Untagged::Status(s)) =
            one(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN STARTTLS] Dovecot ready.\r\n")
        else {
            panic!()
        };
        assert_eq!(
            s.code,
            Some(Code::Capability(
                ["IMAP4rev1", "SASL-IR", "AUTH=PLAIN", "STARTTLS"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        let Response::Tagged { tag, status } =
            one(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        else {
            panic!()
        };
        assert_eq!(tag, "a1");
        assert_eq!(status.status, Status::No);
        assert_eq!(
            status.code.as_ref().map(Code::name),
            Some("AUTHENTICATIONFAILED")
        );
        assert_eq!(
            status.to_string(),
            "NO [AUTHENTICATIONFAILED] Authentication failed."
        );
        let Response::Tagged { status, .. } = one(b"A142 OK [READ-WRITE] SELECT completed\r\n")
        else {
            panic!()
        };
        assert_eq!(status.code, Some(Code::ReadWrite));
        assert_eq!(
            one(b"* PREAUTH\r\n"),
            Response::Untagged(Untagged::Status(StatusLine {
                status: Status::PreAuth,
                code: None,
                text: String::new()
            }))
        );
        assert_eq!(one(b"+ \r\n"), Response::Continue(String::new()));
        assert_eq!(one(b"+ YmFk\r\n"), Response::Continue("YmFk".into()));
        assert_eq!(one(b"+\r\n"), Response::Continue(String::new()));
    }

    #[test]
    fn data_responses() {
        assert_eq!(
            one(b"* 172 EXISTS\r\n"),
            Response::Untagged(Untagged::Exists(172))
        );
        assert_eq!(
            one(b"* 1 RECENT\r\n"),
            Response::Untagged(Untagged::Recent(1))
        );
        assert_eq!(
            one(b"* 44 EXPUNGE\r\n"),
            Response::Untagged(Untagged::Expunge(44))
        );
        assert_eq!(
            one(b"* SEARCH 2 84 882\r\n"),
            Response::Untagged(Untagged::Search(vec![2, 84, 882]))
        );
        assert_eq!(
            one(b"* SEARCH\r\n"),
            Response::Untagged(Untagged::Search(vec![]))
        );
        assert_eq!(
            one(b"* SEARCH 2 5 (MODSEQ 917162500)\r\n"),
            Response::Untagged(Untagged::Search(vec![2, 5]))
        );
        assert_eq!(
            one(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"),
            Response::Untagged(Untagged::Flags(
                ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        assert_eq!(
            one(b"* CAPABILITY IMAP4rev1 UIDPLUS IDLE\r\n"),
            Response::Untagged(Untagged::Capability(
                ["IMAP4rev1", "UIDPLUS", "IDLE"].map(String::from).to_vec()
            ))
        );
        assert!(matches!(
            one(b"* LIST (\\HasNoChildren) \".\" INBOX\r\n"),
            Response::Untagged(Untagged::Other { keyword, .. }) if keyword == "LIST"
        ));
    }

    #[test]
    fn fetch_items() {
        let r = one(
            b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
              RFC822.SIZE 4286 UID 3 MODSEQ (12121231000) BODY[] {10}\r\nHello\r\n.\r\n)\r\n",
        );
        let Response::Untagged(Untagged::Fetch { seq, attrs }) = r else {
            panic!("{r:?}")
        };
        assert_eq!(seq, 12);
        assert_eq!(attrs.uid, Some(3));
        assert_eq!(attrs.size, Some(4286));
        assert_eq!(attrs.flags, Some(vec!["\\Seen".to_string()]));
        assert_eq!(
            attrs.internal_date.as_deref(),
            Some("17-Jul-1996 02:44:25 -0700")
        );
        assert_eq!(attrs.modseq, Some(12121231000));
        assert_eq!(attrs.body.as_deref(), Some(&b"Hello\r\n.\r\n"[..]));
        // Items we do not use are skipped whatever their shape.
        let r = one(
            b"* 1 FETCH (ENVELOPE (NIL \"subj\" ((\"a\" NIL \"b\" \"c\")) NIL) \
              BODY[HEADER.FIELDS (FROM TO)] {4}\r\nab\r\n BODYSTRUCTURE (\"text\" \"plain\" \
              (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1) X-GM-LABELS (\\Inbox) UID 9 \
              BODY[]<0> \"quoted body\")\r\n",
        );
        let Response::Untagged(Untagged::Fetch { attrs, .. }) = r else {
            panic!("{r:?}")
        };
        assert_eq!(attrs.uid, Some(9));
        assert_eq!(attrs.body.as_deref(), Some(&b"quoted body"[..]));
        let r = one(b"* 2 FETCH (UID 4 BODY[] NIL)\r\n");
        let Response::Untagged(Untagged::Fetch { attrs, .. }) = r else {
            panic!()
        };
        assert_eq!(attrs.body, Some(Vec::new()));
        let r = one(b"* 5 FETCH (FLAGS (\\Deleted \\Seen) UID 8)\r\n");
        let Response::Untagged(Untagged::Fetch { attrs, .. }) = r else {
            panic!()
        };
        assert_eq!((attrs.uid, attrs.body), (Some(8), None));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"\r\n"[..],
            b"a1 MAYBE x\r\n",
            b"* 1 FETCH (UID x)\r\n",
            b"* 1 FETCH (UID 1\r\n",
            b"* 1 FETCH (BODY[] {9}\r\nab)\r\n",
            b"* OK [UNTERMINATED\r\n",
            b"* 99999999999 EXISTS\r\n",
            b"* FLAGS (\\Seen\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = format!("* 1 FETCH (X {}{})\r\n", "(".repeat(200), ")".repeat(200));
        assert!(parse(deep.as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(Frame::Complete(n)) = frame(&data, 1000) {
                proptest::prop_assert!(n <= data.len());
                let _ = parse(&data[..n]);
            }
            let _ = parse(&data);
        }
    }
}
