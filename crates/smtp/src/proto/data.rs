//! The DATA decoder (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing, finds the end of
//! data, and refuses the ambiguities SMTP smuggling relies on.
//!
//! Only `<CRLF>.<CRLF>` ends the data: a `.` line that follows a bare LF, or ends in a
//! bare LF, never does. A bare CR (not followed by LF) is always a violation; a bare LF
//! is a violation in `Reject` mode and a line ending in `Normalize` mode (it is stored
//! as CRLF). After a violation the decoder keeps scanning to the real end so the session
//! can reply and carry on, but stops producing output. Pure: bytes in, bytes out.

use pillarbox_config::BareNewline;

/// What was wrong with the data, reported after its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataViolation {
    BareLf,
    BareCr,
    LineTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    Start,
    /// Saw `.` at the start of a line.
    Dot,
    /// Saw `.` CR at the start of a line.
    DotCr,
    /// Inside a line.
    Mid,
    /// Saw CR inside a line.
    Cr,
}

/// Incremental DATA decoder.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    state: State,
    /// The previous line ended with CRLF (the DATA command line did).
    prev_crlf: bool,
    line_len: usize,
    mode: BareNewline,
    /// Longest line in octets, CRLF included; 0 for no limit.
    max_line: usize,
    violation: Option<DataViolation>,
}

impl DataDecoder {
    /// A decoder positioned just after the `DATA` command's CRLF.
    pub fn new(mode: BareNewline, max_line: usize) -> DataDecoder {
        DataDecoder {
            state: State::Start,
            prev_crlf: true,
            line_len: 0,
            mode,
            max_line,
            violation: None,
        }
    }

    /// The first violation seen, if any.
    pub fn violation(&self) -> Option<DataViolation> {
        self.violation
    }

    fn violate(&mut self, v: DataViolation) {
        self.violation.get_or_insert(v);
    }

    fn emit(&self, out: &mut Vec<u8>, bytes: &[u8]) {
        if self.violation.is_none() {
            out.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self, out: &mut Vec<u8>, crlf: bool) {
        self.emit(out, b"\r\n");
        self.prev_crlf = crlf;
        self.line_len = 0;
        self.state = State::Start;
    }

    fn content_byte(&mut self, out: &mut Vec<u8>, b: u8) {
        self.line_len += 1;
        // The limit counts the CRLF too (RFC 5321 §4.5.3.1.6: 1000 octets).
        if self.max_line > 0 && self.line_len + 2 > self.max_line {
            self.violate(DataViolation::LineTooLong);
        }
        self.emit(out, &[b]);
        self.state = State::Mid;
    }

    /// Decodes `input`, appending message content to `out`. Returns `Some(n)` when the
    /// end of data was found after consuming `n` octets of `input` (the rest belongs to
    /// the next command), or `None` when all of `input` was consumed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let mut i = 0;
        while i < input.len() {
            // Fast path: a run of ordinary bytes inside a line.
            if self.state == State::Mid {
                let run = input[i..]
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(input.len() - i);
                if run > 0 {
                    // As byte by byte: what comes before the limit is emitted, then
                    // nothing (the output must not depend on how input was cut).
                    if self.max_line > 0 && self.line_len + run + 2 > self.max_line {
                        let room = self
                            .max_line
                            .saturating_sub(2)
                            .saturating_sub(self.line_len)
                            .min(run);
                        self.emit(out, &input[i..i + room]);
                        self.violate(DataViolation::LineTooLong);
                    } else {
                        self.emit(out, &input[i..i + run]);
                    }
                    self.line_len += run;
                    i += run;
                    continue;
                }
            }
            let b = input[i];
            i += 1;
            match (self.state, b) {
                (State::Start, b'.') => self.state = State::Dot,
                (State::Start | State::Mid, b'\r') => self.state = State::Cr,
                (State::Start | State::Mid, b'\n') => self.bare_lf(out),
                (State::Start, b) => self.content_byte(out, b),
                (State::Dot, b'\r') => self.state = State::DotCr,
                (State::Dot, b'\n') => {
                    // "." ended by a bare LF: never the end of data.
                    self.violate_or_normalize();
                    self.line_len = 1;
                    self.emit(out, b".");
                    self.end_line(out, false);
                }
                // Dot-stuffing: a leading dot followed by anything else is removed.
                (State::Dot, b) => self.content_byte(out, b),
                (State::DotCr, b'\n') => {
                    if self.prev_crlf {
                        return Some(i);
                    }
                    // "." after a bare-LF line (Normalize mode): content, not the end.
                    self.line_len = 1;
                    self.emit(out, b".");
                    self.end_line(out, true);
                }
                (State::DotCr, b) => {
                    self.violate(DataViolation::BareCr);
                    self.line_len = 1;
                    self.emit(out, b".\r");
                    self.state = State::Mid;
                    i -= 1;
                    let _ = b;
                }
                (State::Cr, b'\n') => self.end_line(out, true),
                (State::Cr, _) => {
                    self.violate(DataViolation::BareCr);
                    self.emit(out, b"\r");
                    self.state = State::Mid;
                    i -= 1;
                }
                (State::Mid, b) => self.content_byte(out, b),
            }
        }
        None
    }

