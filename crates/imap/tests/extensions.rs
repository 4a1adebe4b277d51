//! Session transcripts of the extensions added after issue 16's fixes, each test stating
//! the RFC rule it pins: OBJECTID (RFC 8474), PREVIEW (RFC 8970), ESORT and PARTIAL
//! (RFC 5267, RFC 9394), REPLACE (RFC 8508) and MESSAGELIMIT (RFC 9738), driven over
//! the in-memory duplex against a real store.

mod harness;

use harness::{Client, Harness};

/// The one line of `r` starting with `prefix`.
fn one<'a>(r: &'a [String], prefix: &str) -> &'a str {
    let found: Vec<&String> = r.iter().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "{prefix}: {r:?}");
    found[0]
}

/// The text between `open` and the next `close` in `line`.
fn between<'a>(line: &'a str, open: &str, close: &str) -> &'a str {
    let start = line
        .find(open)
        .unwrap_or_else(|| panic!("{open} in {line}"))
        + open.len();
    let len = line[start..].find(close).unwrap();
    &line[start..start + len]
}

fn ok(r: &[String], tag: &str) {
    assert!(r.last().unwrap().starts_with(&format!("{tag} OK")), "{r:?}");
}

async fn capabilities(c: &mut Client) -> String {
    let r = c.cmd("cap CAPABILITY").await;
    one(&r, "* CAPABILITY").to_string()
}

#[tokio::test]
async fn mailboxid_is_stable_across_rename_and_never_reused() {
    // RFC 8474 §4.1: CREATE answers with the new MAILBOXID; RENAME keeps it; a new
    // mailbox (even under a name used before) gets a new one. §4.2: SELECT and
    // EXAMINE report it; §4.3: STATUS (MAILBOXID).
    let h = Harness::new().await;
    let mut c = h.login().await;
    assert!(capabilities(&mut c).await.contains(" OBJECTID"));
    let r = c.cmd("a CREATE Projects").await;
    ok(&r, "a");
    let id = between(&r[0], "[MAILBOXID (", ")]").to_string();
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    let r = c.cmd("b STATUS Projects (MESSAGES MAILBOXID)").await;
    assert_eq!(
        one(&r, "* STATUS"),
        format!("* STATUS Projects (MESSAGES 0 MAILBOXID ({id}))")
    );
    ok(&c.cmd("c RENAME Projects Work").await, "c");
    let r = c.cmd("d EXAMINE Work").await;
    assert_eq!(
        one(&r, "* OK [MAILBOXID"),
        format!("* OK [MAILBOXID ({id})] completed")
    );
    ok(&c.cmd("e UNSELECT").await, "e");
    let r = c.cmd("f CREATE Projects").await;
    let again = between(&r[0], "[MAILBOXID (", ")]").to_string();
    assert_ne!(again, id, "a new mailbox under an old name gets a new id");
    ok(&c.cmd("g DELETE Work").await, "g");
    let r = c.cmd("h CREATE Work").await;
    assert_ne!(between(&r[0], "[MAILBOXID (", ")]"), id);
    // LIST-STATUS carries it too.
    let r = c
        .cmd("i LIST \"\" Projects RETURN (STATUS (MAILBOXID))")
        .await;
    assert_eq!(
        one(&r, "* STATUS"),
        format!("* STATUS Projects (MAILBOXID ({again}))")
    );
    // INBOX renamed: INBOX keeps its id, the new mailbox gets another (§4.1).
    let r = c.cmd("j STATUS INBOX (MAILBOXID)").await;
    let inbox = between(one(&r, "* STATUS"), "MAILBOXID (", ")").to_string();
    ok(&c.cmd("k RENAME INBOX Old").await, "k");
    let r = c.cmd("l STATUS INBOX (MAILBOXID)").await;
    assert_eq!(between(one(&r, "* STATUS"), "MAILBOXID (", ")"), inbox);
    let r = c.cmd("m STATUS Old (MAILBOXID)").await;
    assert_ne!(between(one(&r, "* STATUS"), "MAILBOXID (", ")"), inbox);
}

