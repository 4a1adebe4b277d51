//! Table-driven parser error tests: each bad input with the tag the session must echo
//! (or none, for `* BAD`) and the exact error class.

mod common;

use common::parse;
use pillarbox_imap::proto::*;

fn check(rows: &[(&str, Option<&str>, ParseErrorKind)]) {
    for &(input, tag, kind) in rows {
        let mut bytes = input.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        let (outcomes, _) = common::run(&bytes, FramerConfig::default());
        let [common::Outcome::Parse(err)] = outcomes.as_slice() else {
            panic!("input {input:?}: expected one parse error, got {outcomes:?}");
        };
        assert_eq!(err.kind, kind, "input {input:?}: {err:?}");
        assert_eq!(
            err.tag.as_ref().map(|t| t.as_bytes()),
            tag.map(str::as_bytes),
            "input {input:?}"
        );
        assert!(!err.reason.is_empty());
    }
}

#[test]
fn tags_and_names() {
    use ParseErrorKind as K;
    check(&[
        ("+abc NOOP", None, K::InvalidTag),
        ("(a NOOP", None, K::InvalidTag),
        ("a\"b NOOP", None, K::InvalidTag),
        ("a{1 NOOP", None, K::InvalidTag),
        ("a1", Some("a1"), K::MissingCommand),
        ("a1   ", Some("a1"), K::MissingCommand),
        ("a1 FOO", Some("a1"), K::UnknownCommand),
        ("a1 (NOOP)", Some("a1"), K::UnknownCommand),
        ("a1 UID FOO 1", Some("a1"), K::UnknownCommand),
        ("a1 UID LIST", Some("a1"), K::UnknownCommand),
        ("a1 NOOP extra", Some("a1"), K::TrailingData),
        ("a1 CAPABILITY(", Some("a1"), K::TrailingData),
        ("a1 LOGOUT )", Some("a1"), K::TrailingData),
    ]);
}

#[test]
fn strings_and_literals() {
    use ParseErrorKind as K;
    check(&[
        ("a1 LOGIN \"unterminated", Some("a1"), K::QuotedString),
        ("a1 LOGIN \"a\\x\" b", Some("a1"), K::QuotedString),
        ("a1 LOGIN \"a\rb\" c", Some("a1"), K::QuotedString),
        ("a1 LOGIN user", Some("a1"), K::UnexpectedEnd),
        ("a1 LOGIN user (pw)", Some("a1"), K::Syntax),
        ("a1 LOGIN ~{3}\r\nabc x", Some("a1"), K::Literal),
        // A literal8 is still refused where a pattern is expected.
        ("a1 LIST \"\" ~{3}\r\nabc", Some("a1"), K::Literal),
        ("a1 LOGIN {3}x x", Some("a1"), K::Syntax),
        ("a1 AUTHENTICATE", Some("a1"), K::UnexpectedEnd),
        ("a1 AUTHENTICATE PLAIN a", Some("a1"), K::Base64),
        ("a1 AUTHENTICATE PLAIN dGVz!", Some("a1"), K::TrailingData),
        ("a1 ID (\"a\")", Some("a1"), K::Syntax),
        ("a1 ID foo", Some("a1"), K::Syntax),
        ("a1 ENABLE", Some("a1"), K::UnexpectedEnd),
    ]);
}

#[test]
fn mailbox_commands() {
    use ParseErrorKind as K;
    check(&[
        ("a1 SELECT", Some("a1"), K::UnexpectedEnd),
        ("a1 SELECT INBOX (FOO)", Some("a1"), K::UnknownOption),
        (
            "a1 SELECT INBOX (QRESYNC (1 2 1:*))",
            Some("a1"),
            K::SequenceSet,
        ),
        ("a1 SELECT INBOX (QRESYNC (0 2))", Some("a1"), K::Number),
        (
            "a1 SELECT INBOX (QRESYNC (1 2 (1:2)))",
            Some("a1"),
            K::Syntax,
        ),
        (
            "a1 SELECT INBOX (QRESYNC (1 2)",
            Some("a1"),
            K::UnexpectedEnd,
        ),
        ("a1 CREATE foo (BAR)", Some("a1"), K::UnknownOption),
        ("a1 CREATE foo (USE (Drafts))", Some("a1"), K::Syntax),
        ("a1 RENAME foo", Some("a1"), K::UnexpectedEnd),
        ("a1 STATUS INBOX ()", Some("a1"), K::Syntax),
        ("a1 STATUS INBOX (FOO)", Some("a1"), K::UnknownOption),
        ("a1 STATUS INBOX MESSAGES", Some("a1"), K::Syntax),
        (
            "a1 LIST (RECURSIVEMATCH) \"\" *",
            Some("a1"),
            K::InvalidCombination,
        ),
        (
            "a1 LIST (REMOTE RECURSIVEMATCH) \"\" *",
            Some("a1"),
            K::InvalidCombination,
        ),
        ("a1 LIST (FOO) \"\" *", Some("a1"), K::UnknownOption),
        ("a1 LIST \"\" * RETURN (FOO)", Some("a1"), K::UnknownOption),
        ("a1 LIST \"\" * (CHILDREN)", Some("a1"), K::Syntax),
        ("a1 LIST \"\" ()", Some("a1"), K::Syntax),
        ("a1 LSUB \"\"", Some("a1"), K::UnexpectedEnd),
        ("a1 SETQUOTA root (STORAGE)", Some("a1"), K::Syntax),
        ("a1 SETQUOTA root (STORAGE -1)", Some("a1"), K::Syntax),
    ]);
}

