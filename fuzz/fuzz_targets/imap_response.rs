//! Feeds arbitrary bytes to the IMAP client's response framer and parser as a hostile
//! server would send them: every complete response is parsed (FETCH literals, codes,
//! capability lists, continuations). Nothing may panic, and no frame may claim more
//! bytes than it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_client::imap::response::{Frame, frame, parse};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Frame::Complete(n)) = frame(rest, 1 << 20) {
        assert!(n > 0 && n <= rest.len());
        if let Ok(r) = parse(&rest[..n]) {
            let _ = format!("{r:?}");
        }
        rest = &rest[n..];
    }
    let _ = parse(data);
    // LIST response texts (migration reads folder names from them).
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = pillarbox_client::imap::parse_list(text);
    }
});
