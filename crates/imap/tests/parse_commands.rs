//! Table-driven parser tests for commands outside the selected state: one row per
//! command form, mostly the examples of RFC 9051, RFC 3501 and the extension RFCs,
//! each with the full expected value.

mod common;

use common::parse;
use common::values::*;
use pillarbox_imap::proto::*;

#[test]
fn any_state_and_connection_commands() {
    use CommandBody as C;
    check(vec![
        ("abcd CAPABILITY", C::Capability),
        ("a002 NOOP", C::Noop),
        ("A023 LOGOUT", C::Logout),
        ("a001 STARTTLS", C::StartTls),
        ("a1 IDLE", C::Idle),
        ("a1 NAMESPACE", C::Namespace),
        ("a1 UNAUTHENTICATE", C::Unauthenticate),
        ("a1 COMPRESS DEFLATE", C::Compress(b("DEFLATE"))),
        (
            "t2 ENABLE CONDSTORE X-GOOD-IDEA",
            C::Enable(vec![b("CONDSTORE"), b("X-GOOD-IDEA")]),
        ),
        (
            "t3 ENABLE UTF8=ACCEPT QRESYNC",
            C::Enable(vec![b("UTF8=ACCEPT"), b("QRESYNC")]),
        ),
        (
            "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)",
            C::Id(Some(vec![
                (b("name"), Some(b("sodr"))),
                (b("version"), Some(b("19.34"))),
                (b("vendor"), None),
            ])),
        ),
        ("a024 ID NIL", C::Id(None)),
        ("a025 ID ()", C::Id(Some(vec![]))),
    ]);
}

#[test]
fn authentication() {
    use CommandBody as C;
    check(vec![
        (
            "A001 AUTHENTICATE GSSAPI",
            C::Authenticate(Authenticate {
                mechanism: b("GSSAPI"),
                initial_response: None,
            }),
        ),
        (
            "A002 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
            C::Authenticate(Authenticate {
                mechanism: b("PLAIN"),
                initial_response: Some(b"test\0test\0test".to_vec()),
            }),
        ),
        (
            "A003 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q",
            C::Authenticate(Authenticate {
                mechanism: b("PLAIN"),
                initial_response: Some(b"test\0test\0test".to_vec()),
            }),
        ),
        (
            "A004 AUTHENTICATE EXTERNAL =",
            C::Authenticate(Authenticate {
                mechanism: b("EXTERNAL"),
                initial_response: Some(vec![]),
            }),
        ),
        (
            "a001 LOGIN SMITH SESAME",
            C::Login(Login {
                username: b("SMITH"),
                password: b("SESAME"),
            }),
        ),
        (
            "a002 LOGIN \"fred\" \"p\\\"w\\\\d\"",
            C::Login(Login {
                username: b("fred"),
                password: b("p\"w\\d"),
            }),
        ),
        // RFC 7888 §3 example.
        (
            "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man",
            C::Login(Login {
                username: b("FRED FOOBAR"),
                password: b("fat man"),
            }),
        ),
        (
            "A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man",
            C::Login(Login {
                username: b("FRED FOOBAR"),
                password: b("fat man"),
            }),
        ),
    ]);
}

