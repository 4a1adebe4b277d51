//! The ManageSieve wire format (RFC 5804 §4), pure: commands parsed from a buffer
//! that may hold literals, and responses written with strings quoted or sent as
//! literals as their content needs.
//!
//! [`parse`] reads one command from the front of a buffer: `Ok((command, used))`,
//! [`ParseError::Incomplete`] when more bytes must come (a line or a literal not yet
//! complete), or an error the session answers with `NO` (and, for
//! [`ParseError::TooLarge`], a `BYE`: the stream cannot be followed after it).

/// One argument: an atom (command names) or a string (quoted or literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Atom(String),
    /// A string, as bytes (scripts are checked for UTF-8 where they are used).
    Str(Vec<u8>),
    Number(u64),
}

/// A parsed command line: its name (upper-cased) and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub args: Vec<Arg>,
}

/// Why a command could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// More input is needed.
    Incomplete,
    /// A line or literal beyond the limit; the session ends.
    TooLarge,
    /// Malformed: the line is consumed (`used` bytes) and answered with `NO`.
    Bad { used: usize, why: &'static str },
}

/// Reads one command from the front of `buf`. A line may not exceed `max_line`
/// octets and a literal `max_literal`.
pub fn parse(
    buf: &[u8],
    max_line: usize,
    max_literal: usize,
) -> Result<(Command, usize), ParseError> {
    let mut pos = 0;
    let mut args: Vec<Arg> = Vec::new();
    let mut name: Option<String> = None;
    loop {
        // Skip spaces between arguments.
        while buf.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let Some(&c) = buf.get(pos) else {
            return incomplete(buf, max_line);
        };
        match c {
            b'\r' | b'\n' => {
                let end = if c == b'\r' {
                    match buf.get(pos + 1) {
                        None => return incomplete(buf, max_line),
                        Some(b'\n') => pos + 2,
                        Some(_) => return bad_line(buf, max_line, "a bare CR in a command"),
                    }
                } else {
                    pos + 1
                };
                return match name {
                    Some(name) => Ok((Command { name, args }, end)),
                    None => Err(ParseError::Bad {
                        used: end,
                        why: "an empty line is not a command",
                    }),
                };
            }
            b'"' => {
                let (s, next) = match quoted(buf, pos + 1) {
                    Ok(v) => v,
                    Err(ParseError::Incomplete) => return incomplete(buf, max_line),
                    Err(ParseError::Bad { why, .. }) => return bad_line(buf, max_line, why),
                    Err(e) => return Err(e),
                };
                if name.is_none() {
                    return bad_line(buf, max_line, "a command starts with its name");
                }
                args.push(Arg::Str(s));
                pos = next;
            }
            b'{' => {
                let close = match buf[pos..].iter().position(|&b| b == b'}') {
                    Some(i) => pos + i,
                    None => return incomplete(buf, max_line),
                };
                let inner = &buf[pos + 1..close];
                let digits = inner.strip_suffix(b"+").unwrap_or(inner);
                if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit)
                {
                    return bad_line(buf, max_line, "a literal is {number+} or {number}");
                }
                let n: usize = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(usize::MAX);
                if n > max_literal {
                    return Err(ParseError::TooLarge);
                }
                let start = match (buf.get(close + 1), buf.get(close + 2)) {
                    (Some(b'\r'), Some(b'\n')) => close + 3,
                    (Some(b'\n'), _) => close + 2,
                    (None, _) | (Some(b'\r'), None) => return incomplete(buf, max_line),
                    _ => return bad_line(buf, max_line, "a literal's size ends its line"),
                };
                if buf.len() < start + n {
                    return Err(ParseError::Incomplete);
                }
                if name.is_none() {
                    return bad_line(buf, max_line, "a command starts with its name");
                }
                args.push(Arg::Str(buf[start..start + n].to_vec()));
                pos = start + n;
            }
            _ => {
                let end = buf[pos..]
                    .iter()
                    .position(|&b| matches!(b, b' ' | b'\r' | b'\n' | b'"' | b'{'))
                    .map(|i| pos + i);
                let Some(end) = end else {
                    return incomplete(buf, max_line);
                };
                let word = &buf[pos..end];
                if !word.iter().all(|b| b.is_ascii_graphic()) {
                    return bad_line(buf, max_line, "commands are ASCII words and strings");
                }
                let word = String::from_utf8_lossy(word).to_string();
                if name.is_none() {
                    name = Some(word.to_ascii_uppercase());
                } else if word.bytes().all(|b| b.is_ascii_digit()) && word.len() <= 19 {
                    args.push(Arg::Number(word.parse().unwrap_or(u64::MAX)));
                } else {
                    args.push(Arg::Atom(word));
                }
                pos = end;
            }
        }
    }
}

fn incomplete<T>(buf: &[u8], max_line: usize) -> Result<T, ParseError> {
    // Without a literal in flight, a line longer than the limit will not end well.
    let line_len = buf
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(buf.len(), |p| buf.len() - p);
    if line_len > max_line {
        return Err(ParseError::TooLarge);
    }
    Err(ParseError::Incomplete)
}

