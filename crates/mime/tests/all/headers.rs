//! Header block helpers: field iteration, lookup, and HEADER.FIELDS extraction.

use pillarbox_mime::{
    FieldSelection, find_header, find_headers, header_end, header_fields, select_header_fields,
    unfold,
};

const HEADER: &[u8] = b"Received: from a\r\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\r\n\
Subject: Hello\r\n world\r\n\
From: a@example.org\r\n\
received: from c\r\n\
X-Odd :  spaced name\r\n\
\r\n\
Subject: not a header, this is body\r\n";

#[test]
fn fields_and_lookup() {
    let names: Vec<&[u8]> = header_fields(HEADER).map(|f| f.name).collect();
    assert_eq!(
        names,
        vec![&b"Received"[..], b"Subject", b"From", b"received", b"X-Odd"]
    );
    assert_eq!(
        find_header(HEADER, "SUBJECT"),
        Some(b"Hello world".to_vec())
    );
    assert_eq!(find_header(HEADER, "x-odd"), Some(b"spaced name".to_vec()));
    assert_eq!(find_header(HEADER, "missing"), None);
    assert_eq!(
        find_headers(HEADER, "Received"),
        vec![
            b"from a\tby b; Mon, 1 Jan 2024 00:00:00 +0000".to_vec(),
            b"from c".to_vec()
        ]
    );
    assert_eq!(unfold(b"  a\r\n b \r\n\t"), b"a b".to_vec());
}

#[test]
fn header_end_table() {
    let table: &[(&[u8], usize)] = &[
        (b"", 0),
        (b"\r\nbody", 2),
        (b"A: b\r\n\r\nbody", 8),
        (b"A: b\n\nbody", 6),
        (b"A: b\r\nbody without colon\r\n", 6),
        (b"A: b\r\n c\r\n", 10),
        (b"A: b", 4),
    ];
    for (raw, expected) in table {
        assert_eq!(header_end(raw), *expected, "{raw:?}");
    }
}

#[test]
fn header_fields_selection() {
    let table: &[(FieldSelection<'_>, &[u8])] = &[
        (FieldSelection::Only(&["subject"]), b"Subject: Hello\r\n world\r\n\r\n"),
        (
            FieldSelection::Only(&["FROM", "Received"]),
            b"Received: from a\r\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@example.org\r\nreceived: from c\r\n\r\n",
        ),
        (FieldSelection::Only(&["nothing"]), b"\r\n"),
        (
            FieldSelection::AllExcept(&["received", "x-odd"]),
            b"Subject: Hello\r\n world\r\nFrom: a@example.org\r\n\r\n",
        ),
        (FieldSelection::AllExcept(&[]), &HEADER[..HEADER.len() - 37]),
    ];
    for (selection, expected) in table {
        assert_eq!(
            String::from_utf8_lossy(&select_header_fields(HEADER, *selection)),
            String::from_utf8_lossy(expected),
            "{selection:?}"
        );
    }
    // A last field without a line break still gets one before the blank line.
    assert_eq!(
        select_header_fields(b"A: b", FieldSelection::Only(&["a"])),
        b"A: b\r\n\r\n"
    );
}
