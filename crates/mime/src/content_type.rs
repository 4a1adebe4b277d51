//! Content-Type and Content-Disposition values (RFC 2045 §5, RFC 2183) with their
//! parameters, including RFC 2231 continuations and charset/language decoding, and
//! the Content-Language list (RFC 3282).
//!
//! Parses one unfolded field value at a time; never fails: junk parameters are
//! skipped, and an invalid Content-Type yields `None` so the caller applies the
//! RFC 2045 default. Does no I/O.

use serde::{Deserialize, Serialize};

use crate::charset::{decode_text, decode_undeclared, encoding_for_label};
use crate::transfer::hex_value;

/// A media type: `type/subtype` (both lowercased) and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentType {
    /// Top-level type, lowercased (`text`, `multipart`, ...).
    #[serde(rename = "type")]
    pub media_type: String,
    /// Subtype, lowercased (`plain`, `mixed`, ...).
    pub subtype: String,
    /// Parameters in order of appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
}

impl ContentType {
    /// `text/plain; charset=us-ascii`, the RFC 2045 §5.2 default.
    pub fn default_text() -> Self {
        ContentType {
            media_type: "text".into(),
            subtype: "plain".into(),
            parameters: vec![Parameter {
                name: "charset".into(),
                value: "us-ascii".into(),
            }],
        }
    }

    /// `message/rfc822`, the default inside `multipart/digest` (RFC 2046 §5.1.5).
    pub fn default_digest_member() -> Self {
        ContentType {
            media_type: "message".into(),
            subtype: "rfc822".into(),
            parameters: Vec::new(),
        }
    }

    /// Whether the type is `media_type/subtype` (ASCII case-insensitive).
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
            && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The value of a parameter by (case-insensitive) name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        find_parameter(&self.parameters, name)
    }
}

/// One parameter: lowercased name without RFC 2231 `*` suffixes, and its value joined
/// across continuations and decoded to UTF-8. RFC 2047 words in values stay as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Lowercased attribute name.
    pub name: String,
    /// Decoded value.
    pub value: String,
}

/// A Content-Disposition: kind (`inline`, `attachment`, lowercased) and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentDisposition {
    /// Disposition type, lowercased.
    pub kind: String,
    /// Parameters in order of appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
}

impl ContentDisposition {
    /// The value of a parameter by (case-insensitive) name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        find_parameter(&self.parameters, name)
    }
}

fn find_parameter<'a>(parameters: &'a [Parameter], name: &str) -> Option<&'a str> {
    parameters
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_str())
}

/// Parses a Content-Type value; `None` when it is not `type/subtype`.
pub fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let mut cursor = Cursor {
        bytes: value,
        pos: 0,
    };
    cursor.skip_cfws();
    let media_type = cursor.token();
    cursor.skip_cfws();
    if !cursor.eat(b'/') {
        return None;
    }
    cursor.skip_cfws();
    let subtype = cursor.token();
    if media_type.is_empty() || subtype.is_empty() {
        return None;
    }
    Some(ContentType {
        media_type: media_type.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        parameters: cursor.parameters(),
    })
}

/// Parses a Content-Disposition value; `None` when the kind is missing.
pub fn parse_content_disposition(value: &[u8]) -> Option<ContentDisposition> {
    let mut cursor = Cursor {
        bytes: value,
        pos: 0,
    };
    cursor.skip_cfws();
    let kind = cursor.token();
    if kind.is_empty() {
        return None;
    }
    Some(ContentDisposition {
        kind: kind.to_ascii_lowercase(),
        parameters: cursor.parameters(),
    })
}

/// Parses a Content-Language list: comma-separated tags, comments dropped.
pub(crate) fn parse_language_list(value: &[u8]) -> Vec<String> {
    let mut cursor = Cursor {
        bytes: value,
        pos: 0,
    };
    let mut tags = Vec::new();
    while !cursor.at_end() {
        cursor.skip_cfws();
        let tag = cursor.token();
        if !tag.is_empty() {
            tags.push(tag);
        }
        cursor.skip_cfws();
        if !cursor.eat(b',') && !cursor.at_end() {
            cursor.pos += 1; // junk
        }
    }
    tags
}

/// RFC 2045 `tspecials` plus whitespace and controls end a token.
fn is_token_byte(byte: u8) -> bool {
    byte > b' ' && byte != 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&byte)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// One `name*N*=value` piece before RFC 2231 reassembly.
