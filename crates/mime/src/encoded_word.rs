//! RFC 2047 encoded-word decoding (`=?charset?B|Q?text?=`) to UTF-8.
//!
//! Adjacent encoded words separated only by whitespace are joined (and their bytes
//! concatenated before charset conversion, so a multi-byte character split across
//! two words survives). Malformed words and words in charsets `encoding_rs` does not
//! know are left exactly as written. Runs in linear time. Does no I/O.

use encoding_rs::{Encoding, WINDOWS_1252};

use crate::charset::{decode_undeclared, encoding_for_label};
use crate::transfer::{decode_base64, hex_value};

/// Longest charset label accepted inside an encoded word.
const MAX_CHARSET_LEN: usize = 64;

/// Decodes the encoded words of a header value; text outside encoded words that is
/// not valid UTF-8 is read as windows-1252.
pub fn decode_encoded_words(raw: &[u8]) -> String {
    decode_encoded_words_with_fallback(raw, WINDOWS_1252)
}

/// Decodes the encoded words of a header value; text outside encoded words that is
/// not valid UTF-8 is read with `fallback`.
pub fn decode_encoded_words_with_fallback(raw: &[u8], fallback: &'static Encoding) -> String {
    let mut decoder = WordDecoder {
        out: String::with_capacity(raw.len()),
        pending: None,
        fallback,
    };
    let mut finder = NextOccurrence::default();
    let mut plain_start = 0;
    let mut last_was_word = false;
    let mut i = 0;
    while i + 1 < raw.len() {
        if raw[i] != b'=' || raw[i + 1] != b'?' {
            i += 1;
            continue;
        }
        let Some(word) = parse_word(raw, i, &mut finder) else {
            i += 1;
            continue;
        };
        let between = &raw[plain_start..i];
        if !(last_was_word && between.iter().all(|b| b.is_ascii_whitespace())) {
            decoder.flush_word();
            decoder.push_plain(between);
        }
        decoder.push_word(word.encoding, &word.bytes);
        i = word.end;
        plain_start = i;
        last_was_word = true;
    }
    decoder.flush_word();
    decoder.push_plain(&raw[plain_start..]);
    decoder.out
}

struct WordDecoder {
    out: String,
    pending: Option<(&'static Encoding, Vec<u8>)>,
    fallback: &'static Encoding,
}

impl WordDecoder {
    fn push_word(&mut self, encoding: &'static Encoding, bytes: &[u8]) {
        match &mut self.pending {
            Some((pending_encoding, pending)) if *pending_encoding == encoding => {
                pending.extend_from_slice(bytes);
            }
            _ => {
                self.flush_word();
                self.pending = Some((encoding, bytes.to_vec()));
            }
        }
    }

    fn flush_word(&mut self) {
        if let Some((encoding, bytes)) = self.pending.take() {
            self.out
                .push_str(&encoding.decode_without_bom_handling(&bytes).0);
        }
    }

    fn push_plain(&mut self, bytes: &[u8]) {
        self.out.push_str(&decode_undeclared(bytes, self.fallback));
    }
}

struct EncodedWord {
    encoding: &'static Encoding,
    bytes: Vec<u8>,
    end: usize,
}

/// Finds the next `?=` and the next whitespace at or after a position, remembering
/// the answers so repeated failed attempts stay linear overall.
#[derive(Default)]
struct NextOccurrence {
    terminator: Option<(usize, Option<usize>)>,
    whitespace: Option<(usize, Option<usize>)>,
}

impl NextOccurrence {
    fn terminator(&mut self, raw: &[u8], from: usize) -> Option<usize> {
        if let Some((searched_from, found)) = self.terminator
            && searched_from <= from
            && found.is_none_or(|f| f >= from)
        {
            return found;
        }
        let found = raw
            .get(from..)
            .and_then(|rest| rest.windows(2).position(|w| w == b"?="))
            .map(|p| p + from);
        self.terminator = Some((from, found));
        found
    }