#[tokio::test]
async fn emailid_follows_the_stored_message_and_threadid_is_nil() {
    // RFC 8474 §5.1: EMAILID identifies the immutable message; a COPY may keep it (the
    // same stored message), a new APPEND of the same octets is a different message.
    // §5.2: a server that does not track threads answers THREADID NIL. §6: SEARCH
    // EMAILID / THREADID.
    let h = Harness::new().await;
    h.deliver(b"Subject: one\r\n\r\nbody\r\n").await;
    h.deliver(b"Subject: two\r\n\r\nbody\r\n").await;
    let mut c = h.login().await;
    ok(&c.cmd("a CREATE Keep").await, "a");
    ok(&c.cmd("b SELECT INBOX").await, "b");
    let r = c.cmd("c FETCH 1:2 (EMAILID THREADID)").await;
    ok(&r, "c");
    let first = between(&r[0], "EMAILID (", ")").to_string();
    let second = between(&r[1], "EMAILID (", ")").to_string();
    assert_ne!(first, second);
    assert!(r[0].ends_with("THREADID NIL)"), "{r:?}");
    ok(&c.cmd("d COPY 1 Keep").await, "d");
    let r = c.cmd(&format!("e SEARCH EMAILID {second}")).await;
    assert_eq!(r[0], "* SEARCH 2");
    let r = c.cmd("f SEARCH THREADID T1").await;
    assert_eq!(r[0], "* SEARCH");
    let r = c.cmd("g SEARCH EMAILID M999999999").await;
    assert_eq!(r[0], "* SEARCH");
    let r = c.cmd("h SEARCH EMAILID a.b").await;
    assert!(r[0].starts_with("h BAD"), "{r:?}");
    ok(&c.cmd("i SELECT Keep").await, "i");
    let r = c.cmd("j FETCH 1 (EMAILID)").await;
    assert_eq!(r[0], format!("* 1 FETCH (EMAILID ({first}))"));
    let raw = "Subject: one\r\n\r\nbody\r\n";
    c.send(&format!("k APPEND Keep {{{}+}}\r\n{raw}\r\n", raw.len()))
        .await;
    ok(&c.until("k").await, "k");
    let r = c.cmd("l FETCH 2 (EMAILID)").await;
    assert_ne!(between(&r[0], "EMAILID (", ")"), first);
}

