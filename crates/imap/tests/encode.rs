//! Encoder tests: exact wire output for responses (RFC examples) and round trips
//! through the parser for strings, sequence sets, dates and sections.

mod common;

use bytes::Bytes;
use pillarbox_imap::proto::*;
use proptest::prelude::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn wire(r: Response) -> String {
    let mut out = Vec::new();
    r.encode(&mut out, EncodeOptions::default());
    String::from_utf8(out).unwrap()
}

fn data(d: Data) -> String {
    wire(Response::Data(d))
}

fn set(s: &str) -> SequenceSet {
    SequenceSet::parse(s.as_bytes()).unwrap()
}

#[test]
fn status_responses() {
    let t = || Tag::from("a1");
    assert_eq!(
        wire(Response::Status(StatusResponse::ok(t(), "LOGIN completed"))),
        "a1 OK LOGIN completed\r\n"
    );
    assert_eq!(
        wire(Response::Status(StatusResponse::no(t(), "nope\r\nsneaky"))),
        "a1 NO nope  sneaky\r\n"
    );
    assert_eq!(
        wire(Response::Status(StatusResponse::bad(None, "junk"))),
        "* BAD junk\r\n"
    );
    assert_eq!(
        wire(Response::Status(StatusResponse::bye("Autologout"))),
        "* BYE Autologout\r\n"
    );
    assert_eq!(
        wire(Response::Status(StatusResponse::new(
            None,
            Status::PreAuth,
            "welcome"
        ))),
        "* PREAUTH welcome\r\n"
    );
    let with = |code| {
        wire(Response::Status(
            StatusResponse::new(None, Status::Ok, "x").with_code(code),
        ))
    };
    assert_eq!(
        with(Code::UidValidity(3857529045)),
        "* OK [UIDVALIDITY 3857529045] x\r\n"
    );
    assert_eq!(with(Code::UidNext(4392)), "* OK [UIDNEXT 4392] x\r\n");
    assert_eq!(with(Code::Unseen(12)), "* OK [UNSEEN 12] x\r\n");
    assert_eq!(
        with(Code::HighestModSeq(715194045007)),
        "* OK [HIGHESTMODSEQ 715194045007] x\r\n"
    );
    assert_eq!(
        with(Code::PermanentFlags {
            flags: vec![Flag::Deleted, Flag::Seen],
            wildcard: true
        }),
        "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] x\r\n"
    );
    assert_eq!(
        with(Code::PermanentFlags {
            flags: vec![],
            wildcard: false
        }),
        "* OK [PERMANENTFLAGS ()] x\r\n"
    );
    assert_eq!(
        with(Code::CopyUid {
            uid_validity: 38505,
            source: set("304,319:320"),
            destination: set("3956:3958")
        }),
        "* OK [COPYUID 38505 304,319:320 3956:3958] x\r\n"
    );
    assert_eq!(
        with(Code::AppendUid {
            uid_validity: 38505,
            uids: set("3955")
        }),
        "* OK [APPENDUID 38505 3955] x\r\n"
    );
    assert_eq!(
        with(Code::BadCharset(vec![b("UTF-8"), b("US-ASCII")])),
        "* OK [BADCHARSET (UTF-8 US-ASCII)] x\r\n"
    );
    assert_eq!(with(Code::BadCharset(vec![])), "* OK [BADCHARSET] x\r\n");
    assert_eq!(
        with(Code::Capability(vec![b("IMAP4rev2"), b("IDLE")])),
        "* OK [CAPABILITY IMAP4rev2 IDLE] x\r\n"
    );
    assert_eq!(
        with(Code::Modified(set("7,9"))),
        "* OK [MODIFIED 7,9] x\r\n"
    );
    assert_eq!(
        with(Code::Other {
            name: b("X-FOO"),
            value: Some(b("a]b"))
        }),
        "* OK [X-FOO a b] x\r\n"
    );
    let simple = [
        (Code::Alert, "ALERT"),
        (Code::Parse, "PARSE"),
        (Code::ReadOnly, "READ-ONLY"),
        (Code::ReadWrite, "READ-WRITE"),
        (Code::TryCreate, "TRYCREATE"),
        (Code::UidNotSticky, "UIDNOTSTICKY"),
        (Code::NoModSeq, "NOMODSEQ"),
        (Code::Closed, "CLOSED"),
        (Code::TooBig, "TOOBIG"),
        (Code::OverQuota, "OVERQUOTA"),
        (Code::AlreadyExists, "ALREADYEXISTS"),
        (Code::Nonexistent, "NONEXISTENT"),
        (Code::AuthenticationFailed, "AUTHENTICATIONFAILED"),
        (Code::AuthorizationFailed, "AUTHORIZATIONFAILED"),
        (Code::Unavailable, "UNAVAILABLE"),
        (Code::PrivacyRequired, "PRIVACYREQUIRED"),
        (Code::ContactAdmin, "CONTACTADMIN"),
        (Code::NoPerm, "NOPERM"),
        (Code::InUse, "INUSE"),
        (Code::ExpungeIssued, "EXPUNGEISSUED"),
        (Code::Corruption, "CORRUPTION"),
        (Code::ServerBug, "SERVERBUG"),
        (Code::ClientBug, "CLIENTBUG"),
        (Code::Cannot, "CANNOT"),
        (Code::Limit, "LIMIT"),
        (Code::Expired, "EXPIRED"),
        (Code::HasChildren, "HASCHILDREN"),
        (Code::CompressionActive, "COMPRESSIONACTIVE"),
        (Code::UseAttr, "USEATTR"),
        (Code::NotSaved, "NOTSAVED"),
    ];
    for (code, name) in simple {
        assert_eq!(with(code), format!("* OK [{name}] x\r\n"));
    }
}

