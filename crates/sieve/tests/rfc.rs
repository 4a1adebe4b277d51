//! Table-driven run-time tests, one table per RFC (section named in each), over the
//! fixed message of `common::MESSAGE`: each row is a script and the actions it must
//! produce (or the start of the run-time error it must stop with).

mod common;

use common::{MESSAGE, MapHost, check_table, input, run_with, summary};
use pillarbox_sieve::{Action, HeaderEdit, IncludeLocation, SpamScore, VacationSuppression};

#[test]
fn rfc_5228_core() {
    check_table(
        "RFC 5228",
        &[
            // §2.10.2 implicit keep
            ("", &["implicit-keep"]),
            ("keep;", &["keep"]),
            ("discard;", &["discard"]),
            ("discard; keep;", &["discard", "keep"]),
            // §3.3 stop
            ("stop; discard;", &["implicit-keep"]),
            // §3.1 if/elsif/else
            (
                "require \"fileinto\"; if false { discard; } elsif true { fileinto \"B\"; } else { keep; }",
                &["fileinto B"],
            ),
            // §4.1 fileinto, twice into one mailbox is once
            (
                "require \"fileinto\"; fileinto \"A\"; fileinto \"A\"; fileinto \"INBOX\"; keep;",
                &["fileinto A", "fileinto INBOX"],
            ),
            // §4.2 redirect, once per address
            (
                "redirect \"x@example.test\"; redirect \"<X@example.test>\";",
                &["redirect x@example.test"],
            ),
            // §5.7 header, §2.7.1 match types, §2.7.3 comparators
            (
                "if header :is \"subject\" \"INVOICE 42 FOR JULY\" { discard; }",
                &["discard"],
            ),
            (
                "if header :is :comparator \"i;octet\" \"subject\" \"INVOICE 42 FOR JULY\" { discard; }",
                &["implicit-keep"],
            ),
            (
                "if header :contains [\"to\", \"cc\"] \"dave\" { discard; }",
                &["discard"],
            ),
            (
                "if header :matches \"subject\" \"Inv?ice * July\" { discard; }",
                &["discard"],
            ),
            ("if header :is \"x-tag\" \"two\" { discard; }", &["discard"]),
            (
                "if header :contains \"x-missing\" \"\" { discard; }",
                &["implicit-keep"],
            ),
            (
                "if header :contains \"subject\" \"\" { discard; }",
                &["discard"],
            ),
            // §5.1 address, §2.7.4 address parts
            (
                "if address :is \"from\" \"ALICE@example.com\" { discard; }",
                &["discard"],
            ),
            (
                "if address :localpart :is \"to\" \"carol+news\" { discard; }",
                &["discard"],
            ),
            (
                "if address :domain :is \"cc\" \"example.org\" { discard; }",
                &["discard"],
            ),
            (
                "if address :all :is \"from\" \"Alice Liddell\" { discard; }",
                &["implicit-keep"],
            ),
            // §5.4 envelope
            (
                "require \"envelope\"; if envelope :is \"from\" \"alice@example.com\" { discard; }",
                &["discard"],
            ),
            (
                "require \"envelope\"; if envelope :domain :is \"to\" \"example.org\" { discard; }",
                &["discard"],
            ),
            // §5.5 exists, §5.9 size, §5.1/5.3/5.8 allof anyof not
            ("if exists [\"from\", \"x-tag\"] { discard; }", &["discard"]),
            (
                "if exists [\"from\", \"x-nope\"] { discard; }",
                &["implicit-keep"],
            ),
            ("if size :over 100 { discard; }", &["discard"]),
            ("if size :under 100 { discard; }", &["implicit-keep"]),
            ("if allof(true, not false) { discard; }", &["discard"]),
            ("if anyof(false, false) { discard; }", &["implicit-keep"]),
            // §2.4.2 strings
            (
                "if header :is \"subject\" \"Invoice \\42 for July\" { discard; }",
                &["discard"],
            ),
            (
                "if header :is \"subject\" text:\nInvoice 42 for July\n.\n{ discard; }",
                &["implicit-keep"],
            ),
        ],
    );
}

