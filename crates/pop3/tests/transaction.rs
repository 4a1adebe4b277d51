//! Transcripts of the TRANSACTION and UPDATE states: STAT, LIST, UIDL, RETR and TOP
//! (dot-stuffing, bare LF, large messages), DELE/RSET marks, deletions only on QUIT,
//! the snapshot fixed at login, and unique ids stable across sessions.

mod common;

use common::{Harness, message};

/// Undoes dot-stuffing, as a client does.
fn unstuff(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

#[tokio::test]
async fn stat_list_uidl_on_three_messages() {
    let h = Harness::new().await;
    let m1 = message("one", "first\r\n");
    let m2 = message("two", "second body\r\n");
    let m3 = message("three", "third\r\n");
    let u1 = h.deliver(&m1).await;
    let u2 = h.deliver(&m2).await;
    let u3 = h.deliver(&m3).await;
    let v = h.uidvalidity().await;
    let total = m1.len() + m2.len() + m3.len();
    let mut c = h.login().await;
    assert_eq!(c.cmd("STAT").await, format!("+OK 3 {total}"));
    let (status, lines) = c.multi("LIST").await;
    assert_eq!(status, format!("+OK 3 messages ({total} octets)"));
    assert_eq!(
        lines,
        [
            format!("1 {}", m1.len()),
            format!("2 {}", m2.len()),
            format!("3 {}", m3.len())
        ]
    );
    assert_eq!(c.cmd("LIST 2").await, format!("+OK 2 {}", m2.len()));
    assert_eq!(
        c.cmd("LIST 4").await,
        "-ERR no such message 4: the maildrop has 3 messages"
    );
    let (status, lines) = c.multi("UIDL").await;
    assert_eq!(status, "+OK unique-id listing follows");
    assert_eq!(
        lines,
        [
            format!("1 {v:08x}{u1:08x}"),
            format!("2 {v:08x}{u2:08x}"),
            format!("3 {v:08x}{u3:08x}")
        ]
    );
    assert_eq!(c.cmd("UIDL 3").await, format!("+OK 3 {v:08x}{u3:08x}"));
    assert_eq!(c.cmd("NOOP").await, "+OK");
    let r = c.cmd("QUIT").await;
    assert_eq!(
        r,
        "+OK Pillarbox POP3 server signing off (0 messages deleted, 3 left)"
    );
    assert!(c.closed().await);
}

#[tokio::test]
async fn retr_sends_the_message_dot_stuffed_with_its_listed_size() {
    let h = Harness::new().await;
    let raw = b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n".to_vec();
    h.deliver(&raw).await;
    let mut c = h.login().await;
    assert_eq!(c.cmd("RETR 1").await, format!("+OK {} octets", raw.len()));
    let body = c.body().await;
    assert_eq!(
        body,
        b"Subject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nend\r\n"
    );
    assert_eq!(unstuff(&body), raw);
    assert_eq!(
        c.cmd("RETR 2").await,
        "-ERR no such message 2: the maildrop has 1 messages"
    );
}

#[tokio::test]
async fn bare_lf_messages_are_sent_with_crlf_and_listed_at_that_size() {
    let h = Harness::new().await;
    let raw = b"Subject: unix\n\nline one\nline two".to_vec();
    h.deliver(&raw).await;
    let wire = b"Subject: unix\r\n\r\nline one\r\nline two\r\n".to_vec();
    let mut c = h.login().await;
    assert_eq!(c.cmd("STAT").await, format!("+OK 1 {}", wire.len()));
    assert_eq!(c.cmd("LIST 1").await, format!("+OK 1 {}", wire.len()));
    assert_eq!(c.cmd("RETR 1").await, format!("+OK {} octets", wire.len()));
    assert_eq!(c.body().await, wire);
    // A second session finds the size in the cache: the same figure.
    c.cmd("QUIT").await;
    c.finished().await;
    let mut c = h.login().await;
    assert_eq!(c.cmd("LIST 1").await, format!("+OK 1 {}", wire.len()));
}

#[tokio::test]
async fn top_with_zero_and_n_lines() {
    let h = Harness::new().await;
    let raw = b"Subject: top\r\nFrom: a@example.test\r\n\r\nl1\r\n.l2\r\nl3\r\n".to_vec();
    h.deliver(&raw).await;
    let mut c = h.login().await;
    assert_eq!(c.cmd("TOP 1 0").await, "+OK top of message follows");
    assert_eq!(
        c.body().await,
        b"Subject: top\r\nFrom: a@example.test\r\n\r\n"
    );
    c.cmd("TOP 1 2").await;
    assert_eq!(
        c.body().await,
        b"Subject: top\r\nFrom: a@example.test\r\n\r\nl1\r\n..l2\r\n"
    );
    c.cmd("TOP 1 100").await;
    assert_eq!(unstuff(&c.body().await), raw);
    assert_eq!(
        c.cmd("TOP 1").await,
        "-ERR TOP needs an argument: TOP msg lines"
    );
    assert_eq!(c.cmd("TOP 1 x").await, "-ERR invalid line count");
}

#[tokio::test]
async fn a_large_message_streams_intact() {
    let h = Harness::new().await;
    let mut raw = b"Subject: big\r\n\r\n".to_vec();
    let mut i = 0u32;
    while raw.len() < 1_500_000 {
        if i.is_multiple_of(7) {
            raw.extend_from_slice(b".");
        }
        raw.extend_from_slice(
            format!("line {i} of a large message, with some padding text\r\n").as_bytes(),
        );
        i += 1;
    }
    h.deliver(&raw).await;
    let mut c = h.login().await;
    assert_eq!(c.cmd("RETR 1").await, format!("+OK {} octets", raw.len()));
    assert_eq!(unstuff(&c.body().await), raw);
    // The session is still in step.
    assert_eq!(c.cmd("STAT").await, format!("+OK 1 {}", raw.len()));
}

#[tokio::test]
async fn dele_rset_and_deletions_only_in_update() {
    let h = Harness::new().await;
    let m: Vec<Vec<u8>> = (1..=3)
        .map(|i| message(&format!("m{i}"), "x\r\n"))
        .collect();
    let mut uids = Vec::new();
    for raw in &m {
        uids.push(h.deliver(raw).await);
    }
    let mut c = h.login().await;
    assert_eq!(c.cmd("DELE 2").await, "+OK message 2 deleted");
    assert_eq!(c.cmd("DELE 2").await, "-ERR message 2 already deleted");
    assert_eq!(c.cmd("RETR 2").await, "-ERR message 2 already deleted");
    assert_eq!(c.cmd("LIST 2").await, "-ERR message 2 already deleted");
    assert_eq!(c.cmd("UIDL 2").await, "-ERR message 2 already deleted");
    let (_, lines) = c.multi("LIST").await;
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].starts_with("3 "),
        "numbers do not shift: {lines:?}"
    );
    let (_, lines) = c.multi("UIDL").await;
    assert_eq!(lines.len(), 2);
    assert_eq!(
        c.cmd("STAT").await,
        format!("+OK 2 {}", m[0].len() + m[2].len())
    );
    // RSET restores.
    let total: usize = m.iter().map(Vec::len).sum();
    assert_eq!(
        c.cmd("RSET").await,
        format!("+OK maildrop has 3 messages ({total} octets)")
    );
    assert_eq!(c.cmd("STAT").await, format!("+OK 3 {total}"));
    c.cmd("RETR 2").await;
    c.body().await;
    // Marks are not deletions: still in the store.
    c.cmd("DELE 1").await;
    c.cmd("DELE 3").await;
    assert_eq!(h.inbox_uids().await, uids);
    assert_eq!(
        c.cmd("QUIT").await,
        "+OK Pillarbox POP3 server signing off (2 messages deleted, 1 left)"
    );
    c.finished().await;
    assert_eq!(h.inbox_uids().await, vec![uids[1]]);
    assert!(!h.svc.locks().is_locked(h.bob.id));
}

