//! Framer tests: line endings, pipelining, literals (synchronizing, LITERAL+, literal8),
//! streaming APPEND messages, refusals, caps and skipping.

mod common;

use common::{Outcome, run};
use pillarbox_imap::proto::*;

fn small() -> FramerConfig {
    FramerConfig {
        max_line: 64,
        max_command: 256,
    }
}

fn names(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Parsed(c) => format!(
                "{} {}",
                String::from_utf8_lossy(c.tag.as_bytes()),
                c.body.name()
            ),
            Outcome::Parse(e) => format!("parse {:?} {:?}", e.tag, e.kind),
            Outcome::Frame(e) => format!("frame {:?} {:?}", e.tag, e.kind),
        })
        .collect()
}

#[test]
fn pipelined_commands_lf_and_empty_lines() {
    let (out, _) = run(
        b"a NOOP\r\nb CAPABILITY\n\r\n\nc LOGOUT\r\n",
        FramerConfig::default(),
    );
    assert_eq!(names(&out), ["a NOOP", "b CAPABILITY", "c LOGOUT"]);
}

#[test]
fn stops_after_each_command() {
    let mut framer: Framer<()> = Framer::default();
    let input = b"a STARTTLS\r\n\x16\x03\x01garbage";
    let adv = framer.advance(input);
    assert_eq!(adv.consumed, 12);
    assert!(matches!(adv.event, FrameEvent::Command(_)));
    assert!(framer.is_idle());
}

