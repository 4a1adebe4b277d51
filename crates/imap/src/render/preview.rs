//! The PREVIEW fetch item (RFC 8970): at most 256 characters of the message's first
//! text part, its transfer encoding and charset removed, HTML reduced to its text
//! (tags, comments, `<script>` and `<style>` contents dropped, entities decoded), runs
//! of whitespace and control characters collapsed to one space.
//!
//! Which part: the first `text/plain` or `text/html` leaf that is not an attachment,
//! depth first, without entering embedded messages (their text is another message's);
//! within a `multipart/alternative` the plain text is preferred. A message without
//! such a part has the empty preview (RFC 8970 §3: not NIL, which means "not
//! available"). Pure; no I/O.

use encoding_rs::WINDOWS_1252;
use pillarbox_mime::{BodyPart, MessageStructure, PartBody, decode_text, decode_transfer};

/// RFC 8970 §3: the preview is at most 256 characters.
pub(crate) const MAX_CHARS: usize = 256;

/// The preview of `raw`, which `st` describes.
pub(crate) fn preview(raw: &[u8], st: &MessageStructure) -> String {
    let Some(part) = text_part(&st.root) else {
        return String::new();
    };
    let Ok(body) = decode_transfer(part.body(raw), &part.transfer_encoding()) else {
        return String::new();
    };
    let text = decode_text(&body, part.charset(), WINDOWS_1252);
    // Only the start of the part can reach the preview: bound the work on huge parts.
    let text = head(&text, 64 * 1024);
    if part.content_type.subtype == "html" {
        collapse(&html_text(text))
    } else {
        collapse(text)
    }
}

fn is_attachment(p: &BodyPart) -> bool {
    p.content_disposition
        .as_ref()
        .is_some_and(|d| d.kind == "attachment")
}

fn is_text(p: &BodyPart, subtype: &str) -> bool {
    p.body.is_single()
        && p.content_type.media_type == "text"
        && p.content_type.subtype == subtype
        && !is_attachment(p)
}

/// The part the preview is made from.
fn text_part(p: &BodyPart) -> Option<&BodyPart> {
    match &p.body {
        PartBody::Single => (is_text(p, "plain") || is_text(p, "html")).then_some(p),
        PartBody::Message(_) => None,
        PartBody::Multipart(children) => {
            if p.content_type.subtype == "alternative"
                && let Some(plain) = children.iter().find(|c| is_text(c, "plain"))
            {
                return Some(plain);
            }
            children.iter().find_map(text_part)
        }
    }
}

/// The first `max` bytes of `s`, cut at a character boundary.
fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whitespace and control characters collapsed to single spaces, trimmed, cut to
/// [`MAX_CHARS`] characters.
fn collapse(text: &str) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            if count + 1 >= MAX_CHARS {
                break;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count >= MAX_CHARS {
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// The text of an HTML document: tags and comments removed (a block-level tag becomes
/// a space), `<script>`, `<style>` and `<head>` contents dropped, entities decoded.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_decoded(&mut out, &rest[..lt]);
        let after = &rest[lt..];
        if let Some(comment) = after.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |i| &comment[i + 3..]);
            continue;
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[1..gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = &after[gt + 1..];
        if !tag.starts_with('/') && matches!(name.as_str(), "script" | "style" | "head" | "title") {
            let close = format!("</{name}");
            rest = find_ignore_case(rest, &close)
                .and_then(|i| rest[i..].find('>').map(|j| &rest[i + j + 1..]))
                .unwrap_or("");
        }
        out.push(' ');
    }
    push_decoded(&mut out, rest);
    out
}

fn find_ignore_case(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Appends `text` with HTML character references decoded (named ones for the common
/// characters, decimal and hexadecimal ones for any).
fn push_decoded(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(10)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| entity(&after[..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "euro" => '€',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(raw: &str) -> String {
        preview(raw.as_bytes(), &pillarbox_mime::parse(raw.as_bytes()))
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("Subject: x\r\n\r\nHello\r\n  world\t!\r\n", "Hello world !"),
            (
                "Content-Type: text/plain; charset=iso-8859-1\r\n\
                 Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me\r\n",
                "Café crème",
            ),
            (
                "Content-Type: text/html; charset=utf-8\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n\
                 PGh0bWw+PGhlYWQ+PHRpdGxlPlQ8L3RpdGxlPjwvaGVhZD48Ym9keT48cD5IaSAm\r\n\
                 YW1wOyA8Yj5ieWU8L2I+PC9wPjwvYm9keT48L2h0bWw+\r\n",
                "Hi & bye",
            ),
            (
                "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
                 Content-Type: text/html\r\n\r\n<p>html</p>\r\n--b\r\n\
                 Content-Type: text/plain\r\n\r\nplain\r\n--b--\r\n",
                "plain",
            ),
            (
                "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                 Content-Type: image/png\r\n\r\nxx\r\n--b\r\n\
                 Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\natt\r\n--b--\r\n",
                "",
            ),
            (
                "Content-Type: text/html\r\n\r\n<style>p{}</style><!-- c --><script>x<y</script>A&#233;&#x41;&bogus; b\r\n",
                "AéA&bogus; b",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(of(raw), *expected, "{raw}");
        }
    }

    #[test]
    fn at_most_256_characters() {
        let body = "é".repeat(300);
        let p = of(&format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        ));
        assert_eq!(p.chars().count(), 256);
        let words = "ab ".repeat(200);
        let p = of(&format!("Subject: x\r\n\r\n{words}\r\n"));
        assert!(p.chars().count() <= 256 && !p.ends_with(' '), "{p:?}");
    }
}
