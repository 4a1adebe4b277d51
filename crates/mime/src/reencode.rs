//! The rewrite collection applies to mail fetched from servers that let undeclared
//! 8-bit text through: header fields with raw bytes that are not UTF-8 are converted
//! from a fallback charset ("code page") to UTF-8, as RFC 2047 encoded words where
//! the grammar allows them (unstructured fields, display names) and as RFC 6532 raw
//! UTF-8 elsewhere; `text/*` parts with 8-bit content and no usable charset get one
//! declared.
//!
//! Pure: bytes in, bytes out. Leaves every other byte of the message as it was.
//! Does no I/O.

use base64::Engine;
use encoding_rs::{Encoding, WINDOWS_1252};

use crate::charset::{encoding_for_label, is_ascii_label};
use crate::header::{HeaderField, header_fields};
use crate::parser::parse;
use crate::structure::{BodyPart, PartBody};
use crate::transfer::decode_transfer;

/// Longest UTF-8 payload of one encoded word (keeps each word within 75 characters).
const MAX_WORD_PAYLOAD: usize = 45;

const ADDRESS_FIELDS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
];
const UNSTRUCTURED_FIELDS: &[&str] = &[
    "subject",
    "comments",
    "content-description",
    "thread-topic",
    "keywords",
];

/// Rewrites `raw` so its headers carry no undeclared 8-bit text and its 8-bit text
/// parts declare a charset. `fallback_charset` (for example `windows-1252`,
/// `ISO-8859-2`, `Shift_JIS`) reads the undeclared bytes; an unknown label means
/// windows-1252, and so does a code page that is not ASCII-compatible (UTF-16).
/// Returns the message unchanged when nothing needs rewriting.
pub fn reencode_undeclared_8bit_headers(raw: &[u8], fallback_charset: &str) -> Vec<u8> {
    // Header bytes are ASCII-framed, so only ASCII-compatible code pages make sense.
    let fallback = encoding_for_label(fallback_charset)
        .filter(|encoding| encoding.is_ascii_compatible())
        .unwrap_or(WINDOWS_1252);
    let structure = parse(raw);
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    structure
        .root
        .visit(&mut |part| collect_part_edits(raw, part, fallback, &mut edits));
    if edits.is_empty() {
        return raw.to_vec();
    }
    edits.sort_by_key(|(start, end, _)| (*start, *end));
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 8);
    let mut cursor = 0;
    for (start, end, replacement) in edits {
        if start < cursor || end > raw.len() {
            continue; // cannot happen for a well-formed tree; never corrupt output
        }
        out.extend_from_slice(&raw[cursor..start]);
        out.extend_from_slice(&replacement);
        cursor = end;
    }
    out.extend_from_slice(&raw[cursor..]);
    out
}

/// The charset to declare for a text leaf, when it needs one.
fn charset_to_declare(
    raw: &[u8],
    part: &BodyPart,
    fallback: &'static Encoding,
) -> Option<&'static str> {
    if part.content_type.media_type != "text" || !matches!(part.body, PartBody::Single) {
        return None;
    }
    if part.charset().is_some_and(|label| !is_ascii_label(label)) {
        return None;
    }
    let decoded = decode_transfer(part.body(raw), &part.transfer_encoding()).ok()?;
    if decoded.is_ascii() {
        return None;
    }
    Some(if std::str::from_utf8(&decoded).is_ok() {
        "utf-8"
    } else {
        fallback.name()
    })
}

fn collect_part_edits(
    raw: &[u8],
    part: &BodyPart,
    fallback: &'static Encoding,
    edits: &mut Vec<(usize, usize, Vec<u8>)>,
) {
    let range = part.header_range();
    let Some(block) = raw.get(range.clone()) else {
        return;
    };
    let header_start = range.start;
    let mut declare = charset_to_declare(raw, part, fallback);
    let mut seen_content_type = false;
    for field in header_fields(block) {
        let needs_conversion = !field.raw.is_ascii() && std::str::from_utf8(field.raw).is_err();
        let is_first_content_type = field.is_named("content-type") && !seen_content_type;
        seen_content_type |= field.is_named("content-type");
        let charset = if is_first_content_type {
            declare.take()
        } else {
            None
        };
        if !needs_conversion && charset.is_none() {
            continue;
        }
        let mut replacement = if needs_conversion {
            convert_field(&field, fallback)
        } else {
            field.raw.to_vec()
        };
        if let Some(charset) = charset {
            replacement = with_charset(&replacement, part, charset);
        }
        let start = header_start + field.offset;
        edits.push((start, start + field.raw.len(), replacement));
    }
    if let Some(charset) = declare {
        let line_end: &[u8] = if block.ends_with(b"\r\n") || block.is_empty() {
            b"\r\n"
        } else {
            b"\n"
        };
        let subtype = &part.content_type.subtype;
        let mut field = format!("Content-Type: text/{subtype}; charset={charset}").into_bytes();
        field.extend_from_slice(line_end);
        if block.is_empty() {
            // A part without a header needs the blank line too.
            field.extend_from_slice(line_end);
        }
        edits.push((header_start, header_start, field));
    }
}

