//! Feeds arbitrary bytes, as a received message, to the removal of forged
//! `Authentication-Results` fields (RFC 8601 §5) the MX applies before adding its own.
//! It must not panic; what it returns is the input with whole header fields taken out:
//! never longer, the body untouched, and running it again removes nothing more.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_smtp::auth_checks::strip_forged;

fuzz_target!(|data: &[u8]| {
    let id = "mx.example.test";
    let Some(out) = strip_forged(data, id) else {
        return;
    };
    assert!(out.len() < data.len());
    if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
        assert!(out.ends_with(&data[p + 2..]), "the body is untouched");
    }
    assert!(strip_forged(&out, id).is_none(), "nothing left to remove");
});
