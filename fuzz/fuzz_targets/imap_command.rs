//! Feeds arbitrary bytes to the IMAP framer and command parser, the way a session
//! would: in chunks whose sizes come from the input, accepting, streaming or rejecting
//! literals as the input dictates. Neither may panic, and the framer must never hold
//! more than its caps. Then checks one grammar rule directly: the input's list-chars,
//! as an unquoted `LIST` pattern, parse back to exactly that pattern (RFC 9051 §9
//! `list-mailbox = 1*list-char`, a leading `~` included: only `~{` starts a literal8).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_imap::proto::{
    CommandBody, FrameEvent, Framer, FramerConfig, parse_command, parse_idle_done,
    parse_sasl_response,
};

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let config = FramerConfig {
        max_line: 256,
        max_command: 1024,
    };
    let mut framer: Framer<u32> = Framer::new(config);
    let chunk = usize::from(control % 17) + 1;
    let mut decisions = input.iter().rev().copied().cycle();
    let mut offset = 0;
    let mut streamed = 0u64;
    // Each chunk is fed until the framer asks for more, as a session would.
    while offset < input.len() {
        let end = (offset + chunk).min(input.len());
        let mut rest = &input[offset..end];
        loop {
            let adv = framer.advance(rest);
            let consumed = adv.consumed;
            match adv.event {
                FrameEvent::NeedMore => break,
                FrameEvent::Command(cmd) => {
                    if control & 0x80 != 0 {
                        framer.expect_line();
                    }
                    let _ = parse_sasl_response(&cmd);
                    let _ = parse_idle_done(&cmd);
                    let _ = parse_command(cmd);
                }
                FrameEvent::Literal(_) => match decisions.next().unwrap_or(0) % 3 {
                    0 => {
                        if framer.accept_inline().is_err() {
                            framer.reject_literal();
                        }
                    }
                    1 => {
                        let _ = framer.accept_streamed(7);
                    }
                    _ => {
                        framer.reject_literal();
                    }
                },
                FrameEvent::LiteralData(d) => streamed += d.len() as u64,
                FrameEvent::LiteralEnd => {}
                FrameEvent::Error { .. } => {}
            }
            rest = &rest[consumed..];
        }
        offset = end;
    }
    let _ = streamed;
    list_pattern_round_trip(input);
});

/// RFC 9051 §9 `list-char = ATOM-CHAR / list-wildcards / resp-specials`: any CHAR but
/// CTL, SP, `(`, `)`, `{`, `"` and `\`.
fn is_list_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"(){\"\\".contains(&b)
}

fn list_pattern_round_trip(input: &[u8]) {
    let pattern: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&b| is_list_char(b))
        .take(200)
        .collect();
    if pattern.is_empty() {
        return;
    }
    let mut line = b"t LIST \"\" ".to_vec();
    line.extend_from_slice(&pattern);
    line.extend_from_slice(b"\r\n");
    let mut framer: Framer<u32> = Framer::new(FramerConfig::default());
    let FrameEvent::Command(cmd) = framer.advance(&line).event else {
        panic!("one line, no literal: {line:?}");
    };
    let parsed = parse_command(cmd).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
    let CommandBody::List(list) = parsed.body else {
        panic!("{line:?} is not a LIST");
    };
    assert_eq!(list.patterns.len(), 1, "{line:?}");
    assert_eq!(&list.patterns[0][..], &pattern[..], "{line:?}");
}