#[tokio::test]
async fn a_dropped_connection_deletes_nothing_and_releases_the_lock() {
    let h = Harness::new().await;
    let u = h.deliver(&message("keep", "x\r\n")).await;
    let mut c = h.login().await;
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    c.hang_up().await;
    assert_eq!(h.inbox_uids().await, vec![u]);
    assert!(!h.svc.locks().is_locked(h.bob.id));
    let mut c = h.login().await;
    assert_eq!(c.cmd("STAT").await.split(' ').nth(1), Some("1"));
}

#[tokio::test]
async fn the_snapshot_is_fixed_at_login_and_unique_ids_are_stable() {
    let h = Harness::new().await;
    h.deliver(&message("a", "x\r\n")).await;
    let mut c = h.login().await;
    let (_, before) = c.multi("UIDL").await;
    h.deliver(&message("b", "y\r\n")).await;
    assert_eq!(c.cmd("STAT").await.split(' ').nth(1), Some("1"));
    c.cmd("QUIT").await;
    c.finished().await;
    let mut c = h.login().await;
    let (_, after) = c.multi("UIDL").await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], before[0], "same id across sessions");
}

#[tokio::test]
async fn an_empty_maildrop() {
    let h = Harness::new().await;
    let mut c = h.login().await;
    assert_eq!(c.cmd("STAT").await, "+OK 0 0");
    let (_, lines) = c.multi("LIST").await;
    assert!(lines.is_empty());
    assert_eq!(
        c.cmd("RETR 1").await,
        "-ERR no such message 1: the maildrop has 0 messages"
    );
    assert_eq!(
        c.cmd("QUIT").await,
        "+OK Pillarbox POP3 server signing off (0 messages deleted, 0 left)"
    );
}