#[test]
fn continuations() {
    assert_eq!(
        wire(Response::Continue(Continuation::Text("Ready".into()))),
        "+ Ready\r\n"
    );
    assert_eq!(
        wire(Response::Continue(Continuation::Base64(vec![]))),
        "+ \r\n"
    );
    assert_eq!(
        wire(Response::Continue(Continuation::Base64(b"hello".to_vec()))),
        "+ aGVsbG8=\r\n"
    );
}

#[test]
fn mailbox_data() {
    assert_eq!(data(Data::Exists(23)), "* 23 EXISTS\r\n");
    assert_eq!(data(Data::Recent(5)), "* 5 RECENT\r\n");
    assert_eq!(data(Data::Expunge(3)), "* 3 EXPUNGE\r\n");
    assert_eq!(
        data(Data::Vanished {
            earlier: true,
            uids: set("41,43:116")
        }),
        "* VANISHED (EARLIER) 41,43:116\r\n"
    );
    assert_eq!(
        data(Data::Vanished {
            earlier: false,
            uids: set("405,407")
        }),
        "* VANISHED 405,407\r\n"
    );
    assert_eq!(
        data(Data::Flags(vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
            Flag::keyword("$Junk")
        ])),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
    );
    assert_eq!(
        data(Data::Capability(vec![b("IMAP4rev2"), b("STARTTLS")])),
        "* CAPABILITY IMAP4rev2 STARTTLS\r\n"
    );
    assert_eq!(
        data(Data::Enabled(vec![b("CONDSTORE")])),
        "* ENABLED CONDSTORE\r\n"
    );
    assert_eq!(data(Data::Enabled(vec![])), "* ENABLED\r\n");
    assert_eq!(data(Data::Id(None)), "* ID NIL\r\n");
    assert_eq!(
        data(Data::Id(Some(vec![
            (b("name"), Some(b("Pillarbox"))),
            (b("os"), None)
        ]))),
        "* ID (\"name\" \"Pillarbox\" \"os\" NIL)\r\n"
    );
    assert_eq!(
        data(Data::Namespace {
            personal: Some(vec![NamespaceDesc {
                prefix: b(""),
                delimiter: Some(b'/')
            }]),
            other: None,
            shared: Some(vec![NamespaceDesc {
                prefix: b("Public Folders\\"),
                delimiter: Some(b'\\')
            }]),
        }),
        "* NAMESPACE ((\"\" \"/\")) NIL ((\"Public Folders\\\\\" \"\\\\\"))\r\n"
    );
    assert_eq!(
        data(Data::Status {
            mailbox: Mailbox::from("blurdybloop"),
            items: vec![
                (StatusItem::Messages, Some(231)),
                (StatusItem::UidNext, Some(44292)),
                (StatusItem::AppendLimit, None)
            ],
        }),
        "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 APPENDLIMIT NIL)\r\n"
    );
    assert_eq!(
        data(Data::Quota {
            root: b(""),
            resources: vec![QuotaResource {
                name: b("STORAGE"),
                usage: 10,
                limit: 512
            }]
        }),
        "* QUOTA \"\" (STORAGE 10 512)\r\n"
    );
    assert_eq!(
        data(Data::QuotaRoot {
            mailbox: Mailbox::INBOX,
            roots: vec![b("")]
        }),
        "* QUOTAROOT INBOX \"\"\r\n"
    );
    assert_eq!(
        data(Data::QuotaRoot {
            mailbox: Mailbox::from("comp.mail.mime"),
            roots: vec![]
        }),
        "* QUOTAROOT comp.mail.mime\r\n"
    );
}