#[test]
fn mailbox_commands() {
    use CommandBody as C;
    check(vec![
        ("A142 SELECT INBOX", C::Select(select("INBOX", false, None))),
        ("A142 SELECT inbox", C::Select(select("INBOX", false, None))),
        (
            "A142 SELECT \"InBoX\"",
            C::Select(select("INBOX", false, None)),
        ),
        (
            "A142 SELECT INBOX.Sent",
            C::Select(select("INBOX.Sent", false, None)),
        ),
        (
            "A142 SELECT Entwürfe",
            C::Select(select("Entwürfe", false, None)),
        ),
        (
            "A932 EXAMINE blurdybloop",
            C::Examine(select("blurdybloop", false, None)),
        ),
        (
            "a SELECT INBOX (CONDSTORE)",
            C::Select(select("INBOX", true, None)),
        ),
        (
            "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
            C::Select(select(
                "INBOX",
                false,
                Some(QResync {
                    uid_validity: 67890007,
                    modseq: 20050715194045000,
                    known_uids: Some(set("41,43:211,214:541")),
                    seq_match: None,
                }),
            )),
        ),
        (
            "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,19 41:57,101)))",
            C::Select(select(
                "INBOX",
                false,
                Some(QResync {
                    uid_validity: 67890007,
                    modseq: 90060115194045000,
                    known_uids: Some(set("41:211,214:541")),
                    seq_match: Some((set("1:15,19"), set("41:57,101"))),
                }),
            )),
        ),
        (
            "B05 EXAMINE INBOX (QRESYNC (1 2))",
            C::Examine(select(
                "INBOX",
                false,
                Some(QResync {
                    uid_validity: 1,
                    modseq: 2,
                    known_uids: None,
                    seq_match: None,
                }),
            )),
        ),
        (
            "A003 CREATE owatagusiam/",
            C::Create(Create {
                mailbox: mb("owatagusiam/"),
                special_use: vec![],
            }),
        ),
        (
            "t1 CREATE \"Important Messages\" (USE (\\Important))",
            C::Create(Create {
                mailbox: mb("Important Messages"),
                special_use: vec![SpecialUse::Important],
            }),
        ),
        (
            "t2 CREATE Drafts (USE (\\Drafts \\Sent \\X-Custom))",
            C::Create(Create {
                mailbox: mb("Drafts"),
                special_use: vec![
                    SpecialUse::Drafts,
                    SpecialUse::Sent,
                    SpecialUse::Other(b("X-Custom")),
                ],
            }),
        ),
    ]);
}

#[test]
fn mailbox_management() {
    use CommandBody as C;
    check(vec![
        ("A683 DELETE blurdybloop", C::Delete(mb("blurdybloop"))),
        (
            "A683 RENAME blurdybloop sarasoop",
            C::Rename {
                from: mb("blurdybloop"),
                to: mb("sarasoop"),
            },
        ),
        (
            "A002 SUBSCRIBE #news.comp.mail.mime",
            C::Subscribe(mb("#news.comp.mail.mime")),
        ),
        (
            "A002 UNSUBSCRIBE #news.comp.mail.mime",
            C::Unsubscribe(mb("#news.comp.mail.mime")),
        ),
        (
            "A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
            C::Status {
                mailbox: mb("blurdybloop"),
                items: vec![StatusItem::UidNext, StatusItem::Messages],
            },
        ),
        (
            "A043 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)",
            C::Status {
                mailbox: Mailbox::INBOX,
                items: vec![
                    StatusItem::Messages,
                    StatusItem::UidNext,
                    StatusItem::UidValidity,
                    StatusItem::Unseen,
                    StatusItem::Deleted,
                    StatusItem::Size,
                    StatusItem::Recent,
                    StatusItem::HighestModSeq,
                    StatusItem::AppendLimit,
                ],
            },
        ),
        (
            "G0001 GETQUOTA \"!partition/sda4\"",
            C::GetQuota(b("!partition/sda4")),
        ),
        ("A003 GETQUOTAROOT INBOX", C::GetQuotaRoot(Mailbox::INBOX)),
        (
            "S0000 SETQUOTA \"#user/alice\" (STORAGE 510)",
            C::SetQuota {
                root: b("#user/alice"),
                limits: vec![(b("STORAGE"), 510)],
            },
        ),
        (
            "S0001 SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)",
            C::SetQuota {
                root: b(""),
                limits: vec![(b("STORAGE"), 512), (b("MESSAGE"), 1000)],
            },
        ),
        (
            "S0002 SETQUOTA \"\" ()",
            C::SetQuota {
                root: b(""),
                limits: vec![],
            },
        ),
    ]);
}

