//! [`ScanError`]: what went wrong talking to a scanner, in words an administrator can
//! act on ("clamd at 127.0.0.1:3310: connection refused"), and its kind for the caller's
//! policy.

use std::io;
use std::time::Duration;

/// Why a scan gave no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanErrorKind {
    /// The scanner could not be reached, or the connection broke (refused, no such
    /// socket, reset, no controller configured).
    Unavailable,
    /// A step took longer than its timeout.
    Timeout,
    /// The scanner answered something this client does not accept: garbage, a reply
    /// too long, an error it reported, an HTTP status other than success, or a
    /// connection closed in the middle of a reply.
    Protocol,
}

/// A scan that gave no verdict. The message names the scanner and its address when the
/// error comes from a client (`clamd at 127.0.0.1:3310: connection refused`); the pure
/// parsers leave that prefix to their caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScanError {
    kind: ScanErrorKind,
    message: String,
}

impl ScanError {
    pub fn new(kind: ScanErrorKind, message: impl Into<String>) -> Self {
        ScanError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Self::new(ScanErrorKind::Protocol, message)
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ScanErrorKind::Unavailable, message)
    }

    pub fn kind(&self) -> ScanErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error, said of `who` ("clamd at 127.0.0.1:3310").
    pub(crate) fn context(self, who: &str) -> Self {
        ScanError {
            kind: self.kind,
            message: format!("{who}: {}", self.message),
        }
    }
}

/// Untrusted bytes for an error message: quoted, escaped, and cut after `max` bytes.
pub(crate) fn quote(bytes: &[u8], max: usize) -> String {
    let cut = bytes.get(..max).unwrap_or(bytes);
    let mut s = format!("\"{}\"", cut.escape_ascii());
    if cut.len() < bytes.len() {
        s.push('…');
    }
    s
}

/// An I/O error in a few words: "connection refused", not "Connection refused (os
/// error 111)".
pub(crate) fn io_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::BrokenPipe => "connection closed by the peer (broken pipe)".into(),
        io::ErrorKind::NotFound => "no such socket".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::UnexpectedEof => "connection closed by the peer".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s.get(..i).unwrap_or(&s).to_string(),
                None => s,
            }
        }
    }
}

/// "5s", "250ms".
pub(crate) fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote(b"ok", 10), "\"ok\"");
        assert_eq!(quote(b"a\x00b\r\n\"", 10), "\"a\\x00b\\r\\n\\\"\"");
        assert_eq!(quote(b"abcdef", 3), "\"abc\"…");
    }

    #[test]
    fn io_texts() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(io_text(&e), "connection refused");
        let e = io::Error::from_raw_os_error(22);
        assert!(!io_text(&e).contains("os error"));
    }

    #[test]
    fn context_prefixes() {
        let e = ScanError::protocol("bad").context("clamd at 127.0.0.1:3310");
        assert_eq!(e.to_string(), "clamd at 127.0.0.1:3310: bad");
        assert_eq!(e.kind(), ScanErrorKind::Protocol);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_text(Duration::from_secs(5)), "5s");
        assert_eq!(duration_text(Duration::from_millis(250)), "250ms");
    }
}
