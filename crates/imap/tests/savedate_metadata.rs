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