struct RawParameter {
    base: String,
    section: Option<u32>,
    extended: bool,
    value: Vec<u8>,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips whitespace and (nested) comments.
    fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(byte) = self.peek() {
            match byte {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                // A quoted pair skips the next byte, if there is one.
                b'\\' if depth > 0 && self.pos + 1 < self.bytes.len() => self.pos += 1,
                _ if depth > 0 => {}
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => return,
            }
            self.pos += 1;
        }
    }

    fn token(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned()
    }

    fn quoted_string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(byte) = self.peek() {
            self.pos += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(byte),
            }
        }
        out
    }

    /// An unquoted value: up to `;`, a comment, or the end (tolerating spaces inside).
    fn bare_value(&mut self) -> Vec<u8> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b';' && b != b'(') {
            self.pos += 1;
        }
        let raw = &self.bytes[start..self.pos];
        let end = raw
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        raw[..end].to_vec()
    }

    fn skip_to_semicolon(&mut self) {
        while self.peek().is_some_and(|b| b != b';') {
            if self.peek() == Some(b'"') {
                self.pos += 1;
                self.quoted_string();
            } else {
                self.pos += 1;
            }
        }
    }

    fn parameters(&mut self) -> Vec<Parameter> {
        let mut raw = Vec::new();
        loop {
            self.skip_to_semicolon();
            if !self.eat(b';') {
                break;
            }
            self.skip_cfws();
            let name = self.token();
            self.skip_cfws();
            if name.is_empty() || !self.eat(b'=') {
                continue;
            }
            self.skip_cfws();
            let value = if self.eat(b'"') {
                self.quoted_string()
            } else {
                self.bare_value()
            };
            raw.push(split_parameter_name(&name, value));
        }
        assemble_parameters(raw)
    }
}

/// Splits `name`, `name*`, `name*N` and `name*N*` (RFC 2231 §3, §4).
fn split_parameter_name(name: &str, value: Vec<u8>) -> RawParameter {
    let lower = name.to_ascii_lowercase();
    let Some((base, rest)) = lower.split_once('*') else {
        return RawParameter {
            base: lower,
            section: None,
            extended: false,
            value,
        };
    };
    let (digits, extended) = match rest.strip_suffix('*') {
        Some(digits) => (digits, true),
        None => (rest, rest.is_empty()),
    };
    RawParameter {
        base: base.to_string(),
        section: digits.parse().ok(),
        extended,
        value,
    }
}

fn percent_decode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let high = value.get(i + 1).copied().and_then(hex_value);
        let low = value.get(i + 2).copied().and_then(hex_value);
        match (value[i], high, low) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Joins continuations and decodes extended values; a decoded RFC 2231 value wins
/// over a plain one with the same name.
fn assemble_parameters(mut raw: Vec<RawParameter>) -> Vec<Parameter> {
    let mut order: Vec<String> = Vec::new();
    for piece in &raw {
        if !order.contains(&piece.base) {
            order.push(piece.base.clone());
        }
    }
    // Stable sort keeps plain values before sections; sections in numeric order.
    raw.sort_by_key(|p| p.section);
    order
        .into_iter()
        .map(|base| {
            let pieces: Vec<&RawParameter> = raw.iter().filter(|p| p.base == base).collect();
            let rfc2231: Vec<&RawParameter> = pieces
                .iter()
                .copied()
                .filter(|p| p.section.is_some() || p.extended)
                .collect();
            let value = if rfc2231.is_empty() {
                let plain = pieces.first().map_or(&[][..], |p| p.value.as_slice());
                decode_undeclared(plain, encoding_rs::WINDOWS_1252).into_owned()
            } else {
                decode_rfc2231(&rfc2231)
            };
            Parameter { name: base, value }
        })
        .collect()
}