#[test]
fn rfc_5228_section_2_4_2_4_encoded_character() {
    check_table(
        "RFC 5228 §2.4.2.4",
        &[
            (
                "require [\"encoded-character\", \"fileinto\"]; fileinto \"${hex:41 42}${unicode:e9}\";",
                &["fileinto ABé"],
            ),
            // Without the extension the text stays as written.
            (
                "require \"fileinto\"; fileinto \"${hex:41}\";",
                &["fileinto ${hex:41}"],
            ),
        ],
    );
}

#[test]
fn rfc_3894_copy_and_rfc_5429_reject() {
    check_table(
        "RFC 3894 / RFC 5429",
        &[
            (
                "require [\"copy\", \"fileinto\"]; fileinto :copy \"A\"; redirect :copy \"x@example.test\";",
                &[
                    "fileinto A :copy",
                    "redirect x@example.test :copy",
                    "implicit-keep",
                ],
            ),
            (
                "require \"reject\"; reject \"no thanks\";",
                &["reject no thanks"],
            ),
            ("require \"ereject\"; ereject \"no\";", &["ereject no"]),
            (
                "require \"reject\"; reject \"a\"; discard;",
                &["reject a", "discard"],
            ),
            (
                "require \"reject\"; keep; reject \"a\";",
                &["error: conflicts with the keep"],
            ),
            (
                "require \"reject\"; reject \"a\"; redirect \"x@y.z\";",
                &["error: conflicts with the reject"],
            ),
            (
                "require \"reject\"; reject \"a\"; reject \"b\";",
                &["error: only once"],
            ),
            (
                "require [\"reject\", \"vacation\"]; vacation \"x\"; reject \"a\";",
                &["error: conflicts with the vacation"],
            ),
        ],
    );
}

#[test]
fn rfc_5232_imap4flags() {
    check_table(
        "RFC 5232",
        &[
            (
                "require \"imap4flags\"; addflag \"\\\\seen\";",
                &["implicit-keep [\\Seen]"],
            ),
            (
                "require \"imap4flags\"; setflag \"a b\"; addflag [\"c\", \"B\"]; removeflag \"a\"; keep;",
                &["keep [b c]"],
            ),
            (
                "require [\"imap4flags\", \"fileinto\"]; addflag \"x\"; fileinto :flags \"y\" \"F\"; fileinto \"G\";",
                &["fileinto F [y]", "fileinto G [x]"],
            ),
            (
                "require \"imap4flags\"; setflag \"\\\\Flagged\"; if hasflag :is \"\\\\flagged\" { discard; }",
                &["discard"],
            ),
            (
                "require [\"imap4flags\", \"variables\"]; addflag \"v\" \"p q\"; if hasflag :contains \"v\" \"q\" { discard; }",
                &["discard"],
            ),
            (
                "require [\"imap4flags\", \"relational\", \"comparator-i;ascii-numeric\"]; setflag \"a b c\"; if hasflag :count \"eq\" :comparator \"i;ascii-numeric\" \"3\" { discard; }",
                &["discard"],
            ),
        ],
    );
}

#[test]
fn rfc_5231_relational() {
    check_table(
        "RFC 5231",
        &[
            (
                "require \"relational\"; if header :count \"eq\" \"x-tag\" \"2\" { discard; }",
                &["discard"],
            ),
            (
                "require [\"relational\", \"comparator-i;ascii-numeric\"]; if address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"3\" { discard; }",
                &["discard"],
            ),
            (
                "require \"relational\"; if header :value \"gt\" \"x-tag\" \"three\" { discard; }",
                &["discard"],
            ),
            (
                "require [\"relational\", \"comparator-i;ascii-numeric\"]; if header :value \"lt\" :comparator \"i;ascii-numeric\" \"subject\" \"5\" { discard; }",
                &["implicit-keep"],
            ),
            // RFC 4790 §9.2: i;ascii-casemap orders upper-cased strings: "a" < "_".
            (
                "require [\"relational\", \"variables\"]; if string :value \"lt\" \"a\" \"_\" { discard; }",
                &["discard"],
            ),
        ],
    );
}