/// A Content-Type field with `charset` declared: appended, or replacing a
/// US-ASCII declaration.
fn with_charset(field: &[u8], part: &BodyPart, charset: &str) -> Vec<u8> {
    let body_len = field
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    let (text, terminator) = field.split_at(body_len);
    let mut out = if part.charset().is_some() {
        // Rebuild: the declared charset was US-ASCII and is wrong.
        let mut rebuilt = format!(
            "Content-Type: {}/{}",
            part.content_type.media_type, part.content_type.subtype
        );
        for parameter in part
            .content_type
            .parameters
            .iter()
            .filter(|p| p.name != "charset")
        {
            let escaped = parameter.value.replace('\\', "\\\\").replace('"', "\\\"");
            rebuilt.push_str(&format!("; {}=\"{}\"", parameter.name, escaped));
        }
        rebuilt.into_bytes()
    } else {
        text.to_vec()
    };
    out.extend_from_slice(format!("; charset={charset}").as_bytes());
    out.extend_from_slice(if terminator.is_empty() {
        b"\r\n"
    } else {
        terminator
    });
    out
}

/// Converts one field from `fallback` to UTF-8, encoding where the grammar allows.
fn convert_field(field: &HeaderField<'_>, fallback: &'static Encoding) -> Vec<u8> {
    let (text, _) = fallback.decode_without_bom_handling(field.raw);
    let name_len = field
        .raw
        .iter()
        .position(|&b| b == b':')
        .map_or(0, |i| i + 1);
    // The name is ASCII, so its length is the same in the decoded text.
    let (name, value) = text.split_at_checked(name_len).unwrap_or(("", &text));
    let fold = if field.raw.ends_with(b"\r\n") {
        "\r\n "
    } else {
        "\n "
    };
    let lower = String::from_utf8_lossy(field.name).to_ascii_lowercase();
    let converted = if UNSTRUCTURED_FIELDS.contains(&lower.as_str()) || lower.starts_with("x-") {
        encode_words(value, fold, false)
    } else if ADDRESS_FIELDS.contains(&lower.as_str()) {
        encode_address_phrases(value, fold)
    } else {
        value.to_string()
    };
    format!("{name}{converted}").into_bytes()
}

/// RFC 2047 `B` encoded words in UTF-8 for `text`, split on character boundaries.
fn encoded_word(text: &str, fold: &str) -> String {
    let mut words = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_end = 0;
    for (index, c) in text.char_indices() {
        if index + c.len_utf8() - chunk_start > MAX_WORD_PAYLOAD && chunk_end > chunk_start {
            words.push(&text[chunk_start..chunk_end]);
            chunk_start = chunk_end;
        }
        chunk_end = index + c.len_utf8();
    }
    if chunk_end > chunk_start {
        words.push(&text[chunk_start..chunk_end]);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(fold)
}

/// An unstructured header value (a Subject, say) with its non-ASCII words as RFC 2047
/// encoded words of at most 75 characters, folded onto continuation lines.
pub fn encode_unstructured(value: &str) -> String {
    encode_words(value, "\r\n ", false)
}

/// Unstructured text: each run of non-ASCII words on one line becomes encoded words.
/// With `keep_addr_specs`, words containing `@` are left as UTF-8.
fn encode_words(value: &str, fold: &str, keep_addr_specs: bool) -> String {
    let is_space = |c: char| c.is_ascii_whitespace();
    let mut out = String::with_capacity(value.len() * 2);
    let mut rest = value;
    while !rest.is_empty() {
        let ws_len = rest.len() - rest.trim_start_matches(is_space).len();
        out.push_str(&rest[..ws_len]);
        rest = &rest[ws_len..];
        // A run of words joined by spaces/tabs only (never across a line break).
        let mut run_end = 0;
        let mut run_has_8bit = false;
        let mut scan = rest;
        loop {
            let word_len = scan.find(is_space).unwrap_or(scan.len());
            if word_len == 0 {
                break;
            }
            let word = &scan[..word_len];
            let encodable = !(word.is_ascii() || keep_addr_specs && word.contains('@'));
            if run_end > 0 && !encodable {
                break;
            }
            run_has_8bit |= encodable;
            run_end = rest.len() - scan.len() + word_len;
            if !run_has_8bit {
                break;
            }
            let after = &scan[word_len..];
            let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
            if gap == 0 || after[gap..].starts_with(['\r', '\n']) || after[gap..].is_empty() {
                break;
            }
            scan = &after[gap..];
        }
        let run = &rest[..run_end];
        if run_has_8bit {
            out.push_str(&encoded_word(run, fold));
        } else {
            out.push_str(run);
        }
        rest = &rest[run_end..];
    }
    out
}

/// Address lists: non-ASCII quoted strings and bare words outside angle brackets
/// and comments become encoded words; everything else stays as UTF-8.
fn encode_address_phrases(value: &str, fold: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    let mut chars = value.char_indices().peekable();
    let mut plain_start = 0;
    let flush_plain = |out: &mut String, from: usize, to: usize| {
        if from < to {
            out.push_str(&encode_words(&value[from..to], fold, true));
        }
    };
    while let Some((index, c)) = chars.next() {
        let closer = match c {
            '"' => '"',
            '<' => '>',
            '(' => ')',
            _ => continue,
        };
        flush_plain(&mut out, plain_start, index);
        let mut end = value.len();
        let mut escaped = false;
        for (i, inner) in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if inner == '\\' {
                escaped = true;
            } else if inner == closer {
                end = i + inner.len_utf8();
                break;
            }
        }
        let segment = &value[index..end];
        if c == '"' && !segment.is_ascii() {
            let inner = segment.trim_start_matches('"').trim_end_matches('"');
            let unescaped: String = unescape_quoted(inner);
            out.push_str(&encoded_word(&unescaped, fold));
        } else {
            out.push_str(segment);
        }
        plain_start = end;
    }
    flush_plain(&mut out, plain_start, value.len());
    out
}

fn unescape_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}