    fn whitespace(&mut self, raw: &[u8], from: usize) -> Option<usize> {
        if let Some((searched_from, found)) = self.whitespace
            && searched_from <= from
            && found.is_none_or(|f| f >= from)
        {
            return found;
        }
        let found = raw
            .get(from..)
            .and_then(|rest| rest.iter().position(|b| b.is_ascii_whitespace()))
            .map(|p| p + from);
        self.whitespace = Some((from, found));
        found
    }
}

/// Parses the encoded word starting at `start` (which holds `=?`).
fn parse_word(raw: &[u8], start: usize, finder: &mut NextOccurrence) -> Option<EncodedWord> {
    let charset_start = start + 2;
    let charset_len = raw
        .get(charset_start..)?
        .iter()
        .take(MAX_CHARSET_LEN + 1)
        .position(|&b| b == b'?')?;
    let charset = &raw[charset_start..charset_start + charset_len];
    if charset.is_empty() || charset.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let method = *raw.get(charset_start + charset_len + 1)?;
    if raw.get(charset_start + charset_len + 2) != Some(&b'?') {
        return None;
    }
    let text_start = charset_start + charset_len + 3;
    let text_end = finder.terminator(raw, text_start)?;
    if finder
        .whitespace(raw, text_start)
        .is_some_and(|w| w < text_end)
    {
        return None;
    }
    // RFC 2231 §5: the charset may carry a language after '*'.
    let label = charset.split(|&b| b == b'*').next().unwrap_or(charset);
    let encoding = encoding_for_label(std::str::from_utf8(label).ok()?)?;
    let text = &raw[text_start..text_end];
    let bytes = match method {
        b'B' | b'b' => decode_base64(text),
        b'Q' | b'q' => decode_q(text),
        _ => return None,
    };
    Some(EncodedWord {
        encoding,
        bytes,
        end: text_end + 2,
    })
}

/// The "Q" encoding of RFC 2047 §4.2: `_` is a space, `=XX` a byte.
fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let high = text.get(i + 1).copied().and_then(hex_value);
                let low = text.get(i + 2).copied().and_then(hex_value);
                if let (Some(high), Some(low)) = (high, low) {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2047_section8_examples() {
        let table: &[(&str, &str)] = &[
            ("(=?ISO-8859-1?Q?a?=)", "(a)"),
            ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
            ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
            ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
            ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
            ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
            ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
            ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
            (
                "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=",
                "Keld J\u{f8}rn Simonsen",
            ),
            ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\u{e9} Pirard"),
            (
                "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
                "If you can read this you understand the example.",
            ),
            ("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"),
        ];
        for (raw, expected) in table {
            assert_eq!(decode_encoded_words(raw.as_bytes()), *expected, "{raw}");
        }
    }

    #[test]
    fn real_world_and_malformed_words() {
        let table: &[(&[u8], &str)] = &[
            // UTF-8 character split across two words.
            (b"=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "\u{e9}\u{e9}"),
            (b"=?utf-8?B?4pyI?= =?utf-8?B?77iP?=", "\u{2708}\u{fe0f}"),
            (b"=?UTF-8?Q?=E2=82?==?UTF-8?Q?=AC?=", "\u{20ac}"),
            (b"=?x-unknown?Q?abc?=", "=?x-unknown?Q?abc?="),
            (b"=?utf-8?X?abc?=", "=?utf-8?X?abc?="),
            (b"=?utf-8?Q?abc", "=?utf-8?Q?abc"),
            (b"=?utf-8?Q?a b?=", "=?utf-8?Q?a b?="),
            (b"=??Q?a?=", "=??Q?a?="),
            (b"pre=?utf-8?q?x?=post", "prexpost"),
            (b"caf\xe9 =?utf-8?q?ok?=", "caf\u{e9} ok"),
            (b"=?utf-8?q?a?= =?x-unknown?q?b?=", "a =?x-unknown?q?b?="),
            (b"=?Shift_JIS?B?gqA=?=", "\u{3042}"),
            (b"", ""),
            (b"=?", "=?"),
            (b"=?utf-8?q?=ZZ?=", "=ZZ"),
        ];
        for (raw, expected) in table {
            assert_eq!(decode_encoded_words(raw), *expected, "{raw:?}");
        }
    }

    #[test]
    fn pathological_input_is_linear() {
        let raw = b"=?a?q?x".repeat(20_000);
        let decoded = decode_encoded_words(&raw);
        assert_eq!(decoded.len(), raw.len());
    }
}