#[test]
fn rfc_5260_date_and_index() {
    check_table(
        "RFC 5260",
        &[
            (
                "require \"date\"; if date :originalzone \"date\" \"zone\" \"+0200\" { discard; }",
                &["discard"],
            ),
            // Without :zone the date is shown in the local zone (+0100 here).
            (
                "require \"date\"; if date \"date\" \"hour\" \"09\" { discard; }",
                &["discard"],
            ),
            (
                "require \"date\"; if date :zone \"-0500\" \"date\" \"time\" \"03:20:30\" { discard; }",
                &["discard"],
            ),
            (
                "require \"date\"; if date \"received\" \"minute\" \"25\" { discard; }",
                &["discard"],
            ),
            (
                "require \"date\"; if currentdate \"date\" \"2025-07-01\" { discard; }",
                &["discard"],
            ),
            (
                "require \"date\"; if currentdate \"hour\" \"13\" { discard; }",
                &["discard"],
            ),
            (
                "require \"date\"; if currentdate :zone \"+0000\" \"weekday\" \"2\" { discard; }",
                &["discard"],
            ),
            (
                "require \"date\"; if currentdate \"julian\" \"60857\" { discard; }",
                &["discard"],
            ),
            (
                "require \"index\"; if header :index 2 \"x-tag\" \"two\" { discard; }",
                &["discard"],
            ),
            (
                "require \"index\"; if header :index 2 :last \"x-tag\" \"one\" { discard; }",
                &["discard"],
            ),
            (
                "require \"index\"; if header :index 3 \"x-tag\" \"two\" { discard; }",
                &["implicit-keep"],
            ),
        ],
    );
}

#[test]
fn rfc_5173_body() {
    check_table(
        "RFC 5173",
        &[
            (
                "require \"body\"; if body :contains \"INVOICE 42\" { discard; }",
                &["discard"],
            ),
            (
                "require \"body\"; if body :raw :contains \"pay\" { discard; }",
                &["discard"],
            ),
            (
                "require \"body\"; if body :content \"text\" :contains \"pay\" { discard; }",
                &["discard"],
            ),
            (
                "require \"body\"; if body :content \"image\" :contains \"pay\" { discard; }",
                &["implicit-keep"],
            ),
        ],
    );
}

#[test]
fn rfc_5229_variables() {
    check_table(
        "RFC 5229",
        &[
            (
                "require [\"variables\", \"fileinto\"]; set \"a\" \"x\"; set \"B\" \"${A}y\"; fileinto \"${b}\";",
                &["fileinto xy"],
            ),
            (
                "require [\"variables\", \"fileinto\"]; if header :matches \"subject\" \"* * for *\" { fileinto \"${3}-${2}-${1}-${0}\"; }",
                &["fileinto July-42-Invoice-Invoice 42 for July"],
            ),
            (
                "require [\"variables\", \"fileinto\"]; set :upperfirst :lower \"m\" \"hELLO\"; set :length \"n\" \"${m}\"; fileinto \"${m}${n}\";",
                &["fileinto Hello5"],
            ),
            (
                "require [\"variables\", \"fileinto\"]; set :quotewildcard \"q\" \"*\"; if string :matches \"a*\" \"a${q}\" { fileinto \"lit\"; }",
                &["fileinto lit"],
            ),
            (
                "require [\"variables\", \"fileinto\"]; fileinto \"a${undefined}b${1}c\";",
                &["fileinto abc"],
            ),
            (
                "require [\"variables\", \"relational\"]; if string :count \"eq\" [\"a\", \"\", \"b\"] \"2\" { discard; }",
                &["discard"],
            ),
        ],
    );
}

