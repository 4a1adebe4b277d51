//! The DATA encoder (RFC 5321 §4.5.2 and §2.3.8): turns a message into the bytes sent
//! after `354`, line ends normalised to CRLF (bare LF and bare CR become CRLF), lines
//! starting with `.` get a second one, and `.<CRLF>` ends the body. Streaming, so the
//! session can write a large message in blocks without a second full copy.
//!
//! Pure: bytes in, bytes out; never panics.

/// Encodes a message for the DATA phase in pieces.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    /// The next byte starts a line (dot-stuffing applies).
    line_start: bool,
    /// A CR was seen and not yet written: it becomes CRLF with or without a LF.
    pending_cr: bool,
}

impl Default for DataEncoder {
    fn default() -> Self {
        DataEncoder {
            line_start: true,
            pending_cr: false,
        }
    }
}

impl DataEncoder {
    pub fn new() -> DataEncoder {
        DataEncoder::default()
    }

    /// Appends the encoding of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32 + 2);
        for &b in input {
            match b {
                b'\r' => {
                    if self.pending_cr {
                        out.extend_from_slice(b"\r\n");
                        self.line_start = true;
                    }
                    self.pending_cr = true;
                }
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    self.pending_cr = false;
                    self.line_start = true;
                }
                _ => {
                    if self.pending_cr {
                        out.extend_from_slice(b"\r\n");
                        self.pending_cr = false;
                        self.line_start = true;
                    }
                    if self.line_start && b == b'.' {
                        out.push(b'.');
                    }
                    out.push(b);
                    self.line_start = false;
                }
            }
        }
    }

    /// Ends the body: a final CRLF if the message lacked one, then `.<CRLF>`.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            out.extend_from_slice(b"\r\n");
            self.line_start = true;
        }
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// Encodes a whole message in one call.
pub fn encode_data(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut e = DataEncoder::new();
    e.encode(message, &mut out);
    e.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
            (b"a\nb", b"a\r\nb\r\n.\r\n"),
            (b"a\rb\r", b"a\r\nb\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (
                b"x\r\n.hidden\r\n..two\r\n",
                b"x\r\n..hidden\r\n...two\r\n.\r\n",
            ),
            (b"x\n.\n", b"x\r\n..\r\n.\r\n"),
            (b"\r\r\n", b"\r\n\r\n.\r\n"),
            (b"a.b\r\n", b"a.b\r\n.\r\n"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                encode_data(input),
                expected.to_vec(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Undoes the encoding as a server would: split on CRLF, drop the terminator,
    /// remove one leading dot.
    fn decode(wire: &[u8]) -> Vec<u8> {
        let body = wire.strip_suffix(b".\r\n").expect("terminator");
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_prefix(b".").unwrap_or(line);
            out.extend_from_slice(line);
        }
        out
    }

    fn normalise(input: &[u8]) -> Vec<u8> {
        let s = input.to_vec();
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'\r' if s.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                b => out.push(b),
            }
            i += 1;
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn chunked_encoding_equals_whole_and_round_trips(
            msg in proptest::collection::vec(proptest::sample::select(vec![b'a', b'.', b'\r', b'\n', b' ']), 0..200),
            cut in 0usize..200,
        ) {
            let whole = encode_data(&msg);
            let cut = cut.min(msg.len());
            let mut e = DataEncoder::new();
            let mut parts = Vec::new();
            e.encode(&msg[..cut], &mut parts);
            e.encode(&msg[cut..], &mut parts);
            e.finish(&mut parts);
            proptest::prop_assert_eq!(&parts, &whole);
            // Only the terminator is a lone dot line; no bare CR or LF on the wire.
            let body = &whole[..whole.len() - 3];
            proptest::prop_assert!(!body.windows(5).any(|w| w == b"\r\n.\r\n"));
            proptest::prop_assert!(!body.starts_with(b".\r\n"));
            for (i, &b) in whole.iter().enumerate() {
                if b == b'\n' { proptest::prop_assert_eq!(whole[i - 1], b'\r'); }
                if b == b'\r' { proptest::prop_assert_eq!(whole.get(i + 1), Some(&b'\n')); }
            }
            proptest::prop_assert_eq!(decode(&whole), normalise(&msg));
        }
    }
}
