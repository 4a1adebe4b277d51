//! Searchable text: decoded headers, decoded text parts, embedded message headers.

use encoding_rs::WINDOWS_1252;
use pillarbox_mime::{CaseInsensitiveNeedle, parse, searchable_text};

const MESSAGE: &[u8] = b"Subject: =?ISO-8859-1?Q?Caf=E9?= menu\r\n\
From: =?utf-8?b?SsO2cmc=?= <j@example.de>\r\n\
Content-Type: multipart/mixed; boundary=s\r\n\r\n\
--s\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Cr=E8me br=FBl=E9e, soft=\r\n break\r\n\
--s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
PHA+R3LDvMOfZTwvcD4=\r\n\
--s\r\nContent-Type: text/plain\r\n\r\nundeclared caf\xe9\r\n\
--s\r\nContent-Type: application/octet-stream\r\n\r\nsecret binary words\r\n\
--s\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nunknowable\r\n\
--s\r\nContent-Type: message/rfc822\r\n\r\nSubject: =?utf-8?q?inner_=C3=BCber?=\r\n\r\ninner body\r\n\
--s--\r\n";

#[test]
fn searchable_text_decodes_everything_textual() {
    let structure = parse(MESSAGE);
    let text = searchable_text(MESSAGE, &structure, WINDOWS_1252);
    assert!(
        text.header.contains("Subject: Caf\u{e9} menu\n"),
        "{}",
        text.header
    );
    assert!(
        text.header.contains("From: J\u{f6}rg <j@example.de>\n"),
        "{}",
        text.header
    );
    let body_table: &[(&str, bool)] = &[
        ("cr\u{c8}me br\u{fb}l\u{e9}e", true),
        ("soft break", true),
        ("gr\u{fc}\u{df}e", true),
        ("undeclared caf\u{e9}", true),
        ("secret binary", false),
        ("unknowable", false),
        ("inner \u{fc}ber", true),
        ("inner body", true),
        ("menu", false),
    ];
    for (needle, expected) in body_table {
        let needle = CaseInsensitiveNeedle::new(needle);
        assert_eq!(
            text.body_contains(&needle),
            *expected,
            "{needle:?} in {}",
            text.body
        );
    }
    assert!(text.text_contains(&CaseInsensitiveNeedle::new("CAF\u{c9} MENU")));
    assert!(!text.text_contains(&CaseInsensitiveNeedle::new("absent")));
}
