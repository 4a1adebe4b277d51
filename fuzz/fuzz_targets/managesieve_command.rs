//! Fuzz target: the ManageSieve command parser (`pillarbox_managesieve::proto::parse`)
//! over arbitrary bytes, read command after command as a session does. Checks that
//! nothing panics, that progress is always made or more input asked for, and that a
//! consumed length never exceeds the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_managesieve::proto::{Arg, ParseError, parse, write_string};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match parse(rest, 512, 4096) {
            Ok((cmd, used)) => {
                assert!(used > 0 && used <= rest.len());
                assert!(!cmd.name.is_empty());
                rest = &rest[used..];
            }
            Err(ParseError::Bad { used, .. }) => {
                assert!(used > 0 && used <= rest.len());
                rest = &rest[used..];
            }
            Err(ParseError::Incomplete | ParseError::TooLarge) => break,
        }
    }
    // Whatever a string holds, written out it parses back to the same bytes.
    let mut line = b"X ".to_vec();
    write_string(&mut line, data);
    line.extend_from_slice(b"\r\n");
    let (cmd, used) = parse(&line, usize::MAX, usize::MAX).expect("a written string parses");
    assert_eq!(used, line.len());
    assert_eq!(cmd.args, vec![Arg::Str(data.to_vec())]);
});