#[test]
fn list_and_lsub() {
    use CommandBody as C;
    use ListReturn as R;
    use ListSelect as S;
    check(vec![
        (
            "A101 LIST \"\" \"\"",
            list(vec![], "", &[""], vec![], false),
        ),
        (
            "A102 LIST #news.comp.mail.misc \"\"",
            list(vec![], "#news.comp.mail.misc", &[""], vec![], false),
        ),
        (
            "A202 LIST ~/Mail/ %",
            list(vec![], "~/Mail/", &["%"], vec![], false),
        ),
        ("A203 LIST \"\" *", list(vec![], "", &["*"], vec![], false)),
        // RFC 9051 §9: `~` is a `list-char` (an `ATOM-CHAR`); only `~{` opens a
        // literal8.
        (
            "t1 LIST \"\" ~foo",
            list(vec![], "", &["~foo"], vec![], false),
        ),
        ("t2 LIST \"\" ~", list(vec![], "", &["~"], vec![], false)),
        (
            "t3 LIST \"\" (~foo ~/%)",
            list(vec![], "", &["~foo", "~/%"], vec![], true),
        ),
        (
            "A204 LIST \"\" INBOX/]%*",
            list(vec![], "", &["INBOX/]%*"], vec![], false),
        ),
        (
            "A02 LIST (SUBSCRIBED) \"\" \"*\"",
            list(vec![S::Subscribed], "", &["*"], vec![], true),
        ),
        (
            "A03 LIST () \"\" \"%\" RETURN (CHILDREN)",
            list(vec![], "", &["%"], vec![R::Children], true),
        ),
        (
            "A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)",
            list(vec![S::Remote], "", &["%"], vec![R::Children], true),
        ),
        (
            "A05 LIST (REMOTE SUBSCRIBED) \"/\" \"*\"",
            list(vec![S::Remote, S::Subscribed], "/", &["*"], vec![], true),
        ),
        (
            "A06 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
            list(
                vec![S::Subscribed, S::RecursiveMatch],
                "",
                &["%"],
                vec![R::Children],
                true,
            ),
        ),
        (
            "A07 LIST \"\" (\"INBOX\" \"Drafts\" Sent/%)",
            list(vec![], "", &["INBOX", "Drafts", "Sent/%"], vec![], true),
        ),
        (
            "t1 LIST (SPECIAL-USE) \"\" \"*\"",
            list(vec![S::SpecialUse], "", &["*"], vec![], true),
        ),
        (
            "t3 LIST \"\" \"%\" RETURN (SPECIAL-USE)",
            list(vec![], "", &["%"], vec![R::SpecialUse], true),
        ),
        (
            "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
            list(
                vec![],
                "",
                &["%"],
                vec![R::Status(vec![StatusItem::Messages, StatusItem::Unseen])],
                true,
            ),
        ),
        (
            "A08 LIST (SUBSCRIBED) \"\" (\"%\") RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (SIZE))",
            list(
                vec![S::Subscribed],
                "",
                &["%"],
                vec![
                    R::Subscribed,
                    R::Children,
                    R::SpecialUse,
                    R::Status(vec![StatusItem::Size]),
                ],
                true,
            ),
        ),
        (
            "A002 LSUB \"#news.\" \"comp.mail.*\"",
            C::Lsub {
                reference: b("#news."),
                pattern: b("comp.mail.*"),
            },
        ),
        (
            "t4 LSUB \"\" ~foo*",
            C::Lsub {
                reference: b(""),
                pattern: b("~foo*"),
            },
        ),
        (
            "A003 LSUB \"\" %",
            C::Lsub {
                reference: b(""),
                pattern: b("%"),
            },
        ),
    ]);
}

