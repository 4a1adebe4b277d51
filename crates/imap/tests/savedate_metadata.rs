//! Session transcripts of SAVEDATE (RFC 8514), METADATA and METADATA-SERVER (RFC 5464)
//! and the QUOTA resources (RFC 9208), each test stating the RFC rule it pins, driven
//! over the in-memory duplex against a real store.

mod harness;

use harness::{Client, Harness};

/// The one line of `r` starting with `prefix`.
fn one<'a>(r: &'a [String], prefix: &str) -> &'a str {
    let found: Vec<&String> = r.iter().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "{prefix}: {r:?}");
    found[0]
}

fn ok(r: &[String], tag: &str) {
    assert!(r.last().unwrap().starts_with(&format!("{tag} OK")), "{r:?}");
}

async fn capabilities(c: &mut Client) -> String {
    let r = c.cmd("cap CAPABILITY").await;
    one(&r, "* CAPABILITY").to_string()
}

/// The date part (`d-Mon-yyyy`) of the first `"date-time"` after `name` in `line`.
fn day_of(line: &str, name: &str) -> String {
    let start = line.find(&format!("{name} \"")).unwrap() + name.len() + 2;
    line[start..]
        .split(' ')
        .find(|s| !s.is_empty())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn savedate_is_when_the_message_entered_this_mailbox() {
    // RFC 8514 §3: the save date is the moment the message was saved in its mailbox,
    // never the INTERNALDATE an APPEND sets, and a COPY gets a save date of its own
    // while keeping the INTERNALDATE. §4.2: FETCH SAVEDATE. §4.3: SAVEDBEFORE,
    // SAVEDON, SAVEDSINCE compare its date part; SAVEDATESUPPORTED matches every
    // message of a mailbox that keeps save dates.
    let h = Harness::new().await;
    let mut c = h.login().await;
    assert!(capabilities(&mut c).await.contains(" SAVEDATE"));
    ok(&c.cmd("a CREATE Kept").await, "a");
    let raw = "Subject: old\r\n\r\nbody\r\n";
    c.send(&format!(
        "b APPEND INBOX \"01-Jan-2000 10:00:00 +0000\" {{{}+}}\r\n{raw}\r\n",
        raw.len()
    ))
    .await;
    ok(&c.until("b").await, "b");
    ok(&c.cmd("c SELECT INBOX").await, "c");
    let r = c.cmd("d FETCH 1 (INTERNALDATE SAVEDATE)").await;
    ok(&r, "d");
    let line = one(&r, "* 1 FETCH");
    assert!(
        line.contains("INTERNALDATE \" 1-Jan-2000 10:00:00 +0000\""),
        "{line}"
    );
    let today = day_of(line, "SAVEDATE");
    assert_ne!(today, "1-Jan-2000", "{line}");
    let r = c.cmd(&format!("e SEARCH SAVEDON {today}")).await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c.cmd(&format!("f SEARCH ON {today}")).await;
    assert_eq!(r[0], "* SEARCH", "ON is the internal date");
    let r = c.cmd("g SEARCH SAVEDBEFORE 1-Jan-2001").await;
    assert_eq!(r[0], "* SEARCH");
    let r = c.cmd("h SEARCH BEFORE 1-Jan-2001").await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c
        .cmd("i SEARCH SAVEDSINCE 1-Jan-2001 SAVEDATESUPPORTED")
        .await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c.cmd("j UID SEARCH NOT SAVEDATESUPPORTED").await;
    assert_eq!(r[0], "* SEARCH");
    ok(&c.cmd("k COPY 1 Kept").await, "k");
    ok(&c.cmd("l SELECT Kept").await, "l");
    let r = c.cmd("m FETCH 1 (SAVEDATE INTERNALDATE)").await;
    let line = one(&r, "* 1 FETCH");
    assert!(line.contains("INTERNALDATE \" 1-Jan-2000"), "{line}");
    assert_eq!(day_of(line, "SAVEDATE"), today);
    let r = c.cmd("n FETCH 1 SAVEDATE").await;
    assert!(
        one(&r, "* 1 FETCH").starts_with("* 1 FETCH (SAVEDATE \""),
        "{r:?}"
    );
}

#[tokio::test]
async fn metadata_on_mailboxes_and_the_server() {
    // RFC 5464 §4.3: SETMETADATA sets or removes (NIL) entries, all or none; §4.2:
    // GETMETADATA returns them (entry names are case-insensitive, §3.2), §4.2.1 MAXSIZE
    // leaves longer values out and names the longest in [METADATA LONGENTRIES n],
    // §4.2.2 DEPTH 1 adds children, infinity every descendant.
    let h = Harness::new().await;
    let mut c = h.login().await;
    let caps = capabilities(&mut c).await;
    assert!(
        caps.contains(" METADATA ") && caps.contains(" METADATA-SERVER"),
        "{caps}"
    );
    ok(
        &c.cmd("a SETMETADATA INBOX (/private/comment \"My comment\" /shared/comment \"Ours\")")
            .await,
        "a",
    );
    let r = c
        .cmd("b GETMETADATA INBOX (/PRIVATE/comment /shared/comment)")
        .await;
    ok(&r, "b");
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA INBOX (/private/comment \"My comment\" /shared/comment \"Ours\")"
    );
    // A literal value, and entries below one another for DEPTH.
    c.send("c SETMETADATA INBOX (/private/filters/values/small {12+}\r\nSMALLER 5000 /private/filters/values/a/b \"deep\" /private/filters/values \"top\")\r\n").await;
    ok(&c.until("c").await, "c");
    let r = c
        .cmd("d GETMETADATA INBOX (DEPTH 1) /private/filters/values")
        .await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA INBOX (/private/filters/values \"top\" /private/filters/values/small \"SMALLER 5000\")"
    );
    let r = c
        .cmd("e GETMETADATA (DEPTH infinity MAXSIZE 4) INBOX (/private/filters)")
        .await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA INBOX (/private/filters NIL /private/filters/values \"top\" /private/filters/values/a/b \"deep\")"
    );
    assert!(
        r.last()
            .unwrap()
            .starts_with("e OK [METADATA LONGENTRIES 12]"),
        "{r:?}"
    );
    // NIL removes; an entry that does not exist comes back as NIL.
    ok(
        &c.cmd("f SETMETADATA INBOX (/shared/comment NIL)").await,
        "f",
    );
    let r = c.cmd("g GETMETADATA INBOX /shared/comment").await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA INBOX (/shared/comment NIL)"
    );
    // §3.2: invalid entry names are BAD.
    for (i, bad) in [
        "/comment",
        "/private/",
        "/private//x",
        "/shared/co*",
        "/shared/vendor/x",
        "comment",
    ]
    .iter()
    .enumerate()
    {
        let r = c.cmd(&format!("h{i} GETMETADATA INBOX \"{bad}\"")).await;
        assert!(r[0].starts_with(&format!("h{i} BAD")), "{bad}: {r:?}");
    }
    // §3.3: a mailbox that does not exist is NO.
    let r = c.cmd("i GETMETADATA Nowhere /private/comment").await;
    assert!(r[0].starts_with("i NO"), "{r:?}");
    let r = c
        .cmd("j SETMETADATA Nowhere (/private/comment \"x\")")
        .await;
    assert!(r[0].starts_with("j NO"), "{r:?}");
    // §4.1: annotations follow a renamed mailbox and go with a deleted one.
    ok(&c.cmd("k CREATE Work").await, "k");
    ok(
        &c.cmd("l SETMETADATA Work (/shared/comment \"w\")").await,
        "l",
    );
    ok(&c.cmd("m RENAME Work Job").await, "m");
    let r = c.cmd("n GETMETADATA Job /shared/comment").await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA Job (/shared/comment \"w\")"
    );
    ok(&c.cmd("o DELETE Job").await, "o");
    ok(&c.cmd("p CREATE Job").await, "p");
    let r = c.cmd("q GETMETADATA Job /shared/comment").await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA Job (/shared/comment NIL)"
    );
}