#[test]
fn list_data() {
    let item = |attributes, delimiter, name: &'static str| ListItem {
        attributes,
        delimiter,
        mailbox: Mailbox::from(name),
        child_info: vec![],
        old_name: None,
    };
    assert_eq!(
        data(Data::List(item(
            vec![MailboxAttr::NoSelect],
            Some(b'/'),
            "~/Mail/foo"
        ))),
        "* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n"
    );
    assert_eq!(
        data(Data::List(item(vec![], None, ""))),
        "* LIST () NIL \"\"\r\n"
    );
    assert_eq!(
        data(Data::Lsub(item(
            vec![
                MailboxAttr::HasNoChildren,
                MailboxAttr::SpecialUse(SpecialUse::Sent)
            ],
            Some(b'.'),
            "Sent Items"
        ))),
        "* LSUB (\\HasNoChildren \\Sent) \".\" \"Sent Items\"\r\n"
    );
    let mut foo = item(
        vec![MailboxAttr::Subscribed, MailboxAttr::NonExistent],
        Some(b'/'),
        "Foo",
    );
    foo.child_info = vec![b("SUBSCRIBED")];
    assert_eq!(
        data(Data::List(foo.clone())),
        "* LIST (\\Subscribed \\NonExistent) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
    );
    foo.old_name = Some(Mailbox::from("Bar"));
    assert_eq!(
        data(Data::List(foo)),
        "* LIST (\\Subscribed \\NonExistent) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (Bar))\r\n"
    );
    // A name that needs quoting or a literal.
    assert_eq!(
        data(Data::List(item(vec![], Some(b'/'), "a\"b"))),
        "* LIST () \"/\" \"a\\\"b\"\r\n"
    );
    assert_eq!(
        data(Data::List(item(vec![], Some(b'/'), "NIL"))),
        "* LIST () \"/\" \"NIL\"\r\n"
    );
}

#[test]
fn search_sort_thread_data() {
    assert_eq!(
        data(Data::Search {
            numbers: vec![2, 84, 882],
            modseq: None
        }),
        "* SEARCH 2 84 882\r\n"
    );
    assert_eq!(
        data(Data::Search {
            numbers: vec![],
            modseq: None
        }),
        "* SEARCH\r\n"
    );
    assert_eq!(
        data(Data::Search {
            numbers: vec![2, 5],
            modseq: Some(917162500)
        }),
        "* SEARCH 2 5 (MODSEQ 917162500)\r\n"
    );
    assert_eq!(
        data(Data::Sort {
            numbers: vec![5, 3, 4],
            modseq: None
        }),
        "* SORT 5 3 4\r\n"
    );
    assert_eq!(
        data(Data::ESearch {
            tag: Some(Tag::from("A282")),
            uid: false,
            items: vec![ESearchItem::Min(2), ESearchItem::Count(3)]
        }),
        "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"
    );
    assert_eq!(
        data(Data::ESearch {
            tag: Some(Tag::from("A283")),
            uid: true,
            items: vec![
                ESearchItem::All(set("3:5,7")),
                ESearchItem::Max(7),
                ESearchItem::ModSeq(9)
            ],
        }),
        "* ESEARCH (TAG \"A283\") UID ALL 3:5,7 MAX 7 MODSEQ 9\r\n"
    );
    assert_eq!(
        data(Data::ESearch {
            tag: None,
            uid: false,
            items: vec![]
        }),
        "* ESEARCH\r\n"
    );
    // RFC 5256 §4: (2)(3 6 (4 23)(44 7 96))
    let leaf = |n| ThreadNode {
        message: Some(n),
        children: vec![],
    };
    let node = |n, children| ThreadNode {
        message: Some(n),
        children,
    };
    let threads = vec![
        leaf(2),
        node(
            3,
            vec![node(
                6,
                vec![
                    node(4, vec![leaf(23)]),
                    node(44, vec![node(7, vec![leaf(96)])]),
                ],
            )],
        ),
    ];
    assert_eq!(
        data(Data::Thread(threads)),
        "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
    );
    // A dummy parent at the root: ((3)(5)).
    let dummy = ThreadNode {
        message: None,
        children: vec![leaf(3), leaf(5)],
    };
    assert_eq!(data(Data::Thread(vec![dummy])), "* THREAD ((3)(5))\r\n");
    assert_eq!(data(Data::Thread(vec![])), "* THREAD\r\n");
}