#[test]
fn byte_by_byte_equals_whole() {
    let input: &[u8] = b"a LOGIN {4}\r\nfred {3+}\r\nabc\r\nb APPEND INBOX (\\Seen) {5}\r\nhello (\\Draft) ~{3}\r\nx\0y\r\nc SELECT \"a b\"\r\n";
    let whole = run(input, FramerConfig::default());
    let mut framer: Framer<usize> = Framer::default();
    let mut spool: Vec<Vec<u8>> = Vec::new();
    let mut parsed = Vec::new();
    for i in 0..input.len() {
        let mut byte = &input[i..=i];
        loop {
            let adv = framer.advance(byte);
            let consumed = adv.consumed;
            match adv.event {
                FrameEvent::NeedMore => break,
                FrameEvent::Command(c) => parsed.push(parse_command(c).unwrap()),
                FrameEvent::Literal(a) if a.role == LiteralRole::AppendMessage => {
                    spool.push(Vec::new());
                    framer.accept_streamed(spool.len() - 1).unwrap();
                }
                FrameEvent::Literal(_) => framer.accept_inline().unwrap(),
                FrameEvent::LiteralData(d) => spool.last_mut().unwrap().extend_from_slice(d),
                FrameEvent::LiteralEnd => {}
                FrameEvent::Error { error, .. } => panic!("{error:?}"),
            }
            byte = &byte[consumed..];
        }
    }
    let whole_parsed: Vec<_> = whole
        .0
        .into_iter()
        .map(|o| match o {
            Outcome::Parsed(c) => c,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(parsed, whole_parsed);
    assert_eq!(spool, whole.1);
    assert_eq!(spool, vec![b"hello".to_vec(), b"x\0y".to_vec()]);
}

#[test]
fn literal_announcements() {
    let mut framer: Framer<()> = Framer::default();
    let adv = framer.advance(b"A1 LOGIN {4}\r\n");
    let FrameEvent::Literal(a) = adv.event else {
        panic!("{:?}", adv.event)
    };
    assert_eq!(adv.consumed, 14);
    assert_eq!(
        (a.size, a.synchronizing, a.binary, a.index),
        (4, true, false, 0)
    );
    assert_eq!(a.tag, Some(Tag::from("A1")));
    assert_eq!(&a.command[..], b"LOGIN");
    assert_eq!(a.role, LiteralRole::Other);
    assert!(a.fits_inline);
    assert!(!a.exceeds_literal_minus());
    // Undecided: the same announcement again, nothing consumed.
    let again = framer.advance(b"fred");
    assert_eq!(again.consumed, 0);
    assert!(matches!(again.event, FrameEvent::Literal(ref b) if *b == a));
    framer.accept_inline().unwrap();
    assert_eq!(framer.accept_inline(), Err(DecisionError::NoPendingLiteral));
    let adv = framer.advance(b"fred ~{5+}\r\n");
    let FrameEvent::Literal(a) = adv.event else {
        panic!()
    };
    assert_eq!(
        (a.size, a.synchronizing, a.binary, a.index),
        (5, false, true, 1)
    );
    assert!(!a.exceeds_literal_minus());

    let mut framer: Framer<()> = Framer::default();
    let FrameEvent::Literal(a) = framer.advance(b"A2 LOGIN {4097+}\r\n").event else {
        panic!()
    };
    assert!(a.exceeds_literal_minus());
}

#[test]
fn append_roles() {
    let role_of = |input: &[u8]| {
        let mut framer: Framer<()> = Framer::default();
        match framer.advance(input).event {
            FrameEvent::Literal(a) => a.role,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(role_of(b"a APPEND {5}\r\n"), LiteralRole::Other);
    assert_eq!(role_of(b"a append  {5}\r\n"), LiteralRole::Other);
    assert_eq!(
        role_of(b"a APPEND INBOX {5}\r\n"),
        LiteralRole::AppendMessage
    );
    assert_eq!(
        role_of(b"a APPEND INBOX (\\Seen) \" 1-Jan-2020 00:00:00 +0000\" {5}\r\n"),
        LiteralRole::AppendMessage
    );
    assert_eq!(
        role_of(b"a APPEND INBOX UTF8 (~{5}\r\n"),
        LiteralRole::AppendMessage
    );
    assert_eq!(role_of(b"a LOGIN x {5}\r\n"), LiteralRole::Other);
    // RFC 8508: REPLACE's message is streamed like APPEND's; its mailbox is the
    // argument after the message number.
    assert_eq!(role_of(b"a REPLACE 4 {5}\r\n"), LiteralRole::Other);
    assert_eq!(role_of(b"a UID REPLACE 9 {5}\r\n"), LiteralRole::Other);
    assert_eq!(
        role_of(b"a REPLACE 4 Drafts {5+}\r\n"),
        LiteralRole::AppendMessage
    );
    assert_eq!(
        role_of(b"a uid replace 9 Drafts (\\Draft) ~{5}\r\n"),
        LiteralRole::AppendMessage
    );
    assert_eq!(role_of(b"a UID FETCH 9 {5}\r\n"), LiteralRole::Other);
    // After a mailbox literal, the next one is a message.
    let mut framer: Framer<()> = Framer::default();
    assert!(matches!(
        framer.advance(b"a APPEND {5}\r\n").event,
        FrameEvent::Literal(_)
    ));
    framer.accept_inline().unwrap();
    let adv = framer.advance(b"INBOX {3}\r\n");
    let FrameEvent::Literal(a) = adv.event else {
        panic!()
    };
    assert_eq!((a.index, a.role), (1, LiteralRole::AppendMessage));
}

#[test]
fn streamed_append_carries_handles() {
    let input = b"a APPEND INBOX {5}\r\nhello (\\Seen) {0}\r\n\r\nb NOOP\r\n";
    let (out, spool) = run(input, FramerConfig::default());
    assert_eq!(spool, vec![b"hello".to_vec(), Vec::new()]);
    let Outcome::Parsed(Command {
        body: CommandBody::Append(append),
        ..
    }) = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(append.messages.len(), 2);
    assert_eq!(append.messages[0].data, LiteralData::Streamed(0));
    assert_eq!(append.messages[1].data, LiteralData::Streamed(1));
    assert_eq!(append.messages[1].flags, vec![Flag::Seen]);
    assert_eq!(names(&out[1..]), ["b NOOP"]);
}

#[test]
fn streamed_literal_where_a_string_belongs_is_an_error() {
    let mut framer: Framer<u8> = Framer::default();
    assert!(matches!(
        framer.advance(b"a LOGIN {3}\r\n").event,
        FrameEvent::Literal(_)
    ));
    framer.accept_streamed(9).unwrap();
    assert!(matches!(
        framer.advance(b"abc").event,
        FrameEvent::LiteralData(b"abc")
    ));
    assert!(matches!(framer.advance(b"").event, FrameEvent::LiteralEnd));
    let FrameEvent::Command(c) = framer.advance(b" pw\r\n").event else {
        panic!()
    };
    let err = parse_command(c).unwrap_err();
    assert_eq!(
        (err.kind, err.tag),
        (ParseErrorKind::Literal, Some(Tag::from("a")))
    );
}

#[test]
fn rejected_synchronizing_literal_is_never_read() {
    let mut framer: Framer<u8> = Framer::default();
    let FrameEvent::Literal(a) = framer.advance(b"a APPEND INBOX {999999999}\r\n").event else {
        panic!()
    };
    assert!(a.synchronizing && !a.fits_inline);
    assert_eq!(framer.accept_inline(), Err(DecisionError::TooLarge));
    assert!(framer.reject_literal().is_empty());
    let adv = framer.advance(b"b NOOP\r\n");
    let FrameEvent::Command(c) = adv.event else {
        panic!("{:?}", adv.event)
    };
    assert_eq!(parse_command(c).unwrap().body, CommandBody::Noop);
}

#[test]
fn rejected_non_synchronizing_literal_is_skipped_with_its_command() {
    // The rejected literal's octets, and the rest of its command (here another
    // LITERAL+), are thrown away; the next command is intact.
    let mut framer: Framer<u8> = Framer::default();
    let input = b"a APPEND INBOX {10+}\r\n0123456789 (\\Seen) {3+}\r\nabc\r\nb NOOP\r\n";
    let adv = framer.advance(input);
    assert!(matches!(adv.event, FrameEvent::Literal(_)));
    framer.reject_literal();
    let mut rest = &input[adv.consumed..];
    let adv = framer.advance(rest);
    rest = &rest[adv.consumed..];
    let FrameEvent::Command(c) = adv.event else {
        panic!("{:?}", adv.event)
    };
    assert_eq!(parse_command(c).unwrap().tag, Tag::from("b"));
    assert!(rest.is_empty());
}

#[test]
fn multiappend_rejection_returns_streamed_handles() {
    let mut framer: Framer<u8> = Framer::default();
    assert!(matches!(
        framer.advance(b"a APPEND INBOX {1}\r\n").event,
        FrameEvent::Literal(_)
    ));
    framer.accept_streamed(1).unwrap();
    assert!(matches!(
        framer.advance(b"x").event,
        FrameEvent::LiteralData(b"x")
    ));
    assert!(matches!(framer.advance(b"").event, FrameEvent::LiteralEnd));
    assert!(matches!(
        framer.advance(b" {99999}\r\n").event,
        FrameEvent::Literal(_)
    ));
    assert_eq!(framer.reject_literal(), vec![1]);
    assert!(framer.is_idle());
}

#[test]
fn over_long_line_is_skipped_with_its_tag() {
    let mut input = b"tag1 SEARCH TEXT ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 1000));
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    let (out, _) = run(&input, small());
    assert_eq!(names(&out), ["frame Some(Tag(tag1)) LineTooLong", "b NOOP"]);
    // The same, fed in small chunks, never holds more than the cap.
    let mut framer: Framer<()> = Framer::new(small());
    let mut events = Vec::new();
    for chunk in input.chunks(7) {
        let mut rest = chunk;
        loop {
            let adv = framer.advance(rest);
            rest = &rest[adv.consumed..];
            match adv.event {
                FrameEvent::NeedMore => break,
                FrameEvent::Error { error, .. } => events.push(format!("{:?}", error.kind)),
                FrameEvent::Command(c) => {
                    events.push(format!("{:?}", parse_command(c).map(|c| c.body)))
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(events, ["LineTooLong", "Ok(Noop)"]);
}

#[test]
fn over_long_line_without_tag() {
    let mut input = vec![b'x'; 500];
    input.extend_from_slice(b"\r\na NOOP\r\n");
    let (out, _) = run(&input, small());
    assert_eq!(names(&out), ["frame None LineTooLong", "a NOOP"]);
}

#[test]
fn over_long_line_ending_in_literal_plus_skips_the_literal() {
    let mut input = b"t1 APPEND INBOX ".to_vec();
    input.extend(std::iter::repeat_n(b'(', 200));
    input.extend_from_slice(b" {5+}\r\nb NOO\r\nc NOOP\r\n");
    let (out, _) = run(&input, small());
    // "b NOO" is the literal's content and the CRLF ends that command.
    assert_eq!(names(&out), ["frame Some(Tag(t1)) LineTooLong", "c NOOP"]);
}

#[test]
fn over_long_second_line_keeps_first_lines_tag() {
    let mut input = b"t2 LOGIN {3}\r\nabc ".to_vec();
    input.extend(std::iter::repeat_n(b'y', 300));
    input.extend_from_slice(b"\r\nz NOOP\r\n");
    let (out, _) = run(&input, small());
    assert_eq!(names(&out), ["frame Some(Tag(t2)) LineTooLong", "z NOOP"]);
}

#[test]
fn command_cap_counts_inline_literals() {
    let mut input = Vec::new();
    for _ in 0..6 {
        input.extend_from_slice(b"{50}\r\n");
        input.extend(std::iter::repeat_n(b'q', 50));
    }
    let mut framer: Framer<()> = Framer::new(small());
    let mut rest = &b"c1 SEARCH TEXT "[..];
    let adv = framer.advance(rest);
    assert!(matches!(adv.event, FrameEvent::NeedMore));
    rest = &input[..];
    let mut refused = false;
    loop {
        let adv = framer.advance(rest);
        rest = &rest[adv.consumed..];
        match adv.event {
            FrameEvent::Literal(a) => {
                if framer.accept_inline().is_err() {
                    assert!(!a.fits_inline);
                    refused = true;
                    framer.reject_literal();
                }
            }
            FrameEvent::NeedMore => break,
            other => panic!("{other:?}"),
        }
        if refused {
            break;
        }
    }
    assert!(refused);
}

#[test]
fn impossible_literal_size() {
    let (out, _) = run(
        b"s1 LOGIN {99999999999999999999}\r\na NOOP\r\n",
        FramerConfig::default(),
    );
    assert_eq!(names(&out), ["frame Some(Tag(s1)) LiteralSize", "a NOOP"]);
}

#[test]
fn expect_line_delivers_empty_lines_and_ignores_braces() {
    let mut framer: Framer<()> = Framer::default();
    framer.expect_line();
    let FrameEvent::Command(c) = framer.advance(b"\r\n").event else {
        panic!()
    };
    assert_eq!(c.as_bytes(), b"");
    framer.expect_line();
    let FrameEvent::Command(c) = framer.advance(b"abc{3}\r\n").event else {
        panic!()
    };
    assert_eq!(c.as_bytes(), b"abc{3}");
    // Back to commands: empty lines are skipped again.
    assert!(matches!(
        framer.advance(b"\r\n").event,
        FrameEvent::NeedMore
    ));
}

#[test]
fn decisions_without_a_pending_literal() {
    let mut framer: Framer<u8> = Framer::default();
    assert_eq!(framer.accept_inline(), Err(DecisionError::NoPendingLiteral));
    assert_eq!(
        framer.accept_streamed(1),
        Err(DecisionError::NoPendingLiteral)
    );
    assert!(framer.reject_literal().is_empty());
    assert_eq!(framer.config(), FramerConfig::default());
}

#[test]
fn framed_command_accessors() {
    let mut framer: Framer<u8> = Framer::default();
    let FrameEvent::Command(c) = framer.advance(b"x1 NOOP\r\n").event else {
        panic!()
    };
    assert_eq!(c.tag(), Some(&Tag::from("x1")));
    assert_eq!(c.as_bytes(), b"x1 NOOP");
    assert!(c.into_handles().is_empty());
}

#[test]
fn brace_endings_that_are_not_literals() {
    // Found by the property test: a line that is only digits and a brace.
    let (out, _) = run(
        b"123}\r\n{}\r\na {x}\r\nb NOOP\r\n",
        FramerConfig::default(),
    );
    assert_eq!(
        names(&out),
        [
            "parse Some(Tag(123})) MissingCommand",
            "parse None InvalidTag",
            "parse Some(Tag(a)) UnknownCommand",
            "b NOOP"
        ]
    );
}