#[tokio::test]
async fn metadata_limits_and_server_entries() {
    // RFC 5464 §4.3: a value over the server's limit is NO [METADATA MAXSIZE n], an
    // entry beyond the count limit NO [METADATA TOOMANY], and then nothing of the
    // command changes. §3.3: server annotations are read by every user; the server may
    // refuse to let users create shared ones (NO). §4.2: the empty mailbox name means
    // the server; private server entries are the user's own.
    let h = Harness::new().await;
    h.store
        .metadata_set(
            None,
            None,
            vec![(
                "/shared/admin".into(),
                Some(b"mailto:postmaster@example.test".to_vec()),
            )],
            10,
        )
        .await
        .unwrap();
    let mut c = h.login().await;
    let r = c.cmd("a GETMETADATA \"\" /shared/admin").await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA \"\" (/shared/admin \"mailto:postmaster@example.test\")"
    );
    let r = c.cmd("b SETMETADATA \"\" (/shared/comment \"mine\")").await;
    assert!(r[0].starts_with("b NO"), "{r:?}");
    ok(
        &c.cmd("c SETMETADATA \"\" (/private/vendor/example/x \"1\")")
            .await,
        "c",
    );
    let r = c
        .cmd("d GETMETADATA \"\" (/private/vendor/example/x /private/comment)")
        .await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA \"\" (/private/comment NIL /private/vendor/example/x \"1\")"
    );
    // A value of 1024 octets is accepted (§4.1); 64 KiB + 1 is not.
    let big = "x".repeat(1024);
    c.send(&format!(
        "e SETMETADATA INBOX (/private/big {{1024+}}\r\n{big})\r\n"
    ))
    .await;
    ok(&c.until("e").await, "e");
    let huge = "x".repeat(64 * 1024 + 1);
    c.send(&format!(
        "f SETMETADATA INBOX (/private/a \"1\" /private/huge {{{}+}}\r\n{huge})\r\n",
        huge.len()
    ))
    .await;
    let r = c.until("f").await;
    assert!(
        r.last()
            .unwrap()
            .starts_with("f NO [METADATA MAXSIZE 65536]"),
        "{r:?}"
    );
    let r = c.cmd("g GETMETADATA INBOX /private/a").await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA INBOX (/private/a NIL)",
        "all or none"
    );
    // 100 entries per mailbox: the 101st is TOOMANY and the command changes nothing.
    let mut line = String::from("h SETMETADATA INBOX (");
    for i in 0..100 {
        line.push_str(&format!("/private/n{i} \"v\" "));
    }
    line.push_str("/private/big NIL)");
    ok(&c.cmd(&line).await, "h");
    let r = c
        .cmd("i SETMETADATA INBOX (/private/n0 NIL /private/one \"1\" /private/two \"2\")")
        .await;
    assert!(r[0].starts_with("i NO [METADATA TOOMANY]"), "{r:?}");
    let r = c.cmd("j GETMETADATA INBOX /private/n0").await;
    assert_eq!(
        one(&r, "* METADATA"),
        "* METADATA INBOX (/private/n0 \"v\")"
    );
}

