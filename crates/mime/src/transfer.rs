//! Content-Transfer-Encoding (RFC 2045 §6): tolerant base64 and quoted-printable
//! decoding, and the IMAP `BINARY` rule (RFC 3516: an unknown encoding is an error).
//!
//! Decoders accept real-world junk (stray characters, missing padding, bad escapes)
//! rather than fail; they never panic. Does no I/O.

use std::borrow::Cow;

use crate::lines::Lines;

/// A part's transfer encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit`, also the default when the field is absent.
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `base64`.
    Base64,
    /// `quoted-printable`.
    QuotedPrintable,
    /// Anything else, lowercased (for example `x-uuencode`).
    Unknown(String),
}

impl TransferEncoding {
    /// Reads a Content-Transfer-Encoding value; `None` (absent) means `7bit`.
    pub fn from_field(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return TransferEncoding::SevenBit;
        };
        let token = value.trim().trim_matches('"').trim().to_ascii_lowercase();
        match token.as_str() {
            "" | "7bit" => TransferEncoding::SevenBit,
            "8bit" => TransferEncoding::EightBit,
            "binary" => TransferEncoding::Binary,
            "base64" => TransferEncoding::Base64,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            _ => TransferEncoding::Unknown(token),
        }
    }

    /// Whether the body is stored as is (7bit, 8bit, binary).
    pub fn is_identity(&self) -> bool {
        matches!(
            self,
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
        )
    }
}

/// A body whose transfer encoding is unknown cannot be decoded (IMAP answers
/// `[UNKNOWN-CTE]`, RFC 3516 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown content-transfer-encoding {0:?}")]
pub struct UnknownTransferEncoding(pub String);

/// Where decoders put bytes: a buffer, or a counter when only the size is wanted.
trait ByteSink {
    fn push(&mut self, byte: u8);
    fn extend(&mut self, bytes: &[u8]);
}

impl ByteSink for Vec<u8> {
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    fn extend(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

struct ByteCounter(u64);

impl ByteSink for ByteCounter {
    fn push(&mut self, _byte: u8) {
        self.0 += 1;
    }
    fn extend(&mut self, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

/// The body with its transfer encoding removed (borrowed for identity encodings).
pub fn decode_transfer<'a>(
    body: &'a [u8],
    encoding: &TransferEncoding,
) -> Result<Cow<'a, [u8]>, UnknownTransferEncoding> {
    match encoding {
        TransferEncoding::Base64 => Ok(Cow::Owned(decode_base64(body))),
        TransferEncoding::QuotedPrintable => Ok(Cow::Owned(decode_quoted_printable(body))),
        TransferEncoding::Unknown(name) => Err(UnknownTransferEncoding(name.clone())),
        _ => Ok(Cow::Borrowed(body)),
    }
}

/// The size of the decoded body without building it (IMAP `BINARY.SIZE`).
pub fn decoded_size(
    body: &[u8],
    encoding: &TransferEncoding,
) -> Result<u64, UnknownTransferEncoding> {
    let mut counter = ByteCounter(0);
    match encoding {
        TransferEncoding::Base64 => base64_into(body, &mut counter),
        TransferEncoding::QuotedPrintable => quoted_printable_into(body, &mut counter),
        TransferEncoding::Unknown(name) => return Err(UnknownTransferEncoding(name.clone())),
        _ => counter.0 = body.len() as u64,
    }
    Ok(counter.0)
}

fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// The value of an ASCII hex digit (either case).
pub(crate) fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// Decodes base64, skipping anything outside the alphabet; `=` ends a quantum, so
/// concatenated padded blocks decode too, and a missing padding is forgiven.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    base64_into(input, &mut out);
    out
}

fn base64_into(input: &[u8], out: &mut impl ByteSink) {
    let mut quantum: u32 = 0;
    let mut count = 0;
    for &byte in input {
        if let Some(value) = base64_value(byte) {
            quantum = quantum << 6 | u32::from(value);
            count += 1;
            if count == 4 {
                out.extend(&[(quantum >> 16) as u8, (quantum >> 8) as u8, quantum as u8]);
                quantum = 0;
                count = 0;
            }
        } else if byte == b'=' && count > 0 {
            flush_partial_quantum(quantum, count, out);
            quantum = 0;
            count = 0;
        }
    }
    flush_partial_quantum(quantum, count, out);
}

fn flush_partial_quantum(quantum: u32, count: u32, out: &mut impl ByteSink) {
    match count {
        2 => out.push((quantum >> 4) as u8),
        3 => out.extend(&[(quantum >> 10) as u8, (quantum >> 2) as u8]),
        _ => {}
    }
}

/// Decodes quoted-printable: `=XX` (either case) is a byte, `=` at the end of a line
/// is a soft break, trailing whitespace is dropped, and a malformed `=` stays as is.
/// Line terminators are kept as written.
pub fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    quoted_printable_into(input, &mut out);
    out
}

