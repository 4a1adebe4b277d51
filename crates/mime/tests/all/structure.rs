//! MIME tree shapes and offsets for RFC examples and broken real-world mail.

use pillarbox_mime::{
    MAX_DEPTH, MAX_PARTS, MessageStructure, PartBody, TransferEncoding, decoded_size, parse,
};

use crate::fixtures::{check_invariants, describe};

fn shape(raw: &[u8]) -> String {
    let structure = parse(raw);
    check_invariants(&structure, raw.len());
    describe(raw, &structure.root)
}

/// RFC 2046 §5.1.1.
const RFC2046_SIMPLE: &[u8] = b"From: Nathaniel Borenstein <nsb@bellcore.com>\r\n\
To: Ned Freed <ned@innosoft.com>\r\n\
Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)\r\n\
Subject: Sample message\r\n\
MIME-Version: 1.0\r\n\
Content-type: multipart/mixed; boundary=\"simple boundary\"\r\n\
\r\n\
This is the preamble.  It is to be ignored, though it\r\n\
is a handy place for composition agents to include an\r\n\
explanatory note to non-MIME conformant readers.\r\n\
\r\n\
--simple boundary\r\n\
\r\n\
This is implicitly typed plain US-ASCII text.\r\n\
It does NOT end with a linebreak.\r\n\
--simple boundary\r\n\
Content-type: text/plain; charset=us-ascii\r\n\
\r\n\
This is explicitly typed plain US-ASCII text.\r\n\
It DOES end with a linebreak.\r\n\
\r\n\
--simple boundary--\r\n\
\r\n\
This is the epilogue.  It is also to be ignored.\r\n";

#[test]
fn tree_shapes() {
    let table: &[(&str, &[u8], &str)] = &[
        ("empty message", b"", "text/plain\"\""),
        ("header only", b"Subject: x\r\n", "text/plain\"\""),
        ("header only, no final newline", b"Subject: x", "text/plain\"\""),
        ("header and blank line", b"Subject: x\r\n\r\n", "text/plain\"\""),
        ("no header at all", b"Hello world\r\n", "text/plain\"Hello world\\r\\n\""),
        ("no blank line after headers", b"Subject: x\r\nthis is the body\r\n", "text/plain\"this is the body\\r\\n\""),
        ("LF only", b"Subject: x\n\nbody\n", "text/plain\"body\\n\""),
        ("NUL bytes", b"Subject: \0x\r\n\r\n\0\0\r\n", "text/plain\"\\0\\0\\r\\n\""),
        (
            "RFC 2046 simple boundary",
            RFC2046_SIMPLE,
            "multipart/mixed{text/plain\"This is implicitly typed plain US-ASCII text.\\r\\nIt does NOT end with a linebreak.\", \
text/plain\"This is explicitly typed plain US-ASCII text.\\r\\nIt DOES end with a linebreak.\\r\\n\"}",
        ),
        (
            "nested mixed > alternative > html",
            b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n\
--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--inner--\r\n\r\n--outer\r\n\
Content-Type: application/pdf\r\n\r\n%PDF\r\n--outer--\r\n",
            "multipart/mixed{multipart/alternative{text/plain\"plain\", text/html\"<p>html</p>\"}, application/pdf\"%PDF\"}",
        ),
        (
            "message/rfc822 with its own multipart",
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nsee attached\r\n--a\r\n\
Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\n\r\ninner text\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--b--\r\n--a--\r\n",
            "multipart/mixed{text/plain\"see attached\", message/rfc822<multipart/alternative{text/plain\"inner text\", text/html\"<b>x</b>\"}>}",
        ),
        (
            "missing closing boundary",
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\none\r\n--a\r\n\r\ntwo\r\n",
            "multipart/mixed{text/plain\"one\", text/plain\"two\\r\\n\"}",
        ),
        (
            "inner close missing, outer continues",
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\n\r\nb1\r\n--b\r\n\r\nb2\r\n--a\r\n\r\na2\r\n--a--\r\n",
            "multipart/mixed{multipart/mixed{text/plain\"b1\", text/plain\"b2\"}, text/plain\"a2\"}",
        ),
        (
            "delimiter with trailing whitespace, close with junk",
            b"Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a \t\r\n\r\nx\r\n--a--junk\r\nepilogue\r\n--a\r\n\r\nignored\r\n",
            "multipart/mixed{text/plain\"x\"}",
        ),
        (
            "multipart without boundary is text",
            b"Content-Type: multipart/mixed\r\n\r\n--a\r\nbody\r\n",
            "text/plain\"--a\\r\\nbody\\r\\n\"",
        ),
        (
            "multipart with no delimiter is text",
            b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nonly preamble\r\n",
            "text/plain\"only preamble\\r\\n\"",
        ),
        (
            "digest members default to message/rfc822",
            b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n\
--d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n--d--\r\n",
            "multipart/digest{message/rfc822<text/plain\"first\">, text/plain\"not a message\"}",
        ),
        (
            "encoded message/rfc822 stays a leaf",
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==\r\n",
            "message/rfc822\"U3ViamVjdDogeA==\\r\\n\"",
        ),
        (
            "part header without blank line before next delimiter",
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/html\r\n--a\r\n\r\nx\r\n--a--",
            "multipart/mixed{text/html\"\", text/plain\"x\"}",
        ),
        (
            "multipart part whose first delimiter follows its header directly",
            b"Content-Type: multipart/mixed; boundary=a\r\n--a\r\n\r\nx\r\n--a--\r\n",
            "multipart/mixed{text/plain\"x\"}",
        ),
        (
            "empty embedded message",
            b"Content-Type: message/rfc822\r\n\r\n",
            "message/rfc822<text/plain\"\">",
        ),
        (
            "LF-only multipart",
            b"Content-Type: multipart/mixed; boundary=a\n\n--a\n\none\n--a\nContent-Type: text/html\n\ntwo\n--a--\n",
            "multipart/mixed{text/plain\"one\", text/html\"two\"}",
        ),
    ];
    for (name, raw, expected) in table {
        assert_eq!(shape(raw), *expected, "{name}");
    }
}