#[tokio::test]
async fn quota_res_storage_comes_with_deleted_storage() {
    // RFC 9208 §5.1: a server advertising QUOTA=RES-STORAGE MUST support the
    // DELETED-STORAGE status item; §4.1.4: it is what an EXPUNGE would reclaim (the
    // sum of the RFC822.SIZE of the \Deleted messages is allowed), and DELETED counts
    // them. QUOTA=RES-MESSAGE is not advertised: accounts have no message limit.
    let h = Harness::new().await;
    h.deliver(b"Subject: a\r\n\r\n12345\r\n").await;
    h.deliver(b"Subject: bb\r\n\r\n1234567890\r\n").await;
    let mut c = h.login().await;
    let caps = capabilities(&mut c).await;
    assert!(caps.contains(" QUOTA=RES-STORAGE"), "{caps}");
    assert!(!caps.contains("QUOTA=RES-MESSAGE"), "{caps}");
    let r = c.cmd("a STATUS INBOX (DELETED DELETED-STORAGE)").await;
    assert_eq!(
        one(&r, "* STATUS"),
        "* STATUS INBOX (DELETED 0 DELETED-STORAGE 0)"
    );
    ok(&c.cmd("b SELECT INBOX").await, "b");
    ok(&c.cmd("c STORE 2 +FLAGS.SILENT (\\Deleted)").await, "c");
    let r = c.cmd("d FETCH 2 RFC822.SIZE").await;
    let size = one(&r, "* 2 FETCH")
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let r = c
        .cmd("e STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)")
        .await;
    assert_eq!(
        one(&r, "* STATUS"),
        format!("* STATUS INBOX (MESSAGES 2 DELETED 1 DELETED-STORAGE {size})")
    );
    let r = c
        .cmd("f LIST \"\" INBOX RETURN (STATUS (DELETED-STORAGE))")
        .await;
    assert_eq!(
        one(&r, "* STATUS"),
        format!("* STATUS INBOX (DELETED-STORAGE {size})")
    );
}
