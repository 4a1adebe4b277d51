//! SMTP server replies (RFC 5321 §4.2): the pure parser the client reads every server
//! answer with. Multi-line replies (`250-…` … `250 …`), the three-digit code, the
//! enhanced status code when the text starts with one (RFC 3463 / RFC 2034), and the
//! text of each line. Tolerates bare-LF line ends and a last line without text
//! (`250`).
//!
//! Does no I/O and never panics on input: a hostile server gets a [`ReplyError`], and
//! the caps ([`MAX_LINE`], [`MAX_LINES`], [`MAX_REPLY`]) keep what we buffer for one
//! reply bounded however much the server sends.

use std::fmt;

/// Longest reply line we accept, in bytes, line end included. RFC 5321 §4.5.3.1.5
/// says 512; real servers exceed it with long EHLO keywords and error texts.
pub const MAX_LINE: usize = 4096;
/// Most lines in one reply (a long EHLO answer has about 20).
pub const MAX_LINES: usize = 256;
/// Most bytes in one reply.
pub const MAX_REPLY: usize = 64 * 1024;

/// An RFC 3463 enhanced status code: `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One complete server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code, 200–599.
    pub code: u16,
    /// The enhanced status code of the first line, when it has one.
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line, after the code and (when present) the enhanced code.
    pub lines: Vec<String>,
}

/// How a reply sorts (RFC 5321 §4.2.1, first digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyClass {
    /// 2xx.
    Positive,
    /// 3xx: more input expected (354 after DATA, 334 during AUTH).
    Intermediate,
    /// 4xx: try again later.
    Transient,
    /// 5xx: do not try again.
    Permanent,
}

impl Reply {
    pub fn class(&self) -> ReplyClass {
        match self.code / 100 {
            2 => ReplyClass::Positive,
            3 => ReplyClass::Intermediate,
            4 => ReplyClass::Transient,
            _ => ReplyClass::Permanent,
        }
    }

    pub fn is_positive(&self) -> bool {
        self.class() == ReplyClass::Positive
    }

    pub fn is_permanent(&self) -> bool {
        self.class() == ReplyClass::Permanent
    }

    /// All lines joined by a space: for messages and logs.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        let text = self.text();
        if !text.is_empty() {
            write!(f, " {text}")?;
        }
        Ok(())
    }
}

/// Why bytes from the server are not a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("reply longer than {MAX_LINES} lines or {MAX_REPLY} bytes")]
    TooLarge,
    #[error("malformed reply line {0:?}")]
    Malformed(String),
    #[error("reply lines disagree on the code ({first} then {other})")]
    MixedCodes { first: u16, other: u16 },
}

/// Parses one reply from the front of `buf`. `Ok(None)`: the reply is not complete yet
/// (read more and call again); `Ok(Some((reply, used)))`: `used` bytes made the reply.
/// An incomplete reply that already breaks a cap is an error, so the caller never
/// buffers more than [`MAX_REPLY`] + [`MAX_LINE`] bytes.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0;
    let mut code: Option<u16> = None;
    let mut lines = Vec::new();
    let mut enhanced = None;
    loop {
        let rest = &buf[pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() >= MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            return Ok(None);
        };
        if nl + 1 > MAX_LINE {
            return Err(ReplyError::LineTooLong);
        }
        let raw = &rest[..nl];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        pos += nl + 1;
        let line = parse_line(raw)?;
        match code {
            None => code = Some(line.code),
            Some(first) if first != line.code => {
                return Err(ReplyError::MixedCodes {
                    first,
                    other: line.code,
                });
            }
            Some(_) => {}
        }
        let (e, text) = split_enhanced(line.code, line.text);
        if lines.is_empty() {
            enhanced = e;
        }
        lines.push(text);
        if lines.len() > MAX_LINES || pos > MAX_REPLY {
            return Err(ReplyError::TooLarge);
        }
        if line.last {
            let code = code.unwrap_or(line.code);
            return Ok(Some((
                Reply {
                    code,
                    enhanced,
                    lines,
                },
                pos,
            )));
        }
    }
}

struct Line<'a> {
    code: u16,
    last: bool,
    text: &'a [u8],
}

/// One line without its line end: `ddd`, `ddd text`, `ddd-text`.
fn parse_line(raw: &[u8]) -> Result<Line<'_>, ReplyError> {
    let malformed = || ReplyError::Malformed(String::from_utf8_lossy(raw).into_owned());
    let digits = raw.get(..3).ok_or_else(malformed)?;
    let valid = matches!(digits[0], b'2'..=b'5')
        && digits[1].is_ascii_digit()
        && digits[2].is_ascii_digit();
    if !valid {
        return Err(malformed());
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    match raw.get(3) {
        None => Ok(Line {
            code,
            last: true,
            text: &[],
        }),
        Some(b' ') => Ok(Line {
            code,
            last: true,
            text: &raw[4..],
        }),
        Some(b'-') => Ok(Line {
            code,
            last: false,
            text: &raw[4..],
        }),
        Some(_) => Err(malformed()),
    }
}

/// Splits `class.subject.detail ` off the front of `text` when the class agrees with
/// the reply code (RFC 3463 §2: 2, 4 or 5, as the code's first digit).
fn split_enhanced(code: u16, text: &[u8]) -> (Option<EnhancedCode>, String) {
    let owned = || String::from_utf8_lossy(text).trim_end().to_string();
    let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
    let Some(e) = parse_enhanced(&text[..end]) else {
        return (None, owned());
    };
    if u16::from(e.class) != code / 100 {
        return (None, owned());
    }
    let rest = text.get(end + 1..).unwrap_or(&[]);
    (
        Some(e),
        String::from_utf8_lossy(rest).trim_end().to_string(),
    )
}