fn quoted_printable_into(input: &[u8], out: &mut impl ByteSink) {
    for line in Lines::new(input) {
        let content = &input[line.start..line.content_end];
        let trimmed_len = content
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(0, |i| i + 1);
        let content = &content[..trimmed_len];
        let mut soft_break = false;
        let mut i = 0;
        while i < content.len() {
            let byte = content[i];
            if byte != b'=' {
                let run = content[i..]
                    .iter()
                    .position(|&b| b == b'=')
                    .unwrap_or(content.len() - i);
                out.extend(&content[i..i + run]);
                i += run;
                continue;
            }
            if i + 1 == content.len() {
                soft_break = true;
                break;
            }
            let high = content.get(i + 1).copied().and_then(hex_value);
            let low = content.get(i + 2).copied().and_then(hex_value);
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high << 4 | low);
                i += 3;
            } else {
                out.push(b'=');
                i += 1;
            }
        }
        if !soft_break && line.has_lf() {
            out.extend(&input[line.content_end..line.next]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"TWFu", b"Man"),
            (b"TWE=", b"Ma"),
            (b"TQ==", b"M"),
            (b"TWE", b"Ma"),
            (b"TQ", b"M"),
            (b"T", b""),
            (b"TW\r\nFu\r\n", b"Man"),
            (b" T W F u ", b"Man"),
            (b"TWFu!!!TWFu", b"ManMan"),
            (b"TQ==TQ==", b"MM"),
            (b"SGVsbG8sIHdvcmxkIQ==", b"Hello, world!"),
            (b"====", b""),
        ];
        for (input, expected) in table {
            assert_eq!(decode_base64(input), *expected, "{input:?}");
            assert_eq!(
                decoded_size(input, &TransferEncoding::Base64),
                Ok(expected.len() as u64)
            );
        }
    }

    #[test]
    fn quoted_printable_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"abc", b"abc"),
            (b"caf=E9", b"caf\xe9"),
            (b"caf=e9", b"caf\xe9"),
            (b"soft=\r\nbreak", b"softbreak"),
            (b"soft=\nbreak", b"softbreak"),
            (b"soft= \t\r\nbreak", b"softbreak"),
            (b"trailing   \r\nnext", b"trailing\r\nnext"),
            (b"a=3D=3Db\n", b"a==b\n"),
            (b"bad=ZZ", b"bad=ZZ"),
            (b"bad=4", b"bad=4"),
            (b"end=", b"end"),
            (b"==41", b"=A"),
            (b"line1\r\nline2\r\n", b"line1\r\nline2\r\n"),
            // RFC 2045 §6.7 example shape: long line split with soft breaks.
            (
                b"Now's the time =\r\nfor all folk to come=\r\n to the aid of their country.",
                b"Now's the time for all folk to come to the aid of their country.",
            ),
        ];
        for (input, expected) in table {
            assert_eq!(decode_quoted_printable(input), *expected, "{input:?}");
            assert_eq!(
                decoded_size(input, &TransferEncoding::QuotedPrintable),
                Ok(expected.len() as u64)
            );
        }
    }

    #[test]
    fn transfer_encoding_names() {
        let table: &[(Option<&str>, TransferEncoding)] = &[
            (None, TransferEncoding::SevenBit),
            (Some("7BIT"), TransferEncoding::SevenBit),
            (Some(" 8bit "), TransferEncoding::EightBit),
            (Some("Binary"), TransferEncoding::Binary),
            (Some("BASE64"), TransferEncoding::Base64),
            (Some("Quoted-Printable"), TransferEncoding::QuotedPrintable),
            (
                Some("x-uuencode"),
                TransferEncoding::Unknown("x-uuencode".into()),
            ),
        ];
        for (value, expected) in table {
            assert_eq!(TransferEncoding::from_field(*value), *expected, "{value:?}");
        }
    }

    #[test]
    fn binary_rule() {
        let unknown = TransferEncoding::Unknown("x-uuencode".into());
        assert_eq!(
            decode_transfer(b"begin 644", &unknown),
            Err(UnknownTransferEncoding("x-uuencode".into()))
        );
        assert!(decoded_size(b"x", &unknown).is_err());
        assert_eq!(decoded_size(b"\0\xff", &TransferEncoding::Binary), Ok(2));
        assert!(matches!(
            decode_transfer(b"raw", &TransferEncoding::EightBit),
            Ok(Cow::Borrowed(b"raw"))
        ));
    }
}
