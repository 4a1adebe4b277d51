//! The searchable text of a message for IMAP `SEARCH BODY`, `TEXT` and `HEADER`
//! (RFC 9051 §6.4.4): headers with encoded words decoded, and every `text/*` part
//! with its transfer encoding and charset removed; plus the case-insensitive
//! substring matching SEARCH uses.
//!
//! Reads the raw message through a parsed [`MessageStructure`]; never re-parses and
//! does no I/O. Case folding is Unicode lowercasing, which covers simple folding
//! for the scripts mail uses.

use encoding_rs::Encoding;

use crate::charset::decode_text;
use crate::encoded_word::decode_encoded_words_with_fallback;
use crate::header::{header_fields, unfold};
use crate::structure::{BodyPart, MessageStructure, PartBody};
use crate::transfer::decode_transfer;

/// Decoded text of a message, split as SEARCH needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchableText {
    /// Top-level header fields, one per line as `Name: decoded value`.
    pub header: String,
    /// Decoded text parts, and the decoded headers of embedded messages, each
    /// followed by a line break.
    pub body: String,
}

impl SearchableText {
    /// `SEARCH BODY`: whether the body contains `needle`, ignoring case.
    pub fn body_contains(&self, needle: &CaseInsensitiveNeedle) -> bool {
        needle.is_in(&self.body)
    }

    /// `SEARCH TEXT`: whether header or body contains `needle`, ignoring case.
    pub fn text_contains(&self, needle: &CaseInsensitiveNeedle) -> bool {
        needle.is_in(&self.header) || needle.is_in(&self.body)
    }
}

/// Folds case for comparison (Unicode lowercase).
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// A search string folded once, matched as a case-insensitive substring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInsensitiveNeedle {
    folded: String,
}

impl CaseInsensitiveNeedle {
    /// Prepares `needle` for matching.
    pub fn new(needle: &str) -> Self {
        CaseInsensitiveNeedle {
            folded: fold_case(needle),
        }
    }

    /// Whether `haystack` contains the needle, ignoring case. The empty needle
    /// matches everything.
    pub fn is_in(&self, haystack: &str) -> bool {
        if self.folded.is_empty() {
            return true;
        }
        if haystack.is_ascii() && self.folded.is_ascii() {
            return ascii_contains_ignore_case(haystack.as_bytes(), self.folded.as_bytes());
        }
        fold_case(haystack).contains(&self.folded)
    }

    /// Whether a haystack already passed through [`fold_case`] contains the needle.
    pub fn is_in_folded(&self, folded_haystack: &str) -> bool {
        folded_haystack.contains(&self.folded)
    }
}

/// `needle` must already be lowercase.
fn ascii_contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| {
        window
            .iter()
            .zip(needle)
            .all(|(h, n)| h.to_ascii_lowercase() == *n)
    })
}

/// Decoded header fields of a header block, one `Name: value` line each.
fn decoded_header(block: &[u8], fallback: &'static Encoding, out: &mut String) {
    for field in header_fields(block) {
        out.push_str(&String::from_utf8_lossy(field.name));
        out.push_str(": ");
        out.push_str(&decode_encoded_words_with_fallback(
            &unfold(field.value),
            fallback,
        ));
        out.push('\n');
    }
}

fn collect_body_text(raw: &[u8], part: &BodyPart, fallback: &'static Encoding, out: &mut String) {
    match &part.body {
        PartBody::Multipart(children) => {
            for child in children {
                collect_body_text(raw, child, fallback, out);
            }
        }
        PartBody::Message(message) => {
            decoded_header(message.root.header(raw), fallback, out);
            collect_body_text(raw, &message.root, fallback, out);
        }
        PartBody::Single if part.content_type.media_type == "text" => {
            let Ok(decoded) = decode_transfer(part.body(raw), &part.transfer_encoding()) else {
                return;
            };
            out.push_str(&decode_text(&decoded, part.charset(), fallback));
            out.push('\n');
        }
        PartBody::Single => {}
    }
}

/// The searchable text of `raw`, which `structure` was parsed from. `fallback`
/// decodes 8-bit text without a usable charset.
pub fn searchable_text(
    raw: &[u8],
    structure: &MessageStructure,
    fallback: &'static Encoding,
) -> SearchableText {
    let mut text = SearchableText::default();
    decoded_header(structure.root.header(raw), fallback, &mut text.header);
    collect_body_text(raw, &structure.root, fallback, &mut text.body);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needle_matching() {
        let table: &[(&str, &str, bool)] = &[
            ("Hello World", "world", true),
            ("Hello World", "WORLD", true),
            ("Hello World", "", true),
            ("Hello", "hello!", false),
            ("Straße", "STRASSE", false),
            ("ÉCOLE", "école", true),
            ("Καλημέρα", "ΚΑΛΗΜΈΡΑ", true),
            ("abc", "ÄBC", false),
        ];
        for (haystack, needle, expected) in table {
            assert_eq!(
                CaseInsensitiveNeedle::new(needle).is_in(haystack),
                *expected,
                "{haystack} / {needle}"
            );
        }
        let needle = CaseInsensitiveNeedle::new("WoRlD");
        assert!(needle.is_in_folded(&fold_case("HELLO WORLD")));
    }
}
