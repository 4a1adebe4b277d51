//! Feeds arbitrary bytes to the SMTP client's reply parser as a hostile server would
//! send them: replies are parsed and consumed one after another, each parsed reply is
//! also read as an EHLO answer, and the DATA encoder gets the same bytes. Nothing may
//! panic; a parsed reply never claims more bytes than it was given, its code is a
//! valid SMTP code, and the encoder's output is CRLF lines with only the terminator a
//! lone dot.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_client::smtp::data::encode_data;
use pillarbox_client::smtp::{Capabilities, parse_reply};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len());
        assert!((200..600).contains(&reply.code));
        let caps = Capabilities::from_ehlo(&reply);
        let _ = caps.size_limit();
        let _ = reply.to_string();
        rest = &rest[used..];
    }

    let wire = encode_data(data);
    let body = wire.strip_suffix(b".\r\n").expect("terminator");
    assert!(!body.windows(5).any(|w| w == b"\r\n.\r\n"));
    for (i, &b) in wire.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(wire[i - 1], b'\r', "no bare LF");
        }
    }
});