fn decode_rfc2231(pieces: &[&RawParameter]) -> String {
    let mut charset: Option<String> = None;
    let mut bytes = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        if !piece.extended {
            bytes.extend_from_slice(&piece.value);
            continue;
        }
        let mut value = piece.value.as_slice();
        if index == 0 {
            let mut parts = value.splitn(3, |&b| b == b'\'');
            if let (Some(cs), Some(_language), Some(rest)) =
                (parts.next(), parts.next(), parts.next())
            {
                charset = Some(String::from_utf8_lossy(cs).into_owned());
                value = rest;
            }
        }
        bytes.extend_from_slice(&percent_decode(value));
    }
    let known = charset
        .as_deref()
        .filter(|cs| encoding_for_label(cs).is_some());
    decode_text(&bytes, known, encoding_rs::WINDOWS_1252).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(ct: &ContentType) -> Vec<(&str, &str)> {
        ct.parameters
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect()
    }

    #[test]
    fn a_comment_ending_in_a_backslash_ends_the_value() {
        // Found by the mime_parse fuzz target: the quoted pair ran past the end.
        for value in [
            &b"(\\*\xea\\"[..],
            b"text/plain (\\",
            b"text/plain; a=b (x\\",
        ] {
            for end in 0..=value.len() {
                let _ = parse_content_type(&value[..end]);
                let _ = parse_content_disposition(&value[..end]);
            }
        }
        assert_eq!(
            parse_content_type(b"text/plain (\\").map(|c| c.subtype),
            Some("plain".into())
        );
    }

    #[test]
    fn content_type_table() {
        type Expected<'a> = Option<(&'a str, &'a str, &'a [(&'a str, &'a str)])>;
        let table: &[(&str, Expected<'_>)] = &[
            ("text/plain", Some(("text", "plain", &[]))),
            (
                "text/plain; charset=us-ascii (Plain text)",
                Some(("text", "plain", &[("charset", "us-ascii")])),
            ),
            (
                "text/plain; charset=\"us-ascii\"",
                Some(("text", "plain", &[("charset", "us-ascii")])),
            ),
            (
                "Multipart/Mixed; boundary=\"simple boundary\"",
                Some(("multipart", "mixed", &[("boundary", "simple boundary")])),
            ),
            (
                "TEXT/HTML ; CHARSET = UTF-8 ; format=flowed",
                Some((
                    "text",
                    "html",
                    &[("charset", "UTF-8"), ("format", "flowed")],
                )),
            ),
            (
                "application/octet-stream; name=my file.pdf",
                Some(("application", "octet-stream", &[("name", "my file.pdf")])),
            ),
            (
                "text/plain; ; junk; charset=utf-8;",
                Some(("text", "plain", &[("charset", "utf-8")])),
            ),
            (
                "text/plain; name=\"a \\\"quoted\\\" \\\\ name\"",
                Some(("text", "plain", &[("name", "a \"quoted\" \\ name")])),
            ),
            ("(comment) text / plain", Some(("text", "plain", &[]))),
            ("text", None),
            ("/plain", None),
            ("", None),
            ("text/", None),
        ];
        for (value, expected) in table {
            let parsed = parse_content_type(value.as_bytes());
            match expected {
                None => assert_eq!(parsed, None, "{value}"),
                Some((t, s, p)) => {
                    let parsed = parsed.unwrap_or_else(|| panic!("{value}"));
                    assert_eq!(
                        (parsed.media_type.as_str(), parsed.subtype.as_str()),
                        (*t, *s)
                    );
                    assert_eq!(params(&parsed), p.to_vec(), "{value}");
                }
            }
        }
    }

    #[test]
    fn rfc2231_examples() {
        let table: &[(&str, &str, &str)] = &[
            // RFC 2231 §3
            (
                "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
                "url",
                "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar",
            ),
            // RFC 2231 §4
            (
                "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
                "title",
                "This is ***fun***",
            ),
            // RFC 2231 §4.1
            (
                "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
                "title",
                "This is even more ***fun*** isn't it!",
            ),
            (
                "application/pdf; name*=UTF-8''r%C3%A9sum%C3%A9.pdf; name=\"resume.pdf\"",
                "name",
                "r\u{e9}sum\u{e9}.pdf",
            ),
            (
                "application/pdf; name*1=\"b.pdf\"; name*0=\"a\"",
                "name",
                "ab.pdf",
            ),
            (
                "application/pdf; name*=iso-8859-1''caf%E9",
                "name",
                "caf\u{e9}",
            ),
            (
                "application/pdf; name*=x-bogus''caf%C3%A9",
                "name",
                "caf\u{e9}",
            ),
            (
                "application/pdf; name=\"=?UTF-8?Q?caf=C3=A9?=\"",
                "name",
                "=?UTF-8?Q?caf=C3=A9?=",
            ),
        ];
        for (value, name, expected) in table {
            let parsed = parse_content_type(value.as_bytes()).unwrap_or_else(|| panic!("{value}"));
            assert_eq!(parsed.parameter(name), Some(*expected), "{value}");
        }
    }

    #[test]
    fn disposition_and_language() {
        let d = parse_content_disposition(b"Attachment; filename=genome.jpeg;\r\n modification-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"")
            .unwrap_or_else(|| panic!("disposition"));
        assert_eq!(d.kind, "attachment");
        assert_eq!(d.parameter("filename"), Some("genome.jpeg"));
        assert_eq!(
            d.parameter("modification-date"),
            Some("Wed, 12 Feb 1997 16:29:51 -0500")
        );
        assert_eq!(parse_content_disposition(b"  "), None);
        assert_eq!(
            parse_language_list(b"en, fr (French)  ,, de-CH"),
            vec!["en", "fr", "de-CH"]
        );
        assert_eq!(parse_language_list(b""), Vec::<String>::new());
    }
}
