//! Table tests for the threading algorithms, compared in wire form.

use super::*;
use crate::proto::{Data, EncodeOptions, Response};

fn msg(id: u32, date: i64, message_id: &str, refs: &[&str], subject: &str) -> ThreadMessage {
    let base = pillarbox_mime::base_subject(subject.as_bytes());
    ThreadMessage {
        id,
        seq: id,
        date,
        message_id: (!message_id.is_empty()).then(|| message_id.to_string()),
        references: refs.iter().map(|r| r.to_string()).collect(),
        is_reply: base.len() != subject.trim().len(),
        base_subject: base,
    }
}

fn wire(threads: Vec<ThreadNode>) -> String {
    let mut out = Vec::new();
    Response::Data(Data::Thread(threads)).encode(&mut out, EncodeOptions::default());
    String::from_utf8(out).unwrap().trim_end().to_string()
}

#[test]
fn ordered_subject_table() {
    let cases: Vec<(Vec<ThreadMessage>, &str)> = vec![
        (
            vec![
                msg(1, 10, "", &[], "A"),
                msg(2, 20, "", &[], "B"),
                msg(3, 30, "", &[], "Re: A"),
                msg(4, 5, "", &[], "a"),
            ],
            "* THREAD (4 (1)(3))(2)",
        ),
        (
            vec![msg(1, 10, "", &[], "x"), msg(2, 10, "", &[], "Re: x")],
            "* THREAD (1 2)",
        ),
        (vec![], "* THREAD"),
    ];
    for (msgs, expected) in cases {
        assert_eq!(wire(ordered_subject(msgs)), expected);
    }
}

#[test]
fn references_table() {
    let cases: Vec<(Vec<ThreadMessage>, &str)> = vec![
        (
            vec![
                msg(1, 1, "a", &[], "hello"),
                msg(2, 2, "b", &["a"], "Re: hello"),
                msg(3, 3, "c", &["a", "b"], "Re: hello"),
                msg(4, 4, "d", &["x"], "other"),
                msg(5, 5, "e", &["x"], "Re: other"),
                msg(6, 6, "f", &[], "Re: hello"),
            ],
            "* THREAD (1 (2 3)(6))((4)(5))",
        ),
        (
            // A reference loop is not followed.
            vec![msg(1, 1, "a", &["b"], "s1"), msg(2, 2, "b", &["a"], "s2")],
            "* THREAD (2 1)",
        ),
        (
            // RFC 5256 §3 step 1B: message 3 was made a child of 1 by message 2's
            // References (1, 3); its own References name 2 as its parent, which
            // would make a loop. The old link to 1 is broken all the same, so 1
            // stands alone rather than above 3.
            vec![
                msg(1, 3, "1", &[], "x1"),
                msg(2, 2, "2", &["1", "3"], "x2"),
                msg(3, 1, "3", &["2"], "x3"),
            ],
            "* THREAD (3 2)(1)",
        ),
        (
            // Step 1B: a parent known from a truncated References is replaced by
            // the message's own last reference.
            vec![
                msg(1, 1, "a", &[], "p"),
                msg(2, 2, "b", &[], "q"),
                msg(3, 3, "x", &["a", "c"], "r"),
                msg(4, 4, "c", &["b"], "s"),
            ],
            "* THREAD (1)(2 4 3)",
        ),
        (
            // Duplicate Message-IDs: the second gets a unique one.
            vec![
                msg(1, 1, "a", &[], "p"),
                msg(2, 2, "a", &[], "q"),
                msg(3, 3, "c", &["a"], "r"),
            ],
            "* THREAD (1 3)(2)",
        ),
        (
            // Two non-replies with one subject are grouped under a dummy.
            vec![msg(1, 1, "a", &[], "same"), msg(2, 2, "b", &[], "same")],
            "* THREAD ((1)(2))",
        ),
        (
            // Children are sorted by date, a missing parent collapses when single.
            vec![
                msg(1, 9, "k1", &["root"], "t1"),
                msg(2, 1, "k2", &["k1"], "t2"),
                msg(3, 5, "k3", &["k1"], "t3"),
            ],
            "* THREAD (1 (2)(3))",
        ),
    ];
    for (msgs, expected) in cases {
        assert_eq!(wire(references(&msgs)), expected);
    }
}
