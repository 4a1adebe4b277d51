//! POP3 server responses as a client reads them (RFC 1939 §3, RFC 2449 §8, RFC 5034):
//! status lines (`+OK text`, `-ERR [CODE] text`, `+ challenge` during AUTH), and the
//! lines of a multi-line response with dot-unstuffing and the `.` terminator. Also the
//! CAPA list (RFC 2449 §5).
//!
//! Pure: bytes in, typed values or [`ReplyError`] out; no I/O, never panics, and every
//! function is bounded by [`MAX_LINE`] so a hostile server cannot make us buffer
//! without end.

use std::fmt;

/// Longest response line we accept, line end included. RFC 2449 §4 allows 512 for
/// status lines; multi-line data lines of real messages are often longer (RFC 5322
/// allows 998 plus CRLF, and broken mail exceeds that), so this is generous.
pub const MAX_LINE: usize = 64 * 1024;

/// The status indicator of a response line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Err,
    /// `+ ` continuation during AUTH (RFC 5034 §4).
    Continue,
}

/// One status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    /// RFC 2449 §8 response code (`IN-USE`, `LOGIN-DELAY`, `SYS/TEMP`, `AUTH`), upper
    /// case, without brackets.
    pub code: Option<String>,
    /// The rest of the line (for `Continue`: the base64 challenge).
    pub text: String,
}

impl Response {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.status {
            Status::Ok => "+OK",
            Status::Err => "-ERR",
            Status::Continue => "+",
        })?;
        if let Some(c) = &self.code {
            write!(f, " [{c}]")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// Why bytes from the server are not a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("response line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("multi-line response larger than {0} bytes")]
    TooLarge(usize),
    #[error("malformed response {0:?}")]
    Malformed(String),
}

/// Splits the first line off `buf`: `Ok(Some((line, used)))` with the line end
/// (CRLF or bare LF) removed, `Ok(None)` when no complete line is buffered yet.
pub fn split_line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, ReplyError> {
    let limit = buf.len().min(MAX_LINE);
    match buf[..limit].iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = &buf[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok(Some((line, i + 1)))
        }
        None if buf.len() >= MAX_LINE => Err(ReplyError::LineTooLong),
        None => Ok(None),
    }
}

/// Parses a status line (without its line end).
pub fn parse_status(line: &[u8]) -> Result<Response, ReplyError> {
    let text = String::from_utf8_lossy(line);
    let malformed = || ReplyError::Malformed(text.chars().take(200).collect());
    let (status, rest) = if let Some(r) = strip_prefix_ci(&text, "+OK") {
        (Status::Ok, r)
    } else if let Some(r) = strip_prefix_ci(&text, "-ERR") {
        (Status::Err, r)
    } else if text == "+" || text.starts_with("+ ") {
        let challenge = text.get(2..).unwrap_or("").trim().to_string();
        return Ok(Response {
            status: Status::Continue,
            code: None,
            text: challenge,
        });
    } else {
        return Err(malformed());
    };
    // The indicator must end the line or be followed by a space.
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return Err(malformed());
    }
    let rest = rest.trim_start();
    let (code, text) = match split_code(rest) {
        Some((code, after)) if status == Status::Err || status == Status::Ok => {
            (Some(code), after.trim_start().to_string())
        }
        _ => (None, rest.to_string()),
    };
    Ok(Response {
        status,
        code,
        text: text.trim_end().to_string(),
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// RFC 2449 §8: `[` resp-code `]`, the code being atoms joined by `/`.
fn split_code(s: &str) -> Option<(String, &str)> {
    let inner = s.strip_prefix('[')?;
    let end = inner.find(']')?;
    let code = &inner[..end];
    let valid = !code.is_empty()
        && code.len() <= 64
        && code
            .split('/')
            .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    valid.then(|| (code.to_ascii_uppercase(), &inner[end + 1..]))
}

/// A line of a multi-line response, dot-unstuffed (RFC 1939 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLine<'a> {
    Line(&'a [u8]),
    /// The terminating `.` line.
    End,
}

/// Classifies one line of a multi-line response (without its line end).
pub fn data_line(line: &[u8]) -> DataLine<'_> {
    match line {
        b"." => DataLine::End,
        [b'.', rest @ ..] => DataLine::Line(rest),
        _ => DataLine::Line(line),
    }
}

/// Reads a whole multi-line body (after its status line) from the front of `buf`:
/// `Ok(Some((lines, used)))` when the terminator is buffered, `Ok(None)` when more is
/// needed, an error past `max_total` bytes. For small responses (CAPA, LIST, UIDL);
/// message retrieval should walk [`split_line`] and [`data_line`] as data arrives.
#[allow(clippy::type_complexity)]
pub fn parse_multiline(
    buf: &[u8],
    max_total: usize,
) -> Result<Option<(Vec<Vec<u8>>, usize)>, ReplyError> {
    let mut pos = 0;
    let mut lines = Vec::new();
    loop {
        let Some((line, used)) = split_line(&buf[pos..])? else {
            if buf.len() > max_total {
                return Err(ReplyError::TooLarge(max_total));
            }
            return Ok(None);
        };
        pos += used;
        if pos > max_total {
            return Err(ReplyError::TooLarge(max_total));
        }
        match data_line(line) {
            DataLine::End => return Ok(Some((lines, pos))),
            DataLine::Line(l) => lines.push(l.to_vec()),
        }
    }
}

/// Decodes a retrieved message (RETR/TOP body) as it arrives: dot-unstuffing, line
/// ends made CRLF, the `.` line ending it. Lines longer than [`MAX_LINE`] pass through
/// in pieces, so a broken message with a huge line is still collected.
#[derive(Debug, Clone)]
pub struct DotDecoder {
    at_line_start: bool,
}

impl Default for DotDecoder {
    fn default() -> Self {
        DotDecoder {
            at_line_start: true,
        }
    }
}

impl DotDecoder {
    /// Decodes what it can of `input` into `out`. Returns how many bytes of `input`
    /// were used and whether the terminating `.` line was among them (nothing after it
    /// is used).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    let line = &rest[..i];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if self.at_line_start {
                        if line == b"." {
                            return (pos + i + 1, true);
                        }
                        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
                    } else {
                        out.extend_from_slice(line);
                    }
                    out.extend_from_slice(b"\r\n");
                    self.at_line_start = true;
                    pos += i + 1;
                }
                None if rest.len() >= MAX_LINE => {
                    // Keep a trailing CR: it may be half of the line end.
                    let emit = rest.len() - usize::from(rest.ends_with(b"\r"));
                    let piece = &rest[..emit];
                    if self.at_line_start {
                        out.extend_from_slice(piece.strip_prefix(b".").unwrap_or(piece));
                    } else {
                        out.extend_from_slice(piece);
                    }
                    self.at_line_start = false;
                    pos += emit;
                    return (pos, false);
                }
                None => return (pos, false),
            }
        }
    }
}