#[test]
fn boundary_lines_in_preamble_do_not_split() {
    let raw = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--ab is not it\r\n --a\r\n--a\r\n\r\nreal\r\n--a--\r\n";
    assert_eq!(shape(raw), "multipart/mixed{text/plain\"real\"}");
}

#[test]
fn offsets_lines_and_sizes() {
    let structure = parse(RFC2046_SIMPLE);
    let root = &structure.root;
    let header = root.header(RFC2046_SIMPLE);
    assert!(header.starts_with(b"From: Nathaniel"));
    assert!(header.ends_with(b"\"simple boundary\"\r\n\r\n"));
    let children = root.children();
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].header(RFC2046_SIMPLE), b"\r\n");
    assert_eq!(children[0].lines, 2);
    assert_eq!(children[0].size(), 80);
    assert_eq!(
        children[1].header(RFC2046_SIMPLE),
        b"Content-type: text/plain; charset=us-ascii\r\n\r\n"
    );
    assert_eq!(children[1].lines, 2);
    assert_eq!(children[1].charset(), Some("us-ascii"));
    assert_eq!(children[0].charset(), Some("us-ascii"));
    assert_eq!(
        structure.envelope.subject.as_deref(),
        Some("Sample message")
    );
    assert_eq!(structure.sort_keys.date, Some(732_787_008));
}

#[test]
fn line_counts() {
    let table: &[(&[u8], u64)] = &[
        (b"\r\n", 0),
        (b"\r\na", 1),
        (b"\r\na\r\n", 1),
        (b"\r\na\r\nb", 2),
        (b"\r\na\r\n\r\n", 2),
        (b"\n\n\n", 2),
    ];
    for (raw, expected) in table {
        assert_eq!(parse(raw).root.lines, *expected, "{raw:?}");
    }
    let raw = b"Content-Type: message/rfc822\r\n\r\nSubject: a\r\n\r\nb\r\nc\r\n";
    let structure = parse(raw);
    assert_eq!(structure.root.lines, 4);
    let Some(message) = structure.root.embedded_message() else {
        panic!("embedded message expected");
    };
    assert_eq!(message.root.lines, 2);
    assert_eq!(message.envelope.subject.as_deref(), Some("a"));
}

