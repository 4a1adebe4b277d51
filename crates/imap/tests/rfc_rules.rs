//! Session transcripts pinning RFC rules the server once got wrong: each test states
//! the rule (with its section) and drives a session over the in-memory duplex against
//! a real store. `\Recent` across sessions, NUL octets in FETCH, `~` in LIST
//! patterns, ESEARCH MIN/MAX with MODSEQ, RECURSIVEMATCH, address and sent-date
//! SEARCH keys, SORT on groups, THREAD REFERENCES step 1B and SUBSCRIBE of a missing
//! mailbox.

mod harness;

use harness::Harness;

/// Appends `raw` to INBOX through `c` (a synchronizing-free LITERAL+).
async fn append(c: &mut harness::Client, tag: &str, raw: &str) {
    c.send(&format!(
        "{tag} APPEND INBOX {{{}+}}\r\n{raw}\r\n",
        raw.len()
    ))
    .await;
    let r = c.until(tag).await;
    assert!(r.last().unwrap().starts_with(&format!("{tag} OK")), "{r:?}");
}

/// The one untagged line of `r` starting with `prefix`.
fn one<'a>(r: &'a [String], prefix: &str) -> &'a str {
    let found: Vec<&String> = r.iter().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "{prefix}: {r:?}");
    found[0]
}

#[tokio::test]
async fn list_pattern_may_start_with_a_tilde() {
    // RFC 9051 §9: `list-mailbox = 1*list-char / string`, and `~` is an ATOM-CHAR,
    // so `~foo` is a pattern, not the start of a literal8 (`~{n}`).
    let h = Harness::new().await;
    let mut c = h.login().await;
    assert!(
        c.cmd("a CREATE ~foo")
            .await
            .last()
            .unwrap()
            .starts_with("a OK")
    );
    let r = c.cmd("b LIST \"\" ~foo").await;
    assert_eq!(
        r,
        ["* LIST (\\HasNoChildren) \"/\" ~foo", "b OK LIST completed"]
    );
    let r = c.cmd("c LIST \"\" ~f%").await;
    assert_eq!(r.len(), 2, "{r:?}");
    let r = c.cmd("d LSUB \"\" ~foo").await;
    assert_eq!(r, ["d OK completed"]);
}

#[tokio::test]
async fn esearch_min_or_max_reports_that_messages_modseq() {
    // RFC 7162 §3.1.5 with RFC 4731: the MODSEQ of an ESEARCH answer is the highest
    // mod-sequence of the messages it returns; MIN (or MAX) alone returns one.
    let h = Harness::new().await;
    for i in 1..=4 {
        h.deliver(format!("Subject: m{i}\r\n\r\nx\r\n").as_bytes())
            .await;
    }
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX (CONDSTORE)").await;
    // Change the messages in the order 1, 3, 2: 2 ends with the highest MODSEQ.
    let mut modseq = [0u64; 4];
    for i in [1usize, 3, 2] {
        let r = c.cmd(&format!("t{i} STORE {i} +FLAGS (\\Seen)")).await;
        let line = one(&r, "* ");
        let m = line.split("MODSEQ (").nth(1).unwrap();
        modseq[i - 1] = m.trim_end_matches("))").parse().unwrap();
    }
    let esearch = |r: &[String]| one(r, "* ESEARCH").split(") ").nth(1).unwrap().to_string();
    let r = c.cmd("a SEARCH RETURN (MIN) 1:3 MODSEQ 1").await;
    assert_eq!(esearch(&r), format!("MIN 1 MODSEQ {}", modseq[0]));
    let r = c.cmd("b SEARCH RETURN (MAX) 1:3 MODSEQ 1").await;
    assert_eq!(esearch(&r), format!("MAX 3 MODSEQ {}", modseq[2]));
    let r = c.cmd("c SEARCH RETURN (MIN MAX) 1:3 MODSEQ 1").await;
    assert_eq!(esearch(&r), format!("MIN 1 MAX 3 MODSEQ {}", modseq[2]));
    let r = c.cmd("d SEARCH RETURN (COUNT) 1:3 MODSEQ 1").await;
    assert_eq!(esearch(&r), format!("COUNT 3 MODSEQ {}", modseq[1]));
    let r = c.cmd("e SEARCH RETURN () 1:3 MODSEQ 1").await;
    assert_eq!(esearch(&r), format!("ALL 1:3 MODSEQ {}", modseq[1]));
    // SORT with MODSEQ reports the highest mod-sequence too (RFC 7162 §3.1.5).
    let r = c.cmd("f SORT (ARRIVAL) UTF-8 1:3 MODSEQ 1").await;
    assert_eq!(
        one(&r, "* SORT"),
        format!("* SORT 1 2 3 (MODSEQ {})", modseq[1])
    );
}

