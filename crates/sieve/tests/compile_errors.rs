//! Scripts that must not compile, or must be stopped while running: each row names the
//! line, the column and words of the message a person would need to fix the script.
//! Covers syntax errors, unknown extensions, missing `require`, bad arguments, and the
//! resource limits (script size, nesting, include loops, regular expressions, steps,
//! redirects, actions, variables).

mod common;

use common::{MESSAGE, MapHost, input, run_with};
use pillarbox_sieve::{IncludeLocation, Options, compile};

fn compile_error(script: &str) -> (u32, u32, String) {
    match compile(script.as_bytes(), &Options::default()) {
        Ok(_) => panic!("compiled, but should not:\n{script}"),
        Err(e) => (e.line, e.column, e.message),
    }
}

/// (script, line, column, words of the message).
const COMPILE_ERRORS: &[(&str, u32, u32, &str)] = &[
    // Syntax (RFC 5228 §8).
    ("keep", 1, 5, "expected ';'"),
    ("if true {\n  keep;\n", 3, 1, "expected '}'"),
    ("keep;\n\"stray\";", 2, 1, "expected a command"),
    (
        "redirect \"a@b.c\"\nkeep;",
        2,
        1,
        "takes no test (is a ';' missing before 'keep'?)",
    ),
    (
        "if header :is \"a\" \"b\" keep;",
        1,
        23,
        "is a '{' or ',' missing before 'keep'?",
    ),
    ("keep \"x", 1, 6, "unterminated string"),
    ("/* open", 1, 1, "unterminated comment"),
    (
        "require [\"fileinto\",];",
        1,
        21,
        "a string in the string list",
    ),
    ("if anyof() { }", 1, 10, "expected a test"),
    ("keep;\nelse { keep; }", 2, 1, "'else' must follow an 'if'"),
    ("if true keep;", 1, 9, "the true test takes no nested test"),
    ("if { keep; }", 1, 1, "needs exactly one test"),
    ("stop { }", 1, 1, "takes no block"),
    ("size :over 1K;", 1, 1, "unknown command 'size'"),
    ("if frobnicate { }", 1, 4, "unknown test 'frobnicate'"),
    (
        "keep;\nrequire \"fileinto\";",
        2,
        1,
        "'require' must come before",
    ),
    ("if size :over 99999999999999999999 { }", 1, 15, "too large"),
    ("keep;\n\u{1}", 2, 1, "unexpected character"),
    // require (RFC 5228 §3.2).
    ("require \"x-frob\";", 1, 9, "unknown extension \"x-frob\""),
    ("require \"FILEINTO\";", 1, 9, "case-sensitive"),
    ("fileinto \"A\";", 1, 1, "add require \"fileinto\";"),
    ("keep :flags \"x\";", 1, 6, "add require \"imap4flags\";"),
    (
        "require \"fileinto\"; fileinto :copy \"A\";",
        1,
        30,
        "add require \"copy\";",
    ),
    (
        "if envelope \"from\" \"x\" { }",
        1,
        4,
        "add require \"envelope\";",
    ),
    (
        "if header :regex \"a\" \"b\" { }",
        1,
        11,
        "add require \"regex\";",
    ),
    (
        "if header :value \"gt\" \"a\" \"b\" { }",
        1,
        11,
        "add require \"relational\";",
    ),
    (
        "if header :comparator \"i;ascii-numeric\" \"a\" \"1\" { }",
        1,
        23,
        "comparator-i;ascii-numeric",
    ),
    (
        "if address :user \"to\" \"x\" { }",
        1,
        12,
        "add require \"subaddress\";",
    ),
    (
        "if header :index 1 \"to\" \"x\" { }",
        1,
        11,
        "add require \"index\";",
    ),
    (
        "require \"spamtest\"; if spamtest :percent \"5\" { }",
        1,
        33,
        "spamtestplus",
    ),
    (
        "require \"vacation\"; vacation :seconds 5 \"x\";",
        1,
        30,
        "vacation-seconds",
    ),
    ("set \"a\" \"b\";", 1, 1, "add require \"variables\";"),
    (
        "require \"include\"; global \"x\";",
        1,
        20,
        "add require \"variables\";",
    ),
    // Arguments (RFC 5228 §2.6).
    (
        "require \"fileinto\"; fileinto [\"A\"];",
        1,
        30,
        "expects the mailbox name (a string) here, but found a string list",
    ),
    (
        "require \"fileinto\"; fileinto;",
        1,
        21,
        "needs the mailbox name",
    ),
    (
        "require \"fileinto\"; fileinto \"A\" \"B\";",
        1,
        34,
        "too many arguments",
    ),
    (
        "require \"copy\"; redirect \"a@b.c\" :copy;",
        1,
        34,
        "tags go before",
    ),
    ("redirect :frob \"a@b.c\";", 1, 10, "has no tag ':frob'"),
    (
        "redirect \"not an address\";",
        1,
        10,
        "not a valid e-mail address",
    ),
    (
        "if header :is :contains \"a\" \"b\" { }",
        1,
        15,
        "more than one match type",
    ),
    (
        "if header :comparator \"i;frob\" \"a\" \"b\" { }",
        1,
        23,
        "unknown comparator",
    ),
    ("if size 100 { }", 1, 4, "needs :over or :under"),
    ("if size :over \"1\" { }", 1, 15, "a number"),
    ("if header \"a\" { }", 1, 4, "needs the keys"),
    ("if not (true) { }", 1, 4, "exactly one test"),
    ("if true \"x\" { }", 1, 9, "takes no arguments"),
    (
        "require \"relational\"; if header :count \"over\" \"a\" \"1\" { }",
        1,
        40,
        "not a relation",
    ),
    (
        "require [\"comparator-i;ascii-numeric\"]; if header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { }",
        1,
        51,
        "supports only :is",
    ),
    (
        "require \"index\"; if header :last \"a\" \"b\" { }",
        1,
        28,
        ":last only makes sense with :index",
    ),
    (
        "require \"index\"; if header :index 0 \"a\" \"b\" { }",
        1,
        35,
        "counts from 1",
    ),
    (
        "require \"envelope\"; if envelope \"sender\" \"x\" { }",
        1,
        33,
        "unknown envelope part",
    ),
    (
        "require \"date\"; if date \"date\" \"fortnight\" \"x\" { }",
        1,
        32,
        "unknown date part",
    ),
    (
        "require \"date\"; if date :zone \"CET\" \"date\" \"year\" \"x\" { }",
        1,
        31,
        "+hhmm",
    ),
    (
        "require \"vacation\"; vacation :days 0 \"x\";",
        1,
        36,
        ":days must be at least 1",
    ),
    (
        "require \"vacation\"; vacation :days 1 :days 2 \"x\";",
        1,
        38,
        "twice",
    ),
    (
        "require \"vacation-seconds\"; vacation :days 1 :seconds 2 \"x\";",
        1,
        46,
        "not both",
    ),
    (
        "require \"variables\"; set \"1x\" \"y\";",
        1,
        26,
        "not a valid variable name",
    ),
    (
        "require \"variables\"; set :lower :upper \"x\" \"y\";",
        1,
        33,
        "one modifier of each precedence",
    ),
    (
        "require \"variables\"; set \"ns.x\" \"y\";",
        1,
        26,
        "unknown variable namespace",
    ),
    (
        "require [\"variables\", \"fileinto\"]; fileinto \"${a.b}\";",
        1,
        45,
        "unknown variable namespace",
    ),
    (
        "require [\"encoded-character\", \"fileinto\"]; fileinto \"${unicode:D800}\";",
        1,
        53,
        "not a Unicode scalar value",
    ),
    (
        "require \"enotify\"; notify \"xmpp:a@b\";",
        1,
        27,
        "only mailto: is available",
    ),
    (
        "require \"enotify\"; notify :importance \"4\" \"mailto:a@b.c\";",
        1,
        39,
        "importance must be",
    ),
    (
        "require \"editheader\"; addheader \"Bad Name\" \"v\";",
        1,
        33,
        "not a valid header field name",
    ),
    (
        "require [\"include\", \"variables\"]; set \"n\" \"x\"; include \"${n}\";",
        1,
        56,
        "constant script name",
    ),
    (
        "require \"include\"; include \"a/b\";",
        1,
        28,
        "not a valid script name",
    ),
    (
        "require \"duplicate\"; if duplicate :header \"a\" :uniqueid \"b\" { }",
        1,
        47,
        "exclude each other",
    ),
    // Regular expressions: invalid, too large once compiled, unsupported features.
    (
        "require \"regex\"; if header :regex \"s\" \"(open\" { }",
        1,
        39,
        "invalid regular expression",
    ),
    (
        "require \"regex\"; if header :regex \"s\" \"(a)\\\\1\" { }",
        1,
        39,
        "backreferences are not supported",
    ),
    (
        "require \"regex\"; if header :regex \"s\" \"(x{1000}){1000}\" { }",
        1,
        39,
        "too large once compiled",
    ),
];

