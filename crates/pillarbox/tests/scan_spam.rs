//! Spam filtering against a real rspamd (Debian's, with a local offline configuration):
//! GTUBE refused at DATA, ordinary mail delivered with `X-Spam-*` headers, the Junk
//! mailbox by the account's own score, Sieve's `spamtest` reading the verdict, the
//! same through rspamd's milter interface (its proxy worker) to prove the milter
//! client, rspamd down (tempfail and an event), and learning: a message moved into
//! Junk over IMAP is reported to rspamd as spam, one moved out as ham.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::scanners::{GTUBE, Rspamd};
use support::{TestServer, accounts, listen_any, ok};

fn send(s: &TestServer, subject: &str, body: &str) -> String {
    let out = Command::new("swaks")
        .args([
            "--server",
            &s.addr("smtp").to_string(),
            "--from",
            "sender@outside.example",
            "--to",
            "bob@example.test",
            "--helo",
            "client.example",
            "--header",
            &format!("Subject: {subject}"),
            "--body",
            body,
            "--timeout",
            "30",
        ])
        .output()
        .expect("swaks");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn folder(s: &TestServer, name: &str) -> Vec<String> {
    support::mailbox(&s.data_dir(), "bob@example.test", name)
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .collect()
}

/// The value of header field `name` in `m` (first occurrence, unfolded).
fn field(m: &str, name: &str) -> Option<String> {
    let head = m.split("\r\n\r\n").next()?;
    let mut out: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = &mut out {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            out = Some(v.trim().to_string());
        }
    }
    out
}

#[test]
fn rspamd_refuses_gtube_and_scores_what_it_delivers() {
    let r = Rspamd::shared();
    let s = TestServer::start(&format!(
        "{}\n[scan]\nrspamd = \"{}\"\n",
        listen_any("127.0.0.1"),
        r.normal_addr()
    ));
    accounts(&s, &["bob"]);
    let script = "require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\", \"fileinto\", \"mailbox\"];\n\
                  if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"1\" { fileinto :create \"Tested\"; }\n";
    let path = s.data_dir().join("spamtest.sieve");
    std::fs::write(&path, script).unwrap();

    let out = send(&s, "buy now", &format!("hello\n{GTUBE}\n"));
    assert!(out.contains("554 5.7.1"), "{out}");
    support::wait_event(&s, "scanner.verdict", "refused");

    let out = send(&s, "hello bob", "An ordinary message.");
    assert!(out.contains("250 2.0.0"), "{out}");
    let inbox = folder(&s, "INBOX");
    assert_eq!(inbox.len(), 1);
    let score: f64 = field(&inbox[0], "X-Spam-Score")
        .unwrap_or_else(|| panic!("{}", inbox[0]))
        .parse()
        .unwrap();
    let status = field(&inbox[0], "X-Spam-Status").unwrap();
    assert!(status.starts_with("No, score="), "{status}");
    assert!(score < 6.0, "{score}");

    // Bob's own Junk score below what this message scores: to Junk.
    let threshold = format!("{}", score - 0.5);
    ok(s.cli(
        &["spam", "threshold", "bob@example.test", "--", &threshold],
        None,
    ));
    let out = send(&s, "hello again", "An ordinary message.");
    assert!(out.contains("250 2.0.0"), "{out}");
    let junk = folder(&s, "Junk");
    assert_eq!(junk.len(), 1, "to Junk by bob's own score ({threshold})");
    assert!(junk[0].contains("Subject: hello again"));
    ok(s.cli(&["spam", "threshold", "bob@example.test", "--clear"], None));

    // spamtest sees the verdict (1 and up: tested).
    ok(s.cli(
        &[
            "sieve",
            "put",
            "bob@example.test",
            "main",
            path.to_str().unwrap(),
            "--activate",
        ],
        None,
    ));
    let out = send(&s, "tested", "An ordinary message.");
    assert!(out.contains("250 2.0.0"), "{out}");
    assert_eq!(folder(&s, "Tested").len(), 1);
}