#[test]
fn append() {
    use ParseErrorKind as K;
    check(&[
        ("a1 APPEND INBOX", Some("a1"), K::UnexpectedEnd),
        ("a1 APPEND INBOX foo", Some("a1"), K::Syntax),
        (
            "a1 APPEND INBOX \"bad date\" {3}\r\nabc",
            Some("a1"),
            K::Date,
        ),
        (
            "a1 APPEND INBOX \"30-Feb-2020 10:00:00 +0000\" {3}\r\nabc",
            Some("a1"),
            K::Date,
        ),
        (
            "a1 APPEND INBOX \"1-Jan-2020 24:00:00 +0000\" {3}\r\nabc",
            Some("a1"),
            K::Date,
        ),
        ("a1 APPEND INBOX (\\Seen {3}\r\nabc", Some("a1"), K::Syntax),
        ("a1 APPEND INBOX (\\*) {3}\r\nabc", Some("a1"), K::Flag),
        (
            "a1 APPEND INBOX UTF8 ({3}\r\nabc",
            Some("a1"),
            K::UnexpectedEnd,
        ),
        ("a1 APPEND INBOX {3}\r\nabc foo", Some("a1"), K::Syntax),
    ]);
}

#[test]
fn fetch_store_copy() {
    use ParseErrorKind as K;
    check(&[
        ("a1 FETCH", Some("a1"), K::UnexpectedEnd),
        ("a1 FETCH 1", Some("a1"), K::UnexpectedEnd),
        ("a1 FETCH 0 FLAGS", Some("a1"), K::SequenceSet),
        ("a1 FETCH 1:0 FLAGS", Some("a1"), K::SequenceSet),
        ("a1 FETCH 1,,2 FLAGS", Some("a1"), K::SequenceSet),
        ("a1 FETCH 4294967296 FLAGS", Some("a1"), K::SequenceSet),
        ("a1 FETCH x FLAGS", Some("a1"), K::SequenceSet),
        ("a1 FETCH 1 (FLAGS", Some("a1"), K::UnexpectedEnd),
        ("a1 FETCH 1 ()", Some("a1"), K::Syntax),
        ("a1 FETCH 1 FOO", Some("a1"), K::UnknownOption),
        ("a1 FETCH 1 (ALL)", Some("a1"), K::UnknownOption),
        ("a1 FETCH 1 BODY[HEADER.FIELDS]", Some("a1"), K::Syntax),
        ("a1 FETCH 1 BODY[HEADER.FIELDS ()]", Some("a1"), K::Syntax),
        ("a1 FETCH 1 BODY[MIME]", Some("a1"), K::Syntax),
        ("a1 FETCH 1 BODY[0]", Some("a1"), K::Number),
        ("a1 FETCH 1 BODY[1.0]", Some("a1"), K::Number),
        ("a1 FETCH 1 BODY[1]<0.0>", Some("a1"), K::Number),
        ("a1 FETCH 1 BODY[1]<5>", Some("a1"), K::Syntax),
        ("a1 FETCH 1 BODY.PEEK", Some("a1"), K::UnexpectedEnd),
        ("a1 FETCH 1 BINARY[TEXT]", Some("a1"), K::Syntax),
        (
            "a1 FETCH 1 BINARY.SIZE[1]<0.5>",
            Some("a1"),
            K::TrailingData,
        ),
        (
            "a1 FETCH 1 FLAGS (VANISHED)",
            Some("a1"),
            K::InvalidCombination,
        ),
        (
            "a1 UID FETCH 1 FLAGS (VANISHED)",
            Some("a1"),
            K::InvalidCombination,
        ),
        (
            "a1 FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)",
            Some("a1"),
            K::InvalidCombination,
        ),
        ("a1 FETCH 1 FLAGS (FOO)", Some("a1"), K::UnknownOption),
        (
            "a1 FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)",
            Some("a1"),
            K::Number,
        ),
        ("a1 STORE 1 FLAGS (\\*)", Some("a1"), K::Flag),
        ("a1 STORE 1 FLAGS (\\)", Some("a1"), K::Flag),
        ("a1 STORE 1 XFLAGS (\\Seen)", Some("a1"), K::Syntax),
        ("a1 STORE 1 FLAGS", Some("a1"), K::UnexpectedEnd),
        (
            "a1 STORE 1 (FOO 1) FLAGS (\\Seen)",
            Some("a1"),
            K::UnknownOption,
        ),
        (
            "a1 STORE 1 (UNCHANGEDSINCE) FLAGS (\\Seen)",
            Some("a1"),
            K::Syntax,
        ),
        ("a1 COPY 1:2", Some("a1"), K::UnexpectedEnd),
        ("a1 MOVE 1:2 a b", Some("a1"), K::TrailingData),
        ("a1 UID EXPUNGE", Some("a1"), K::UnexpectedEnd),
    ]);
}

