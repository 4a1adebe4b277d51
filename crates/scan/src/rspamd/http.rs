//! Just enough HTTP/1.1 for rspamd: one request per connection (`Connection: close`),
//! and a response read by `Content-Length`, chunked transfer coding, or to the end of
//! the connection, within fixed bounds.

use crate::error::{ScanError, quote};

/// The longest status line and headers of a response (terminating blank line
/// included).
pub const MAX_HEAD: usize = 16 * 1024;
/// The longest response body, after chunked decoding.
pub const MAX_BODY: usize = 1024 * 1024;
/// The longest chunk-size line (with extensions) or trailer line.
const MAX_LINE: usize = 4096;

/// A header value as sent: CR, LF and NUL removed (no header injection through an
/// envelope address or a HELO name), other control characters turned into spaces.
pub(crate) fn header_value(v: &str) -> String {
    v.chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '\0'))
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

/// A request's head: request line, `Host`, `Content-Length`, the given headers (values
/// sanitised by [`header_value`]), `Connection: close`, blank line.
pub(crate) fn request_head(
    path: &str,
    host: &str,
    body_len: usize,
    headers: &[(&str, &str)],
) -> Vec<u8> {
    let mut h = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {body_len}\r\n",
        header_value(host)
    );
    for (name, value) in headers {
        h.push_str(name);
        h.push_str(": ");
        h.push_str(&header_value(value));
        h.push_str("\r\n");
    }
    h.push_str("Connection: close\r\n\r\n");
    h.into_bytes()
}

struct Head {
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
}

/// A response, complete or not yet: `Ok(None)` asks for more bytes (never said when
/// `eof`); `Ok(Some((status, body)))` once the body is complete.
pub(crate) fn parse_partial(buf: &[u8], eof: bool) -> Result<Option<(u16, Vec<u8>)>, ScanError> {
    let more = |what: &str| {
        if eof {
            Err(ScanError::protocol(format!(
                "connection closed in the middle of the {what}"
            )))
        } else {
            Ok(None)
        }
    };
    let mut rest = buf;
    loop {
        let Some(head_len) = head_end(rest) else {
            if rest.len() > MAX_HEAD {
                return Err(ScanError::protocol(format!(
                    "response headers longer than {MAX_HEAD} bytes"
                )));
            }
            if eof && rest.is_empty() {
                return Err(ScanError::protocol("connection closed without a response"));
            }
            return more("response headers");
        };
        let (Some(head), Some(after)) = (rest.get(..head_len), rest.get(head_len..)) else {
            return more("response headers");
        };
        let head = parse_head(head)?;
        match head.status {
            // An interim response (100 Continue): the real one follows.
            100 | 102..=199 => {
                rest = after;
                continue;
            }
            101 => return Err(ScanError::protocol("unexpected 101 Switching Protocols")),
            // No body by definition; but rspamd's controller answers "not learned"
            // with a 204 that has a JSON body and its Content-Length, so a declared
            // body is read all the same (the connection is ours alone).
            204 | 304 if head.content_length.is_none() && !head.chunked => {
                return Ok(Some((head.status, Vec::new())));
            }
            _ => {}
        }
        if head.chunked {
            return match dechunk(after)? {
                Some(body) => Ok(Some((head.status, body))),
                None => more("response body"),
            };
        }
        if let Some(n) = head.content_length {
            if n > MAX_BODY {
                return Err(too_big());
            }
            return match after.get(..n) {
                Some(body) => Ok(Some((head.status, body.to_vec()))),
                None => more("response body"),
            };
        }
        if after.len() > MAX_BODY {
            return Err(too_big());
        }
        return if eof {
            Ok(Some((head.status, after.to_vec())))
        } else {
            Ok(None)
        };
    }
}

fn too_big() -> ScanError {
    ScanError::protocol(format!("response body longer than {MAX_BODY} bytes"))
}

/// The length of the head, terminating blank line included (CRLF or bare LF line ends).
fn head_end(buf: &[u8]) -> Option<usize> {
    let limit = buf.len().min(MAX_HEAD + 4);
    let scan = buf.get(..limit)?;
    for (i, &b) in scan.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        match (scan.get(i + 1), scan.get(i + 2)) {
            (Some(b'\n'), _) => return Some(i + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(i + 3),
            _ => {}
        }
    }
    None
}