#[test]
fn rspamd_as_a_milter_through_its_proxy_worker() {
    let r = Rspamd::shared();
    let s = TestServer::start(&format!(
        "{}\n[[scan.milter]]\nname = \"rspamd\"\naddress = \"{}\"\ntimeout = \"30s\"\n",
        listen_any("127.0.0.1"),
        r.milter_addr()
    ));
    accounts(&s, &["bob"]);
    let out = send(&s, "buy now", &format!("hello\n{GTUBE}\n"));
    assert!(
        out.contains("<** 5") && !out.contains("250 2.0.0 Ok: queued"),
        "{out}"
    );
    let out = send(&s, "hello bob", "An ordinary message.");
    assert!(out.contains("250 2.0.0"), "{out}");
    assert_eq!(folder(&s, "INBOX").len(), 1);
}

#[test]
fn rspamd_down_means_tempfail() {
    let mut r = Rspamd::start();
    let s = TestServer::start(&format!(
        "{}\n[scan]\nrspamd = \"{}\"\nrspamd_timeout = \"5s\"\n",
        listen_any("127.0.0.1"),
        r.normal_addr()
    ));
    accounts(&s, &["bob"]);
    assert!(send(&s, "up", "fine").contains("250 2.0.0"));
    r.stop();
    let out = send(&s, "down", "fine");
    assert!(out.contains("451 4.7.1"), "{out}");
    support::wait_event(&s, "scanner.failed", "spam filter gave no verdict");
    assert_eq!(folder(&s, "INBOX").len(), 1);
}

/// The number of messages rspamd learned (`/stat`'s `learned`).
fn learned(r: &Rspamd) -> u64 {
    r.stat()["learned"].as_u64().unwrap_or(0)
}

#[test]
fn moving_into_and_out_of_junk_teaches_rspamd() {
    let r = Rspamd::start();
    let s = TestServer::start(&format!(
        "{}\n[scan]\nrspamd = \"{}\"\nrspamd_controller = \"{}\"\nrspamd_password = \"{}\"\n",
        listen_any("127.0.0.1"),
        r.normal_addr(),
        r.controller_addr(),
        support::scanners::RSPAMD_PASSWORD
    ));
    accounts(&s, &["bob"]);
    for i in 0..2 {
        let out = send(
            &s,
            &format!("offer {i}"),
            &format!("Cheap watches and pills number {i}, order today at great prices"),
        );
        assert!(out.contains("250 2.0.0"), "{out}");
    }
    let before = learned(&r);
    let script = format!(
        r#"
import imaplib
c = imaplib.IMAP4("127.0.0.1", {port})
c.login("bob@example.test", "pw")
c.select("INBOX")
typ, data = c.uid("MOVE", "1", "Junk")
assert typ == "OK", (typ, data)
c.select("Junk")
typ, data = c.uid("SEARCH", None, "ALL")
uid = data[0].split()[0].decode()
typ, data = c.uid("MOVE", uid, "INBOX")
assert typ == "OK", (typ, data)
c.logout()
"#,
        port = s.addr("imap").port()
    );
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Spam, then ham: two learns (the background reports take a moment).
    let deadline = Instant::now() + Duration::from_secs(20);
    while learned(&r) < before + 2 {
        assert!(
            Instant::now() < deadline,
            "rspamd learned {} (before: {before}); its log: {}",
            learned(&r),
            r.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn mail_over_the_quarantine_score_is_held_not_delivered() {
    let r = Rspamd::shared();
    // Every message scores above -100: all of it goes to quarantine.
    let s = TestServer::start(&format!(
        "{}\n[scan]\nrspamd = \"{}\"\nquarantine_score = -100.0\n",
        listen_any("127.0.0.1"),
        r.normal_addr()
    ));
    accounts(&s, &["bob"]);
    let out = send(&s, "held", "An ordinary message.");
    assert!(out.contains("250 2.0.0"), "{out}");
    assert!(folder(&s, "INBOX").is_empty());
    support::wait_event(&s, "message.quarantined", "spam score");
    let list = ok(s.cli(&["quarantine", "list"], None));
    assert!(
        list.contains("bob@example.test") && list.contains("spam score"),
        "{list}"
    );
    let id = list.split_whitespace().next().unwrap().to_string();
    ok(s.cli(&["quarantine", "release", &id], None));
    assert_eq!(folder(&s, "INBOX").len(), 1, "released to bob");
}