#[test]
fn search_sort_thread() {
    use ParseErrorKind as K;
    let deep = format!("a1 SEARCH {}ALL{}", "(".repeat(100), ")".repeat(100));
    let deep_not = format!("a1 SEARCH {}ALL", "NOT ".repeat(100));
    check(&[
        ("a1 SEARCH", Some("a1"), K::UnexpectedEnd),
        ("a1 SEARCH FOO", Some("a1"), K::UnknownOption),
        ("a1 SEARCH SINCE 31-Feb-2020", Some("a1"), K::Date),
        ("a1 SEARCH SINCE 1-Foo-2020", Some("a1"), K::Date),
        ("a1 SEARCH SINCE \"1-Feb-2020", Some("a1"), K::Date),
        (
            "a1 SEARCH LARGER 99999999999999999999",
            Some("a1"),
            K::Number,
        ),
        ("a1 SEARCH OLDER 0", Some("a1"), K::Number),
        ("a1 SEARCH OR SEEN", Some("a1"), K::UnexpectedEnd),
        ("a1 SEARCH NOT", Some("a1"), K::UnexpectedEnd),
        ("a1 SEARCH (SEEN", Some("a1"), K::UnexpectedEnd),
        ("a1 SEARCH ()", Some("a1"), K::Syntax),
        ("a1 SEARCH HEADER From", Some("a1"), K::UnexpectedEnd),
        ("a1 SEARCH KEYWORD \\Seen", Some("a1"), K::Syntax),
        ("a1 SEARCH RETURN (FOO) ALL", Some("a1"), K::UnknownOption),
        ("a1 SEARCH RETURN ALL", Some("a1"), K::Syntax),
        ("a1 SEARCH CHARSET", Some("a1"), K::UnexpectedEnd),
        (
            "a1 SEARCH MODSEQ \"/flags/x\" bogus 5",
            Some("a1"),
            K::Syntax,
        ),
        ("a1 SEARCH MODSEQ", Some("a1"), K::UnexpectedEnd),
        ("a1 SEARCH UID 0", Some("a1"), K::SequenceSet),
        (&deep, Some("a1"), K::TooDeep),
        (&deep_not, Some("a1"), K::TooDeep),
        ("a1 SORT () UTF-8 ALL", Some("a1"), K::Syntax),
        ("a1 SORT (FOO) UTF-8 ALL", Some("a1"), K::UnknownOption),
        ("a1 SORT (DATE) UTF-8", Some("a1"), K::UnexpectedEnd),
        ("a1 SORT (REVERSE) UTF-8 ALL", Some("a1"), K::Syntax),
        ("a1 THREAD FOO UTF-8 ALL", Some("a1"), K::UnknownOption),
        ("a1 THREAD REFERENCES ALL", Some("a1"), K::UnexpectedEnd),
    ]);
}

#[test]
fn idle_done_and_sasl_lines() {
    let frame = |line: &[u8]| {
        let mut framer: Framer<()> = Framer::default();
        framer.expect_line();
        match framer.advance(line).event {
            FrameEvent::Command(c) => c,
            other => panic!("{other:?}"),
        }
    };
    assert!(parse_idle_done(&frame(b"DONE\r\n")).is_ok());
    assert!(parse_idle_done(&frame(b"done  \r\n")).is_ok());
    assert_eq!(
        parse_idle_done(&frame(b"DONE x\r\n")).unwrap_err().kind,
        ParseErrorKind::TrailingData
    );
    assert_eq!(
        parse_idle_done(&frame(b"a1 NOOP\r\n")).unwrap_err().kind,
        ParseErrorKind::Syntax
    );
    assert_eq!(
        parse_sasl_response(&frame(b"\r\n")).unwrap(),
        SaslResponse::Data(vec![])
    );
    assert_eq!(
        parse_sasl_response(&frame(b"*\r\n")).unwrap(),
        SaslResponse::Cancel
    );
    assert_eq!(
        parse_sasl_response(&frame(b"AGZyZWQAc2VjcmV0\r\n")).unwrap(),
        SaslResponse::Data(b"\0fred\0secret".to_vec())
    );
    assert_eq!(
        parse_sasl_response(&frame(b"=\r\n")).unwrap(),
        SaslResponse::Data(vec![])
    );
    assert_eq!(
        parse_sasl_response(&frame(b"AAAA{b\r\n")).unwrap_err().kind,
        ParseErrorKind::TrailingData
    );
    assert_eq!(
        parse_sasl_response(&frame(b"abd\r\n")).unwrap_err().kind,
        ParseErrorKind::Base64
    );
    // A `{n}` at the end of a SASL line is not a literal.
    assert!(parse_sasl_response(&frame(b"abcd{5}\r\n")).is_err());
    // A parse error of a whole command line: the tag is carried.
    assert_eq!(parse("a1 FOO").unwrap_err().tag, Some(Tag::from("a1")));
}
