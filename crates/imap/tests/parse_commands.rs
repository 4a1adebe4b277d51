//! Table-driven parser tests: one row per command form, mostly the examples of RFC 9051,
//! RFC 3501 and the extension RFCs, each with the full expected value.

mod common;

use bytes::Bytes;
use common::parse;
use pillarbox_imap::proto::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn mb(s: &str) -> Mailbox {
    Mailbox::new(b(s))
}

fn set(s: &str) -> SequenceSet {
    SequenceSet::parse(s.as_bytes()).unwrap()
}

fn date(s: &str) -> Date {
    Date::parse(s.as_bytes()).unwrap()
}

fn fetch(uid: bool, s: &str, attrs: FetchAttrs) -> CommandBody<usize> {
    CommandBody::Fetch(Fetch {
        uid,
        set: set(s),
        attrs,
        changed_since: None,
        vanished: false,
    })
}

fn items(list: Vec<FetchAttr>) -> FetchAttrs {
    FetchAttrs::List(list)
}

fn body_section(
    peek: bool,
    part: Vec<u32>,
    text: Option<SectionText>,
    partial: Option<(u64, u64)>,
) -> FetchAttr {
    FetchAttr::BodySection {
        peek,
        section: Section { part, text },
        partial: partial.map(|(offset, length)| Partial { offset, length }),
    }
}

fn search(
    uid: bool,
    charset: Option<&str>,
    ret: Option<Vec<SearchReturn>>,
    criteria: SearchKey,
) -> CommandBody<usize> {
    CommandBody::Search(Search {
        uid,
        charset: charset.map(b),
        return_opts: ret,
        criteria,
    })
}

fn store(
    uid: bool,
    s: &str,
    unchanged: Option<u64>,
    mode: StoreMode,
    silent: bool,
    flags: Vec<Flag>,
) -> CommandBody<usize> {
    CommandBody::Store(Store {
        uid,
        set: set(s),
        unchanged_since: unchanged,
        mode,
        silent,
        flags,
    })
}

fn select(name: &str, condstore: bool, qresync: Option<QResync>) -> Select {
    Select {
        mailbox: mb(name),
        condstore,
        qresync,
    }
}

fn list(
    selection: Vec<ListSelect>,
    reference: &str,
    patterns: &[&str],
    return_opts: Vec<ListReturn>,
    extended: bool,
) -> CommandBody<usize> {
    CommandBody::List(List {
        selection,
        reference: b(reference),
        patterns: patterns.iter().map(|p| b(p)).collect(),
        return_opts,
        extended,
    })
}

fn append_msg(
    flags: Vec<Flag>,
    date: Option<&str>,
    data: &str,
    binary: bool,
    utf8: bool,
) -> AppendMessage<usize> {
    AppendMessage {
        flags,
        date: date.map(|d| DateTime::parse(d.as_bytes()).unwrap()),
        data: LiteralData::Inline(b(data)),
        binary,
        utf8,
    }
}

fn check(rows: Vec<(&str, CommandBody<usize>)>) {
    for (input, expected) in rows {
        match parse(input) {
            Ok(got) => assert_eq!(got, expected, "input: {input:?}"),
            Err(e) => panic!("input {input:?} failed: {e:?}"),
        }
    }
}

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
fn selected_state_simple() {
    use CommandBody as C;
    check(vec![
        ("FXXZ CHECK", C::Check),
        ("A341 CLOSE", C::Close),
        ("A342 UNSELECT", C::Unselect),
        ("A202 EXPUNGE", C::Expunge),
        (
            "A003 UID EXPUNGE 3000:3002",
            C::UidExpunge(set("3000:3002")),
        ),
        (
            "A003 COPY 2:4 MEETING",
            C::Copy(CopyMove {
                uid: false,
                set: set("2:4"),
                mailbox: mb("MEETING"),
            }),
        ),
        (
            "A004 UID COPY $ \"Other Messages\"",
            C::Copy(CopyMove {
                uid: true,
                set: SequenceSet::Saved,
                mailbox: mb("Other Messages"),
            }),
        ),
        (
            "a UID MOVE 42:69 foo",
            C::Move(CopyMove {
                uid: true,
                set: set("42:69"),
                mailbox: mb("foo"),
            }),
        ),
        (
            "a MOVE 1,3:*,5:2 inbox",
            C::Move(CopyMove {
                uid: false,
                set: set("1,3:*,5:2"),
                mailbox: Mailbox::INBOX,
            }),
        ),
    ]);
}

