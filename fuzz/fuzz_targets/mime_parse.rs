//! Fuzz target: `pillarbox_mime::parse` and every decoder on arbitrary bytes.
//! Checks that nothing panics and that the parsed offsets stay within the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_mime::{
    BodyPart, FieldSelection, PartBody, decode_base64, decode_encoded_words,
    decode_quoted_printable, decode_text, decode_transfer, parse, parse_address_list,
    parse_content_type, parse_date, reencode_undeclared_8bit_headers, searchable_text,
    select_header_fields,
};

fn check_part(raw: &[u8], part: &BodyPart) {
    assert!(part.header_start <= part.body_start);
    assert!(part.body_start <= part.body_end);
    assert!(part.body_end <= raw.len() as u64);
    if let Ok(decoded) = decode_transfer(part.body(raw), &part.transfer_encoding()) {
        let _ = decode_text(&decoded, part.charset(), encoding_rs::WINDOWS_1252);
    }
    match &part.body {
        PartBody::Single => {}
        PartBody::Multipart(children) => children.iter().for_each(|c| check_part(raw, c)),
        PartBody::Message(message) => check_part(raw, &message.root),
    }
}

fuzz_target!(|raw: &[u8]| {
    let structure = parse(raw);
    assert_eq!(structure.root.body_end, raw.len() as u64);
    check_part(raw, &structure.root);
    let _ = searchable_text(raw, &structure, encoding_rs::WINDOWS_1252);
    let _ = select_header_fields(raw, FieldSelection::Only(&["subject", "from"]));
    let _ = select_header_fields(raw, FieldSelection::AllExcept(&["received"]));
    let _ = reencode_undeclared_8bit_headers(raw, "iso-8859-2");
    let _ = decode_base64(raw);
    let _ = decode_quoted_printable(raw);
    let _ = decode_encoded_words(raw);
    let _ = parse_address_list(raw);
    let _ = parse_content_type(raw);
    let _ = parse_date(raw);
});
