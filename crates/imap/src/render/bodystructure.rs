//! BODY and BODYSTRUCTURE (RFC 9051 §7.5.2 `body`): the MIME tree computed at delivery
//! written in IMAP syntax, with extension data (MD5, disposition, language, location,
//! multipart parameters) for BODYSTRUCTURE and without for BODY. Nested multiparts and
//! embedded `message/rfc822` (envelope, body, lines) recurse. Pure; appends to a buffer.

use pillarbox_mime::{BodyPart, ContentDisposition, Parameter, PartBody};

use super::envelope::write_envelope;
use crate::proto::{EncodeOptions, write_nstring, write_string};

/// Appends the body structure of `part`; `extensible` adds the extension data
/// (BODYSTRUCTURE) that BODY omits.
pub(crate) fn write_body(
    out: &mut Vec<u8>,
    part: &BodyPart,
    extensible: bool,
    opts: EncodeOptions,
) {
    match &part.body {
        PartBody::Multipart(children) if !children.is_empty() => {
            out.push(b'(');
            for child in children {
                write_body(out, child, extensible, opts);
            }
            out.push(b' ');
            write_string(out, part.content_type.subtype.as_bytes(), opts);
            if extensible {
                out.push(b' ');
                write_params(out, &part.content_type.parameters, opts);
                write_extension_tail(out, part, opts);
            }
            out.push(b')');
        }
        _ => write_single(out, part, extensible, opts),
    }
}

/// A non-multipart part: `body-type-basic`, `body-type-text` or `body-type-msg`.
fn write_single(out: &mut Vec<u8>, part: &BodyPart, extensible: bool, opts: EncodeOptions) {
    let ct = &part.content_type;
    out.push(b'(');
    write_string(out, ct.media_type.as_bytes(), opts);
    out.push(b' ');
    write_string(out, ct.subtype.as_bytes(), opts);
    out.push(b' ');
    write_params(out, &ct.parameters, opts);
    out.push(b' ');
    write_nstring(out, part.content_id.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    write_nstring(
        out,
        part.content_description.as_deref().map(str::as_bytes),
        opts,
    );
    out.push(b' ');
    let encoding = part
        .content_transfer_encoding
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or("7BIT");
    write_string(out, encoding.as_bytes(), opts);
    out.push(b' ');
    push_num(out, part.size());
    match &part.body {
        PartBody::Message(m) => {
            out.push(b' ');
            write_envelope(out, &m.envelope, opts);
            out.push(b' ');
            write_body(out, &m.root, extensible, opts);
            out.push(b' ');
            push_num(out, part.lines);
        }
        _ if ct.media_type.eq_ignore_ascii_case("text") => {
            out.push(b' ');
            push_num(out, part.lines);
        }
        _ => {}
    }
    if extensible {
        out.push(b' ');
        write_nstring(out, part.content_md5.as_deref().map(str::as_bytes), opts);
        write_extension_tail(out, part, opts);
    }
    out.push(b')');
}

/// ` dsp lang loc`, shared by single parts and multiparts.
fn write_extension_tail(out: &mut Vec<u8>, part: &BodyPart, opts: EncodeOptions) {
    out.push(b' ');
    write_disposition(out, part.content_disposition.as_ref(), opts);
    out.push(b' ');
    match part.content_language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => write_string(out, one.as_bytes(), opts),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_string(out, l.as_bytes(), opts);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    write_nstring(
        out,
        part.content_location.as_deref().map(str::as_bytes),
        opts,
    );
}

/// `("name" "value" ...)` or NIL (RFC 9051 §9 `body-fld-param`).
fn write_params(out: &mut Vec<u8>, params: &[Parameter], opts: EncodeOptions) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_string(out, p.name.as_bytes(), opts);
        out.push(b' ');
        write_string(out, p.value.as_bytes(), opts);
    }
    out.push(b')');
}

/// `("attachment" ("filename" "x"))` or NIL (RFC 9051 §9 `body-fld-dsp`).
fn write_disposition(out: &mut Vec<u8>, d: Option<&ContentDisposition>, opts: EncodeOptions) {
    let Some(d) = d else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    write_string(out, d.kind.as_bytes(), opts);
    out.push(b' ');
    write_params(out, &d.parameters, opts);
    out.push(b')');
}

fn push_num(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(n.to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(raw: &[u8], extensible: bool) -> String {
        let st = pillarbox_mime::parse(raw);
        let mut out = Vec::new();
        write_body(&mut out, &st.root, extensible, EncodeOptions::default());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_text_part() {
        let raw = b"Subject: x\r\n\r\nhello\r\nworld\r\n";
        assert_eq!(
            render(raw, true),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)"
        );
        assert_eq!(
            render(raw, false),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2)"
        );
    }

    #[test]
    fn nested_multipart_with_message_and_attachment() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n\
--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n\
--a\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: a@b.c\r\n\r\ninner body\r\n\
--a\r\nContent-Type: application/pdf; name=x.pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Language: en, fr\r\n\r\nAAAA\r\n--a--\r\n";
        let s = render(raw, true);
        assert!(s.starts_with("(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL)(\"text\" \"html\""), "{s}");
        assert!(
            s.contains("\"alternative\" (\"boundary\" \"b\") NIL NIL NIL)"),
            "{s}"
        );
        assert!(
            s.contains("(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\""),
            "{s}"
        );
        assert!(
            s.contains("(NIL \"inner\" ((NIL NIL \"a\" \"b.c\"))"),
            "{s}"
        );
        assert!(s.contains("(\"application\" \"pdf\" (\"name\" \"x.pdf\") NIL NIL \"base64\" 4 NIL (\"attachment\" (\"filename\" \"x.pdf\")) (\"en\" \"fr\") NIL)"), "{s}");
        assert!(
            s.ends_with(" \"mixed\" (\"boundary\" \"a\") NIL NIL NIL)"),
            "{s}"
        );
        let body = render(raw, false);
        assert!(body.ends_with(" \"mixed\")"), "{body}");
        assert!(!body.contains("attachment"), "{body}");
    }
}
