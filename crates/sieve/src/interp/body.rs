//! The texts the `body` test compares (RFC 5173 §5): the raw body, or the decoded
//! content of the MIME parts whose type is listed (`:content`), or the text parts
//! (`:text`, HTML reduced to its text).
//!
//! Uses `pillarbox-mime` for the part tree, transfer and charset decoding; reads the
//! original message (editheader never changes the body). Never panics.

use pillarbox_mime::{BodyPart, MessageStructure, decode_text, decode_transfer};

/// Which parts to read.
pub(crate) enum Selection<'a> {
    Raw,
    /// Content types as in `:content` ("" = any, "text", "text/plain").
    Content(&'a [String]),
    Text,
}

fn type_matches(part: &BodyPart, wanted: &str) -> bool {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return true;
    }
    match wanted.split_once('/') {
        Some((t, s)) => {
            part.content_type.media_type.eq_ignore_ascii_case(t)
                && part.content_type.subtype.eq_ignore_ascii_case(s)
        }
        None => part.content_type.media_type.eq_ignore_ascii_case(wanted),
    }
}

fn decoded(raw: &[u8], part: &BodyPart) -> String {
    let body = part.body(raw);
    let bytes = decode_transfer(body, &part.transfer_encoding())
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| body.to_vec());
    decode_text(&bytes, part.charset(), encoding_rs::WINDOWS_1252).into_owned()
}

/// Text of an HTML part with tags and entities reduced (enough for matching words).
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The texts to compare for one `body` test.
pub(crate) fn texts(
    raw: &[u8],
    structure: &MessageStructure,
    body_start: usize,
    selection: Selection<'_>,
) -> Vec<String> {
    if let Selection::Raw = selection {
        return vec![
            String::from_utf8_lossy(raw.get(body_start..).unwrap_or_default()).into_owned(),
        ];
    }
    let mut out = Vec::new();
    let mut visit = |part: &BodyPart| {
        if !part.children().is_empty() || part.embedded_message().is_some() {
            return;
        }
        match &selection {
            Selection::Content(types) => {
                if types.iter().any(|t| type_matches(part, t)) {
                    out.push(decoded(raw, part));
                }
            }
            Selection::Text => {
                if part.content_type.media_type.eq_ignore_ascii_case("text") {
                    let text = decoded(raw, part);
                    if part.content_type.subtype.eq_ignore_ascii_case("html") {
                        out.push(html_text(&text));
                    } else {
                        out.push(text);
                    }
                }
            }
            Selection::Raw => {}
        }
    };
    structure.root.visit(&mut visit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Hello &amp; bye</p>\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n";

    #[test]
    fn transforms_of_rfc_5173_section_5() {
        let body_start = pillarbox_mime::header_end(MESSAGE);
        let structure = pillarbox_mime::parse(MESSAGE);
        let raw = texts(MESSAGE, &structure, body_start, Selection::Raw);
        assert!(raw[0].contains("caf=C3=A9"));
        let text = texts(MESSAGE, &structure, body_start, Selection::Text);
        assert_eq!(text.len(), 2);
        assert!(text[0].starts_with("café"));
        assert!(text[1].contains("Hello & bye"));
        let pdf = texts(
            MESSAGE,
            &structure,
            body_start,
            Selection::Content(&["application".to_string()]),
        );
        assert_eq!(pdf, ["%PDF"]);
        let plain = texts(
            MESSAGE,
            &structure,
            body_start,
            Selection::Content(&["text/plain".to_string()]),
        );
        assert_eq!(plain.len(), 1);
    }
}