#[tokio::test]
async fn preview_is_decoded_text_of_the_first_text_part() {
    // RFC 8970 §3: PREVIEW is at most 256 characters of text, with transfer encoding
    // and charset removed, HTML reduced to text and whitespace collapsed; fetching
    // it does not set \Seen; LAZY may be given. A message without text has the empty
    // preview.
    let h = Harness::new().await;
    h.deliver(
        b"Subject: a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
          Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
          PHA+SGVsbG8sPC9wPgo8cD4gIHdvcmxkICZhbXA7IGZyaWVuZHM8L3A+\r\n--b--\r\n",
    )
    .await;
    h.deliver(b"Subject: b\r\nContent-Type: image/png\r\n\r\nxx\r\n")
        .await;
    h.deliver(
        b"Subject: c\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n",
    )
    .await;
    let mut c = h.login().await;
    assert!(capabilities(&mut c).await.contains(" PREVIEW"));
    ok(&c.cmd("a SELECT INBOX").await, "a");
    let r = c.cmd("b FETCH 1:2 (PREVIEW)").await;
    assert_eq!(
        r,
        [
            "* 1 FETCH (PREVIEW \"Hello, world & friends\")",
            "* 2 FETCH (PREVIEW \"\")",
            "b OK FETCH completed",
        ]
    );
    let r = c.cmd("c FETCH 1 (PREVIEW (LAZY) FLAGS)").await;
    assert_eq!(
        r[0],
        "* 1 FETCH (PREVIEW \"Hello, world & friends\" FLAGS (\\Recent))"
    );
    // 8-bit text goes as a literal until UTF8=ACCEPT is enabled.
    let raw = c.raw_cmd("d FETCH 3 PREVIEW").await;
    assert!(
        raw.starts_with("* 3 FETCH (PREVIEW {5}\r\nCafé)".as_bytes()),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    ok(&c.cmd("e ENABLE UTF8=ACCEPT").await, "e");
    let r = c.cmd("f FETCH 3 PREVIEW").await;
    assert_eq!(r[0], "* 3 FETCH (PREVIEW \"Café\")");
    let r = c.cmd("g FETCH 1 PREVIEW (CHANGEDSINCE 1)").await;
    ok(&r, "g");
}

/// Delivers messages with these subjects, in order.
async fn with_subjects(h: &Harness, subjects: &[&str]) {
    for s in subjects {
        h.deliver(format!("Subject: {s}\r\n\r\nx\r\n").as_bytes())
            .await;
    }
}

#[tokio::test]
async fn esort_answers_esearch_in_sort_order() {
    // RFC 5267 §3.2: SORT RETURN answers with ESEARCH data; MIN and MAX are the first
    // and last messages in sort order, ALL lists the results in sort order, COUNT
    // counts them; RETURN () means ALL. RFC 9394 §3.1: PARTIAL picks positions of the
    // sorted results (negative from the end), NIL when the range holds none.
    let h = Harness::new().await;
    with_subjects(&h, &["c", "a", "b", "d"]).await;
    let mut c = h.login().await;
    let caps = capabilities(&mut c).await;
    assert!(
        caps.contains(" ESORT") && caps.contains(" PARTIAL"),
        "{caps}"
    );
    assert!(!caps.contains("CONTEXT="), "{caps}");
    ok(&c.cmd("s SELECT INBOX").await, "s");
    let r = c
        .cmd("a SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(
        r,
        [
            "* ESEARCH (TAG \"a\") MIN 2 MAX 4 COUNT 4 ALL 2:3,1,4",
            "a OK SORT completed"
        ]
    );
    let r = c
        .cmd("b UID SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"b\") UID ALL 4,1,3,2");
    let r = c
        .cmd("c SORT RETURN (PARTIAL 1:2 COUNT) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"c\") PARTIAL (1:2 2:3) COUNT 4");
    let r = c
        .cmd("d SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"d\") PARTIAL (-1:-2 1,4)");
    let r = c
        .cmd("e SORT RETURN (PARTIAL 5:9) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"e\") PARTIAL (5:9 NIL)");
    // No match: MIN, MAX and ALL are left out.
    let r = c
        .cmd("f SORT RETURN (MIN ALL COUNT) (SUBJECT) UTF-8 SUBJECT zzz")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"f\") COUNT 0");
    // Without RETURN, the classic answer.
    let r = c.cmd("g SORT (SUBJECT) UTF-8 ALL").await;
    assert_eq!(r[0], "* SORT 2 3 1 4");
    // SAVE keeps the results as a set (RFC 5182).
    ok(
        &c.cmd("h SORT RETURN (SAVE) (SUBJECT) UTF-8 SUBJECT c")
            .await,
        "h",
    );
    let r = c.cmd("i FETCH $ (UID)").await;
    assert_eq!(r[0], "* 1 FETCH (UID 1)");
}

#[tokio::test]
async fn search_partial_pages_through_results() {
    // RFC 9394 §3.1: `PARTIAL m:n` returns the m-th to n-th results (1 the first),
    // `-m:-n` counts from the last; the range is echoed as given; reversed bounds are
    // the same range; PARTIAL with ALL is refused; COUNT still counts every match.
    // §3.2: the FETCH modifier PARTIAL limits the messages a FETCH returns.
    let h = Harness::new().await;
    with_subjects(&h, &["1", "2", "3", "4", "5"]).await;
    let mut c = h.login().await;
    ok(&c.cmd("s SELECT INBOX").await, "s");
    let r = c.cmd("a SEARCH RETURN (PARTIAL 2:3) ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"a\") PARTIAL (2:3 2:3)");
    let r = c.cmd("b UID SEARCH RETURN (COUNT PARTIAL -1:-2) 2:5").await;
    assert_eq!(
        r[0],
        "* ESEARCH (TAG \"b\") UID COUNT 4 PARTIAL (-1:-2 4:5)"
    );
    let r = c.cmd("c SEARCH RETURN (PARTIAL 3:1) ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"c\") PARTIAL (3:1 1:3)");
    let r = c.cmd("d SEARCH RETURN (PARTIAL 9:10) ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"d\") PARTIAL (9:10 NIL)");
    let r = c.cmd("e SEARCH RETURN (PARTIAL 1:2 ALL) ALL").await;
    assert!(r[0].starts_with("e BAD"), "{r:?}");
    let r = c.cmd("f SEARCH RETURN (PARTIAL -1:2) ALL").await;
    assert!(r[0].starts_with("f BAD"), "{r:?}");
    let r = c.cmd("g SEARCH RETURN (PARTIAL 0:2) ALL").await;
    assert!(r[0].starts_with("g BAD"), "{r:?}");
    // With SAVE, the page is what is saved.
    ok(
        &c.cmd("h SEARCH RETURN (SAVE PARTIAL -1:-2) ALL").await,
        "h",
    );
    let r = c.cmd("i FETCH $ (UID)").await;
    assert_eq!(r[..2], ["* 4 FETCH (UID 4)", "* 5 FETCH (UID 5)"]);
    let r = c.cmd("j UID FETCH 1:* (UID) (PARTIAL -1:-2)").await;
    assert_eq!(
        r,
        [
            "* 4 FETCH (UID 4)",
            "* 5 FETCH (UID 5)",
            "j OK FETCH completed"
        ]
    );
    let r = c.cmd("k UID FETCH 2:* (UID) (PARTIAL 1:1)").await;
    assert_eq!(r[0], "* 2 FETCH (UID 2)");
}

