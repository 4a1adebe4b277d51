//! Temporary and permanent failures at a real receiving server: 451 then 250 is
//! delivered on retry; 550 bounces with the remote's reply quoted; expiry bounces; the
//! null sender never gets a bounce.

mod support;

use std::time::{Duration, Instant};

use support::peers::{SmtpPeer, free_port};
use support::{TestServer, accounts, inbox, listen_any, ok};

/// A server whose smart host is `peer` (plain SMTP), retrying every second.
fn server(peer: &SmtpPeer, extra_queue: &str) -> TestServer {
    let s = TestServer::start(&format!(
        "{}\n[network]\nrelay = [\"127.0.0.0/8\"]\n\n[queue]\nretry_intervals = [\"1s\"]\n{extra_queue}\n\n\
         [[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        listen_any("127.0.0.1"),
        peer.addr.port()
    ));
    accounts(&s, &["bob"]);
    s
}

fn sendmail(s: &TestServer, from: &str, to: &str, subject: &str) {
    let msg = format!("From: {from}\nTo: {to}\nSubject: {subject}\n\nbody\n");
    ok(s.cli(&["sendmail", "-f", from, to], Some(&msg)));
}

/// Waits for a message containing `needle` in `addr`'s INBOX.
fn wait_inbox(s: &TestServer, addr: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(m) = inbox(&s.data_dir(), addr)
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .find(|m| m.contains(needle))
        {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no message with {needle:?} for {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn deferred_then_delivered_on_retry() {
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "defer_first": { "slow@remote.test": 1 } }),
    );
    let s = server(&peer, "");
    sendmail(&s, "bob@example.test", "slow@remote.test", "retry me");
    let got = peer.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].rcpts, vec!["slow@remote.test"]);
    assert!(
        inbox(&s.data_dir(), "bob@example.test").is_empty(),
        "no bounce for a delivered message"
    );
}

#[test]
fn permanent_failure_bounces_with_the_remote_reply() {
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "reject": { "gone@remote.test": "550 5.1.1 <gone@remote.test>: user unknown here" } }),
    );
    let s = server(&peer, "");
    sendmail(&s, "bob@example.test", "gone@remote.test", "to nobody");
    let bounce = wait_inbox(&s, "bob@example.test", "multipart/report");
    assert!(
        bounce.contains("550 5.1.1 <gone@remote.test>: user unknown here"),
        "remote reply quoted: {bounce}"
    );
    assert!(bounce.contains("Status: 5.1.1"), "{bounce}");
    assert!(
        bounce.contains("Final-Recipient: rfc822; gone@remote.test"),
        "{bounce}"
    );
    assert!(
        bounce.contains("Subject: to nobody"),
        "the original comes back: {bounce}"
    );
    assert!(
        bounce.contains("From: Mail Delivery System <MAILER-DAEMON@mx.example.test>"),
        "{bounce}"
    );
}

#[test]
fn expiry_bounces_and_null_sender_never_does() {
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "defer_first": { "later@remote.test": 1000, "nobounce@remote.test": 1000 } }),
    );
    let s = server(&peer, "expire_after = \"3s\"");
    sendmail(&s, "bob@example.test", "later@remote.test", "too slow");
    let bounce = wait_inbox(&s, "bob@example.test", "multipart/report");
    assert!(
        bounce.contains("later@remote.test") && bounce.contains("451 4.7.1 try again later"),
        "{bounce}"
    );
    assert!(bounce.contains("Action: failed"), "{bounce}");

    // A message with the null sender expires silently.
    let out = std::process::Command::new("swaks")
        .args([
            "--server",
            &s.addr("smtp").to_string(),
            "--from",
            "",
            "--to",
            "nobounce@remote.test",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = ok(s.cli(&["queue", "list"], None));
        if list.contains("queue is empty") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the null-sender message never expired: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let bounces = inbox(&s.data_dir(), "bob@example.test")
        .into_iter()
        .filter(|m| String::from_utf8_lossy(m).contains("multipart/report"))
        .count();
    assert_eq!(bounces, 1, "only the first message bounced");
}

#[test]
fn delay_warning_before_expiry() {
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "defer_first": { "busy@remote.test": 1000 } }),
    );
    let s = server(&peer, "expire_after = \"1h\"\ndelay_warning_after = \"1s\"");
    sendmail(&s, "bob@example.test", "busy@remote.test", "still trying");
    let notice = wait_inbox(&s, "bob@example.test", "Delayed Mail");
    assert!(notice.contains("Action: delayed"), "{notice}");
    assert!(notice.contains("Will-Retry-Until: "), "{notice}");
    assert!(
        notice.contains("text/rfc822-headers"),
        "a delay notice carries only the headers: {notice}"
    );
    // Only one warning, and the message is still queued.
    std::thread::sleep(Duration::from_secs(3));
    let warnings = inbox(&s.data_dir(), "bob@example.test")
        .into_iter()
        .filter(|m| String::from_utf8_lossy(m).contains("Delayed Mail"))
        .count();
    assert_eq!(warnings, 1);
    assert!(ok(s.cli(&["queue", "list"], None)).contains("busy@remote.test"));
}
