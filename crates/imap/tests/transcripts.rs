//! Session transcripts over an in-memory duplex: the exact lines of the SELECT
//! response, pipelined commands, literal refusals, IDLE woken by the change feed, the
//! idle timeout under paused time, shutdown, and bad commands in each state.

mod harness;

use std::time::Duration;

use harness::{Harness, OUTSIDE, TRUSTED};

#[tokio::test]
async fn select_fetch_and_logout_transcript() {
    let h = Harness::new().await;
    h.deliver(b"From: a@x.test\r\nSubject: hi\r\n\r\nbody\r\n")
        .await;
    let mut c = h.login().await;
    let r = c.cmd("s SELECT INBOX").await;
    let inbox = h
        .store
        .mailbox_get(h.bob.id, "INBOX")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r,
        [
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] completed",
            "* 1 EXISTS",
            "* 1 RECENT",
            "* OK [UNSEEN 1] completed",
            "* OK [UIDNEXT 2] completed",
            &format!("* OK [UIDVALIDITY {}] completed", inbox.uidvalidity),
            &format!("* OK [HIGHESTMODSEQ {}] completed", inbox.highestmodseq),
            &format!("* OK [MAILBOXID (F{})] completed", inbox.id),
            "s OK [READ-WRITE] SELECT completed",
        ]
    );
    let r = c.cmd("f UID FETCH 1 (FLAGS RFC822.SIZE)").await;
    assert_eq!(r[0], "* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE 37)");
    let r = c.cmd("o LOGOUT").await;
    assert_eq!(r, ["* BYE Logging out", "o OK completed"]);
    assert!(c.closed().await);
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let h = Harness::new().await;
    let mut c = h.login().await;
    c.send("a NOOP\r\nb SELECT INBOX\r\nc FETCH 1 FLAGS\r\nd NOOP\r\n")
        .await;
    assert_eq!(c.until("a").await, ["a OK NOOP completed"]);
    assert!(c.until("b").await.last().unwrap().starts_with("b OK"));
    assert_eq!(
        c.until("c").await,
        ["c BAD Invalid message sequence number"]
    );
    assert_eq!(c.until("d").await, ["d OK NOOP completed"]);
}

#[tokio::test]
async fn literals_over_the_limits_are_refused() {
    let h = Harness::new().await;
    let mut c = h.login().await;
    // APPENDLIMIT is 10000 here: a synchronizing literal is refused without `+`.
    c.send("a APPEND INBOX {20000}\r\n").await;
    assert_eq!(
        c.line().await,
        "a NO [TOOBIG] Message exceeds the APPENDLIMIT"
    );
    // An accepted one gets the continuation, then the APPENDUID.
    c.send("b APPEND INBOX {11}\r\n").await;
    assert_eq!(c.line().await, "+ Ready for literal data");
    c.send("Subject: x\r\n\r\n").await;
    let done = c.until("b").await;
    assert!(done[0].starts_with("b OK [APPENDUID "), "{done:?}");
    // Before login, an APPEND literal is not even read.
    let (mut anon, _) = h.connect(TRUSTED).await;
    anon.send("z APPEND INBOX {5}\r\n").await;
    assert_eq!(anon.line().await, "z BAD Log in first");
}

#[tokio::test]
async fn idle_is_woken_by_the_change_feed() {
    let h = Harness::new().await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling");
    h.deliver(b"Subject: new\r\n\r\nx\r\n").await;
    assert_eq!(c.line().await, "* 1 EXISTS");
    assert_eq!(c.line().await, "* 1 RECENT");
    c.send("DONE\r\n").await;
    assert_eq!(c.line().await, "i OK IDLE terminated");
    c.send("j IDLE\r\n").await;
    c.line().await;
    c.send("NOT-DONE\r\n").await;
    assert!(c.line().await.starts_with("j BAD"));
}

#[tokio::test]
async fn idle_timeout_and_keepalive_under_paused_time() {
    let mut s = harness::settings();
    s.imap.idle_keepalive = pillarbox_config::Seconds::secs(120);
    let h = Harness::with(s).await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling");
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(121)).await;
    assert_eq!(c.line().await, "* OK Still here");
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    let mut bye = c.line().await;
    while bye == "* OK Still here" {
        bye = c.line().await;
    }
    assert!(bye.starts_with("* BYE Autologout"), "{bye}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn shutdown_says_bye() {
    let h = Harness::new().await;
    let mut c = h.login().await;
    h.shutdown.cancel();
    assert_eq!(c.line().await, "* BYE Server shutting down");
    assert!(c.closed().await);
}

#[tokio::test]
async fn commands_outside_their_state_are_bad() {
    let h = Harness::new().await;
    let (mut c, greeting) = h.connect(OUTSIDE).await;
    assert!(greeting.contains("LOGINDISABLED"), "{greeting}");
    assert_eq!(c.cmd("a SELECT INBOX").await, ["a BAD Log in first"]);
    assert_eq!(
        c.cmd("b LOGIN bob@example.test pw").await,
        ["b NO [PRIVACYREQUIRED] Plaintext authentication is not allowed before STARTTLS"]
    );
    assert_eq!(
        c.cmd("c STARTTLS").await,
        ["c NO [UNAVAILABLE] STARTTLS is not available"]
    );
    let mut c = h.login().await;
    assert_eq!(
        c.cmd("d FETCH 1 FLAGS").await,
        ["d BAD No mailbox selected"]
    );
    assert_eq!(
        c.cmd("e LOGIN bob@example.test pw").await,
        ["e BAD Already authenticated"]
    );
    assert_eq!(c.cmd("f XYZZY").await, ["f BAD Unknown command"]);
    assert_eq!(
        c.cmd("g SETQUOTA \"\" (STORAGE 1)").await,
        ["g NO [NOPERM] Quotas are set by the administrator"]
    );
}

#[tokio::test]
async fn a_message_appended_after_an_expunge_never_serves_the_old_one() {
    let h = Harness::new().await;
    let mut c = h.login().await;
    c.cmd("s SELECT INBOX").await;
    // The store never reuses a message id (AUTOINCREMENT); the session's message cache
    // must still serve the new message, not the expunged one.
    c.send("a APPEND INBOX {18+}\r\nSubject: first\r\n\r\n\r\n")
        .await;
    let r = c.until("a").await;
    assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    let r = c.cmd("f FETCH 1 (ENVELOPE BODY.PEEK[HEADER])").await;
    assert!(r[0].contains("\"first\""), "{r:?}");
    let inbox = h
        .store
        .mailbox_get(h.bob.id, "INBOX")
        .await
        .unwrap()
        .unwrap();
    let first_id = h.store.entries(inbox.id).await.unwrap()[0].message;
    c.cmd("d STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    c.cmd("e EXPUNGE").await;
    c.send("b APPEND INBOX {19+}\r\nSubject: second\r\n\r\n\r\n")
        .await;
    let r = c.until("b").await;
    assert!(r.last().unwrap().starts_with("b OK"), "{r:?}");
    assert_ne!(
        h.store.entries(inbox.id).await.unwrap()[0].message,
        first_id
    );
    let r = c.cmd("g FETCH 1 (ENVELOPE BODY.PEEK[HEADER])").await;
    assert!(
        r[0].contains("\"second\"") && !r[0].contains("first"),
        "{r:?}"
    );
}
