//! Header matching for SEARCH FROM, TO, CC, BCC, SUBJECT and HEADER (RFC 9051 §6.4.4):
//! every field of that name in the top-level header, unfolded, encoded words decoded
//! (8-bit text read as windows-1252 when not UTF-8), matched as a case-insensitive
//! substring. An empty string matches any message that has the field. Pure.

use encoding_rs::WINDOWS_1252;
use pillarbox_mime::{
    CaseInsensitiveNeedle, decode_encoded_words_with_fallback, header_fields, unfold,
};

/// Whether a field called `name` (lowercase) in `block` contains `needle`.
pub(super) fn header_contains(block: &[u8], name: &str, needle: &CaseInsensitiveNeedle) -> bool {
    header_fields(block).filter(|f| f.is_named(name)).any(|f| {
        let value = decode_encoded_words_with_fallback(&unfold(f.value), WINDOWS_1252);
        needle.is_in(&value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let block = "From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\nSubject: Hello\r\n World\r\nX-Empty:\r\nSubject: second\r\n\r\n".as_bytes();
        let cases: &[(&str, &str, bool)] = &[
            ("from", "jörg", true),
            ("from", "J@X.TEST", true),
            ("subject", "hello world", true),
            ("subject", "SECOND", true),
            ("subject", "third", false),
            ("x-empty", "", true),
            ("x-missing", "", false),
            ("to", "j", false),
        ];
        for (name, needle, expected) in cases {
            assert_eq!(
                header_contains(block, name, &CaseInsensitiveNeedle::new(needle)),
                *expected,
                "{name} {needle}"
            );
        }
    }
}