#[test]
fn fetch_items() {
    use FetchAttr as A;
    use SectionText as T;
    check(vec![
        ("a FETCH 1 ALL", fetch(false, "1", FetchAttrs::All)),
        ("a FETCH 1:* FAST", fetch(false, "1:*", FetchAttrs::Fast)),
        ("a FETCH * full", fetch(false, "*", FetchAttrs::Full)),
        ("a FETCH 1 FLAGS", fetch(false, "1", items(vec![A::Flags]))),
        (
            "a FETCH 1 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID MODSEQ)",
            fetch(
                false,
                "1",
                items(vec![
                    A::Envelope,
                    A::Flags,
                    A::InternalDate,
                    A::Rfc822,
                    A::Rfc822Header,
                    A::Rfc822Size,
                    A::Rfc822Text,
                    A::Body,
                    A::BodyStructure,
                    A::Uid,
                    A::ModSeq,
                ]),
            ),
        ),
        (
            "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
            fetch(
                false,
                "2:4",
                items(vec![
                    A::Flags,
                    body_section(
                        false,
                        vec![],
                        Some(T::HeaderFields(vec![b("DATE"), b("FROM")])),
                        None,
                    ),
                ]),
            ),
        ),
        (
            "a FETCH 1 BODY[]",
            fetch(
                false,
                "1",
                items(vec![body_section(false, vec![], None, None)]),
            ),
        ),
        (
            "a FETCH 1 BODY.PEEK[]<0.1024>",
            fetch(
                false,
                "1",
                items(vec![body_section(true, vec![], None, Some((0, 1024)))]),
            ),
        ),
        (
            "a FETCH 1 BODY[1.2.MIME]",
            fetch(
                false,
                "1",
                items(vec![body_section(false, vec![1, 2], Some(T::Mime), None)]),
            ),
        ),
        (
            "a FETCH 1 BODY[4.2.HEADER]",
            fetch(
                false,
                "1",
                items(vec![body_section(false, vec![4, 2], Some(T::Header), None)]),
            ),
        ),
        (
            "a FETCH 1 BODY[3.TEXT]<10.2048>",
            fetch(
                false,
                "1",
                items(vec![body_section(
                    false,
                    vec![3],
                    Some(T::Text),
                    Some((10, 2048)),
                )]),
            ),
        ),
        (
            "a FETCH 1 BODY[TEXT]",
            fetch(
                false,
                "1",
                items(vec![body_section(false, vec![], Some(T::Text), None)]),
            ),
        ),
        (
            "a FETCH 1 BODY[1]",
            fetch(
                false,
                "1",
                items(vec![body_section(false, vec![1], None, None)]),
            ),
        ),
        (
            "a FETCH 1 BODY.PEEK[1.HEADER.FIELDS.NOT (Received \"X-Spam\")]",
            fetch(
                false,
                "1",
                items(vec![body_section(
                    true,
                    vec![1],
                    Some(T::HeaderFieldsNot(vec![b("Received"), b("X-Spam")])),
                    None,
                )]),
            ),
        ),
        (
            "a FETCH 1 (BINARY[1.2] BINARY.PEEK[1]<100.200> BINARY.SIZE[1] BINARY[])",
            fetch(
                false,
                "1",
                items(vec![
                    A::Binary {
                        peek: false,
                        part: vec![1, 2],
                        partial: None,
                    },
                    A::Binary {
                        peek: true,
                        part: vec![1],
                        partial: Some(Partial {
                            offset: 100,
                            length: 200,
                        }),
                    },
                    A::BinarySize { part: vec![1] },
                    A::Binary {
                        peek: false,
                        part: vec![],
                        partial: None,
                    },
                ]),
            ),
        ),
        ("A283 FETCH $ (UID)", fetch(false, "$", items(vec![A::Uid]))),
        (
            "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345)",
            CommandBody::Fetch(Fetch {
                uid: true,
                set: set("300:500"),
                attrs: items(vec![A::Flags]),
                changed_since: Some(12345),
                vanished: false,
            }),
        ),
        (
            "s101 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
            CommandBody::Fetch(Fetch {
                uid: true,
                set: set("300:500"),
                attrs: items(vec![A::Flags]),
                changed_since: Some(12345),
                vanished: true,
            }),
        ),
    ]);
}