#[tokio::test]
async fn a_message_removed_meanwhile_is_unavailable_not_fatal() {
    let h = Harness::new().await;
    let raw = message("gone", "x\r\n");
    h.deliver(&raw).await;
    let mut c = h.login().await;
    // Another session (IMAP) expunges it and the garbage collector removes its blob.
    let mb = h
        .store
        .mailbox_get(h.bob.id, "INBOX")
        .await
        .unwrap()
        .unwrap();
    let uids = h.inbox_uids().await;
    h.store.expunge_uids(mb.id, uids).await.unwrap();
    h.store
        .collect_garbage(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        c.cmd("RETR 1").await,
        "-ERR [SYS/TEMP] message 1 cannot be read now"
    );
    assert_eq!(c.cmd("NOOP").await, "+OK");
}

#[tokio::test]
async fn in_order_and_out_of_order_retrieval_return_the_right_messages() {
    let h = Harness::new().await;
    let mut msgs = Vec::new();
    for i in 0..40 {
        let raw = message(&format!("m{i}"), &format!("{}\r\n", "body ".repeat(i * 50)));
        h.deliver(&raw).await;
        msgs.push(raw);
    }
    let mut c = h.login().await;
    c.cmd("DELE 5").await;
    // In order (read ahead), skipping the deleted one, then backwards, then TOP.
    let order: Vec<u32> = (1..=40)
        .filter(|n| *n != 5)
        .chain((1..=40).rev().step_by(3))
        .collect();
    for n in order {
        let r = c.cmd(&format!("RETR {n}")).await;
        if n == 5 {
            assert_eq!(r, "-ERR message 5 already deleted");
            continue;
        }
        assert_eq!(
            r,
            format!("+OK {} octets", msgs[n as usize - 1].len()),
            "RETR {n}"
        );
        assert_eq!(unstuff(&c.body().await), msgs[n as usize - 1], "RETR {n}");
    }
    for n in 6..=9 {
        c.cmd(&format!("TOP {n} 0")).await;
        let top = String::from_utf8(c.body().await).unwrap();
        assert!(
            top.contains(&format!("Subject: m{}\r\n", n - 1)),
            "TOP {n}: {top}"
        );
    }
}