#[test]
fn fetch_data() {
    let date = DateTime::parse(b"17-Jul-1996 02:44:25 -0700").unwrap();
    let section = Section {
        part: vec![],
        text: Some(SectionText::HeaderFields(vec![b("From"), b("Subject")])),
    };
    assert_eq!(
        data(Data::Fetch {
            seq: 12,
            items: vec![
                FetchItem::Flags(vec![Flag::Seen]),
                FetchItem::Uid(4827313),
                FetchItem::InternalDate(date),
                FetchItem::Rfc822Size(44827),
                FetchItem::ModSeq(12121231000),
                FetchItem::Envelope(PreRendered(b("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"))),
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: None,
                    data: Some(b("From: a\r\n\r\n"))
                },
                FetchItem::BodySection {
                    section: Section::default(),
                    origin: Some(0),
                    data: None
                },
            ],
        }),
        "* 12 FETCH (FLAGS (\\Seen) UID 4827313 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 44827 \
         MODSEQ (12121231000) ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) \
         BODY[HEADER.FIELDS (From Subject)] {11}\r\nFrom: a\r\n\r\n BODY[]<0> NIL)\r\n"
    );
    assert_eq!(
        data(Data::Fetch {
            seq: 1,
            items: vec![
                FetchItem::Binary {
                    part: vec![1, 2],
                    origin: None,
                    data: Some(b("a\0b"))
                },
                FetchItem::Binary {
                    part: vec![],
                    origin: Some(5),
                    data: Some(b("ab"))
                },
                FetchItem::BinarySize {
                    part: vec![3],
                    size: 77
                },
                FetchItem::Rfc822(Some(b("x"))),
                FetchItem::Rfc822Header(None),
                FetchItem::Rfc822Text(Some(b(""))),
                FetchItem::Body(PreRendered(b(
                    "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1)"
                ))),
                FetchItem::BodyStructure(PreRendered(b("(...)"))),
            ],
        }),
        "* 1 FETCH (BINARY[1.2] ~{3}\r\na\0b BINARY[]<5> {2}\r\nab BINARY.SIZE[3] 77 RFC822 {1}\r\nx \
         RFC822.HEADER NIL RFC822.TEXT {0}\r\n BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) BODYSTRUCTURE (...))\r\n"
    );
}

#[test]
fn fetch_writer_streams_sections() {
    let opts = EncodeOptions::default();
    let mut out = Vec::new();
    let section = Section {
        part: vec![1, 2],
        text: Some(SectionText::Mime),
    };
    let mut w = FetchWriter::begin(&mut out, 7);
    w.item(&mut out, &FetchItem::Uid(9), opts);
    w.streamed(
        &mut out,
        StreamedItem::BodySection {
            section: &section,
            origin: Some(100),
        },
        b"abcd",
    );
    w.streamed(
        &mut out,
        StreamedItem::Binary {
            part: &[3],
            origin: None,
        },
        b"\0\0",
    );
    w.streamed(&mut out, StreamedItem::Rfc822Header, b"");
    w.streamed(&mut out, StreamedItem::Rfc822Text, b"");
    w.streamed(&mut out, StreamedItem::Rfc822, b"");
    w.end(&mut out);
    assert_eq!(
        out,
        b"* 7 FETCH (UID 9 BODY[1.2.MIME]<100> {4}\r\nabcd BINARY[3] ~{2}\r\n\0\0 RFC822.HEADER {0}\r\n RFC822.TEXT {0}\r\n RFC822 {0}\r\n)\r\n"
    );
}

