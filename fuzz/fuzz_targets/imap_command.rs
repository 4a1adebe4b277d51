//! Feeds arbitrary bytes to the IMAP framer and command parser, the way a session
//! would: in chunks whose sizes come from the input, accepting, streaming or rejecting
//! literals as the input dictates. Neither may panic, and the framer must never hold
//! more than its caps. Then checks one grammar rule directly: the input's list-chars,
//! as an unquoted `LIST` pattern, parse back to exactly that pattern (RFC 9051 §9
//! `list-mailbox = 1*list-char`, a leading `~` included: only `~{` starts a literal8),
//! and that commands of the newer syntaxes built from the input (OBJECTID's `EMAILID`,
//! PARTIAL ranges in SEARCH RETURN and as a FETCH modifier, PREVIEW (LAZY), REPLACE
//! with its mailbox and message literals, METADATA's SETMETADATA with a literal8 value
//! and GETMETADATA with its options) parse back to what was written. The same checks
//! (METADATA's aside) run under proptest in `crates/imap/tests/new_syntax.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pillarbox_imap::proto::{
    Command, CommandBody, FetchAttr, FetchAttrs, FrameEvent, Framer, FramerConfig, LiteralData,
    LiteralRole, MetadataDepth, ParseError, PartialRange, SearchKey, SearchReturn, parse_command,
    parse_idle_done, parse_sasl_response,
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
    new_syntax_round_trip(input);
    metadata_round_trip(input);
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

/// Frames and parses one command given whole, accepting every literal inline; the
/// roles the framer gave its literals come back too.
fn frame_whole(input: &[u8]) -> (Vec<LiteralRole>, Option<Result<Command<u32>, ParseError>>) {
    let mut framer: Framer<u32> = Framer::new(FramerConfig::default());
    let mut roles = Vec::new();
    let mut rest = input;
    loop {
        let adv = framer.advance(rest);
        rest = &rest[adv.consumed..];
        match adv.event {
            FrameEvent::NeedMore => return (roles, None),
            FrameEvent::Command(c) => return (roles, Some(parse_command(c))),
            FrameEvent::Literal(a) => {
                roles.push(a.role);
                if framer.accept_inline().is_err() {
                    framer.reject_literal();
                }
            }
            FrameEvent::LiteralData(_) | FrameEvent::LiteralEnd => {}
            FrameEvent::Error { .. } => return (roles, None),
        }
    }
}

/// The syntaxes of OBJECTID (RFC 8474 §7 `objectid`), PARTIAL (RFC 9394 §4
/// `partial-range`), PREVIEW (RFC 8970 §6) and REPLACE (RFC 8508 §5), built from the
/// input: what was written parses back to exactly that, and nothing panics.
fn new_syntax_round_trip(input: &[u8]) {
    let byte = |i: usize| input.get(i).copied().unwrap_or(0);
    // PARTIAL m:n or -m:-n; 0 is not an nz-number.
    let first = u32::from(byte(0)) * 256 + u32::from(byte(1));
    let last = u32::from(byte(2));
    let from_end = byte(3) & 1 == 1;
    let sign = if from_end { "-" } else { "" };
    let line = format!("t UID SEARCH RETURN (PARTIAL {sign}{first}:{sign}{last}) ALL\r\n");
    let (_, parsed) = frame_whole(line.as_bytes());
    match parsed {
        Some(Ok(Command {
            body: CommandBody::Search(s),
            ..
        })) => {
            let range = PartialRange {
                first,
                last,
                from_end,
            };
            assert_eq!(s.return_opts, Some(vec![SearchReturn::Partial(range)]));
            for len in [0usize, 1, 2, 255, 256, 70_000] {
                let p = range.positions(len);
                assert!(p.start <= p.end && p.end <= len, "{range:?} {len} {p:?}");
                let wanted = (first.max(last) - first.min(last) + 1) as usize;
                assert!(p.len() <= wanted, "{range:?} {len} {p:?}");
            }
            let mut out = Vec::new();
            range.write(&mut out);
            assert_eq!(out, format!("{sign}{first}:{sign}{last}").as_bytes());
        }
        other => assert!(first == 0 || last == 0, "{line:?}: {other:?}"),
    }
    // EMAILID objectid: 1 to 255 of ALPHA / DIGIT / "_" / "-".
    let id: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .take(300)
        .collect();
    let mut line = b"t SEARCH EMAILID ".to_vec();
    line.extend_from_slice(&id);
    line.extend_from_slice(b"\r\n");
    match frame_whole(&line).1 {
        Some(Ok(Command {
            body: CommandBody::Search(s),
            ..
        })) => {
            assert!((1..=255).contains(&id.len()), "{line:?}");
            assert_eq!(s.criteria, SearchKey::EmailId(id.clone().into()));
        }
        other => assert!(id.is_empty() || id.len() > 255, "{line:?}: {other:?}"),
    }
    // PREVIEW with or without LAZY, then the FETCH modifiers.
    let lazy = byte(4) & 1 == 1;
    let line = format!(
        "t UID FETCH 1:* PREVIEW{} (PARTIAL {sign}{}:{sign}5)\r\n",
        if lazy { " (LAZY)" } else { "" },
        first.max(1)
    );
    match frame_whole(line.as_bytes()).1 {
        Some(Ok(Command {
            body: CommandBody::Fetch(f),
            ..
        })) => {
            assert_eq!(f.attrs, FetchAttrs::List(vec![FetchAttr::Preview { lazy }]));
            assert!(f.partial.is_some());
        }
        other => panic!("{line:?}: {other:?}"),
    }
    // REPLACE: the message literal is streamed like APPEND's, the mailbox literal not.
    let message: Vec<u8> = input.iter().copied().take(64).collect();
    let uid = byte(5) & 1 == 1;
    let mut line = format!(
        "t {}REPLACE {} {{6}}\r\nDrafts (\\Seen) {{{}+}}\r\n",
        if uid { "UID " } else { "" },
        first.max(1),
        message.len()
    )
    .into_bytes();
    line.extend_from_slice(&message);
    line.extend_from_slice(b"\r\n");
    let (roles, parsed) = frame_whole(&line);
    assert_eq!(
        roles,
        [LiteralRole::Other, LiteralRole::AppendMessage],
        "{line:?}"
    );
    match parsed {
        Some(Ok(Command {
            body: CommandBody::Replace(r),
            ..
        })) => {
            assert_eq!(r.uid, uid);
            assert_eq!(r.mailbox.as_bytes(), b"Drafts");
            assert_eq!(r.message.data, LiteralData::Inline(message.into()));
        }
        other => panic!("{line:?}: {other:?}"),
    }
}