#[test]
fn compile_errors_name_line_column_and_cause() {
    let mut failures = Vec::new();
    for (script, line, column, message) in COMPILE_ERRORS {
        let got = compile_error(script);
        if (got.0, got.1) != (*line, *column) || !got.2.contains(message) {
            failures.push(format!(
                "{script:?}\n  expected {line}:{column} …{message}…\n  got      {}:{} {}",
                got.0, got.1, got.2
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn compile_limits_stop_hostile_scripts() {
    // A 10 MiB script is refused before it is read.
    let huge = format!("# {}\nkeep;", "x".repeat(10 << 20));
    let (line, column, message) = compile_error(&huge);
    assert_eq!((line, column), (1, 1));
    assert!(message.contains("the limit is 1048576 bytes"), "{message}");

    // Deep nesting of blocks and of tests.
    let blocks = format!("{}keep;{}", "if true {\n".repeat(40), "}".repeat(40));
    let (line, _, message) = compile_error(&blocks);
    assert_eq!(line, 33);
    assert!(
        message.contains("nested too deeply (more than 32 levels)"),
        "{message}"
    );
    let tests = format!("if {}true {{ }}", "not ".repeat(100));
    assert!(compile_error(&tests).2.contains("nested too deeply"));
    let lists = format!("if {}true{} {{ }}", "anyof(".repeat(50), ")".repeat(50));
    assert!(compile_error(&lists).2.contains("nested too deeply"));

    // Too many variables.
    let mut many = String::from("require \"variables\";\n");
    for i in 0..300 {
        many.push_str(&format!("set \"v{i}\" \"x\";\n"));
    }
    let (line, column, message) = compile_error(&many);
    assert_eq!((line, column), (257, 5));
    assert!(message.contains("more than 255 variables"), "{message}");

    // Not UTF-8.
    let err = compile(b"keep;\n\"\xff\";", &Options::default()).unwrap_err();
    assert_eq!((err.line, err.column), (2, 2));
    assert!(err.message.contains("not valid UTF-8"));
}

#[test]
fn runtime_limits_stop_hostile_scripts_and_name_the_line() {
    let mut host = MapHost::default();
    host.scripts.insert(
        (IncludeLocation::Personal, "self".into()),
        "require \"include\";\ninclude \"self\";".into(),
    );
    let table: &[(&str, u32, &str)] = &[
        (
            "redirect \"a@x.test\"; redirect \"b@x.test\"; redirect \"c@x.test\";\nredirect \"d@x.test\"; redirect \"e@x.test\";",
            2,
            "redirects to more than 4 addresses",
        ),
        (
            "require \"include\";\n\ninclude \"self\";",
            2,
            "include loop",
        ),
        (
            "require [\"variables\", \"imap4flags\"];\nset \"x\" \"${x}${x}\";",
            2,
            "",
        ),
    ];
    for (script, line, message) in table {
        let result = run_with(script, &input(MESSAGE), &mut host);
        if message.is_empty() {
            assert!(result.is_ok(), "{script}: {result:?}");
            continue;
        }
        let err = result.expect_err(script);
        assert!(err.message.contains(message), "{script}: {err}");
        if *line == 2 && err.script.is_none() {
            assert_eq!(err.line, *line, "{script}: {err}");
        }
    }

    // Steps: a script whose work grows with every variable doubling.
    let mut doubling = String::from(
        "require \"variables\";\nset \"x\" \"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\";\nset \"v\" \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n",
    );
    for _ in 0..6 {
        doubling.push_str("set \"v\" \"${v}${v}\";\n");
    }
    for _ in 0..600 {
        doubling.push_str("if string :matches \"${v}\" \"${x}\" { discard; }\n");
    }
    let err = run_with(&doubling, &input(MESSAGE), &mut host).unwrap_err();
    assert!(err.limit && err.message.contains("steps"), "{err}");

    // Variables are truncated at the size limit, not grown without bound.
    let mut grow =
        String::from("require [\"variables\", \"fileinto\"];\nset \"v\" \"0123456789\";\n");
    for _ in 0..12 {
        grow.push_str("set \"v\" \"${v}${v}\";\n");
    }
    grow.push_str("set :length \"n\" \"${v}\";\nfileinto \"${n}\";");
    let outcome = run_with(&grow, &input(MESSAGE), &mut host).unwrap();
    assert_eq!(common::summary(&outcome), ["fileinto 4096"]);

    // Actions: more than 32 distinct ones.
    let mut actions = String::from("require \"fileinto\";\n");
    for i in 0..40 {
        actions.push_str(&format!("fileinto \"f{i}\";\n"));
    }
    let err = run_with(&actions, &input(MESSAGE), &mut host).unwrap_err();
    assert_eq!(err.line, 34);
    assert!(err.message.contains("more than 32 actions"), "{err}");
}
