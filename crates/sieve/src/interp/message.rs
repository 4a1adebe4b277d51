//! The message as the script sees it: the top-level header fields (editable by
//! `addheader`/`deleteheader`, RFC 5293, so later tests see the edits), their decoded
//! values (RFC 2047 via `pillarbox-mime`, RFC 5228 §2.7.2), the addresses in them
//! (RFC 5228 §2.7.4, RFC 5233), and the edited message serialised for the caller.
//!
//! Never changes the body and never reads beyond the bytes it was given.

use std::sync::Arc;

use pillarbox_mime::{
    Address, MISSING_DOMAIN, MISSING_MAILBOX, decode_encoded_words, header_end, header_fields,
    parse_address_list, unfold,
};

use crate::script::{AddressPart, Index};

/// One header field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: String,
    /// The raw value after the colon, still folded.
    pub value: Vec<u8>,
    /// The whole field with its line terminators.
    pub raw: Vec<u8>,
}

impl Field {
    /// The unfolded, RFC 2047-decoded value (RFC 5228 §5.7).
    pub(crate) fn decoded(&self) -> String {
        decode_encoded_words(&unfold(&self.value))
    }

    fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

pub(crate) struct MessageView<'a> {
    pub raw: &'a [u8],
    pub fields: Vec<Field>,
    pub body_start: usize,
    pub edited: bool,
    serialised: Option<Arc<[u8]>>,
}

/// Indices of the fields named `name`, or only of the `index`-th of them
/// (RFC 5260 §6; `:last` counts from the end).
pub(crate) fn select_indices(fields: &[Field], name: &str, index: Option<Index>) -> Vec<usize> {
    let named: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_named(name))
        .map(|(i, _)| i)
        .collect();
    match index {
        None => named,
        Some(Index { n, last }) => {
            let Ok(n) = usize::try_from(n) else {
                return Vec::new();
            };
            let position = if last {
                named.len().checked_sub(n)
            } else {
                n.checked_sub(1)
            };
            position
                .and_then(|p| named.get(p))
                .map(|i| vec![*i])
                .unwrap_or_default()
        }
    }
}

/// The fields [`select_indices`] picks.
pub(crate) fn select<'f>(fields: &'f [Field], name: &str, index: Option<Index>) -> Vec<&'f Field> {
    select_indices(fields, name, index)
        .into_iter()
        .filter_map(|i| fields.get(i))
        .collect()
}