#[test]
fn append() {
    use CommandBody as C;
    check(vec![
        (
            "A003 APPEND saved-messages (\\Seen) {5}\r\nhello",
            C::Append(Append {
                mailbox: mb("saved-messages"),
                messages: vec![append_msg(vec![Flag::Seen], None, "hello", false, false)],
            }),
        ),
        (
            "A004 APPEND INBOX {3+}\r\nabc",
            C::Append(Append {
                mailbox: Mailbox::INBOX,
                messages: vec![append_msg(vec![], None, "abc", false, false)],
            }),
        ),
        (
            "A005 APPEND {5}\r\nInbox (\\Seen \\Draft $MDNSent) \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi",
            C::Append(Append {
                mailbox: Mailbox::INBOX,
                messages: vec![append_msg(
                    vec![Flag::Seen, Flag::Draft, Flag::keyword("$MDNSent")],
                    Some(" 7-Feb-1994 21:52:25 -0800"),
                    "hi",
                    false,
                    false,
                )],
            }),
        ),
        // RFC 3502 MULTIAPPEND.
        (
            "A003 APPEND saved-messages (\\Seen) {3}\r\none (\\Seen) \" 1-Jul-2002 22:35:50 -0700\" {3}\r\ntwo",
            C::Append(Append {
                mailbox: mb("saved-messages"),
                messages: vec![
                    append_msg(vec![Flag::Seen], None, "one", false, false),
                    append_msg(
                        vec![Flag::Seen],
                        Some(" 1-Jul-2002 22:35:50 -0700"),
                        "two",
                        false,
                        false,
                    ),
                ],
            }),
        ),
        (
            "A006 APPEND Drafts ~{5}\r\nab\0cd",
            C::Append(Append {
                mailbox: mb("Drafts"),
                messages: vec![append_msg(vec![], None, "ab\0cd", true, false)],
            }),
        ),
        (
            "A007 APPEND INBOX () UTF8 (~{5}\r\nhello)",
            C::Append(Append {
                mailbox: Mailbox::INBOX,
                messages: vec![append_msg(vec![], None, "hello", true, true)],
            }),
        ),
        (
            "A008 APPEND INBOX \"17-Jul-1996 02:44:25 +0200\" {2}\r\nhi",
            C::Append(Append {
                mailbox: Mailbox::INBOX,
                messages: vec![append_msg(
                    vec![],
                    Some("17-Jul-1996 02:44:25 +0200"),
                    "hi",
                    false,
                    false,
                )],
            }),
        ),
    ]);
}

#[test]
fn command_names_for_logs() {
    assert_eq!(parse("a UID FETCH 1 UID").unwrap().name(), "UID FETCH");
    assert_eq!(parse("a EXPUNGE").unwrap().name(), "EXPUNGE");
    assert_eq!(parse("a UID EXPUNGE 1").unwrap().name(), "UID EXPUNGE");
}

#[test]
fn secrets_are_not_debug_printed() {
    let login = format!("{:?}", parse("a LOGIN user hunter2").unwrap());
    assert!(!login.contains("hunter2"), "{login}");
    let auth = format!("{:?}", parse("a AUTHENTICATE PLAIN aHVudGVyMg==").unwrap());
    assert!(
        !auth.contains("aHVudGVyMg") && !auth.contains("hunter2"),
        "{auth}"
    );
}

proptest::proptest! {
    /// RFC 9051 §9 `list-mailbox = 1*list-char / string`: any run of list-chars (every
    /// CHAR but CTL, SP, `(`, `)`, `{`, `"` and `\`), `~` first or not, is a pattern
    /// and parses back to itself. (The `imap_command` fuzz target checks the same.)
    #[test]
    fn unquoted_list_patterns_round_trip(pattern in "[!#-'*-\\[\\]-z|}~]{1,40}") {
        match parse(&format!("t LIST \"\" {pattern}")) {
            Ok(CommandBody::List(l)) => {
                proptest::prop_assert_eq!(l.patterns, vec![b(&pattern)]);
            }
            other => proptest::prop_assert!(false, "{pattern}: {other:?}"),
        }
    }
}
