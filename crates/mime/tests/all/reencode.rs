//! The collection rewrite of undeclared 8-bit headers and text parts.

use pillarbox_mime::{decode_encoded_words, decode_text, parse, reencode_undeclared_8bit_headers};

#[test]
fn eight_bit_headers_become_utf8_encoded_words() {
    let raw = b"Subject: Gr\xfc\xdfe aus K\xf6ln\r\n\
From: \"J\xf6rg M\xfcller\" <j@example.de>, B\xe4r <b@example.de>\r\n\
To: already-utf8 \xc3\xa9 <u@example.de>\r\n\
X-Note: caf\xe9\r\n\
Content-Type: text/plain\r\n\r\ncaf\xe9\r\n";
    let out = reencode_undeclared_8bit_headers(raw, "windows-1252");
    let structure = parse(&out);
    let header = structure.root.header(&out);
    assert!(std::str::from_utf8(header).is_ok(), "header must be UTF-8");
    let subject = structure.envelope.subject.clone().unwrap_or_default();
    assert!(subject.is_ascii(), "{subject}");
    assert_eq!(
        decode_encoded_words(subject.as_bytes()),
        "Gr\u{fc}\u{df}e aus K\u{f6}ln"
    );
    let names: Vec<String> = structure
        .envelope
        .from
        .iter()
        .map(|a| decode_encoded_words(a.name.clone().unwrap_or_default().as_bytes()))
        .collect();
    assert_eq!(names, vec!["J\u{f6}rg M\u{fc}ller", "B\u{e4}r"]);
    assert_eq!(structure.envelope.from[0].mailbox.as_deref(), Some("j"));
    // Valid UTF-8 headers are left alone.
    let untouched = "already-utf8 \u{e9} <u".as_bytes();
    assert!(out.windows(untouched.len()).any(|w| w == untouched));
    // The undeclared body gets the fallback charset.
    assert_eq!(structure.root.charset(), Some("windows-1252"));
    let body = structure.root.body(&out);
    assert_eq!(body, b"caf\xe9\r\n", "the body bytes are untouched");
    assert_eq!(
        decode_text(body, structure.root.charset(), encoding_rs::UTF_8),
        "caf\u{e9}\r\n"
    );
}

#[test]
fn text_parts_get_a_charset() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\n\r\nno header \x8a\r\n\
--b\r\nContent-Type: text/html; charset=us-ascii; format=flowed\r\n\r\n\xb9\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nutf8 \xc3\xa9\r\n\
--b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\ndeclared \xb9\r\n\
--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nqp =E9\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nascii\r\n--b--\r\n";
    let out = reencode_undeclared_8bit_headers(raw, "ISO-8859-2");
    let structure = parse(&out);
    let charsets: Vec<Option<&str>> = structure
        .root
        .children()
        .iter()
        .map(|p| p.charset())
        .collect();
    assert_eq!(
        charsets,
        vec![
            Some("ISO-8859-2"),
            Some("ISO-8859-2"),
            Some("utf-8"),
            Some("iso-8859-2"),
            Some("ISO-8859-2"),
            None
        ]
    );
    assert_eq!(
        structure.root.children()[1]
            .content_type
            .parameter("format"),
        Some("flowed")
    );
    assert_eq!(structure.root.children()[0].body(&out), b"no header \x8a");
}

#[test]
fn clean_messages_are_unchanged() {
    let table: &[&[u8]] = &[
        b"",
        b"Subject: plain\r\n\r\nbody",
        b"Subject: \xc3\xa9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xa9",
        b"Content-Type: image/png\r\n\r\n\x89PNG\xff",
    ];
    for raw in table {
        assert_eq!(reencode_undeclared_8bit_headers(raw, "windows-1252"), *raw);
    }
    // Undeclared UTF-8 text is declared as such.
    let out =
        reencode_undeclared_8bit_headers(b"Subject: \xc3\xa9\r\n\r\n\xc3\xa9", "windows-1252");
    assert_eq!(
        out,
        b"Content-Type: text/plain; charset=utf-8\r\nSubject: \xc3\xa9\r\n\r\n\xc3\xa9"
    );
    // Unknown and ASCII-incompatible fallback labels fall back to windows-1252.
    for label in ["no-such-charset", "utf-16le", "utf-16be"] {
        let out = reencode_undeclared_8bit_headers(b"Subject: \xe9\r\n\r\n", label);
        let subject = parse(&out).envelope.subject.unwrap_or_default();
        assert_eq!(
            decode_encoded_words(subject.as_bytes()),
            "\u{e9}",
            "{label}"
        );
    }
}