#[test]
fn fetch_tolerance() {
    use FetchAttr as A;
    use SectionText as T;
    let fields = || {
        items(vec![
            A::Uid,
            body_section(
                true,
                vec![],
                Some(T::HeaderFields(vec![b("From"), b("To")])),
                None,
            ),
        ])
    };
    check(vec![
        (
            "a1 uid fetch 1:* (uid body.peek[header.fields (From To)])",
            CommandBody::Fetch(Fetch {
                uid: true,
                ..fetch_struct("1:*", fields())
            }),
        ),
        (
            "a2 FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (From To )])",
            fetch(false, "1:*", fields()),
        ),
        (
            "a3 FETCH 1:* ( UID  BODY.PEEK[HEADER.FIELDS ( From  To)] )",
            fetch(false, "1:*", fields()),
        ),
        (
            "a4 FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS(From To)])",
            fetch(false, "1:*", fields()),
        ),
        (
            "a5 FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (From To)])   ",
            fetch(false, "1:*", fields()),
        ),
        (
            "a6  FETCH  1:*  (UID BODY.PEEK[HEADER.FIELDS (From To)])",
            fetch(false, "1:*", fields()),
        ),
    ]);
}

fn fetch_struct(s: &str, attrs: FetchAttrs) -> Fetch {
    Fetch {
        uid: false,
        set: set(s),
        attrs,
        changed_since: None,
        vanished: false,
    }
}

#[test]
fn store_flags() {
    use StoreMode as M;
    check(vec![
        (
            "A003 STORE 2:4 +FLAGS (\\Deleted)",
            store(false, "2:4", None, M::Add, false, vec![Flag::Deleted]),
        ),
        (
            "a STORE 1 FLAGS.SILENT (\\Seen $Forwarded)",
            store(
                false,
                "1",
                None,
                M::Replace,
                true,
                vec![Flag::Seen, Flag::keyword("$Forwarded")],
            ),
        ),
        (
            "a STORE 1 -FLAGS \\Seen \\Answered",
            store(
                false,
                "1",
                None,
                M::Remove,
                false,
                vec![Flag::Seen, Flag::Answered],
            ),
        ),
        (
            "a STORE 1 FLAGS ()",
            store(false, "1", None, M::Replace, false, vec![]),
        ),
        (
            "a STORE 1 +flags.silent (\\flagged \\X-Ext)",
            store(
                false,
                "1",
                None,
                M::Add,
                true,
                vec![Flag::Flagged, Flag::Extension(b("X-Ext"))],
            ),
        ),
        (
            "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
            store(
                true,
                "6,4,8",
                Some(12121230045),
                M::Add,
                true,
                vec![Flag::Deleted],
            ),
        ),
        (
            "A004 UID STORE $ +FLAGS.SILENT (\\Flagged)",
            store(true, "$", None, M::Add, true, vec![Flag::Flagged]),
        ),
    ]);
}