impl<'a> MessageView<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        let body_start = header_end(raw);
        let header = raw.get(..body_start).unwrap_or_default();
        let fields = header_fields(header)
            .map(|f| Field {
                name: String::from_utf8_lossy(f.name).into_owned(),
                value: f.value.to_vec(),
                raw: f.raw.to_vec(),
            })
            .collect();
        MessageView {
            raw,
            fields,
            body_start,
            edited: false,
            serialised: None,
        }
    }

    pub(crate) fn body(&self) -> &'a [u8] {
        self.raw.get(self.body_start..).unwrap_or_default()
    }

    pub(crate) fn size(&self) -> usize {
        if self.edited {
            self.fields.iter().map(|f| f.raw.len()).sum::<usize>() + 2 + self.body().len()
        } else {
            self.raw.len()
        }
    }

    /// Decoded values of the named fields.
    pub(crate) fn values(&self, name: &str, index: Option<Index>) -> Vec<String> {
        select(&self.fields, name, index)
            .into_iter()
            .map(Field::decoded)
            .collect()
    }

    pub(crate) fn first(&self, name: &str) -> Option<String> {
        self.values(name, None).into_iter().next()
    }

    pub(crate) fn exists(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.is_named(name))
    }

    /// The message after the edits so far, `None` when unedited.
    pub(crate) fn current(&mut self) -> Option<Arc<[u8]>> {
        if !self.edited {
            return None;
        }
        if self.serialised.is_none() {
            let mut out = Vec::with_capacity(self.raw.len() + 256);
            for field in &self.fields {
                out.extend_from_slice(&field.raw);
                if !field.raw.ends_with(b"\n") {
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(self.body());
            self.serialised = Some(Arc::from(out));
        }
        self.serialised.clone()
    }

    /// `addheader` (RFC 5293 §4): at the top, or at the end with `:last`.
    pub(crate) fn add(&mut self, name: &str, value: &str, last: bool) -> String {
        let encoded = encode_value(value);
        let raw = fold(name, &encoded);
        let field = Field {
            name: name.to_string(),
            value: raw
                .get(name.len() + 1..raw.len().saturating_sub(2))
                .unwrap_or_default()
                .to_vec(),
            raw,
        };
        if last {
            self.fields.push(field);
        } else {
            self.fields.insert(0, field);
        }
        self.edited = true;
        self.serialised = None;
        encoded
    }

    /// Removes the fields for which `remove` says yes; returns how many.
    pub(crate) fn delete(&mut self, remove: &[bool]) -> usize {
        let before = self.fields.len();
        let mut flags = remove.iter();
        self.fields
            .retain(|_| !flags.next().copied().unwrap_or(false));
        let removed = before - self.fields.len();
        if removed > 0 {
            self.edited = true;
            self.serialised = None;
        }
        removed
    }
}

/// RFC 2047 B-encoding of a value with non-ASCII characters (RFC 5293 §4 requires
/// it); ASCII values are kept.
fn encode_value(value: &str) -> String {
    let clean: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    if clean.is_ascii() {
        return clean;
    }
    // Encoded words are at most 75 characters (RFC 2047 §2): 45 bytes per word.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join(" ")
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `Name: value` folded at spaces so lines stay near 78 characters (RFC 5322
/// §2.2.3), ending in CRLF.
fn fold(name: &str, value: &str) -> Vec<u8> {
    let mut out = String::with_capacity(name.len() + value.len() + 8);
    out.push_str(name);
    out.push(':');
    let mut line_len = out.len();
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 && line_len + 1 + word.len() > 78 && line_len > name.len() + 1 {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(word);
        line_len += 1 + word.len();
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The addresses of a header value: local part and domain, group markers and
/// empty addresses left out.
pub(crate) fn addresses(field: &Field) -> Vec<(String, Option<String>)> {
    parse_address_list(&unfold(&field.value))
        .into_iter()
        .filter_map(|a: Address| {
            let mailbox = a.mailbox?;
            let host = a.host?;
            if mailbox == MISSING_MAILBOX {
                return None;
            }
            Some((mailbox, (host != MISSING_DOMAIN).then_some(host)))
        })
        .collect()
}

/// An address part (RFC 5228 §2.7.4, RFC 5233 §4 with '+' as the separator);
/// `None` when the address has no such part.
pub(crate) fn address_part(local: &str, domain: Option<&str>, part: AddressPart) -> Option<String> {
    match part {
        AddressPart::All => Some(match domain {
            Some(d) => format!("{local}@{d}"),
            None => local.to_string(),
        }),
        AddressPart::LocalPart => Some(local.to_string()),
        AddressPart::Domain => domain.map(str::to_string),
        AddressPart::User => Some(local.split_once('+').map_or(local, |(u, _)| u).to_string()),
        AddressPart::Detail => local.split_once('+').map(|(_, d)| d.to_string()),
    }
}

/// Splits an envelope address (no display name, no brackets) at its last '@'.
pub(crate) fn split_address(address: &str) -> (String, Option<String>) {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    match address.rsplit_once('@') {
        Some((local, domain)) => (local.to_string(), Some(domain.to_string())),
        None => (address.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: Alice <alice+news@example.com>\r\nTo: a@x, undisclosed:;, b\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n  again\r\n\r\nbody\r\n";

    #[test]
    fn header_values_are_unfolded_and_decoded() {
        let view = MessageView::new(MESSAGE);
        assert_eq!(view.values("subject", None), ["café  again"]);
        let to = view.fields.iter().find(|f| f.name == "To").unwrap();
        assert_eq!(
            addresses(to),
            [
                ("a".to_string(), Some("x".to_string())),
                ("b".to_string(), None)
            ]
        );
    }

    #[test]
    fn address_parts_of_rfc_5233() {
        let table = [
            (AddressPart::All, Some("alice+news@example.com")),
            (AddressPart::LocalPart, Some("alice+news")),
            (AddressPart::Domain, Some("example.com")),
            (AddressPart::User, Some("alice")),
            (AddressPart::Detail, Some("news")),
        ];
        for (part, expected) in table {
            assert_eq!(
                address_part("alice+news", Some("example.com"), part).as_deref(),
                expected
            );
        }
        assert_eq!(address_part("alice", None, AddressPart::Detail), None);
        assert_eq!(
            address_part("alice+", None, AddressPart::Detail).as_deref(),
            Some("")
        );
    }

    #[test]
    fn edits_are_seen_and_serialised() {
        let mut view = MessageView::new(MESSAGE);
        assert!(view.current().is_none());
        view.add("X-Note", "héllo", false);
        view.add("X-Last", "z", true);
        assert_eq!(view.values("x-note", None), ["héllo"]);
        let removed = view.delete(&[false, true, false, false, false]);
        assert_eq!(removed, 1);
        let out = view.current().unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("X-Note: =?UTF-8?B?aMOpbGxv?=\r\nTo: a@x"),
            "{text}"
        );
        assert!(text.ends_with("X-Last: z\r\n\r\nbody\r\n"), "{text}");
        assert_eq!(view.size(), out.len());
    }
}