#[test]
fn rfc_5233_subaddress() {
    check_table(
        "RFC 5233",
        &[
            (
                "require \"subaddress\"; if address :user :is \"to\" \"carol\" { discard; }",
                &["discard"],
            ),
            (
                "require \"subaddress\"; if address :detail :is \"to\" \"news\" { discard; }",
                &["discard"],
            ),
            // No separator: :detail matches nothing, :user is the local part.
            (
                "require \"subaddress\"; if address :detail :matches \"from\" \"*\" { discard; }",
                &["implicit-keep"],
            ),
            (
                "require \"subaddress\"; if address :user :is \"from\" \"alice\" { discard; }",
                &["discard"],
            ),
        ],
    );
}

#[test]
fn draft_regex() {
    check_table(
        "draft-ietf-sieve-regex",
        &[
            (
                "require [\"regex\", \"variables\", \"fileinto\"]; if header :regex \"subject\" \"^invoice ([0-9]+)\" { fileinto \"n${1}\"; }",
                &["fileinto n42"],
            ),
            (
                "require [\"regex\"]; if header :regex :comparator \"i;octet\" \"subject\" \"^invoice\" { discard; }",
                &["implicit-keep"],
            ),
            (
                "require [\"regex\", \"variables\"]; set :quoteregex \"q\" \"42 (\"; if header :regex \"subject\" \"${q}\" { discard; }",
                &["implicit-keep"],
            ),
            // Built at run time and invalid: a run-time error.
            (
                "require [\"regex\", \"variables\"]; set \"r\" \"(\"; if header :regex \"subject\" \"${r}\" { discard; }",
                &["error: invalid regular expression"],
            ),
            // Exponential for a backtracking engine; linear here.
            (
                "require [\"regex\", \"variables\"]; set \"s\" \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; if string :regex \"${s}\" \"^(x+x+)+y$\" { discard; }",
                &["implicit-keep"],
            ),
        ],
    );
}

#[test]
fn rfc_5490_mailbox_with_a_host() {
    let mut host = MapHost::default();
    host.mailboxes.insert("Archive".into());
    let script = "require [\"mailbox\", \"fileinto\"]; if mailboxexists \"Archive\" { fileinto :create \"Archive/2025\"; } if mailboxexists [\"Archive\", \"Nope\"] { discard; }";
    let outcome = run_with(script, &input(MESSAGE), &mut host).unwrap();
    assert_eq!(summary(&outcome), ["fileinto Archive/2025 :create"]);
}

#[test]
fn rfc_6609_include() {
    let mut host = MapHost::default();
    let personal = |name: &str| (IncludeLocation::Personal, name.to_string());
    host.scripts.insert(
        personal("spam"),
        "require [\"include\", \"variables\", \"fileinto\"]; global \"where\"; fileinto \"${where}\"; set \"local\" \"hidden\"; return; discard;".into(),
    );
    host.scripts.insert(
        (IncludeLocation::Global, "g".into()),
        "require \"fileinto\"; fileinto \"G\";".into(),
    );
    host.scripts
        .insert(personal("a"), "require \"include\"; include \"b\";".into());
    host.scripts
        .insert(personal("b"), "require \"include\"; include \"a\";".into());
    host.scripts.insert(personal("bad"), "keep".into());
    host.scripts.insert(personal("stop"), "stop;".into());
    let table: &[(&str, &[&str])] = &[
        (
            "require [\"include\", \"variables\", \"fileinto\"]; global \"where\"; set \"where\" \"Junk\"; include \"spam\"; fileinto \"x${local}\";",
            &["fileinto Junk", "fileinto x"],
        ),
        (
            "require \"include\"; include :global \"g\"; include :global :once \"g\";",
            &["fileinto G"],
        ),
        (
            "require \"include\"; include :optional \"missing\";",
            &["implicit-keep"],
        ),
        (
            "require \"include\"; include \"missing\";",
            &["error: there is no script 'missing'"],
        ),
        (
            "require \"include\"; include \"a\";",
            &["error: include loop"],
        ),
        (
            "require \"include\"; include \"bad\";",
            &["error: does not compile"],
        ),
        (
            "require \"include\"; include \"stop\"; discard;",
            &["implicit-keep"],
        ),
        ("require \"include\"; return; discard;", &["implicit-keep"]),
    ];
    for (script, expected) in table {
        let got = match run_with(script, &input(MESSAGE), &mut host) {
            Ok(outcome) => summary(&outcome),
            Err(e) => vec![format!("error: {}", e.message)],
        };
        let ok = got.len() == expected.len()
            && got
                .iter()
                .zip(expected.iter())
                .all(|(g, e)| match e.strip_prefix("error: ") {
                    Some(p) => g.contains(p),
                    None => g == e,
                });
        assert!(ok, "{script}\n expected {expected:?}\n got {got:?}");
    }
}