/// The message layout of RFC 9051 §6.4.5 (FETCH BODY section numbers).
fn rfc9051_section_message() -> Vec<u8> {
    let inner3 = "Subject: three\r\nContent-Type: multipart/mixed; boundary=m3\r\n\r\n\
--m3\r\nContent-Type: text/plain\r\n\r\n3.1\r\n--m3\r\nContent-Type: application/octet-stream\r\n\r\n3.2\r\n--m3--\r\n";
    let inner42 = "Subject: four-two\r\nContent-Type: multipart/mixed; boundary=m42\r\n\r\n\
--m42\r\nContent-Type: text/plain\r\n\r\n4.2.1\r\n--m42\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n\
--alt\r\nContent-Type: text/plain\r\n\r\n4.2.2.1\r\n--alt\r\nContent-Type: text/richtext\r\n\r\n4.2.2.2\r\n--alt--\r\n--m42--\r\n";
    format!(
        "Subject: top\r\nContent-Type: multipart/mixed; boundary=top\r\n\r\n\
--top\r\nContent-Type: text/plain\r\n\r\n1\r\n\
--top\r\nContent-Type: application/octet-stream\r\n\r\n2\r\n\
--top\r\nContent-Type: message/rfc822\r\n\r\n{inner3}\r\n\
--top\r\nContent-Type: multipart/mixed; boundary=four\r\n\r\n\
--four\r\nContent-Type: image/gif\r\n\r\n4.1\r\n\
--four\r\nContent-Type: message/rfc822\r\n\r\n{inner42}\r\n--four--\r\n\
--top--\r\n"
    )
    .into_bytes()
}

#[test]
fn rfc9051_section_numbers() {
    let raw = rfc9051_section_message();
    let structure = parse(&raw);
    check_invariants(&structure, raw.len());
    let table: &[(&[u32], &str)] = &[
        (&[], "multipart/mixed"),
        (&[1], "text/plain"),
        (&[2], "application/octet-stream"),
        (&[3], "message/rfc822"),
        (&[3, 1], "text/plain"),
        (&[3, 2], "application/octet-stream"),
        (&[4], "multipart/mixed"),
        (&[4, 1], "image/gif"),
        (&[4, 2], "message/rfc822"),
        (&[4, 2, 1], "text/plain"),
        (&[4, 2, 2], "multipart/alternative"),
        (&[4, 2, 2, 1], "text/plain"),
        (&[4, 2, 2, 2], "text/richtext"),
    ];
    for (section, expected) in table {
        let part = structure
            .part(section)
            .unwrap_or_else(|| panic!("{section:?}"));
        let kind = format!(
            "{}/{}",
            part.content_type.media_type, part.content_type.subtype
        );
        assert_eq!(kind, *expected, "{section:?}");
    }
    for missing in [&[0][..], &[5], &[1, 1], &[4, 3], &[4, 2, 3], &[3, 1, 1]] {
        assert!(structure.part(missing).is_none(), "{missing:?}");
    }
    assert_eq!(
        structure.part(&[4, 2, 2, 2]).map(|p| p.body(&raw)),
        Some(&b"4.2.2.2"[..])
    );
    assert_eq!(
        structure.part(&[4, 1]).map(|p| p.header(&raw)),
        Some(&b"Content-Type: image/gif\r\n\r\n"[..])
    );
    // BODY[3.HEADER] is the embedded message's header.
    let three = structure.part(&[3]).and_then(|p| p.embedded_message());
    assert_eq!(
        three.map(|m| m.envelope.subject.as_deref()),
        Some(Some("three"))
    );
    assert!(three.is_some_and(|m| m.root.header(&raw).starts_with(b"Subject: three\r\n")));
    // A non-multipart message has only part 1, itself.
    let single = parse(b"Subject: s\r\n\r\nbody");
    assert_eq!(
        single.part(&[1]).map(|p| p.body(b"Subject: s\r\n\r\nbody")),
        Some(&b"body"[..])
    );
    assert!(single.part(&[2]).is_none());
}

