//! Feeds arbitrary bytes to the POP3 client's response parser as a hostile server would
//! send them: a status line, then a multi-line body (whole, and line by line with
//! dot-unstuffing), then the CAPA reading of those lines. Nothing may panic, and
//! nothing claims more bytes than it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_client::pop3::reply::{
    DataLine, Pop3Capabilities, apop_timestamp, data_line, parse_multiline, parse_status,
    split_line,
};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    if let Ok(Some((line, used))) = split_line(rest) {
        assert!(used <= rest.len() && line.len() < used);
        if let Ok(status) = parse_status(line) {
            let _ = apop_timestamp(&status);
            let _ = status.to_string();
        }
        rest = &rest[used..];
    }
    if let Ok(Some((lines, used))) = parse_multiline(rest, 64 * 1024) {
        assert!(used <= rest.len());
        let _ = Pop3Capabilities::parse(&lines);
    }
    while let Ok(Some((line, used))) = split_line(rest) {
        if data_line(line) == DataLine::End {
            break;
        }
        rest = &rest[used..];
    }
});