/// `+OK nn mm` of STAT (RFC 1939 §5): message count and octets.
pub fn parse_stat(r: &Response) -> Option<(u32, u64)> {
    let mut w = r.text.split_ascii_whitespace();
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

/// A line of a UIDL listing (`1 whqtswO00WBw418f9t5JxYwZ`, RFC 1939 §7): message
/// number and unique id (1–70 printable characters).
pub fn parse_uidl_line(line: &[u8]) -> Option<(u32, String)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut w = text.split_ascii_whitespace();
    let n = w.next()?.parse().ok()?;
    let uid = w.next()?;
    let valid =
        !uid.is_empty() && uid.len() <= 70 && uid.bytes().all(|b| (0x21..=0x7e).contains(&b));
    valid.then(|| (n, uid.to_string()))
}

/// A line of a LIST listing (`2 200`): message number and size.
pub fn parse_list_line(line: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut w = text.split_ascii_whitespace();
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

/// What a POP3 server announces in its CAPA response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pop3Capabilities {
    /// Every line as sent.
    pub lines: Vec<String>,
    pub stls: bool,
    pub user: bool,
    pub top: bool,
    pub uidl: bool,
    pub pipelining: bool,
    pub resp_codes: bool,
    /// SASL mechanisms, upper case.
    pub sasl: Vec<String>,
}

impl Pop3Capabilities {
    /// Reads the capability lines of a CAPA response.
    pub fn parse(lines: &[Vec<u8>]) -> Pop3Capabilities {
        let mut caps = Pop3Capabilities::default();
        for raw in lines {
            let line = String::from_utf8_lossy(raw).trim().to_string();
            let mut words = line.split_ascii_whitespace();
            match words.next().map(str::to_ascii_uppercase).as_deref() {
                Some("STLS") => caps.stls = true,
                Some("USER") => caps.user = true,
                Some("TOP") => caps.top = true,
                Some("UIDL") => caps.uidl = true,
                Some("PIPELINING") => caps.pipelining = true,
                Some("RESP-CODES") => caps.resp_codes = true,
                Some("SASL") => caps.sasl = words.map(str::to_ascii_uppercase).collect(),
                _ => {}
            }
            if !line.is_empty() {
                caps.lines.push(line);
            }
        }
        caps
    }
}