/// A malformed line: consume through its end (or wait for it).
fn bad_line<T>(buf: &[u8], max_line: usize, why: &'static str) -> Result<T, ParseError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) => Err(ParseError::Bad { used: i + 1, why }),
        None => incomplete(buf, max_line),
    }
}

/// A quoted string from just after its opening quote: its content and the position
/// after the closing quote. RFC 5804 §4: `\` escapes `"` and `\` only; no CR or LF.
fn quoted(buf: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), ParseError> {
    let mut out = Vec::new();
    loop {
        match buf.get(pos) {
            None => return Err(ParseError::Incomplete),
            Some(b'"') => return Ok((out, pos + 1)),
            Some(b'\\') => match buf.get(pos + 1) {
                None => return Err(ParseError::Incomplete),
                Some(&c @ (b'"' | b'\\')) => {
                    out.push(c);
                    pos += 2;
                }
                Some(_) => {
                    return Err(ParseError::Bad {
                        used: 0,
                        why: "only a double quote or a backslash may be escaped in a quoted string",
                    });
                }
            },
            Some(b'\r' | b'\n' | 0) => {
                return Err(ParseError::Bad {
                    used: 0,
                    why: "a quoted string cannot hold CR, LF or NUL; send a literal",
                });
            }
            Some(&c) => {
                out.push(c);
                pos += 1;
            }
        }
    }
}

/// Writes `s` as a ManageSieve string: quoted when it is short and plain, else as a
/// literal (`{n}` CRLF octets).
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let plain = s.len() <= 1024
        && s.iter()
            .all(|&b| b != b'\r' && b != b'\n' && b != 0 && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
}

/// A response line: `OK`, `NO` or `BYE`, an optional response code, an optional
/// human-readable string (RFC 5804 §1.3).
pub fn write_response(out: &mut Vec<u8>, kind: &str, code: Option<&str>, text: Option<&str>) {
    out.extend_from_slice(kind.as_bytes());
    if let Some(c) = code {
        out.extend_from_slice(b" (");
        out.extend_from_slice(c.as_bytes());
        out.push(b')');
    }
    if let Some(t) = text {
        out.push(b' ');
        write_string(out, t.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &[u8]) -> Result<(Command, usize), ParseError> {
        parse(input, 8192, 1 << 20)
    }

    #[test]
    fn commands_with_quoted_strings_literals_and_numbers() {
        let (c, used) = one(b"putScript \"a b\" {12+}\r\nkeep;\r\nstop;\r\nNOOP\r\n").unwrap();
        assert_eq!(c.name, "PUTSCRIPT");
        assert_eq!(
            c.args,
            vec![
                Arg::Str(b"a b".to_vec()),
                Arg::Str(b"keep;\r\nstop;".to_vec())
            ]
        );
        assert_eq!(used, 37);
        let (c, _) = one(b"HAVESPACE \"x\" 1234\r\n").unwrap();
        assert_eq!(c.args, vec![Arg::Str(b"x".to_vec()), Arg::Number(1234)]);
        let (c, _) = one(b"GETSCRIPT \"a\\\"b\\\\\"\r\n").unwrap();
        assert_eq!(c.args, vec![Arg::Str(b"a\"b\\".to_vec())]);
    }

    #[test]
    fn waits_for_the_rest() {
        assert_eq!(
            one(b"PUTSCRIPT \"a\" {10+}\r\nkeep"),
            Err(ParseError::Incomplete)
        );
        assert_eq!(one(b"LISTSCRIPTS"), Err(ParseError::Incomplete));
        assert_eq!(one(b"GETSCRIPT \"ab"), Err(ParseError::Incomplete));
    }

    #[test]
    fn refuses_what_is_wrong_and_what_is_too_big() {
        assert!(matches!(
            one(b"GETSCRIPT \"a\\x\"\r\nNOOP\r\n"),
            Err(ParseError::Bad { used: 17, .. })
        ));
        assert!(matches!(one(b"\r\n"), Err(ParseError::Bad { used: 2, .. })));
        assert!(matches!(one(b"X {abc}\r\n"), Err(ParseError::Bad { .. })));
        assert_eq!(
            parse(b"PUTSCRIPT \"a\" {99999999+}\r\n", 8192, 1000),
            Err(ParseError::TooLarge)
        );
        assert_eq!(parse(&[b'A'; 100], 50, 1000), Err(ParseError::TooLarge));
    }

    #[test]
    fn strings_go_out_quoted_or_as_literals() {
        let mut out = Vec::new();
        write_string(&mut out, b"plain");
        write_string(&mut out, b"two\r\nlines");
        assert_eq!(out, b"\"plain\"{10}\r\ntwo\r\nlines");
        let mut out = Vec::new();
        write_response(&mut out, "NO", Some("NONEXISTENT"), Some("no such script"));
        assert_eq!(out, b"NO (NONEXISTENT) \"no such script\"\r\n");
    }
}