#[test]
fn search_keys() {
    use SearchKey as S;
    let smith = || S::Not(Box::new(S::From(b("Smith"))));
    check(vec![
        (
            "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
            search(
                false,
                None,
                None,
                S::And(vec![S::Flagged, S::Since(date("1-Feb-1994")), smith()]),
            ),
        ),
        (
            "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
            search(
                false,
                None,
                Some(vec![SearchReturn::Min, SearchReturn::Count]),
                S::And(vec![S::Flagged, S::Since(date("1-Feb-1994")), smith()]),
            ),
        ),
        (
            "A283 SEARCH RETURN () FLAGGED",
            search(false, None, Some(vec![]), S::Flagged),
        ),
        (
            "A284 UID SEARCH RETURN (MIN MAX ALL COUNT SAVE) ALL",
            search(
                true,
                None,
                Some(vec![
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::All,
                    SearchReturn::Count,
                    SearchReturn::Save,
                ]),
                S::All,
            ),
        ),
        (
            "A285 SEARCH CHARSET UTF-8 TEXT {6}\r\nКот",
            search(false, Some("UTF-8"), None, S::Text(b("Кот"))),
        ),
        (
            "A286 SEARCH TEXT \"string not in mailbox\"",
            search(false, None, None, S::Text(b("string not in mailbox"))),
        ),
        (
            "a SEARCH ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN ALL",
            search(
                false,
                None,
                None,
                S::And(vec![
                    S::Answered,
                    S::Deleted,
                    S::Draft,
                    S::Flagged,
                    S::New,
                    S::Old,
                    S::Recent,
                    S::Seen,
                    S::Unanswered,
                    S::Undeleted,
                    S::Undraft,
                    S::Unflagged,
                    S::Unseen,
                    S::All,
                ]),
            ),
        ),
        (
            "a SEARCH BCC a BODY b CC c FROM d SUBJECT e TEXT f TO g HEADER X-Spam yes KEYWORD $Junk UNKEYWORD foo",
            search(
                false,
                None,
                None,
                S::And(vec![
                    S::Bcc(b("a")),
                    S::Body(b("b")),
                    S::Cc(b("c")),
                    S::From(b("d")),
                    S::Subject(b("e")),
                    S::Text(b("f")),
                    S::To(b("g")),
                    S::Header(b("X-Spam"), b("yes")),
                    S::Keyword(b("$Junk")),
                    S::Unkeyword(b("foo")),
                ]),
            ),
        ),
        (
            "a SEARCH BEFORE 1-Feb-1994 ON \"2-Mar-2000\" SENTBEFORE 3-apr-2001 SENTON 04-May-2002 SENTSINCE 5-Jun-2003 SINCE 29-Feb-2024",
            search(
                false,
                None,
                None,
                S::And(vec![
                    S::Before(date("1-Feb-1994")),
                    S::On(date("2-Mar-2000")),
                    S::SentBefore(date("3-Apr-2001")),
                    S::SentOn(date("4-May-2002")),
                    S::SentSince(date("5-Jun-2003")),
                    S::Since(date("29-Feb-2024")),
                ]),
            ),
        ),
        (
            "a SEARCH LARGER 1000 SMALLER 5000000000",
            search(
                false,
                None,
                None,
                S::And(vec![S::Larger(1000), S::Smaller(5_000_000_000)]),
            ),
        ),
        (
            "a SEARCH YOUNGER 3600 OLDER 60",
            search(
                false,
                None,
                None,
                S::And(vec![S::Younger(3600), S::Older(60)]),
            ),
        ),
        (
            "a SEARCH UID 1:100,200 2:4",
            search(
                false,
                None,
                None,
                S::And(vec![S::Uid(set("1:100,200")), S::SequenceSet(set("2:4"))]),
            ),
        ),
        (
            "a UID SEARCH UID $ SMALLER 4096",
            search(
                true,
                None,
                None,
                S::And(vec![S::Uid(SequenceSet::Saved), S::Smaller(4096)]),
            ),
        ),
        (
            "a SEARCH $",
            search(false, None, None, S::SequenceSet(SequenceSet::Saved)),
        ),
        (
            "a SEARCH OR (SEEN FLAGGED) NOT (1:5 OR TO x CC y)",
            search(
                false,
                None,
                None,
                S::Or(
                    Box::new(S::And(vec![S::Seen, S::Flagged])),
                    Box::new(S::Not(Box::new(S::And(vec![
                        S::SequenceSet(set("1:5")),
                        S::Or(Box::new(S::To(b("x"))), Box::new(S::Cc(b("y")))),
                    ])))),
                ),
            ),
        ),
        (
            "a SEARCH MODSEQ 620162338",
            search(
                false,
                None,
                None,
                S::ModSeq {
                    entry: None,
                    modseq: 620162338,
                },
            ),
        ),
        (
            "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
            search(
                false,
                None,
                None,
                S::ModSeq {
                    entry: Some(ModSeqEntry {
                        name: b("/flags/\\draft"),
                        entry_type: EntryType::All,
                    }),
                    modseq: 620162338,
                },
            ),
        ),
        (
            "a SEARCH MODSEQ \"/flags/$Junk\" priv 0",
            search(
                false,
                None,
                None,
                S::ModSeq {
                    entry: Some(ModSeqEntry {
                        name: b("/flags/$Junk"),
                        entry_type: EntryType::Private,
                    }),
                    modseq: 0,
                },
            ),
        ),
        (
            "a search charset us-ascii ( seen )",
            search(false, Some("us-ascii"), None, S::Seen),
        ),
    ]);
}