#[test]
fn rfc_7352_duplicate() {
    let mut host = MapHost::default();
    let script = "require \"duplicate\"; if duplicate { discard; } if duplicate :handle \"h\" :uniqueid \"u1\" :seconds 60 :last { discard; }";
    let outcome = run_with(script, &input(MESSAGE), &mut host).unwrap();
    assert_eq!(summary(&outcome), ["implicit-keep"]);
    assert_eq!(outcome.duplicates.len(), 2);
    assert_eq!(outcome.duplicates[0].id, "<inv42@example.com>");
    assert_eq!(outcome.duplicates[1].handle, "h");
    assert_eq!(outcome.duplicates[1].seconds, Some(60));
    assert!(outcome.duplicates[1].last);
    host.seen
        .insert((String::new(), "<inv42@example.com>".into()));
    let outcome = run_with(script, &input(MESSAGE), &mut host).unwrap();
    assert_eq!(summary(&outcome), ["discard"]);
}

#[test]
fn rfc_5230_vacation_and_rfc_6131_seconds() {
    let mut host = MapHost::default();
    let script =
        "require \"vacation\"; vacation :days 3 :addresses \"robert@example.org\" \"Away.\";";
    let outcome = run_with(script, &input(MESSAGE), &mut host).unwrap();
    let Action::Vacation(v) = &outcome.actions[0] else {
        panic!("{outcome:?}")
    };
    assert_eq!(v.recipient, "alice@example.com");
    assert_eq!(v.from, "bob@example.org");
    assert_eq!(v.subject, "Auto: Invoice 42 for July");
    assert_eq!(v.period, 3 * 86_400);
    assert_eq!(v.handle, "Away.<default-subject><default-from><NO-MIME>");
    assert_eq!(v.addresses, ["bob@example.org", "robert@example.org"]);
    assert_eq!(v.in_reply_to.as_deref(), Some("<inv42@example.com>"));
    assert_eq!(v.suppressed, None);
    assert_eq!(summary(&outcome)[1], "implicit-keep");

    // RFC 5230 §4.5–§4.6 and RFC 3834 §2: reasons not to answer.
    let cases: &[(&[u8], &str, Option<VacationSuppression>)] = &[
        (MESSAGE, "", Some(VacationSuppression::NullSender)),
        (
            MESSAGE,
            "MAILER-DAEMON@example.com",
            Some(VacationSuppression::SystemSender),
        ),
        (
            MESSAGE,
            "owner-list@example.com",
            Some(VacationSuppression::SystemSender),
        ),
        (
            MESSAGE,
            "bob@example.org",
            Some(VacationSuppression::OwnAddress),
        ),
        (
            b"Auto-Submitted: auto-replied\r\nTo: bob@example.org\r\n\r\nx",
            "x@example.com",
            Some(VacationSuppression::AutoSubmitted),
        ),
        (
            b"Auto-Submitted: no\r\nTo: bob@example.org\r\n\r\nx",
            "x@example.com",
            None,
        ),
        (
            b"List-Id: <l.example.com>\r\nTo: bob@example.org\r\n\r\nx",
            "x@example.com",
            Some(VacationSuppression::MailingList),
        ),
        (
            b"Precedence: bulk\r\nTo: bob@example.org\r\n\r\nx",
            "x@example.com",
            Some(VacationSuppression::MailingList),
        ),
        (
            b"To: someone@example.org\r\n\r\nx",
            "x@example.com",
            Some(VacationSuppression::NotAddressed),
        ),
    ];
    for (message, from, expected) in cases {
        let mut input = input(message);
        input.envelope.from = from.to_string();
        let outcome = run_with("require \"vacation\"; vacation \"x\";", &input, &mut host).unwrap();
        let Action::Vacation(v) = &outcome.actions[0] else {
            panic!()
        };
        assert_eq!(v.suppressed, *expected, "from {from:?}");
    }

    let seconds = "require \"vacation-seconds\"; vacation :seconds 7200 :subject \"S\" :from \"me@example.org\" :mime :handle \"h\" \"r\";";
    let mut options = pillarbox_sieve::Options::default();
    options.limits.vacation_min_period = 3600;
    let compiled = pillarbox_sieve::compile(seconds.as_bytes(), &options).unwrap();
    let outcome = compiled.run(&input(MESSAGE), &mut host).unwrap();
    let Action::Vacation(v) = &outcome.actions[0] else {
        panic!()
    };
    assert_eq!(
        (
            v.period,
            v.subject.as_str(),
            v.from.as_str(),
            v.handle.as_str(),
            v.mime
        ),
        (7200, "S", "me@example.org", "h", true)
    );
    // Below the minimum period, the minimum applies (RFC 6131 §2).
    let outcome = run_with(
        "require \"vacation-seconds\"; vacation :seconds 0 \"r\";",
        &input(MESSAGE),
        &mut host,
    )
    .unwrap();
    let Action::Vacation(v) = &outcome.actions[0] else {
        panic!()
    };
    assert_eq!(v.period, 86_400);
    assert!(
        run_with(
            "require \"vacation\"; vacation \"a\"; vacation \"b\";",
            &input(MESSAGE),
            &mut host
        )
        .is_err()
    );
}

