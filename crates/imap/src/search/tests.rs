//! Table tests for criteria evaluation.

use super::*;
use crate::proto::{Date, SearchKey as K};
use bytes::Bytes;
use pillarbox_store::MessageId;

fn entry(uid: u32, flags: u32, keywords: &str, size: u64, date: i64, modseq: u64) -> ViewEntry {
    ViewEntry {
        uid,
        message: MessageId(i64::from(uid)),
        flags,
        keywords: keywords.into(),
        modseq,
        internal_date: date,
        saved_at: None,
        size,
        blob: [0; 32],
        expunged: false,
    }
}

fn loaded(raw: &str) -> Loaded {
    Loaded {
        structure: pillarbox_mime::parse(raw.as_bytes()).into(),
        raw: raw.as_bytes().to_vec().into(),
    }
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn set(s: &str) -> SequenceSet {
    SequenceSet::parse(s.as_bytes()).unwrap()
}

const DAY: i64 = 86_400;

#[test]
fn criteria_table() {
    // 2000-01-10 is day 10966.
    let jan10 = 10_966 * DAY + 3600;
    let e = entry(7, flags::SEEN | flags::FLAGGED, "$Work", 2000, jan10, 42);
    let msg = loaded(
        "From: Alice <alice@x.test>\r\nTo: bob@y.test\r\nSubject: =?iso-8859-1?q?caf=E9?= plans\r\nDate: Sun, 9 Jan 2000 23:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nLet's meet at the caf=C3=A9.\r\n",
    );
    let ctx = Context {
        exists: 10,
        largest_uid: 30,
        saved: &[7, 9],
        now: jan10 + 100,
    };
    let c = Candidate::new(3, &e, true, Some(&msg));
    let d = |y, m, dd| Date::new(y, m, dd).unwrap();
    let cases: Vec<(SearchKey, bool)> = vec![
        (K::All, true),
        (K::Seen, true),
        (K::Unseen, false),
        (K::Flagged, true),
        (K::Deleted, false),
        (K::Undeleted, true),
        (K::Recent, true),
        (K::New, false),
        (K::Old, false),
        (K::Keyword(b("$work")), true),
        (K::Unkeyword(b("$Work")), false),
        (K::Larger(1999), true),
        (K::Smaller(2000), false),
        (K::On(d(2000, 1, 10)), true),
        (K::Before(d(2000, 1, 10)), false),
        (K::Since(d(2000, 1, 10)), true),
        (K::SentOn(d(2000, 1, 9)), true),
        (K::SentBefore(d(2000, 1, 9)), false),
        (K::SentSince(d(2000, 1, 10)), false),
        (K::Younger(200), true),
        (K::Older(200), false),
        (K::Uid(set("5:8")), true),
        (K::Uid(set("31:*")), false),
        (K::SequenceSet(set("3")), true),
        (K::SequenceSet(set("*")), false),
        (K::SequenceSet(SequenceSet::Saved), true),
        (
            K::ModSeq {
                entry: None,
                modseq: 42,
            },
            true,
        ),
        (
            K::ModSeq {
                entry: None,
                modseq: 43,
            },
            false,
        ),
        (K::From(b("ALICE")), true),
        (K::To(b("bob@")), true),
        (K::Cc(b("")), false),
        (K::Subject(b("CAFÉ")), true),
        (K::Header(b("date"), b("2000")), true),
        (K::Body(b("café")), true),
        (K::Body(b("plans")), false),
        (K::Text(b("plans")), true),
        (K::Not(Box::new(K::Seen)), false),
        (K::Or(Box::new(K::Deleted), Box::new(K::Flagged)), true),
        (K::And(vec![K::Seen, K::Subject(b("plans"))]), true),
    ];
    for (key, expected) in cases {
        let q = compile(&key, None).unwrap();
        assert_eq!(eval(&q, &c, &ctx), Some(expected), "{key:?}");
    }
}

#[test]
fn three_valued_first_pass() {
    let e = entry(1, 0, "", 10, 0, 1);
    let ctx = Context {
        exists: 1,
        largest_uid: 1,
        saved: &[],
        now: 0,
    };
    let c = Candidate::new(1, &e, false, None);
    let unknown = compile(&K::Subject(b("x")), None).unwrap();
    assert_eq!(eval(&unknown, &c, &ctx), None);
    let and = compile(&K::And(vec![K::Seen, K::Subject(b("x"))]), None).unwrap();
    assert_eq!(eval(&and, &c, &ctx), Some(false));
    let or = compile(&K::Or(Box::new(K::Unseen), Box::new(K::Body(b("x")))), None).unwrap();
    assert_eq!(eval(&or, &c, &ctx), Some(true));
    assert_eq!(and.needs(), Raw::Header);
    assert_eq!(or.needs(), Raw::Whole);
    assert_eq!(compile(&K::Seen, None).unwrap().needs(), Raw::None);
}

#[test]
fn charsets() {
    let q = compile(
        &K::Subject(Bytes::from_static(b"caf\xe9")),
        Some(b"ISO-8859-1"),
    )
    .unwrap();
    let e = entry(1, 0, "", 10, 0, 1);
    let msg = loaded("Subject: Café\r\n\r\n");
    let ctx = Context {
        exists: 1,
        largest_uid: 1,
        saved: &[],
        now: 0,
    };
    assert_eq!(
        eval(&q, &Candidate::new(1, &e, false, Some(&msg)), &ctx),
        Some(true)
    );
    assert_eq!(compile(&K::All, Some(b"x-klingon")).err(), Some(BadCharset));
}
