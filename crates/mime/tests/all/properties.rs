//! Property tests: `parse` never panics, offsets are in bounds and ordered, the
//! structure survives serde, and the decoders accept anything.

use encoding_rs::WINDOWS_1252;
use pillarbox_mime::{
    MessageStructure, decode_base64, decode_encoded_words, decode_quoted_printable, parse,
    parse_address_list, parse_date, reencode_undeclared_8bit_headers, searchable_text,
};
use proptest::prelude::*;

use crate::fixtures::check_invariants;

/// Lines that drive the parser through its states.
const FRAGMENTS: &[&str] = &[
    "Content-Type: multipart/mixed; boundary=a",
    "Content-Type: multipart/alternative; boundary=b",
    "Content-Type: multipart/digest; boundary=a",
    "Content-Type: message/rfc822",
    "Content-Type: text/plain; charset=iso-8859-1",
    "Content-Transfer-Encoding: base64",
    "Content-Transfer-Encoding: quoted-printable",
    "Subject: =?utf-8?q?x?= Re: [l] y",
    "From: A <a@b>, G: c@d;",
    " folded",
    "--a",
    "--a--",
    "--b",
    "--b--",
    "",
    "\r",
    "body text =E9 =",
    "\u{e9}\0",
];

fn fragment_message() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((0..FRAGMENTS.len(), any::<bool>()), 0..60).prop_map(|picks| {
        let mut raw = Vec::new();
        for (index, crlf) in picks {
            raw.extend_from_slice(FRAGMENTS[index].as_bytes());
            raw.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        raw
    })
}

fn check_everything(raw: &[u8]) {
    let structure = parse(raw);
    check_invariants(&structure, raw.len());
    let json = serde_json::to_string(&structure).unwrap_or_default();
    let back: Result<MessageStructure, _> = serde_json::from_str(&json);
    assert_eq!(back.ok().as_ref(), Some(&structure));
    let _ = searchable_text(raw, &structure, WINDOWS_1252);
    let rewritten = reencode_undeclared_8bit_headers(raw, "windows-1252");
    check_invariants(&parse(&rewritten), rewritten.len());
}

/// 512 cases by default; `PROPTEST_CASES` raises it for a longer soak.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn parse_never_panics_on_bytes(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_everything(&raw);
    }

    #[test]
    fn parse_never_panics_on_mime_like_input(raw in fragment_message()) {
        check_everything(&raw);
    }

    #[test]
    fn decoders_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_base64(&raw);
        let _ = decode_quoted_printable(&raw);
        let _ = decode_encoded_words(&raw);
        let _ = parse_address_list(&raw);
        let _ = parse_date(&raw);
    }
}