#[tokio::test]
async fn recursivematch_omits_childinfo_for_children_listed_themselves() {
    // RFC 5258 §3.5: CHILDINFO tells of descendants that satisfy the selection but are
    // not returned; a subscribed child matched by another pattern of the same command
    // is returned on its own, so its parent gets no CHILDINFO for it.
    let h = Harness::new().await;
    let mut c = h.login().await;
    for m in ["p/a", "p/b", "q/a"] {
        c.cmd(&format!("c CREATE {m}")).await;
    }
    for m in ["p/a", "p/b", "q/a"] {
        c.cmd(&format!("s SUBSCRIBE {m}")).await;
    }
    // q is not subscribed and its only subscribed child is listed: q is left out.
    let r = c
        .cmd("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (p q q/a)")
        .await;
    assert_eq!(
        r,
        [
            "* LIST (\\HasChildren) \"/\" p (\"CHILDINFO\" (\"SUBSCRIBED\"))",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" q/a",
            "a OK LIST completed"
        ]
    );
    // With only `q`, q/a is not returned: q carries the CHILDINFO.
    let r = c.cmd("b LIST (SUBSCRIBED RECURSIVEMATCH) \"\" q").await;
    assert_eq!(
        r,
        [
            "* LIST (\\HasChildren) \"/\" q (\"CHILDINFO\" (\"SUBSCRIBED\"))",
            "b OK LIST completed"
        ]
    );
}

#[tokio::test]
async fn address_keys_match_the_parsed_address() {
    // RFC 9051 §6.4.4 FROM/TO/CC/BCC: the string is looked for in the address
    // (envelope) field, so comments and spaces inside the address do not hide it.
    let h = Harness::new().await;
    h.deliver(b"From: <user (comment)@ (comment) domain.org>\r\nTo: grp: a@x.test, b@y.test;\r\n\r\nx\r\n")
        .await;
    h.deliver(b"From: Real Name <other@domain.org>\r\nCc: user@domain.org (Someone)\r\n\r\nx\r\n")
        .await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    let cases = [
        ("FROM user@domain.org", "* SEARCH 1"),
        ("FROM \"real name\"", "* SEARCH 2"),
        ("CC user@domain.org", "* SEARCH 2"),
        ("CC someone", "* SEARCH 2"),
        ("TO grp", "* SEARCH 1"),
        ("TO b@y.test", "* SEARCH 1"),
        ("BCC x", "* SEARCH"),
        ("HEADER FROM \"(comment)\"", "* SEARCH 1"),
    ];
    for (i, (key, expected)) in cases.iter().enumerate() {
        let r = c.cmd(&format!("q{i} SEARCH {key}")).await;
        assert_eq!(r[0], *expected, "{key}");
    }
}