/// The APOP timestamp (`<...>`) of a greeting, if any (RFC 1939 §7).
pub fn apop_timestamp(greeting: &Response) -> Option<&str> {
    let start = greeting.text.find('<')?;
    let end = start + greeting.text[start..].find('>')?;
    let ts = &greeting.text[start..=end];
    ts.contains('@').then_some(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: &str) -> Response {
        parse_status(s.as_bytes()).unwrap()
    }

    #[test]
    fn status_lines() {
        // RFC 1939 §4 and §7 examples; RFC 2449 §8 codes.
        let r = status("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
        assert_eq!((r.status, r.code.as_deref()), (Status::Ok, None));
        assert_eq!(
            apop_timestamp(&r),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        let r = status("-ERR [IN-USE] Do you have another POP session running?");
        assert_eq!(r.status, Status::Err);
        assert_eq!(r.code.as_deref(), Some("IN-USE"));
        assert_eq!(r.text, "Do you have another POP session running?");
        assert_eq!(
            status("-ERR [SYS/TEMP] busy").code.as_deref(),
            Some("SYS/TEMP")
        );
        assert_eq!(status("+OK").text, "");
        assert_eq!(status("+ok lower case").status, Status::Ok);
        assert_eq!(status("-ERR [not a code] x").code, None);
        assert_eq!(status("+ ").status, Status::Continue);
        assert_eq!(
            status("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
                .text
                .len(),
            56
        );
        assert_eq!(status("-ERR [AUTH] bad").to_string(), "-ERR [AUTH] bad");
        for bad in ["OK", "+OKAY", "* OK imap", "", "-ERROR"] {
            assert!(parse_status(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lines_and_multiline() {
        assert_eq!(split_line(b"+OK\r\nrest").unwrap(), Some((&b"+OK"[..], 5)));
        assert_eq!(split_line(b"+OK\nrest").unwrap(), Some((&b"+OK"[..], 4)));
        assert_eq!(split_line(b"+OK").unwrap(), None);
        assert_eq!(
            split_line(&vec![b'x'; MAX_LINE]),
            Err(ReplyError::LineTooLong)
        );
        let (lines, used) = parse_multiline(b"a\r\n..b\r\n.c\r\n\r\n.\r\nNEXT", 1000)
            .unwrap()
            .unwrap();
        assert_eq!(
            lines,
            vec![b"a".to_vec(), b".b".to_vec(), b"c".to_vec(), Vec::new()]
        );
        assert_eq!(used, 17);
        assert_eq!(parse_multiline(b"a\r\nb\r\n", 1000).unwrap(), None);
        assert_eq!(
            parse_multiline(b"aaaa\r\nbbbb\r\n", 8),
            Err(ReplyError::TooLarge(8))
        );
    }

    #[test]
    fn capa() {
        // RFC 2449 §5 example.
        let lines: Vec<Vec<u8>> = [
            "TOP",
            "USER",
            "SASL CRAM-MD5 KERBEROS_V4",
            "RESP-CODES",
            "LOGIN-DELAY 900",
            "PIPELINING",
            "EXPIRE 60",
            "UIDL",
            "IMPLEMENTATION Shlemazle-Plotz-v302",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let c = Pop3Capabilities::parse(&lines);
        assert!(c.top && c.user && c.resp_codes && c.pipelining && c.uidl && !c.stls);
        assert_eq!(c.sasl, vec!["CRAM-MD5", "KERBEROS_V4"]);
        assert_eq!(c.lines.len(), 9);
    }

    #[test]
    fn dot_decoder_and_listings() {
        let mut d = DotDecoder::default();
        let mut out = Vec::new();
        let input = b"Subject: x\r\n\r\n..dot\nbare lf\r\n.\r\n+OK next";
        let (used, done) = d.feed(&input[..15], &mut out);
        assert_eq!((used, done), (14, false));
        let (more, done) = d.feed(&input[used..], &mut out);
        assert!(done);
        assert_eq!(&input[used + more..], b"+OK next");
        assert_eq!(out, b"Subject: x\r\n\r\n.dot\r\nbare lf\r\n");
        // A line longer than MAX_LINE passes through in pieces.
        let mut d = DotDecoder::default();
        let mut out = Vec::new();
        let mut long = vec![b'.'];
        long.extend(std::iter::repeat_n(b'a', MAX_LINE + 10));
        let (used, done) = d.feed(&long, &mut out);
        assert!(!done && used == long.len());
        let (_, done) = d.feed(b"b\r\n.\r\n", &mut out);
        assert!(done);
        assert_eq!(out.len(), MAX_LINE + 10 + 3);
        assert_eq!(
            parse_uidl_line(b"1 whqtswO00WBw418f9t5JxYwZ"),
            Some((1, "whqtswO00WBw418f9t5JxYwZ".into()))
        );
        assert_eq!(parse_uidl_line(b"2"), None);
        assert_eq!(parse_list_line(b"2 200"), Some((2, 200)));
        assert_eq!(
            parse_stat(&parse_status(b"+OK 2 320").unwrap()),
            Some((2, 320))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_status(&data);
            if let Ok(Some((_, used))) = parse_multiline(&data, 200) {
                proptest::prop_assert!(used <= data.len());
            }
            if let Ok(Some((line, used))) = split_line(&data) {
                proptest::prop_assert!(line.len() < used);
                let _ = parse_uidl_line(line);
                let _ = parse_list_line(line);
            }
            let (used, _) = DotDecoder::default().feed(&data, &mut Vec::new());
            proptest::prop_assert!(used <= data.len());
        }
    }
}