/// `2.1.5`, `5.7.139`: class 2/4/5, subject and detail of 1–3 digits.
pub fn parse_enhanced(s: &[u8]) -> Option<EnhancedCode> {
    let mut parts = s.split(|&b| b == b'.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let num = |p: &[u8]| -> Option<u16> {
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(p.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0')))
    };
    let class = match class {
        b"2" => 2,
        b"4" => 4,
        b"5" => 5,
        _ => return None,
    };
    Some(EnhancedCode {
        class,
        subject: num(subject)?,
        detail: num(detail)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Reply {
        let (r, used) = parse_reply(input.as_bytes()).unwrap().unwrap();
        assert_eq!(used, input.len(), "{input:?}");
        r
    }

    #[test]
    fn rfc5321_examples() {
        // RFC 5321 §4.2.1 multi-line example and a simple reply.
        let r = one(
            "250-First line\r\n250-Second line\r\n250-234 Text beginning with numbers\r\n250 The last line\r\n",
        );
        assert_eq!(r.code, 250);
        assert_eq!(
            r.lines,
            vec![
                "First line",
                "Second line",
                "234 Text beginning with numbers",
                "The last line"
            ]
        );
        assert_eq!(
            one("354 Start mail input; end with <CRLF>.<CRLF>\r\n").code,
            354
        );
    }

    #[test]
    fn enhanced_codes() {
        let r = one("550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n");
        assert_eq!(
            r.enhanced,
            Some(EnhancedCode {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(
            r.lines,
            vec!["<nobody@example.com>: Recipient address rejected"]
        );
        assert_eq!(
            r.to_string(),
            "550 5.1.1 <nobody@example.com>: Recipient address rejected"
        );
        // Repeated on every line: stripped from each.
        let r = one("451-4.7.1 Try again\r\n451 4.7.1 later\r\n");
        assert_eq!(r.lines, vec!["Try again", "later"]);
        // Class disagreeing with the code, or not a code at all: plain text.
        assert_eq!(one("250 5.1.1 odd\r\n").enhanced, None);
        assert_eq!(one("250 2.0 ok\r\n").enhanced, None);
        assert_eq!(one("250 2.1.1000 ok\r\n").enhanced, None);
        assert_eq!(one("250 2.6.0\r\n").enhanced.unwrap().to_string(), "2.6.0");
    }

    #[test]
    fn tolerant_forms() {
        assert_eq!(one("250\r\n").lines, vec![""]);
        assert_eq!(one("220 bare lf\n").lines, vec!["bare lf"]);
        let r = one("250-a\n250 b\n");
        assert_eq!(r.lines, vec!["a", "b"]);
        assert_eq!(one("250 caf\u{e9}\r\n").lines, vec!["caf\u{e9}"]);
    }

    #[test]
    fn incomplete_and_pipelined() {
        assert_eq!(parse_reply(b"").unwrap(), None);
        assert_eq!(parse_reply(b"250-a\r\n250 b").unwrap(), None);
        assert_eq!(parse_reply(b"25").unwrap(), None);
        let (r, used) = parse_reply(b"250 ok\r\n550 no\r\n").unwrap().unwrap();
        assert_eq!((r.code, used), (250, 8));
    }

    #[test]
    fn malformed_replies() {
        for bad in [
            "hello\r\n",
            "25\r\n",
            "600 x\r\n",
            "199 x\r\n",
            "250x\r\n",
            "2a0 x\r\n",
        ] {
            assert!(
                matches!(parse_reply(bad.as_bytes()), Err(ReplyError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_reply(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::MixedCodes {
                first: 250,
                other: 251
            })
        );
    }

    #[test]
    fn caps_bound_the_buffer() {
        let long = vec![b'x'; MAX_LINE];
        assert_eq!(parse_reply(&long), Err(ReplyError::LineTooLong));
        let mut line = b"250 ".to_vec();
        line.extend(vec![b'x'; MAX_LINE]);
        line.extend(b"\r\n");
        assert_eq!(parse_reply(&line), Err(ReplyError::LineTooLong));
        let many = "250-x\r\n".repeat(MAX_LINES + 1);
        assert_eq!(parse_reply(many.as_bytes()), Err(ReplyError::TooLarge));
        let big_line = format!("250-{}\r\n", "y".repeat(MAX_LINE - 10));
        let big = big_line.repeat(MAX_REPLY / big_line.len() + 2);
        assert_eq!(parse_reply(big.as_bytes()), Err(ReplyError::TooLarge));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_consumes_within_the_buffer(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Ok(Some((r, used))) = parse_reply(&data) {
                proptest::prop_assert!(used <= data.len());
                proptest::prop_assert!((200..600).contains(&r.code));
                proptest::prop_assert!(!r.lines.is_empty());
            }
        }

        #[test]
        fn well_formed_replies_round_trip(code in 200u16..600, texts in proptest::collection::vec("[ -~]{0,40}", 1..6)) {
            let mut wire = String::new();
            for (i, t) in texts.iter().enumerate() {
                let sep = if i + 1 == texts.len() { ' ' } else { '-' };
                wire.push_str(&format!("{code}{sep}{t}\r\n"));
            }
            let (r, used) = parse_reply(wire.as_bytes()).unwrap().unwrap();
            proptest::prop_assert_eq!(used, wire.len());
            proptest::prop_assert_eq!(r.code, code);
            proptest::prop_assert_eq!(r.lines.len(), texts.len());
        }
    }
}