#[test]
fn nul_goes_out_only_in_binary_literal8() {
    // RFC 9051 §4.3: a literal (`{n}`) must not hold NUL; RFC 3516 §4.2: only BINARY
    // data may be a literal8 (`~{n}`). Elsewhere a NUL becomes 0x80, one octet for
    // one, so sizes and partial offsets stay true.
    let opts = EncodeOptions::default();
    let section = Section {
        part: vec![1],
        text: None,
    };
    let mut out = Vec::new();
    let mut w = FetchWriter::begin(&mut out, 1);
    w.streamed(
        &mut out,
        StreamedItem::BodySection {
            section: &section,
            origin: None,
        },
        b"a\0b",
    );
    w.streamed(&mut out, StreamedItem::Rfc822Text, b"\0");
    w.streamed(
        &mut out,
        StreamedItem::Binary {
            part: &[1],
            origin: None,
        },
        b"a\0b",
    );
    w.streamed(
        &mut out,
        StreamedItem::Binary {
            part: &[2],
            origin: None,
        },
        b"ab",
    );
    w.end(&mut out);
    assert_eq!(
        out,
        b"* 1 FETCH (BODY[1] {3}\r\na\x80b RFC822.TEXT {1}\r\n\x80 BINARY[1] ~{3}\r\na\0b BINARY[2] {2}\r\nab)\r\n"
    );
    let mut rendered = Vec::new();
    Response::Data(Data::Fetch {
        seq: 2,
        items: vec![
            FetchItem::BodySection {
                section: section.clone(),
                origin: None,
                data: Some(b("x\0")),
            },
            FetchItem::Rfc822(Some(b("\0"))),
        ],
    })
    .encode(&mut rendered, opts);
    assert_eq!(
        rendered,
        b"* 2 FETCH (BODY[1] {2}\r\nx\x80 RFC822 {1}\r\n\x80)\r\n"
    );
    let mut s = Vec::new();
    write_string(&mut s, b"nul\0", opts);
    assert_eq!(s, b"{4}\r\nnul\x80");
}

#[test]
fn string_forms() {
    let s = |x: &[u8], utf8: bool| {
        let mut out = Vec::new();
        write_string(
            &mut out,
            x,
            EncodeOptions {
                utf8,
                ..Default::default()
            },
        );
        out
    };
    let a = |x: &[u8]| {
        let mut out = Vec::new();
        write_astring(&mut out, x, EncodeOptions::default());
        out
    };
    let n = |x: Option<&[u8]>| {
        let mut out = Vec::new();
        write_nstring(&mut out, x, EncodeOptions::default());
        out
    };
    assert_eq!(s(b"", false), b"\"\"");
    assert_eq!(s(b"a \"q\" \\", false), b"\"a \\\"q\\\" \\\\\"");
    assert_eq!(s(b"two\r\nlines", false), b"{10}\r\ntwo\r\nlines");
    assert_eq!(s("grüße".as_bytes(), false), "{7}\r\ngrüße".as_bytes());
    assert_eq!(s("grüße".as_bytes(), true), "\"grüße\"".as_bytes());
    assert_eq!(s(b"\xff\xfe", true), b"{2}\r\n\xff\xfe");
    assert_eq!(s(b"nul\0", false), b"{4}\r\nnul\x80");
    let long = vec![b'a'; 2000];
    assert!(s(&long, false).starts_with(b"{2000}\r\n"));
    assert_eq!(a(b"INBOX"), b"INBOX");
    assert_eq!(a(b"a]b"), b"a]b");
    assert_eq!(a(b"nil"), b"\"nil\"");
    assert_eq!(a(b"a b"), b"\"a b\"");
    assert_eq!(a(b"a%"), b"\"a%\"");
    assert_eq!(a(b""), b"\"\"");
    assert_eq!(n(None), b"NIL");
    assert_eq!(n(Some(b"NIL")), b"\"NIL\"");
    let mut out = Vec::new();
    write_literal_header(&mut out, 42, false);
    assert_eq!(out, b"{42}\r\n");
}

#[test]
fn sequence_set_compression() {
    let w = |s: SequenceSet| s.to_string();
    assert_eq!(
        w(SequenceSet::compress([1, 2, 3, 4, 5, 7]).unwrap()),
        "1:5,7"
    );
    assert_eq!(
        w(SequenceSet::compress([1, 1, 2, 9, 10, 12]).unwrap()),
        "1:2,9:10,12"
    );
    assert_eq!(
        w(SequenceSet::from_unsorted(vec![9, 3, 1, 2, 3]).unwrap()),
        "1:3,9"
    );
    assert!(SequenceSet::compress([]).is_none());
    assert_eq!(
        w(SequenceSet::compress([u32::MAX - 1, u32::MAX]).unwrap()),
        "4294967294:4294967295"
    );
    assert_eq!(w(SequenceSet::Saved), "$");
    assert_eq!(w(SequenceSet::range(SeqNum::Value(5), SeqNum::Star)), "5:*");
    assert_eq!(w(SequenceSet::single(3)), "3");
    let s = set("5:2,9,*");
    assert!(s.contains(3, 20) && s.contains(20, 20) && !s.contains(6, 20));
    assert_eq!(
        s.bounds(20).collect::<Vec<_>>(),
        vec![(2, 5), (9, 9), (20, 20)]
    );
    assert!(s.has_star() && !s.is_saved());
    assert!(!SequenceSet::Saved.contains(1, 1));
}