#[test]
fn mime_fields() {
    let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\
Content-Type: image/jpeg; name*0=\"gen\"; name*1=\"ome.jpeg\"\r\n\
Content-ID: <id1@example>\r\nContent-Description: A genome\r\n\
Content-Transfer-Encoding: BASE64\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
Content-Disposition: attachment;\r\n filename*=UTF-8''g%C3%A9nome.jpeg\r\n\
Content-Language: en, fr\r\nContent-Location: http://example.org/genome.jpeg\r\n\r\n\
/9j/4AAQ\r\n--x--\r\n";
    let structure = parse(raw);
    let part = &structure.root.children()[0];
    assert_eq!(part.content_type.parameter("name"), Some("genome.jpeg"));
    assert_eq!(part.content_id.as_deref(), Some("<id1@example>"));
    assert_eq!(part.content_description.as_deref(), Some("A genome"));
    assert_eq!(part.content_transfer_encoding.as_deref(), Some("BASE64"));
    assert_eq!(part.transfer_encoding(), TransferEncoding::Base64);
    assert_eq!(
        part.content_md5.as_deref(),
        Some("Q2hlY2sgSW50ZWdyaXR5IQ==")
    );
    let disposition = part.content_disposition.as_ref();
    assert_eq!(disposition.map(|d| d.kind.as_str()), Some("attachment"));
    assert_eq!(
        disposition.and_then(|d| d.parameter("filename")),
        Some("g\u{e9}nome.jpeg")
    );
    assert_eq!(part.content_language, vec!["en", "fr"]);
    assert_eq!(
        part.content_location.as_deref(),
        Some("http://example.org/genome.jpeg")
    );
    assert_eq!(
        decoded_size(part.body(raw), &part.transfer_encoding()),
        Ok(6)
    );
}

#[test]
fn hostile_inputs_are_capped() {
    // Deep nesting of multiparts.
    let mut raw = Vec::new();
    for level in 0..200 {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n")
                .as_bytes(),
        );
    }
    raw.extend_from_slice(b"\r\nleaf\r\n");
    let structure = parse(&raw);
    check_invariants(&structure, raw.len());
    let mut depth = 0;
    let mut part = &structure.root;
    while let Some(child) = part.children().first() {
        depth += 1;
        part = child;
    }
    assert_eq!(depth, MAX_DEPTH);

    // Deep nesting of embedded messages.
    let raw = "Content-Type: message/rfc822\r\n\r\n".repeat(500);
    let structure = parse(raw.as_bytes());
    check_invariants(&structure, raw.len());
    let json = serde_json::to_string(&structure).unwrap_or_default();
    let back: Result<MessageStructure, _> = serde_json::from_str(&json);
    assert_eq!(
        back.ok().as_ref(),
        Some(&structure),
        "max depth must survive serde_json"
    );

    // Too many parts.
    let mut raw = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n".to_vec();
    raw.extend_from_slice(&b"--p\r\n\r\nx\r\n".repeat(MAX_PARTS + 50));
    let structure = parse(&raw);
    check_invariants(&structure, raw.len());
    assert!(structure.part_count() <= MAX_PARTS);

    // A very long header line.
    let mut raw = b"Subject: ".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 1 << 20));
    raw.extend_from_slice(b"\r\n\r\nbody");
    let structure = parse(&raw);
    assert_eq!(
        structure.envelope.subject.as_ref().map(String::len),
        Some(1 << 20)
    );
    assert_eq!(structure.root.body(&raw), b"body");
}

#[test]
fn serde_round_trip() {
    let raw = rfc9051_section_message();
    let structure = parse(&raw);
    let json = serde_json::to_string(&structure).unwrap_or_default();
    let back: MessageStructure = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, structure);
    assert!(!json.contains("null"), "absent fields are skipped: {json}");
    assert!(matches!(back.root.body, PartBody::Multipart(_)));
}

/// A 50 MiB message with a large attachment and many small parts parses whole (the
/// time is printed, never asserted).
#[test]
fn a_50_mib_message_with_two_thousand_parts() {
    let mut raw = b"Subject: big\r\nContent-Type: multipart/mixed; boundary=big\r\n\r\n".to_vec();
    for _ in 0..2_000 {
        raw.extend_from_slice(b"--big\r\nContent-Type: text/plain\r\n\r\nsmall part\r\n");
    }
    raw.extend_from_slice(b"--big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
    while raw.len() < 50 << 20 {
        raw.extend_from_slice(line);
    }
    raw.extend_from_slice(b"--big--\r\n");
    let started = std::time::Instant::now();
    let structure = parse(&raw);
    let elapsed = started.elapsed();
    check_invariants(&structure, raw.len());
    assert_eq!(structure.root.children().len(), 2_001);
    eprintln!("parsed {} MiB in {elapsed:?}", raw.len() >> 20);
}