#[tokio::test]
async fn sent_dates_compare_the_date_as_written() {
    // RFC 9051 §6.4.4 SENTBEFORE/SENTON/SENTSINCE: the Date header's date part,
    // disregarding its time and timezone (no conversion to UTC first).
    let h = Harness::new().await;
    h.deliver(b"Date: Sat, 2 Jan 2021 01:00:00 +0200\r\n\r\nx\r\n")
        .await; // 1 January in UTC
    h.deliver(b"Date: Sat, 2 Jan 2021 22:00:00 -0500\r\n\r\nx\r\n")
        .await; // 3 January in UTC
    h.deliver(b"Subject: no date\r\n\r\nx\r\n").await; // internal date: 14 Nov 2023
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    let cases = [
        ("SENTON 2-Jan-2021", "* SEARCH 1 2"),
        ("SENTBEFORE 2-Jan-2021", "* SEARCH"),
        ("SENTSINCE 3-Jan-2021", "* SEARCH 3"),
        ("SENTON 14-Nov-2023", "* SEARCH 3"),
    ];
    for (i, (key, expected)) in cases.iter().enumerate() {
        let r = c.cmd(&format!("q{i} SEARCH {key}")).await;
        assert_eq!(r[0], *expected, "{key}");
    }
}

#[tokio::test]
async fn sort_keys_of_groups_are_group_names() {
    // RFC 5256 §3 CC: the addr-mailbox of the first Cc address, for a group its name;
    // RFC 5957 §3 DISPLAYTO: a group without display name sorts by its name.
    let h = Harness::new().await;
    h.deliver(b"To: mid@x.test\r\nCc: carl@x.test\r\n\r\nx\r\n")
        .await;
    h.deliver(b"To: empty:;\r\nCc: user2: blah@domain1.org;\r\n\r\nx\r\n")
        .await;
    h.deliver(b"To: Zoe <a@x.test>\r\nCc: zack@x.test\r\n\r\nx\r\n")
        .await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    let r = c.cmd("a SORT (CC) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 1 2 3");
    let r = c.cmd("b SORT (DISPLAYTO) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 2 1 3");
    let r = c.cmd("c SORT (REVERSE TO) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 1 2 3");
}