#[test]
fn rfc_5435_enotify() {
    check_table(
        "RFC 5435",
        &[
            (
                "require \"enotify\"; notify :importance \"1\" \"mailto:bob@example.org\"; notify \"mailto:bob@example.org\";",
                &["notify mailto:bob@example.org", "implicit-keep"],
            ),
            (
                "require [\"enotify\", \"fileinto\"]; if valid_notify_method \"mailto:a@b.c\" { fileinto \"v\"; } if valid_notify_method \"tel:+1\" { fileinto \"t\"; }",
                &["fileinto v"],
            ),
            (
                "require \"enotify\"; if notify_method_capability \"mailto:a@b.c\" \"Online\" \"maybe\" { discard; }",
                &["discard"],
            ),
            (
                "require [\"enotify\", \"variables\"]; set \"u\" \"mailto:\"; notify \"${u}\";",
                &["error: names no recipient"],
            ),
        ],
    );
    let outcome = run_with(
        "require [\"enotify\", \"variables\"]; set :encodeurl \"s\" \"a b\"; notify :from \"me@example.org\" :options \"o\" \"mailto:x@example.org?subject=${s}\";",
        &input(MESSAGE),
        &mut MapHost::default(),
    )
    .unwrap();
    let Action::Notify(n) = &outcome.actions[0] else {
        panic!()
    };
    assert_eq!(n.recipients, ["x@example.org"]);
    assert_eq!(n.uri_headers, [("subject".to_string(), "a b".to_string())]);
    assert_eq!(
        (n.importance, n.from.as_deref()),
        (2, Some("me@example.org"))
    );
    assert_eq!(
        n.message,
        "Alice Liddell <alice@example.com>: Invoice 42 for July"
    );
}

