//! Table-driven parser tests for selected-state commands (FETCH, STORE, SEARCH, SORT,
//! THREAD, COPY, MOVE, EXPUNGE), from the RFC examples, with full expected values.

mod common;

use common::values::*;
use pillarbox_imap::proto::*;

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
    ]);
}

#[test]
fn fetch_sections() {
    use FetchAttr as A;
    use SectionText as T;
    check(vec![
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
                partial: None,
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
                partial: None,
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
        partial: None,
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
    ]);
}

#[test]
fn search_sizes_sets_and_modseq() {
    use SearchKey as S;
    check(vec![
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