    fn violate_or_normalize(&mut self) {
        if self.mode == BareNewline::Reject {
            self.violate(DataViolation::BareLf);
        }
    }

    fn bare_lf(&mut self, out: &mut Vec<u8>) {
        self.violate_or_normalize();
        self.end_line(out, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(mode: BareNewline, input: &[u8]) -> (Vec<u8>, Option<usize>, Option<DataViolation>) {
        let mut d = DataDecoder::new(mode, 1000);
        let mut out = Vec::new();
        let end = d.feed(input, &mut out);
        (out, end, d.violation())
    }

    /// The same input fed one byte at a time gives the same result.
    fn decode_bytewise(
        mode: BareNewline,
        input: &[u8],
    ) -> (Vec<u8>, Option<usize>, Option<DataViolation>) {
        let mut d = DataDecoder::new(mode, 1000);
        let mut out = Vec::new();
        for (i, b) in input.iter().enumerate() {
            if let Some(n) = d.feed(std::slice::from_ref(b), &mut out) {
                return (out, Some(i + n), d.violation());
            }
        }
        (out, None, d.violation())
    }

    #[test]
    fn plain_message_and_dot_unstuffing() {
        let input = b"Subject: x\r\n\r\nline\r\n..leading dot\r\n.\r\nQUIT\r\n";
        for f in [decode, decode_bytewise] {
            let (out, end, v) = f(BareNewline::Reject, input);
            assert_eq!(out, b"Subject: x\r\n\r\nline\r\n.leading dot\r\n");
            assert_eq!(
                end,
                Some(input.len() - 6),
                "QUIT stays for the next command"
            );
            assert_eq!(v, None);
        }
    }

    #[test]
    fn empty_message() {
        let (out, end, _) = decode(BareNewline::Reject, b".\r\n");
        assert_eq!((out.as_slice(), end), (&b""[..], Some(3)));
    }

    #[test]
    fn bare_lf_dot_never_ends_data() {
        // The smuggling attempt: "\n.\n" then a second message, then the real end.
        let input = b"Subject: a\r\n\r\nhi\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nevil\r\n.\r\n";
        for mode in [BareNewline::Reject, BareNewline::Normalize] {
            for f in [decode, decode_bytewise] {
                let (out, end, v) = f(mode, input);
                assert_eq!(
                    end,
                    Some(input.len()),
                    "{mode:?}: only the final CRLF.CRLF ends data"
                );
                match mode {
                    BareNewline::Reject => assert_eq!(v, Some(DataViolation::BareLf)),
                    BareNewline::Normalize => {
                        assert_eq!(v, None);
                        // The would-be commands are just text inside this one message.
                        let text = String::from_utf8(out).unwrap();
                        assert!(
                            text.contains("hi\r\n.\r\nMAIL FROM:<evil@x>\r\n"),
                            "{text:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn other_smuggling_endings_do_not_end_data() {
        for attempt in [&b"x\r\n.\n"[..], b"x\n.\r\n", b"x\r.\r\n", b"x\r\n.\r"] {
            let mut input = attempt.to_vec();
            input.extend_from_slice(b"tail\r\n.\r\n");
            let (_, end, v) = decode(BareNewline::Reject, &input);
            assert_eq!(end, Some(input.len()), "{attempt:?}");
            assert!(v.is_some(), "{attempt:?} is a violation");
        }
    }

    #[test]
    fn bare_cr_is_always_refused() {
        for mode in [BareNewline::Reject, BareNewline::Normalize] {
            let (_, end, v) = decode(mode, b"a\rb\r\n.\r\n");
            assert_eq!(v, Some(DataViolation::BareCr));
            assert!(end.is_some());
        }
    }

    #[test]
    fn normalize_stores_crlf() {
        let (out, end, v) = decode(BareNewline::Normalize, b"a\nb\r\n.\r\n");
        assert_eq!(out, b"a\r\nb\r\n");
        assert!(end.is_some());
        assert_eq!(v, None);
    }

    #[test]
    fn long_lines_are_a_violation() {
        let mut input = vec![b'x'; 999];
        input.extend_from_slice(b"\r\n.\r\n");
        let (_, _, v) = decode(BareNewline::Reject, &input);
        assert_eq!(v, Some(DataViolation::LineTooLong));
        let mut ok = vec![b'x'; 998];
        ok.extend_from_slice(b"\r\n.\r\n");
        let (_, _, v) = decode(BareNewline::Reject, &ok);
        assert_eq!(v, None);
    }

    #[test]
    fn incomplete_input_waits() {
        let (out, end, _) = decode(BareNewline::Reject, b"abc\r\n.\r");
        assert_eq!(end, None);
        assert_eq!(out, b"abc\r\n");
    }
}
