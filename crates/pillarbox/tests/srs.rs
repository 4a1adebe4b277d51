//! The Sender Rewriting Scheme end to end: mail from another domain forwarded by an
//! alias leaves with an `SRS0=…@` sender of ours (caught by a real SMTP peer); a
//! bounce to that address is taken and sent on to the original sender; a forged or
//! altered SRS address is refused at RCPT; mail from our own domains keeps its sender.

mod support;

use std::process::Command;
use std::time::Duration;

use support::peers::{SmtpPeer, free_port};
use support::{TestServer, accounts, listen_any, ok};

/// One SMTP transaction; prints each reply code after RCPT and DATA.
fn transaction(s: &TestServer, from: &str, to: &str, subject: &str) -> String {
    let script = format!(
        r#"
import smtplib
c = smtplib.SMTP("127.0.0.1", {port})
c.ehlo("client.test")
c.mail({from:?})
code, _ = c.rcpt({to:?})
print("rcpt", code)
if code == 250:
    code, _ = c.data("From: x@remote.test\r\nTo: y@example.test\r\nSubject: {subject}\r\n\r\nHi\r\n".encode())
    print("data", code)
c.quit()
"#,
        port = s.addr("smtp").port(),
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
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn forwarded_mail_is_rewritten_and_its_bounces_come_back() {
    let port = free_port();
    let peer = SmtpPeer::start("127.0.0.1", port, serde_json::json!({}));
    let s = TestServer::start(&format!(
        "{}\n[network]\ntrusted = [\"127.0.0.0/8\"]\nrelay = []\n\n[[queue.route]]\n\
         name = \"default\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob"]);
    ok(s.cli(
        &["alias", "add", "fwd@example.test", "far@remote.test"],
        None,
    ));

    // Forwarded: the sender is ours now.
    let out = transaction(&s, "alice@sender.test", "fwd@example.test", "forwarded");
    assert!(out.contains("data 250"), "{out}");
    let got = peer.wait_for(1, Duration::from_secs(20));
    let srs = got[0].from.clone();
    assert!(
        srs.starts_with("SRS0=") && srs.ends_with("=sender.test=alice@mx.example.test"),
        "{srs}"
    );
    assert_eq!(got[0].rcpts, vec!["far@remote.test".to_string()]);

    // The bounce to it goes back to the original sender, with the null sender.
    let out = transaction(&s, "", &srs, "bounce");
    assert!(
        out.contains("rcpt 250") && out.contains("data 250"),
        "{out}"
    );
    let got = peer.wait_for(2, Duration::from_secs(20));
    assert_eq!(got[1].rcpts, vec!["alice@sender.test".to_string()]);
    assert_eq!(got[1].from, "<>");

    // Forged (wrong hash) and altered (another original sender) addresses are refused.
    let out = transaction(
        &s,
        "",
        "SRS0=AAAAAA=AB=sender.test=alice@mx.example.test",
        "forged",
    );
    assert!(out.contains("rcpt 550"), "{out}");
    let altered = srs.replace("=alice@", "=mallory@");
    let out = transaction(&s, "", &altered, "altered");
    assert!(out.contains("rcpt 550"), "{out}");

    // Mail from one of our own domains is forwarded with its sender as it is.
    let out = transaction(&s, "bob@example.test", "fwd@example.test", "from us");
    assert!(out.contains("data 250"), "{out}");
    let got = peer.wait_for(3, Duration::from_secs(20));
    assert_eq!(got[2].from, "bob@example.test");
}
