//! Feeds arbitrary bytes to the POP3 command parser (line by line, as the session frames
//! them), the SASL response parser, and the RETR/TOP encoder. None may panic; the
//! encoder's output must always be CRLF lines, dot-stuffed, and exactly as long (before
//! stuffing) as the size LIST reports, with TOP a prefix of RETR.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_pop3::proto::{BodyEncoder, MAX_LINE, WireSize, parse, parse_sasl_response};

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    for line in input
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.len() <= MAX_LINE)
    {
        if let Ok(cmd) = parse(line) {
            let _ = cmd.keyword();
        }
        let _ = parse_sasl_response(line);
    }

    let chunk = usize::from(control % 13) + 1;
    let encode = |mut enc: BodyEncoder| {
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            enc.feed(c, &mut out);
        }
        enc.finish(&mut out);
        out
    };
    let retr = encode(BodyEncoder::retr());
    let body = retr.strip_suffix(b".\r\n").expect("terminator");
    let mut unstuffed = 0u64;
    for line in body.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\r\n"), "every line ends in CRLF");
        let l = line.strip_prefix(b".").unwrap_or(line);
        if line.starts_with(b".") {
            assert!(l.starts_with(b"."), "a leading dot is doubled");
        }
        unstuffed += l.len() as u64;
    }
    assert_eq!(unstuffed, WireSize::of(input));
    let top = encode(BodyEncoder::top(u64::from(control >> 4)));
    let top_body = top.strip_suffix(b".\r\n").expect("terminator");
    assert!(body.starts_with(top_body), "TOP is a prefix of RETR");
});
