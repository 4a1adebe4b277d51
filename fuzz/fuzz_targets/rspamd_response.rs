//! Feeds arbitrary bytes to the rspamd client's HTTP response parser
//! (`pillarbox_scan::rspamd::parse_response`), as a whole response read to the end of
//! the connection, and what it decodes (and the raw bytes too) to the `/checkv2` JSON
//! parser (`parse_check`). Nothing may panic; a decoded response has a valid status and
//! a body within the bound; a parsed reply has its symbols sorted by name and only
//! valid header names to add or remove.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_scan::rspamd::{CheckReply, MAX_BODY, parse_check, parse_response};

fn check(r: &CheckReply) {
    assert!(
        r.symbols.windows(2).all(|w| w[0].0 <= w[1].0),
        "sorted symbols"
    );
    let valid = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    assert!(r.add_headers.iter().all(|(n, _)| valid(n)));
    assert!(r.remove_headers.iter().all(|n| valid(n)));
}

fuzz_target!(|data: &[u8]| {
    if let Ok((status, body)) = parse_response(data) {
        assert!((100..600).contains(&status));
        assert!(body.len() <= MAX_BODY);
        assert!(body.len() <= data.len());
        if let Ok(r) = parse_check(&body) {
            check(&r);
        }
    }
    if let Ok(r) = parse_check(data) {
        check(&r);
    }
});