#[test]
fn sort_and_thread() {
    use SearchKey as S;
    let crit = |reverse, key| SortCriterion { reverse, key };
    check(vec![
        (
            "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
            CommandBody::Sort(Sort {
                uid: false,
                return_opts: None,
                criteria: vec![crit(false, SortKey::Subject)],
                charset: b("UTF-8"),
                search: S::Since(date("1-Feb-1994")),
            }),
        ),
        (
            "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
            CommandBody::Sort(Sort {
                uid: false,
                return_opts: None,
                criteria: vec![crit(false, SortKey::Subject), crit(true, SortKey::Date)],
                charset: b("UTF-8"),
                search: S::All,
            }),
        ),
        (
            "A284 UID SORT (ARRIVAL CC FROM SIZE TO DISPLAYFROM DISPLAYTO) US-ASCII TEXT \"not in mailbox\"",
            CommandBody::Sort(Sort {
                uid: true,
                return_opts: None,
                criteria: [
                    SortKey::Arrival,
                    SortKey::Cc,
                    SortKey::From,
                    SortKey::Size,
                    SortKey::To,
                    SortKey::DisplayFrom,
                    SortKey::DisplayTo,
                ]
                .map(|k| crit(false, k))
                .to_vec(),
                charset: b("US-ASCII"),
                search: S::Text(b("not in mailbox")),
            }),
        ),
        (
            "A285 SORT RETURN (MIN MAX) (DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
            CommandBody::Sort(Sort {
                uid: false,
                return_opts: Some(vec![SearchReturn::Min, SearchReturn::Max]),
                criteria: vec![crit(false, SortKey::Date)],
                charset: b("UTF-8"),
                search: S::And(vec![S::Undeleted, S::Unkeyword(b("$Junk"))]),
            }),
        ),
        (
            "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
            CommandBody::Thread(Thread {
                uid: false,
                algorithm: ThreadAlgorithm::OrderedSubject,
                charset: b("UTF-8"),
                search: S::Since(date("5-Mar-2000")),
            }),
        ),
        (
            "A284 UID THREAD REFERENCES US-ASCII TEXT \"gewp\"",
            CommandBody::Thread(Thread {
                uid: true,
                algorithm: ThreadAlgorithm::References,
                charset: b("US-ASCII"),
                search: S::Text(b("gewp")),
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