#[test]
fn dates() {
    let d = DateTime::parse(b" 1-Feb-1994 21:52:25 -0800").unwrap();
    assert_eq!(d.unix_timestamp(), 760168345);
    assert_eq!(DateTime::from_unix(760168345, -480), Some(d));
    let mut out = Vec::new();
    d.write(&mut out);
    assert_eq!(out, b"\" 1-Feb-1994 21:52:25 -0800\"");
    assert_eq!(Date::parse(b"29-Feb-2023"), None);
    assert_eq!(Date::parse(b"29-feb-2024"), Date::new(2024, 2, 29));
    assert_eq!(Date::new(1970, 1, 2).unwrap().days_since_epoch(), 1);
    assert_eq!(DateTime::parse(b"1-Jan-2020 10:00:00 +0060"), None);
    assert_eq!(DateTime::parse(b"1-Jan-2020 10:00 +0000"), None);
}

proptest! {
    /// Any string without NUL, written as an astring, parses back to itself.
    #[test]
    fn astring_round_trip(s in proptest::collection::vec(1u8..=255, 0..200), utf8 in any::<bool>()) {
        let mut line = b"r1 LOGIN ".to_vec();
        write_astring(&mut line, &s, EncodeOptions {
            utf8,
            ..Default::default()
        });
        line.extend_from_slice(b" pw\r\n");
        let (out, _) = common::run(&line, FramerConfig::default());
        let [common::Outcome::Parsed(cmd)] = out.as_slice() else {
            panic!("{line:?} -> {out:?}");
        };
        let CommandBody::Login(login) = &cmd.body else { panic!() };
        prop_assert_eq!(&login.username[..], &s[..]);
    }

    /// A compressed set written out parses back to a set with the same members.
    #[test]
    fn sequence_set_round_trip(mut numbers in proptest::collection::vec(1u32..200, 1..50)) {
        numbers.sort_unstable();
        numbers.dedup();
        let s = SequenceSet::compress(numbers.iter().copied()).unwrap();
        let parsed = SequenceSet::parse(s.to_string().as_bytes()).unwrap();
        let members: Vec<u32> = (1..200).filter(|&n| parsed.contains(n, 200)).collect();
        prop_assert_eq!(members, numbers);
    }

    /// INTERNALDATE as written parses back (APPEND takes the same syntax).
    #[test]
    fn date_time_round_trip(ts in 0i64..4_000_000_000, zone in -720i16..=840) {
        let d = DateTime::from_unix(ts, zone).unwrap();
        let mut out = Vec::new();
        d.write(&mut out);
        let inner = &out[1..out.len() - 1];
        prop_assert_eq!(DateTime::parse(inner), Some(d));
        prop_assert_eq!(d.unix_timestamp(), ts);
    }

    /// A section written in a FETCH response parses back as the same section.
    #[test]
    fn section_round_trip(part in proptest::collection::vec(1u32..50, 0..4), kind in 0u8..6, names in proptest::collection::vec("[A-Za-z-]{1,10}", 1..4)) {
        let names: Vec<Bytes> = names.into_iter().map(Bytes::from).collect();
        let text = match kind {
            0 => None,
            1 => Some(SectionText::Header),
            2 => Some(SectionText::Text),
            3 if !part.is_empty() => Some(SectionText::Mime),
            4 => Some(SectionText::HeaderFields(names)),
            5 => Some(SectionText::HeaderFieldsNot(names)),
            _ => None,
        };
        let section = Section { part, text };
        let mut line = b"f1 FETCH 1 BODY.PEEK".to_vec();
        section.write(&mut line, EncodeOptions::default());
        line.extend_from_slice(b"\r\n");
        let (out, _) = common::run(&line, FramerConfig::default());
        let [common::Outcome::Parsed(cmd)] = out.as_slice() else { panic!("{out:?}") };
        let CommandBody::Fetch(f) = &cmd.body else { panic!() };
        prop_assert_eq!(&f.attrs, &FetchAttrs::List(vec![FetchAttr::BodySection { peek: true, section, partial: None }]));
    }
}