#[tokio::test]
async fn replace_appends_then_expunges_the_old_message() {
    // RFC 8508 §3: REPLACE appends the new message to the named mailbox and expunges
    // the replaced one; the APPENDUID (RFC 4315) comes in an untagged OK; literals go
    // as with APPEND (synchronizing, LITERAL+, APPENDLIMIT); the mailbox may itself be
    // a literal. When the append fails nothing is expunged.
    let h = Harness::new().await;
    with_subjects(&h, &["one", "two"]).await;
    let mut c = h.login().await;
    assert!(capabilities(&mut c).await.contains(" REPLACE"));
    let r = c.cmd("s SELECT INBOX").await;
    let validity = between(one(&r, "* OK [UIDVALIDITY"), "UIDVALIDITY ", "]").to_string();
    let raw = "Subject: one, edited\r\n\r\nx\r\n";
    c.send(&format!("a REPLACE 1 INBOX {{{}}}\r\n", raw.len()))
        .await;
    assert_eq!(c.line().await, "+ Ready for literal data");
    c.send(&format!("{raw}\r\n")).await;
    assert_eq!(
        c.until("a").await,
        [
            format!("* OK [APPENDUID {validity} 3] Replacement message ready").as_str(),
            "* 1 EXPUNGE",
            "* 2 EXISTS",
            "* 2 RECENT",
            "a OK REPLACE completed",
        ]
    );
    let r = c
        .cmd("b FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await;
    assert!(r[0].starts_with("* 1 FETCH (UID 2 "), "{r:?}");
    assert!(r[4].starts_with("* 2 FETCH (UID 3 "), "{r:?}");
    assert_eq!(r[5], "Subject: one, edited");
    // UID REPLACE into another mailbox, with flags, the mailbox as a literal and the
    // message as a non-synchronizing literal.
    let r = c.cmd("c STATUS Drafts (UIDVALIDITY)").await;
    let drafts = between(one(&r, "* STATUS"), "UIDVALIDITY ", ")").to_string();
    let raw = "Subject: draft\r\n\r\ny\r\n";
    c.send(&format!(
        "d UID REPLACE 3 {{6+}}\r\nDrafts (\\Draft) {{{}+}}\r\n{raw}\r\n",
        raw.len()
    ))
    .await;
    assert_eq!(
        c.until("d").await,
        [
            format!("* OK [APPENDUID {drafts} 1] Replacement message ready").as_str(),
            "* 2 EXPUNGE",
            "d OK REPLACE completed",
        ]
    );
    let r = c.cmd("e STATUS Drafts (MESSAGES)").await;
    assert_eq!(one(&r, "* STATUS"), "* STATUS Drafts (MESSAGES 1)");
    // Failures leave everything as it was.
    let r = c.cmd("f REPLACE 5 INBOX {1+}\r\nx").await;
    assert_eq!(r, ["f BAD Invalid message sequence number"]);
    let r = c.cmd("g UID REPLACE 77 INBOX {1+}\r\nx").await;
    assert!(r[0].starts_with("g NO"), "{r:?}");
    let r = c.cmd("h REPLACE 1 Nowhere {1+}\r\nx").await;
    assert!(r[0].starts_with("h NO [TRYCREATE]"), "{r:?}");
    c.send("i REPLACE 1 INBOX {20000}\r\n").await;
    assert_eq!(
        c.line().await,
        "i NO [TOOBIG] Message exceeds the APPENDLIMIT"
    );
    let r = c.cmd("j FETCH 1:* (UID)").await;
    assert_eq!(r, ["* 1 FETCH (UID 2)", "j OK FETCH completed"]);
    // A read-only mailbox: refused before anything is appended.
    ok(&c.cmd("k EXAMINE INBOX").await, "k");
    let r = c.cmd("l REPLACE 1 Drafts {1+}\r\nx").await;
    assert!(r[0].starts_with("l NO"), "{r:?}");
    let r = c.cmd("m STATUS Drafts (MESSAGES)").await;
    assert_eq!(one(&r, "* STATUS"), "* STATUS Drafts (MESSAGES 1)");
    // Not in the authenticated state.
    ok(&c.cmd("n UNSELECT").await, "n");
    let r = c.cmd("o REPLACE 1 INBOX {1+}\r\nx").await;
    assert!(r[0].starts_with("o BAD"), "{r:?}");
}

#[tokio::test]
async fn messagelimit_pages_by_uid_and_refuses_by_number() {
    // RFC 9738: MESSAGELIMIT=N is advertised; a UID FETCH, UID STORE, UID COPY or
    // UID MOVE over more than N messages processes the N lowest UIDs and ends
    // `OK [LIMIT]` (the client continues after the last UID it got); the same by
    // sequence number, and an APPEND of more than N messages, are refused `NO [LIMIT]`
    // with nothing done.
    let h = Harness::with_message_limit(3).await;
    with_subjects(&h, &["1", "2", "3", "4", "5"]).await;
    let mut c = h.login().await;
    assert!(capabilities(&mut c).await.contains(" MESSAGELIMIT=3"));
    ok(&c.cmd("a CREATE Keep").await, "a");
    let r = c.cmd("b SELECT INBOX").await;
    ok(&r, "b");
    let r = c.cmd("c UID FETCH 1:* (UID)").await;
    assert_eq!(r.len(), 4, "{r:?}");
    assert_eq!(r[2], "* 3 FETCH (UID 3)");
    assert!(r[3].starts_with("c OK [LIMIT] "), "{r:?}");
    let r = c.cmd("d UID FETCH 4:* (UID)").await;
    assert_eq!(
        r,
        [
            "* 4 FETCH (UID 4)",
            "* 5 FETCH (UID 5)",
            "d OK FETCH completed"
        ]
    );
    let r = c.cmd("e FETCH 1:* (UID)").await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("e NO [LIMIT] "), "{r:?}");
    let r = c.cmd("f UID STORE 1:* +FLAGS.SILENT (\\Flagged)").await;
    assert!(r.last().unwrap().starts_with("f OK [LIMIT] "), "{r:?}");
    let r = c.cmd("g UID SEARCH FLAGGED").await;
    assert_eq!(r[0], "* SEARCH 1 2 3");
    let r = c.cmd("h STORE 1:* +FLAGS (\\Seen)").await;
    assert!(r[0].starts_with("h NO [LIMIT] "), "{r:?}");
    let r = c.cmd("i SEARCH SEEN").await;
    assert_eq!(r[0], "* SEARCH");
    let r = c.cmd("j COPY 1:* Keep").await;
    assert!(r[0].starts_with("j NO [LIMIT] "), "{r:?}");
    let r = c.cmd("k UID COPY 1:* Keep").await;
    assert!(r[0].starts_with("* OK [COPYUID "), "{r:?}");
    assert!(r[0].contains(" 1:3 1:3]"), "{r:?}");
    assert!(r[1].starts_with("k OK [LIMIT] "), "{r:?}");
    let r = c.cmd("l UID MOVE 1:* Keep").await;
    assert_eq!(
        r.iter().filter(|l| l.ends_with(" EXPUNGE")).count(),
        3,
        "{r:?}"
    );
    assert!(r.last().unwrap().starts_with("l OK [LIMIT] "), "{r:?}");
    let r = c.cmd("m FETCH 1:* (UID)").await;
    assert_eq!(
        r,
        [
            "* 1 FETCH (UID 4)",
            "* 2 FETCH (UID 5)",
            "m OK FETCH completed"
        ]
    );
    let raw = "Subject: x\r\n\r\nx\r\n";
    let one_msg = format!("{{{}+}}\r\n{raw}", raw.len());
    let r = c
        .cmd(&format!(
            "n APPEND Keep {one_msg} {one_msg} {one_msg} {one_msg}"
        ))
        .await;
    assert!(r[0].starts_with("n NO [LIMIT] "), "{r:?}");
    let r = c.cmd("o STATUS Keep (MESSAGES)").await;
    assert_eq!(one(&r, "* STATUS"), "* STATUS Keep (MESSAGES 6)");
}

