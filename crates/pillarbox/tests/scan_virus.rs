//! Antivirus against a real clamd (Debian's clamav-daemon, with a signature database
//! made by the test for the EICAR test file): EICAR at the MX is refused with `554
//! 5.7.1` and the signature's name, clean mail is delivered marked as scanned, clamd
//! stopped means `451 4.7.1` (or, when the administrator chose so, delivery tagged as
//! unscanned) and a `scanner.failed` event; EICAR in collected mail (from a real
//! Dovecot) is quarantined, its owner told, and the quarantine's CLI lists, shows,
//! releases and deletes; Sieve's `virustest` sees the verdict.

mod support;

use std::process::Command;

use support::remote::{Dovecot, Local};
use support::scanners::{Clamd, EICAR, EICAR_SIGNATURE};
use support::{TestServer, accounts, listen_any, ok};

/// Sends a message with `body` to bob at the MX; swaks' transcript.
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

#[test]
fn eicar_is_refused_at_the_mx_and_clean_mail_is_delivered() {
    let clamd = Clamd::shared();
    let s = TestServer::start(&format!(
        "{}\n[scan]\nclamd = \"{}\"\n",
        listen_any("127.0.0.1"),
        clamd.addr()
    ));
    accounts(&s, &["bob"]);
    let script = "require [\"virustest\", \"relational\", \"comparator-i;ascii-numeric\", \"fileinto\", \"mailbox\"];\n\
                  if virustest :value \"eq\" :comparator \"i;ascii-numeric\" \"1\" { fileinto :create \"Clean\"; }\n";
    let path = s.data_dir().join("virustest.sieve");
    std::fs::write(&path, script).unwrap();
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

    let out = send(&s, "virus", &format!("look at this\n{EICAR}\n"));
    assert!(
        out.contains("554 5.7.1") && out.contains(EICAR_SIGNATURE),
        "{out}"
    );
    support::wait_event(&s, "scanner.verdict", EICAR_SIGNATURE);

    let out = send(&s, "clean", "nothing to see");
    assert!(out.contains("250 2.0.0"), "{out}");
    let clean = folder(&s, "Clean");
    assert_eq!(clean.len(), 1, "virustest saw 1 (clean)");
    assert!(
        clean[0].contains("X-Virus-Scanned: clamd on "),
        "{}",
        clean[0]
    );
    assert!(folder(&s, "INBOX").is_empty());
}

#[test]
fn clamd_down_means_tempfail_or_tagged_delivery_as_chosen() {
    let mut clamd = Clamd::start();
    let tempfail = TestServer::start(&format!(
        "{}\n[scan]\nclamd = \"{}\"\nclamd_timeout = \"5s\"\n",
        listen_any("127.0.0.1"),
        clamd.addr()
    ));
    accounts(&tempfail, &["bob"]);
    let tagging = TestServer::start(&format!(
        "{}\n[scan]\nclamd = \"{}\"\non_error = \"accept_and_tag\"\n",
        listen_any("127.0.0.1"),
        clamd.addr()
    ));
    accounts(&tagging, &["bob"]);
    assert!(send(&tempfail, "before", "fine").contains("250 2.0.0"));
    clamd.stop();
    let out = send(&tempfail, "while down", "fine");
    assert!(out.contains("451 4.7.1"), "{out}");
    support::wait_event(&tempfail, "scanner.failed", "antivirus gave no verdict");
    let out = send(&tagging, "while down", "fine");
    assert!(out.contains("250 2.0.0"), "{out}");
    let inbox = folder(&tagging, "INBOX");
    assert!(
        inbox[0].contains("X-Pillarbox-Scan: unscanned (clamd: unavailable)"),
        "{}",
        inbox[0]
    );
    support::wait_event(&tagging, "scanner.failed", "antivirus gave no verdict");
    // Back up: scanning again.
    clamd.restart();
    let out = send(&tempfail, "after", "fine");
    assert!(out.contains("250 2.0.0"), "{out}");
    assert_eq!(folder(&tempfail, "INBOX").len(), 2);
}