/// RFC 5464 §5: `SETMETADATA mailbox (entry value)` with a literal8 value of any
/// octets and an entry name built from the input, and `GETMETADATA (MAXSIZE n DEPTH
/// d) mailbox entry`, parse back to what was written; a name breaking §3.2's rules
/// (here: a `*` or `%` in it) is refused.
fn metadata_round_trip(input: &[u8]) {
    let byte = |i: usize| input.get(i).copied().unwrap_or(0);
    let component: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'*' | b'%'))
        .take(40)
        .collect();
    if component.is_empty() {
        return;
    }
    let mut name = b"/private/".to_vec();
    name.extend_from_slice(&component);
    let valid = !component.iter().any(|b| matches!(b, b'*' | b'%'));
    let value: Vec<u8> = input.iter().copied().take(64).collect();
    let mut line = b"t SETMETADATA INBOX (".to_vec();
    line.extend_from_slice(&name);
    line.extend_from_slice(format!(" ~{{{}+}}\r\n", value.len()).as_bytes());
    line.extend_from_slice(&value);
    line.extend_from_slice(b")\r\n");
    match frame_whole(&line).1 {
        Some(Ok(Command {
            body: CommandBody::SetMetadata { mailbox, entries },
            ..
        })) => {
            assert!(valid, "{line:?}");
            assert_eq!(mailbox.as_bytes(), b"INBOX");
            assert_eq!(entries.len(), 1, "{line:?}");
            assert_eq!(&entries[0].0[..], &name[..]);
            assert_eq!(entries[0].1.as_deref(), Some(&value[..]));
        }
        other => assert!(!valid, "{line:?}: {other:?}"),
    }
    let max = u64::from(byte(0)) * 256 + u64::from(byte(1));
    let (depth, word) = match byte(2) % 3 {
        0 => (MetadataDepth::Zero, "0"),
        1 => (MetadataDepth::One, "1"),
        _ => (MetadataDepth::Infinity, "infinity"),
    };
    let mut line = format!("t GETMETADATA (MAXSIZE {max} DEPTH {word}) \"\" ").into_bytes();
    line.extend_from_slice(&name);
    line.extend_from_slice(b"\r\n");
    match frame_whole(&line).1 {
        Some(Ok(Command {
            body: CommandBody::GetMetadata(g),
            ..
        })) => {
            assert!(valid, "{line:?}");
            assert!(g.mailbox.as_bytes().is_empty());
            assert_eq!((g.max_size, g.depth), (Some(max), depth));
            assert_eq!(g.entries.len(), 1, "{line:?}");
            assert_eq!(&g.entries[0][..], &name[..]);
        }
        other => assert!(!valid, "{line:?}: {other:?}"),
    }
}
