//! The syntaxes of the extensions added for issue 16 (OBJECTID, PARTIAL, PREVIEW,
//! REPLACE), checked as the `imap_command` fuzz target checks them: commands built
//! from arbitrary input parse back to what was written. These functions are the fuzz
//! target's, run here under proptest so they are compiled and run with the crate.

use pillarbox_imap::proto::*;
use proptest::prelude::*;

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

proptest! {
    #[test]
    fn new_syntax_parses_back(input in proptest::collection::vec(any::<u8>(), 0..400)) {
        new_syntax_round_trip(&input);
    }
}

#[test]
fn new_syntax_edges() {
    for input in [
        &b""[..],
        b"\0\0\0\0",
        b"\x01\0\x01\x01\x01\x01",
        &[b'a'; 300],
    ] {
        new_syntax_round_trip(input);
    }
}