#[test]
fn rfc_5293_editheader() {
    let script = "require [\"editheader\", \"fileinto\"];
        fileinto \"Before\";
        addheader \"X-Spam\" \"yes\";
        addheader :last \"X-Note\" \"né\";
        deleteheader :index 1 \"x-tag\";
        deleteheader \"received\";
        if header :is \"x-spam\" \"yes\" { fileinto \"After\"; }
        if not header :is \"x-tag\" \"one\" { keep; }";
    let outcome = run_with(script, &input(MESSAGE), &mut MapHost::default()).unwrap();
    assert_eq!(
        summary(&outcome),
        ["fileinto Before", "fileinto After", "keep"]
    );
    let Action::FileInto {
        message: before, ..
    } = &outcome.actions[0]
    else {
        panic!()
    };
    assert!(before.is_none(), "the first fileinto ran before any edit");
    let Action::FileInto {
        message: Some(after),
        ..
    } = &outcome.actions[1]
    else {
        panic!()
    };
    let text = String::from_utf8_lossy(after);
    assert!(text.starts_with("X-Spam: yes\r\nReceived: "), "{text}");
    assert!(
        text.contains("X-Tag: two\r\nX-Note: =?UTF-8?B?bsOp?=\r\n\r\nHello Bob"),
        "{text}"
    );
    assert!(!text.contains("X-Tag: one"));
    assert_eq!(outcome.edited_message.as_deref(), Some(&after[..]));
    assert_eq!(
        outcome.header_edits,
        [
            HeaderEdit::Added {
                name: "X-Spam".into(),
                value: "yes".into(),
                last: false
            },
            HeaderEdit::Added {
                name: "X-Note".into(),
                value: "=?UTF-8?B?bsOp?=".into(),
                last: true
            },
            HeaderEdit::Deleted {
                name: "x-tag".into(),
                count: 1
            },
        ]
    );
}

#[test]
fn rfc_5235_spamtest_virustest() {
    let script = "require [\"spamtestplus\", \"virustest\", \"relational\", \"fileinto\"];
        if spamtest :value \"ge\" \"7\" { fileinto \"Spam\"; }
        if spamtest :percent :value \"gt\" \"80\" { fileinto \"Very\"; }
        if virustest :value \"eq\" \"5\" { discard; }";
    let mut input = input(MESSAGE);
    let mut host = MapHost::default();
    assert_eq!(
        summary(&run_with(script, &input, &mut host).unwrap()),
        ["implicit-keep"]
    );
    input.spam = Some(SpamScore {
        score: 9,
        percent: 85,
    });
    input.virus = Some(5);
    assert_eq!(
        summary(&run_with(script, &input, &mut host).unwrap()),
        ["fileinto Spam", "fileinto Very", "discard"]
    );
    // "10" sorts after "7" numerically, not as text (RFC 5235 §3.2 default comparator).
    input.spam = Some(SpamScore {
        score: 10,
        percent: 100,
    });
    assert_eq!(
        summary(&run_with(script, &input, &mut host).unwrap())[0],
        "fileinto Spam"
    );
}

#[test]
fn rfc_5183_environment() {
    let script = "require [\"environment\", \"fileinto\", \"variables\"];
        if environment :is \"location\" \"MDA\" { fileinto \"mda\"; }
        if environment :matches \"remote-ip\" \"*\" { fileinto \"ip-${1}\"; }
        if environment :is \"name\" \"Pillarbox\" { fileinto \"named\"; }";
    let mut input = input(MESSAGE);
    input.environment = vec![("Remote-IP".into(), "192.0.2.1".into())];
    let outcome = run_with(script, &input, &mut MapHost::default()).unwrap();
    assert_eq!(
        summary(&outcome),
        ["fileinto mda", "fileinto ip-192.0.2.1", "fileinto named"]
    );
}
