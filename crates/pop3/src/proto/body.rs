//! How a stored message goes on the wire in RETR and TOP (RFC 1939 §3, §5, §7): every
//! line ends in CRLF (a bare LF in the stored octets becomes CRLF, an unterminated last
//! line gets one), lines starting with `.` are dot-stuffed, and TOP stops after the
//! header, the blank line and the requested number of body lines. Also the octet count
//! LIST and STAT report, which is exactly what RETR sends before dot-stuffing.
//!
//! Pure and incremental: messages are fed in chunks of any size, so large messages
//! stream without being held whole. No I/O here.

/// The octet count of a message as RETR sends it before dot-stuffing: the stored size
/// plus one CR per bare LF, plus CRLF if the last line is unterminated.
#[derive(Debug, Clone, Default)]
pub struct WireSize {
    stored: u64,
    bare_lf: u64,
    last: Option<u8>,
}

impl WireSize {
    /// Counts a chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        let Some(&end) = chunk.last() else {
            return;
        };
        for i in memchr::memchr_iter(b'\n', chunk) {
            let before = if i == 0 {
                self.last
            } else {
                Some(chunk[i - 1])
            };
            if before != Some(b'\r') {
                self.bare_lf += 1;
            }
        }
        self.last = Some(end);
        self.stored += chunk.len() as u64;
    }

    /// The total.
    pub fn total(&self) -> u64 {
        let unterminated = matches!(self.last, Some(b) if b != b'\n');
        self.stored + self.bare_lf + if unterminated { 2 } else { 0 }
    }

    /// The wire size of a whole message held in memory.
    pub fn of(message: &[u8]) -> u64 {
        let mut w = WireSize::default();
        w.feed(message);
        w.total()
    }
}

/// Where the encoder is in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// In the header, before the blank line.
    Header,
    /// In the body; `left` lines still to send (`None`: all of them).
    Body { left: Option<u64> },
    /// TOP has sent everything it was asked for.
    Done,
}

/// Encodes a message for RETR or TOP, chunk by chunk.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    part: Part,
    /// True when the next octet starts a line.
    line_start: bool,
    /// The last octet fed was a CR (which may pair with an LF in the next chunk).
    prev_cr: bool,
    /// Octets in the current line so far (CRs included).
    line_len: u64,
    /// `Some(n)` for TOP n.
    top: Option<u64>,
}

impl BodyEncoder {
    /// The whole message (RETR).
    pub fn retr() -> BodyEncoder {
        BodyEncoder {
            part: Part::Body { left: None },
            line_start: true,
            prev_cr: false,
            line_len: 0,
            top: None,
        }
    }

    /// The header, the blank line and `lines` body lines (TOP).
    pub fn top(lines: u64) -> BodyEncoder {
        BodyEncoder {
            part: Part::Header,
            line_start: true,
            prev_cr: false,
            line_len: 0,
            top: Some(lines),
        }
    }

    /// True once TOP has everything it needs; further input is ignored.
    pub fn is_done(&self) -> bool {
        self.part == Part::Done
    }