#[test]
fn eicar_in_collected_mail_is_quarantined_and_the_owner_told() {
    let clamd = Clamd::shared();
    let dc = Dovecot::start(false);
    let infected = format!(
        "From: friend@remote.test\r\nTo: remote@remote.test\r\nSubject: an attachment\r\n\
         Message-ID: <virus@remote.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: application/octet-stream; name=eicar.com\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        base64(EICAR.as_bytes())
    );
    dc.add("virus", infected.as_bytes());
    dc.add(
        "clean",
        b"From: friend@remote.test\r\nTo: remote@remote.test\r\nSubject: hello\r\nMessage-ID: <clean@remote.test>\r\n\r\nhi\r\n",
    );
    let l = Local::new(&format!("[scan]\nclamd = \"{}\"\n", clamd.addr()));
    l.add(
        "pop",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &dc.pop3.to_string(),
            "--tls",
            "none",
        ],
    );
    let out = l.run("pop");
    assert!(out.contains("2 collected"), "{out}");
    let inbox: Vec<String> = l
        .folder("INBOX")
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .collect();
    assert_eq!(inbox.len(), 2, "the clean message and the notice");
    assert!(
        inbox
            .iter()
            .any(|m| m.contains("Subject: hello") && m.contains("X-Virus-Scanned")),
        "{inbox:?}"
    );
    let notice = inbox
        .iter()
        .find(|m| m.contains("Subject: Quarantined: an attachment"))
        .unwrap_or_else(|| panic!("{inbox:?}"));
    assert!(notice.contains(EICAR_SIGNATURE), "{notice}");
    assert!(!inbox.iter().any(|m| m.contains("eicar.com")));
    // Not collected again.
    let out = l.run("pop");
    assert!(out.contains(" 0 collected"), "{out}");

    // The administrator's view.
    let list = ok(l.cli(&["quarantine", "list"], None));
    assert!(
        list.contains(&format!("virus {EICAR_SIGNATURE}")) && list.contains("collect pop"),
        "{list}"
    );
    let id = list.split_whitespace().next().unwrap().to_string();
    let shown = ok(l.cli(&["quarantine", "show", &id], None));
    assert!(shown.contains("Subject: an attachment"), "{shown}");
    let raw = ok(l.cli(&["quarantine", "show", &id, "--raw"], None));
    assert!(raw.contains("eicar.com"), "{raw}");
    let released = ok(l.cli(&["quarantine", "release", &id], None));
    assert!(released.contains("released"), "{released}");
    assert_eq!(l.folder("INBOX").len(), 3, "released into the INBOX");
    assert!(!ok(l.cli(&["quarantine", "list"], None)).contains(&id));
    assert!(!l.cli(&["quarantine", "delete", &id], None).status.success());
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_message_over_the_scanner_limit_is_scanned_in_part_or_tagged() {
    let clamd = Clamd::shared();
    let first = TestServer::start(&format!(
        "{}\n[scan]\nclamd = \"{}\"\nclamd_max_size = 2048\n",
        listen_any("127.0.0.1"),
        clamd.addr()
    ));
    accounts(&first, &["bob"]);
    let skip = TestServer::start(&format!(
        "{}\n[scan]\nclamd = \"{}\"\nclamd_max_size = 2048\noversize = \"skip_with_header\"\n",
        listen_any("127.0.0.1"),
        clamd.addr()
    ));
    accounts(&skip, &["bob"]);
    let padding = "x".repeat(76) + "\n";
    // EICAR at the start: found in the first 2 KiB.
    let early = format!("{EICAR}\n{}", padding.repeat(60));
    assert!(send(&first, "early", &early).contains("554 5.7.1"));
    // Not scanned at all when skipping: delivered, and says so.
    let out = send(&skip, "skipped", &early);
    assert!(out.contains("250 2.0.0"), "{out}");
    let inbox = folder(&skip, "INBOX");
    assert!(
        inbox[0].contains("X-Pillarbox-Scan: unscanned (clamd: too big)"),
        "{}",
        inbox[0]
    );
    // Small messages are scanned as usual on both.
    assert!(send(&skip, "small", EICAR).contains("554 5.7.1"));
}
