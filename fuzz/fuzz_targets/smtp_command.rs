//! Feeds arbitrary bytes to the SMTP server's command parser (line by line, within the
//! limits the session frames them by) and to the DATA decoder in both bare-newline
//! modes. None may panic; the decoder must find the same end of data and produce the
//! same message whether the input arrives whole or in pieces, never end on anything
//! but CRLF.CRLF, and, when it reports no violation, produce only CRLF lines.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_config::BareNewline;
use pillarbox_smtp::proto::command::{MAX_AUTH_LINE, parse, verb_of};
use pillarbox_smtp::proto::data::DataDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    for line in input
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.len() <= MAX_AUTH_LINE)
    {
        let _ = verb_of(line);
        let _ = parse(line);
    }
    let mode = if control & 1 == 0 {
        BareNewline::Reject
    } else {
        BareNewline::Normalize
    };
    let max_line = if control & 2 == 0 { 1000 } else { 0 };
    let mut whole = DataDecoder::new(mode, max_line);
    let mut out_whole = Vec::new();
    let end_whole = whole.feed(input, &mut out_whole);
    let chunk = usize::from(control >> 2) + 1;
    let mut pieces = DataDecoder::new(mode, max_line);
    let mut out_pieces = Vec::new();
    let mut end_pieces = None;
    let mut at = 0;
    for c in input.chunks(chunk) {
        if let Some(n) = pieces.feed(c, &mut out_pieces) {
            end_pieces = Some(at + n);
            break;
        }
        at += c.len();
    }
    assert_eq!(end_whole, end_pieces, "the same end of data, whole or in pieces");
    assert_eq!(out_whole, out_pieces, "the same message, whole or in pieces");
    assert_eq!(whole.violation(), pieces.violation());
    if let Some(n) = end_whole {
        assert!(n <= input.len());
        let consumed = &input[..n];
        assert!(consumed.ends_with(b"\r\n.\r\n") || consumed == b".\r\n", "ends only on CRLF.CRLF");
        if whole.violation().is_none() {
            for line in out_whole.split_inclusive(|&b| b == b'\n') {
                assert!(line.ends_with(b"\r\n"), "only CRLF lines");
                assert!(!line[..line.len() - 2].contains(&b'\r'), "no bare CR");
            }
        }
    }
});