#[tokio::test]
async fn uidonly_speaks_in_uids_both_ways() {
    // RFC 9586 §3: after ENABLE UIDONLY, a command naming messages by sequence number
    // is BAD with [UIDREQUIRED]; FETCH data goes out as `* uid UIDFETCH (...)`,
    // expunges as VANISHED, and no response carries a message number.
    let h = Harness::new().await;
    with_subjects(&h, &["1", "2", "3"]).await;
    let mut c = h.login().await;
    assert!(capabilities(&mut c).await.contains(" UIDONLY"));
    let r = c.cmd("a ENABLE UIDONLY").await;
    assert_eq!(r, ["* ENABLED UIDONLY", "a OK completed"]);
    let r = c.cmd("b SELECT INBOX").await;
    ok(&r, "b");
    assert!(!r.iter().any(|l| l.contains("[UNSEEN")), "{r:?}");
    for (tag, cmd) in [
        ("c", "FETCH 1 (FLAGS)"),
        ("d", "STORE 1 +FLAGS (\\Seen)"),
        ("e", "COPY 1 INBOX"),
        ("f", "MOVE 1 INBOX"),
        ("g", "SEARCH ALL"),
        ("h", "UID SEARCH 1:2"),
        ("i", "UID SEARCH NOT (OR SEEN *)"),
        ("j", "SORT (SUBJECT) UTF-8 ALL"),
        ("k", "REPLACE 1 INBOX {1+}\r\nx"),
        ("k2", "UID THREAD REFERENCES UTF-8 1:2"),
    ] {
        let r = c.cmd(&format!("{tag} {cmd}")).await;
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with(&format!("{tag} BAD [UIDREQUIRED] ")),
            "{r:?}"
        );
    }
    let r = c.cmd("l UID FETCH 1:* (FLAGS)").await;
    assert_eq!(
        r,
        [
            "* 1 UIDFETCH (FLAGS (\\Recent))",
            "* 2 UIDFETCH (FLAGS (\\Recent))",
            "* 3 UIDFETCH (FLAGS (\\Recent))",
            "l OK FETCH completed",
        ]
    );
    let r = c.cmd("m UID STORE 2 +FLAGS (\\Deleted)").await;
    assert_eq!(r[0], "* 2 UIDFETCH (FLAGS (\\Deleted \\Recent))");
    let r = c.cmd("n UID SEARCH RETURN (SAVE) DELETED").await;
    ok(&r, "n");
    let r = c.cmd("o UID SEARCH $").await;
    assert_eq!(r[0], "* SEARCH 2");
    let r = c.cmd("p UID EXPUNGE 2").await;
    assert_eq!(r, ["* VANISHED 2", "p OK EXPUNGE completed"]);
    // Another session's changes arrive by UID too.
    let mut other = h.login().await;
    ok(&other.cmd("a SELECT INBOX").await, "a");
    ok(&other.cmd("b STORE 1 +FLAGS (\\Flagged)").await, "b");
    ok(&other.cmd("c STORE 2 +FLAGS (\\Deleted)").await, "c");
    ok(&other.cmd("d EXPUNGE").await, "d");
    let r = c.cmd("q NOOP").await;
    assert!(r.contains(&"* VANISHED 3".to_string()), "{r:?}");
    assert!(
        r.contains(&"* 1 UIDFETCH (FLAGS (\\Flagged \\Recent))".to_string()),
        "{r:?}"
    );
    assert!(!r.iter().any(|l| l.ends_with(" EXPUNGE")), "{r:?}");
    // QRESYNC's known-sequence-set names messages by number too.
    ok(&c.cmd("r ENABLE QRESYNC").await, "r");
    let r = c.cmd("s SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))").await;
    assert!(r[0].starts_with("s BAD [UIDREQUIRED] "), "{r:?}");
    ok(&c.cmd("t SELECT INBOX (QRESYNC (1 1 1:5))").await, "t");
}