    /// Encodes `chunk` onto `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut rest = chunk;
        while !rest.is_empty() && self.part != Part::Done {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.segment(&rest[..i], out);
                    self.end_line(out);
                    rest = &rest[i + 1..];
                }
                None => {
                    self.segment(rest, out);
                    rest = &[];
                }
            }
        }
    }

    /// Closes an unterminated last line and appends the terminator (RFC 1939 §3).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.line_start && self.part != Part::Done {
            // The stored line's trailing CR (if any) was already sent as data.
            out.extend_from_slice(b"\r\n");
        }
        self.line_start = true;
        out.extend_from_slice(crate::proto::TERMINATOR);
    }

    /// Octets of one line without its LF.
    fn segment(&mut self, seg: &[u8], out: &mut Vec<u8>) {
        let Some(&last) = seg.last() else {
            return;
        };
        if self.line_start && seg[0] == b'.' {
            out.push(b'.');
        }
        out.extend_from_slice(seg);
        self.line_start = false;
        self.line_len += seg.len() as u64;
        self.prev_cr = last == b'\r';
    }

    /// An LF: the line ends (adding the CR a bare LF lacks).
    fn end_line(&mut self, out: &mut Vec<u8>) {
        if self.prev_cr {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
        let empty = self.line_len == 0 || (self.line_len == 1 && self.prev_cr);
        self.line_start = true;
        self.prev_cr = false;
        self.line_len = 0;
        self.part = match self.part {
            Part::Header if empty => match self.top {
                Some(0) => Part::Done,
                n => Part::Body { left: n },
            },
            Part::Body { left: Some(n) } if n <= 1 => Part::Done,
            Part::Body { left: Some(n) } => Part::Body { left: Some(n - 1) },
            other => other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_in_chunks(enc: BodyEncoder, msg: &[u8], chunk: usize) -> Vec<u8> {
        let mut enc = enc;
        let mut out = Vec::new();
        for c in msg.chunks(chunk.max(1)) {
            enc.feed(c, &mut out);
        }
        enc.finish(&mut out);
        out
    }

    /// Undoes dot-stuffing and drops the terminator, as a client does.
    fn unstuff(wire: &[u8]) -> Vec<u8> {
        let body = wire.strip_suffix(b".\r\n").expect("terminator");
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        out
    }

    fn all_chunkings(enc: &BodyEncoder, msg: &[u8]) -> Vec<u8> {
        let whole = encode_in_chunks(enc.clone(), msg, msg.len().max(1));
        for size in 1..=msg.len().min(9) {
            assert_eq!(
                encode_in_chunks(enc.clone(), msg, size),
                whole,
                "chunk size {size} of {:?}",
                String::from_utf8_lossy(msg)
            );
        }
        whole
    }

    #[test]
    fn retr_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"A: b\r\n\r\nbody\r\n", b"A: b\r\n\r\nbody\r\n.\r\n"),
            (b"A: b\n\nbody\n", b"A: b\r\n\r\nbody\r\n.\r\n"),
            (
                b"A: b\r\n\r\nno newline",
                b"A: b\r\n\r\nno newline\r\n.\r\n",
            ),
            (b".\r\n..x\r\n.", b"..\r\n...x\r\n..\r\n.\r\n"),
            (b"a\r\n.\r\n", b"a\r\n..\r\n.\r\n"),
            (b"bare\rcr\r\n", b"bare\rcr\r\n.\r\n"),
            (b"ends with cr\r", b"ends with cr\r\r\n.\r\n"),
            (b"x\n.y\n", b"x\r\n..y\r\n.\r\n"),
            (b"\n\n", b"\r\n\r\n.\r\n"),
        ];
        for (msg, want) in table {
            let got = all_chunkings(&BodyEncoder::retr(), msg);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "{:?}",
                String::from_utf8_lossy(msg)
            );
            // LIST's size is what RETR sends before stuffing, terminator excluded.
            assert_eq!(
                WireSize::of(msg),
                unstuff(&got).len() as u64,
                "{:?}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    #[test]
    fn wire_size_in_chunks_matches_whole() {
        let msg = b"a\nb\r\nc\n\rd\r";
        for size in 1..msg.len() {
            let mut w = WireSize::default();
            for c in msg.chunks(size) {
                w.feed(c);
            }
            assert_eq!(w.total(), WireSize::of(msg), "chunk {size}");
        }
        assert_eq!(WireSize::of(b"a\r\nb\r\n"), 6);
        assert_eq!(WireSize::of(b"a\nb\n"), 6);
        assert_eq!(WireSize::of(b"a"), 3);
        assert_eq!(WireSize::of(b""), 0);
    }

    #[test]
    fn top_table() {
        let msg = b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        let table: &[(u64, &[u8])] = &[
            (0, b"Subject: x\r\nFrom: y\r\n\r\n.\r\n"),
            (1, b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n.\r\n"),
            (2, b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\n.\r\n"),
            (3, b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n"),
            (
                99,
                b"Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n",
            ),
        ];
        for (n, want) in table {
            let got = all_chunkings(&BodyEncoder::top(*n), msg);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "TOP {n}"
            );
        }
    }

    #[test]
    fn top_with_bare_lf_unterminated_body_and_no_body() {
        let got = all_chunkings(&BodyEncoder::top(1), b"A: b\n\nline one\nline two\n");
        assert_eq!(got, b"A: b\r\n\r\nline one\r\n.\r\n");
        let got = all_chunkings(&BodyEncoder::top(5), b"A: b\r\n\r\npartial");
        assert_eq!(got, b"A: b\r\n\r\npartial\r\n.\r\n");
        // Header only, no blank line: the whole header, then the terminator.
        let got = all_chunkings(&BodyEncoder::top(0), b"A: b\r\nC: d\r\n");
        assert_eq!(got, b"A: b\r\nC: d\r\n.\r\n");
        // A header line holding a lone CR is not the blank line... but CRLF is.
        let got = all_chunkings(&BodyEncoder::top(0), b"A: b\r\n\r\r\n\r\nbody\r\n");
        assert_eq!(got, b"A: b\r\n\r\r\n\r\n.\r\n");
    }

    #[test]
    fn the_encoder_is_done_after_top() {
        let mut enc = BodyEncoder::top(0);
        let mut out = Vec::new();
        enc.feed(b"A: b\r\n\r\nbody", &mut out);
        assert!(enc.is_done());
        enc.feed(b"more", &mut out);
        enc.finish(&mut out);
        assert_eq!(out, b"A: b\r\n\r\n.\r\n");
    }
}