#[tokio::test]
async fn thread_references_breaks_the_old_parent_first() {
    // RFC 5256 §3 step 1B: "If the current message already has a parent, ... break
    // the current parent/child link before creating the new correct one", and no
    // link that would make a loop.
    let h = Harness::new().await;
    h.deliver(b"Message-ID: <1@x>\r\nDate: 3 Jan 2021 00:00 +0000\r\nSubject: a\r\n\r\nx\r\n")
        .await;
    h.deliver(b"Message-ID: <2@x>\r\nReferences: <1@x> <3@x>\r\nDate: 2 Jan 2021 00:00 +0000\r\nSubject: b\r\n\r\nx\r\n")
        .await;
    h.deliver(b"Message-ID: <3@x>\r\nReferences: <2@x>\r\nDate: 1 Jan 2021 00:00 +0000\r\nSubject: c\r\n\r\nx\r\n")
        .await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    let r = c.cmd("a THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(r[0], "* THREAD (3 2)(1)");
}

#[tokio::test]
async fn subscribe_refuses_a_missing_mailbox() {
    // RFC 9051 §6.3.7 allows refusing; clients expect NO [NONEXISTENT] (Dovecot's
    // answer). UNSUBSCRIBE still removes a subscription whose mailbox is gone.
    let h = Harness::new().await;
    let mut c = h.login().await;
    let r = c.cmd("a SUBSCRIBE nothere").await;
    assert_eq!(r, ["a NO [NONEXISTENT] No such mailbox"]);
    c.cmd("b CREATE gone/child").await;
    assert_eq!(c.cmd("c SUBSCRIBE gone").await, ["c OK completed"]);
    c.cmd("d DELETE gone/child").await;
    c.cmd("e DELETE gone").await;
    let r = c.cmd("f LSUB \"\" g*").await;
    assert_eq!(r, ["* LSUB (\\Noselect) \"/\" gone", "f OK completed"]);
    assert_eq!(c.cmd("g UNSUBSCRIBE gone").await, ["g OK completed"]);
    assert_eq!(c.cmd("h LSUB \"\" g*").await, ["h OK completed"]);
    append(&mut c, "i", "Subject: x\r\n\r\ny").await;
}

#[tokio::test]
async fn nul_octets_never_go_out_in_a_plain_literal() {
    // RFC 9051 §4.3: NUL is not allowed in a literal; RFC 3516 §4.2: BINARY data may
    // come as literal8 (`~{n}`), which may hold it. BODY[] keeps the part's transfer
    // encoding and replaces NUL (0x80, as Dovecot does): same length, no NUL.
    let h = Harness::new().await;
    h.deliver(
        b"Subject: nul\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\
a\0b\r\n--b--\r\n",
    )
    .await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    let r = c.raw_cmd("a FETCH 1 BODY.PEEK[1]").await;
    assert!(
        r.starts_with(b"* 1 FETCH (BODY[1] {3}\r\na\x80b)\r\n"),
        "{r:?}"
    );
    let r = c.raw_cmd("b FETCH 1 BINARY.PEEK[1]").await;
    assert!(
        r.starts_with(b"* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n"),
        "{r:?}"
    );
    for (tag, attr) in [
        ("c", "RFC822.TEXT"),
        ("d", "BODY.PEEK[]"),
        ("e", "BODY.PEEK[1]<1.1>"),
    ] {
        let r = c.raw_cmd(&format!("{tag} FETCH 1 {attr}")).await;
        assert!(!r.contains(&0), "{attr}: {r:?}");
        assert!(!r.windows(2).any(|w| w == b"~{"), "{attr}: {r:?}");
    }
    let r = c.raw_cmd("f FETCH 1 BODY.PEEK[1]<1.1>").await;
    assert!(
        r.starts_with(b"* 1 FETCH (BODY[1]<1> {1}\r\n\x80)\r\n"),
        "{r:?}"
    );
}

/// The UIDs a session shows with `\Recent`.
async fn recent_uids(c: &mut harness::Client, tag: &str) -> Vec<u32> {
    let r = c.cmd(&format!("{tag} FETCH 1:* (UID FLAGS)")).await;
    r.iter()
        .filter(|l| l.contains("\\Recent"))
        .map(|l| {
            l.split("UID ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn recent_belongs_to_one_session() {
    // RFC 3501 §2.3.2: \Recent — "this session is the first session to have been
    // notified about this message"; no other session sees it so.
    let h = Harness::new().await;
    let mut a = h.login().await;
    let mut b = h.login().await;
    a.cmd("s SELECT INBOX").await;
    b.cmd("s SELECT INBOX").await;
    h.deliver(b"Subject: one\r\n\r\nx\r\n").await;
    let r = a.cmd("n NOOP").await;
    assert_eq!(r, ["* 1 EXISTS", "* 1 RECENT", "n OK NOOP completed"]);
    let r = b.cmd("n NOOP").await;
    assert_eq!(r, ["* 1 EXISTS", "* 0 RECENT", "n OK NOOP completed"]);
    assert_eq!(recent_uids(&mut a, "f").await, [1]);
    assert!(recent_uids(&mut b, "f").await.is_empty());
    let r = b.cmd("r SEARCH RECENT").await;
    assert_eq!(r[0], "* SEARCH");
    // The claimed message is no longer counted by STATUS anywhere.
    let mut c = h.login().await;
    let r = c.cmd("t STATUS INBOX (MESSAGES RECENT)").await;
    assert_eq!(r[0], "* STATUS INBOX (MESSAGES 1 RECENT 0)");
    // A later SELECT finds nothing recent either.
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.contains(&"* 0 RECENT".to_string()), "{r:?}");
}

#[tokio::test]
async fn examine_and_status_report_unclaimed_messages() {
    // RFC 3501 §6.3.2: EXAMINE reports RECENT like SELECT but must not make messages
    // lose \Recent; RFC 3501 §6.3.10 STATUS RECENT counts messages still recent.
    let h = Harness::new().await;
    let mut c = h.login().await;
    append(&mut c, "a1", "Subject: 1\r\n\r\nx").await;
    append(&mut c, "a2", "Subject: 2\r\n\r\nx").await;
    let r = c.cmd("e EXAMINE INBOX").await;
    assert!(r.contains(&"* 2 RECENT".to_string()), "{r:?}");
    assert_eq!(recent_uids(&mut c, "f").await, [1, 2]);
    let mut other = h.login().await;
    let r = other.cmd("t STATUS INBOX (RECENT)").await;
    assert_eq!(r[0], "* STATUS INBOX (RECENT 2)");
    // New mail reaches the EXAMINE session as recent while nobody claimed it.
    h.deliver(b"Subject: 3\r\n\r\nx\r\n").await;
    let r = c.cmd("n NOOP").await;
    assert_eq!(r, ["* 3 EXISTS", "* 3 RECENT", "n OK NOOP completed"]);
    // A read-write SELECT claims all three; afterwards STATUS says 0.
    let r = other.cmd("s SELECT INBOX").await;
    assert!(r.contains(&"* 3 RECENT".to_string()), "{r:?}");
    let r = c.cmd("t STATUS INBOX (RECENT)").await;
    assert_eq!(r[0], "* STATUS INBOX (RECENT 0)");
    let r = c.cmd("e EXAMINE INBOX").await;
    assert!(r.contains(&"* 0 RECENT".to_string()), "{r:?}");
}

#[tokio::test]
async fn recent_is_never_shared_under_concurrent_sessions() {
    // RFC 3501 §2.3.2 under load: sessions selecting and polling while mail arrives
    // never see the same UID as \Recent, never count more RECENT than EXISTS, and
    // between them claim every message exactly once.
    let h = std::sync::Arc::new(Harness::new().await);
    let mut tasks = Vec::new();
    for i in 0..4 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = h.login().await;
            let mut seen = Vec::new();
            for round in 0..6 {
                let r = c.cmd(&format!("s{round} SELECT INBOX")).await;
                let count = |p: &str| {
                    r.iter()
                        .find_map(|l| l.strip_prefix("* ")?.strip_suffix(p)?.parse::<u32>().ok())
                        .unwrap()
                };
                assert!(count(" RECENT") <= count(" EXISTS"), "{r:?}");
                for _ in 0..3 {
                    c.cmd(&format!("n{i} NOOP")).await;
                }
                // A claim happens when a command's answer announces new mail
                // (`EXISTS`), after its own output: fetch again until nothing new
                // came, so every UID this session claimed is observed.
                loop {
                    let r = c.cmd(&format!("f{round} FETCH 1:* (UID FLAGS)")).await;
                    seen.extend(r.iter().filter(|l| l.contains("\\Recent")).map(|l| {
                        let uid = l.split("UID ").nth(1).unwrap().split(' ').next().unwrap();
                        uid.parse::<u32>().unwrap()
                    }));
                    if !r.iter().any(|l| l.ends_with(" EXISTS")) {
                        break;
                    }
                }
                seen.sort_unstable();
                seen.dedup();
            }
            seen
        }));
    }
    for n in 0..20 {
        h.deliver(format!("Subject: {n}\r\n\r\nx\r\n").as_bytes())
            .await;
        tokio::task::yield_now().await;
    }
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let before = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), before, "a UID was \\Recent in two sessions");
    // Whatever no session claimed is still reported by STATUS (a claim by a session's
    // last command, after all deliveries, is announced and fetched above).
    let mut c = h.login().await;
    let r = c.cmd("t STATUS INBOX (MESSAGES RECENT)").await;
    let unclaimed: usize = r[0]
        .split("RECENT ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert_eq!(all.len() + unclaimed, 20, "{r:?} {all:?}");
}
