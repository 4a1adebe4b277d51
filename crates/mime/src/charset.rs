//! Charset conversion to UTF-8 through `encoding_rs`, with a caller-supplied fallback
//! ("code page") for 8-bit text whose charset is missing, wrong or unknown.
//!
//! Owns charset label lookup and text decoding; never guesses beyond "valid UTF-8 or
//! the fallback". Does no I/O.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// Labels mail software uses that the WHATWG list does not know.
const EXTRA_LABELS: &[(&str, &str)] = &[
    ("cp932", "shift_jis"),
    ("windows-932", "shift_jis"),
    ("cp949", "euc-kr"),
    ("windows-949", "euc-kr"),
    ("cp950", "big5"),
    ("windows-950", "big5"),
    ("cp65001", "utf-8"),
    ("latin-1", "iso-8859-1"),
    ("latin-2", "iso-8859-2"),
    ("iso8859_1", "iso-8859-1"),
    ("ks_c_5601", "euc-kr"),
    ("x-euc-jp", "euc-jp"),
    ("x-gbk", "gbk"),
];

/// The encoding for a MIME charset label (case-insensitive, quotes and whitespace
/// ignored), or `None` when unknown. Labels WHATWG maps to the "replacement"
/// encoding (ISO-2022-KR, HZ) are unknown here, so callers fall back.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"').trim();
    if let Some(encoding) = Encoding::for_label_no_replacement(label.as_bytes()) {
        return Some(encoding);
    }
    EXTRA_LABELS
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(label))
        .and_then(|(_, target)| Encoding::for_label_no_replacement(target.as_bytes()))
}

/// Whether a label declares plain US-ASCII (which mail software often gets wrong).
pub(crate) fn is_ascii_label(label: &str) -> bool {
    let label = label.trim().trim_matches('"').trim();
    ["us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(label))
}

/// Decodes undeclared text: ASCII and valid UTF-8 pass through, anything else is
/// read with `fallback`.
pub(crate) fn decode_undeclared<'a>(bytes: &'a [u8], fallback: &'static Encoding) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => fallback.decode_without_bom_handling(bytes).0,
    }
}

/// Converts text to UTF-8. `declared` is the charset parameter, if any. When it is
/// missing, unknown, or claims US-ASCII while 8-bit bytes appear, text that is valid
/// UTF-8 is kept and anything else is decoded with `fallback` (for example
/// `encoding_rs::WINDOWS_1252`, `ISO_8859_2` or `SHIFT_JIS`). Invalid sequences become
/// U+FFFD; this never fails.
pub fn decode_text<'a>(
    bytes: &'a [u8],
    declared: Option<&str>,
    fallback: &'static Encoding,
) -> Cow<'a, str> {
    let declared_encoding = declared
        .filter(|label| !is_ascii_label(label))
        .and_then(encoding_for_label);
    match declared_encoding {
        Some(encoding) => encoding.decode_with_bom_removal(bytes).0,
        None => decode_undeclared(bytes, fallback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve() {
        let table: &[(&str, Option<&str>)] = &[
            ("utf-8", Some("UTF-8")),
            ("UTF8", Some("UTF-8")),
            ("\"iso-8859-1\"", Some("windows-1252")),
            ("ISO-8859-2", Some("ISO-8859-2")),
            ("shift_jis", Some("Shift_JIS")),
            ("cp932", Some("Shift_JIS")),
            ("ks_c_5601-1987", Some("EUC-KR")),
            ("x-unknown", None),
            ("utf-7", None),
            ("iso-2022-kr", None),
            ("", None),
        ];
        for (label, expected) in table {
            assert_eq!(
                encoding_for_label(label).map(|e| e.name()),
                *expected,
                "{label}"
            );
        }
    }

    #[test]
    fn decode_text_table() {
        use encoding_rs::{ISO_8859_2, SHIFT_JIS, WINDOWS_1252};
        let table: &[(&[u8], Option<&str>, &'static Encoding, &str)] = &[
            (b"plain", None, WINDOWS_1252, "plain"),
            (b"caf\xc3\xa9", None, WINDOWS_1252, "caf\u{e9}"),
            (b"caf\xe9", None, WINDOWS_1252, "caf\u{e9}"),
            (b"caf\xe9", Some("us-ascii"), WINDOWS_1252, "caf\u{e9}"),
            (b"\xb1", None, ISO_8859_2, "\u{105}"),
            (b"\x82\xa0", None, SHIFT_JIS, "\u{3042}"),
            (b"\x82\xa0", Some("shift_jis"), WINDOWS_1252, "\u{3042}"),
            (b"caf\xe9", Some("unknown-8bit"), WINDOWS_1252, "caf\u{e9}"),
            (b"\xff\xfeh\0i\0", Some("utf-16"), WINDOWS_1252, "hi"),
        ];
        for (bytes, declared, fallback, expected) in table {
            assert_eq!(
                decode_text(bytes, *declared, fallback),
                *expected,
                "{bytes:?}"
            );
        }
    }
}