fn parse_head(head: &[u8]) -> Result<Head, ScanError> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    let status = parse_status_line(status_line)?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if line.is_empty() || line.starts_with(b" ") || line.starts_with(b"\t") {
            // The blank end, or an obsolete folded continuation of a header we do not
            // read.
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(ScanError::protocol(format!(
                "malformed response header {}",
                quote(line, 100)
            )));
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(ScanError::protocol("conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value
                .rsplit(|&b| b == b',')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            if last.eq_ignore_ascii_case(b"chunked") {
                chunked = true;
            } else if !last.eq_ignore_ascii_case(b"identity") {
                return Err(ScanError::protocol(format!(
                    "unsupported Transfer-Encoding {}",
                    quote(value, 100)
                )));
            }
        }
    }
    Ok(Head {
        status,
        content_length,
        chunked,
    })
}

fn parse_status_line(line: &[u8]) -> Result<u16, ScanError> {
    let bad = || ScanError::protocol(format!("not an HTTP response: {}", quote(line, 100)));
    let rest = line.strip_prefix(b"HTTP/1.").ok_or_else(bad)?;
    let (&minor, rest) = rest.split_first().ok_or_else(bad)?;
    if !minor.is_ascii_digit() {
        return Err(bad());
    }
    let rest = rest.strip_prefix(b" ").ok_or_else(bad)?;
    let code = rest.get(..3).ok_or_else(bad)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(rest.get(3), None | Some(b' ')) {
        return Err(bad());
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&code) {
        return Err(bad());
    }
    Ok(code)
}

fn parse_length(v: &[u8]) -> Result<usize, ScanError> {
    let bad = || ScanError::protocol(format!("bad Content-Length {}", quote(v, 40)));
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let n = v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    usize::try_from(n).map_err(|_| bad())
}

/// One line from `pos`: its content (without CRLF/LF) and where the next one starts;
/// `None` when the line is not complete yet.
fn line_at(data: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, ScanError> {
    let rest = data.get(pos..).unwrap_or_default();
    match rest.iter().take(MAX_LINE + 2).position(|&b| b == b'\n') {
        Some(i) => {
            let line = rest.get(..i).unwrap_or_default();
            Ok(Some((
                line.strip_suffix(b"\r").unwrap_or(line),
                pos + i + 1,
            )))
        }
        None if rest.len() > MAX_LINE + 1 => Err(ScanError::protocol(format!(
            "chunk-size or trailer line longer than {MAX_LINE} bytes"
        ))),
        None => Ok(None),
    }
}

/// Decodes a chunked body; `Ok(None)` while incomplete.
fn dechunk(data: &[u8]) -> Result<Option<Vec<u8>>, ScanError> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some((line, next)) = line_at(data, pos)? else {
            return Ok(None);
        };
        let size = line
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if size.is_empty() || size.len() > 8 || !size.iter().all(u8::is_ascii_hexdigit) {
            return Err(ScanError::protocol(format!(
                "bad chunk size {}",
                quote(line, 40)
            )));
        }
        let size = size.iter().fold(0usize, |n, &d| n * 16 + hex_digit(d));
        if size == 0 {
            // Trailers, up to the blank line.
            let mut at = next;
            loop {
                let Some((line, after)) = line_at(data, at)? else {
                    return Ok(None);
                };
                if line.is_empty() {
                    return Ok(Some(body));
                }
                if after > MAX_HEAD + next {
                    return Err(ScanError::protocol("chunked trailers too long"));
                }
                at = after;
            }
        }
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(too_big());
        }
        let end = next.saturating_add(size);
        let Some(chunk) = data.get(next..end) else {
            return Ok(None);
        };
        body.extend_from_slice(chunk);
        pos = match (data.get(end), data.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => end + 2,
            (Some(b'\n'), _) => end + 1,
            (None, _) | (Some(b'\r'), None) => return Ok(None),
            _ => return Err(ScanError::protocol("chunk not followed by CRLF")),
        };
    }
}

fn hex_digit(d: u8) -> usize {
    usize::from(match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        b'A'..=b'F' => d - b'A' + 10,
        _ => 0,
    })
}
