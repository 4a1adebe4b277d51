//! Property tests: the framer and parser never panic, whatever the input and however
//! it is chunked, and framing does not depend on how the input was chunked.
//! Soak with `PROPTEST_CASES=100000 cargo test -p pillarbox-imap --test no_panic`.

mod common;

use pillarbox_imap::proto::*;
use proptest::prelude::*;

const CONFIG: FramerConfig = FramerConfig {
    max_line: 64,
    max_command: 256,
};

/// Frames `input` fed in chunks of `chunk` bytes, deciding literals as a session
/// would; returns a printable log of everything that happened.
fn drive(input: &[u8], chunk: usize, raw_every: u8) -> Vec<String> {
    let mut framer: Framer<u32> = Framer::new(CONFIG);
    let mut log = Vec::new();
    let mut streamed: Vec<u8> = Vec::new();
    let mut commands = 0u8;
    for piece in input.chunks(chunk.max(1)) {
        let mut rest = piece;
        loop {
            let adv = framer.advance(rest);
            assert!(adv.consumed <= rest.len());
            rest = &rest[adv.consumed..];
            match adv.event {
                FrameEvent::NeedMore => break,
                FrameEvent::Command(c) => {
                    commands = commands.wrapping_add(1);
                    let _ = parse_idle_done(&c);
                    let _ = parse_sasl_response(&c);
                    log.push(format!("{:?}", parse_command(c)));
                    if raw_every != 0 && commands.is_multiple_of(raw_every) {
                        framer.expect_line();
                    }
                }
                FrameEvent::Literal(a) => {
                    log.push(format!(
                        "literal {} {} {:?}",
                        a.size, a.synchronizing, a.role
                    ));
                    if a.role == LiteralRole::AppendMessage && a.size < 100 {
                        framer.accept_streamed(a.index as u32).unwrap();
                    } else if framer.accept_inline().is_err() {
                        framer.reject_literal();
                    }
                }
                FrameEvent::LiteralData(d) => streamed.extend_from_slice(d),
                FrameEvent::LiteralEnd => {
                    log.push(format!("streamed {:?}", std::mem::take(&mut streamed)))
                }
                FrameEvent::Error { error, discarded } => {
                    log.push(format!("error {error:?} {discarded:?}"))
                }
            }
        }
    }
    log
}

/// Pieces of IMAP syntax, so random inputs reach deep into the parser.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a1",
        "A2",
        "*",
        "+",
        " ",
        " ",
        " ",
        "  ",
        "\r\n",
        "\n",
        "(",
        ")",
        "[",
        "]",
        "<",
        ">",
        ".",
        "\"",
        "\\",
        "UID",
        "FETCH",
        "STORE",
        "SEARCH",
        "SORT",
        "THREAD",
        "APPEND",
        "LOGIN",
        "AUTHENTICATE",
        "SELECT",
        "EXAMINE",
        "LIST",
        "LSUB",
        "STATUS",
        "CREATE",
        "RENAME",
        "COPY",
        "MOVE",
        "EXPUNGE",
        "ENABLE",
        "ID",
        "IDLE",
        "DONE",
        "SETQUOTA",
        "GETQUOTA",
        "NOOP",
        "RETURN",
        "CHARSET",
        "UTF-8",
        "UTF8",
        "NOT",
        "OR",
        "BODY",
        "BODY.PEEK",
        "BINARY",
        "BINARY.SIZE",
        "HEADER.FIELDS",
        "HEADER.FIELDS.NOT",
        "MIME",
        "TEXT",
        "HEADER",
        "FLAGS",
        "+FLAGS.SILENT",
        "-FLAGS",
        "\\Seen",
        "\\*",
        "$Junk",
        "NIL",
        "INBOX",
        "inbox",
        "1",
        "0",
        "1:*",
        "5:2,7",
        "$",
        "4294967296",
        "99999999999999999999",
        "1-Feb-1994",
        "\" 1-Jul-2002 22:35:50 -0700\"",
        "\"quoted \\\" str\"",
        "{3}\r\nabc",
        "{2+}\r\nab",
        "~{3}\r\na\0b",
        "{0}\r\n",
        "{5}\r\n",
        "{99999}\r\n",
        "(QRESYNC (1 2 1:5 (1:2 3:4)))",
        "(CONDSTORE)",
        "(CHANGEDSINCE 5 VANISHED)",
        "(UNCHANGEDSINCE 0)",
        "MODSEQ",
        "\"/flags/\\\\seen\"",
        "all",
        "priv",
        "YOUNGER",
        "LARGER",
        "SUBSCRIBED",
        "RECURSIVEMATCH",
        "CHILDREN",
        "SPECIAL-USE",
        "(USE (\\Drafts))",
        "MESSAGES",
        "SIZE",
        "=",
        "dGVzdA==",
        "\u{e9}",
        "\u{ff}",
    ])
}

proptest! {
    #[test]
    fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..600), chunk in 1usize..40, raw in 0u8..4) {
        drive(&input, chunk, raw);
    }

    #[test]
    fn token_soup(tokens in proptest::collection::vec(token(), 0..60), chunk in 1usize..40) {
        let input: Vec<u8> = tokens.concat().into_bytes();
        let whole = drive(&input, input.len().max(1), 0);
        let chunked = drive(&input, chunk, 0);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn token_soup_commands(tag in "[a-z0-9]{1,4}", tokens in proptest::collection::vec(token(), 0..30)) {
        // A tagged line: whatever the parser says, an error names the tag.
        let line = format!("{tag} {}\r\n", tokens.concat());
        let (outcomes, _) = common::run(line.as_bytes(), FramerConfig::default());
        if let Some(common::Outcome::Parse(e)) = outcomes.first()
            && !matches!(e.kind, ParseErrorKind::InvalidTag)
        {
            prop_assert_eq!(e.tag.as_ref().map(|t| t.as_bytes().to_vec()), Some(tag.into_bytes()));
        }
    }
}
