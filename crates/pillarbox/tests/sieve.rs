//! Sieve end to end with the real binary: scripts installed with `pillarbox sieve`
//! (a script that does not compile is refused with its line and column), mail sent
//! over SMTP by Python's smtplib, folders read back by Python's imaplib, redirects and
//! vacation replies caught by a real SMTP peer behind the queue, rejects refused at
//! SMTP time; server-wide scripts around the user's; simple rules without Sieve.

mod support;

use std::process::Command;
use std::time::Duration;

use support::peers::{SmtpPeer, free_port};
use support::{TestServer, accounts, fails, listen_any, ok};

fn server(peer_port: u16) -> TestServer {
    TestServer::start(&format!(
        "{}\n[network]\ntrusted = [\"127.0.0.0/8\"]\nrelay = []\n\n[[queue.route]]\n\
         name = \"default\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {peer_port}\ntls = \"none\"\n",
        listen_any("127.0.0.1")
    ))
}

/// Sends one message over SMTP; returns "250" or the refusal's code and text.
fn send(s: &TestServer, from: &str, to: &[&str], subject: &str, extra: &str) -> String {
    let message = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nMessage-ID: <{}@client.test>\r\n{extra}\r\nHello\r\n",
        to.join(", "),
        subject.replace(' ', "-"),
    );
    let script = format!(
        r#"
import smtplib
c = smtplib.SMTP("127.0.0.1", {port})
c.ehlo("client.test")
try:
    c.sendmail({from:?}, {to:?}, {message:?}.encode())
    print(250)
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
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
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Subjects and flags of the messages in `mailbox`, read over IMAP.
fn imap_list(s: &TestServer, user: &str, mailbox: &str) -> Vec<(String, String)> {
    let script = format!(
        r#"
import imaplib, email
c = imaplib.IMAP4("127.0.0.1", {port})
c.login({user:?}, "pw")
typ, _ = c.select({mailbox:?})
if typ != "OK":
    print("NO MAILBOX")
else:
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    for part in data:
        if isinstance(part, tuple):
            flags = part[0].decode()
            subject = email.message_from_bytes(part[1])["Subject"]
            print(subject + "|" + flags)
c.logout()
"#,
        port = s.addr("imap").port(),
    );
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter(|l| *l != "NO MAILBOX")
        .filter_map(|l| l.split_once('|'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn subjects(s: &TestServer, user: &str, mailbox: &str) -> Vec<String> {
    imap_list(s, user, mailbox)
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// `f()` once it contains `needle` (monitoring is written in the background), or its
/// last value after 10 s.
fn poll(f: impl Fn() -> String, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let v = f();
        if v.contains(needle) || std::time::Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn put_script(s: &TestServer, account: &str, name: &str, source: &str) -> std::process::Output {
    let path = s.data_dir().join(format!("{name}.sieve"));
    std::fs::write(&path, source).unwrap();
    s.cli(
        &[
            "sieve",
            "put",
            account,
            name,
            path.to_str().unwrap(),
            "--activate",
        ],
        None,
    )
}

const SCRIPT: &str = r#"require ["fileinto", "imap4flags", "reject", "vacation", "copy", "mailbox"];
# Filing with a flag into a folder that does not exist yet.
if header :contains "subject" "invoice" {
    setflag "\\Flagged";
    fileinto :create "Invoices";
    stop;
}
if header :contains "subject" "unwanted" {
    reject "We do not take this here";
    stop;
}
if header :contains "subject" "elsewhere" {
    redirect "bob.elsewhere@remote.test";
    stop;
}
if header :contains "subject" "share" {
    redirect :copy "carol@example.test";
}
if header :contains "subject" "hello" {
    vacation :days 1 :subject "Away" "I am away until Monday.";
}
"#;

#[test]
fn a_script_files_flags_rejects_redirects_and_answers_once() {
    let port = free_port();
    let peer = SmtpPeer::start("127.0.0.1", port, serde_json::json!({}));
    let s = server(port);
    accounts(&s, &["bob", "carol"]);

    // A script that does not compile is refused, with where and why.
    let err = fails(put_script(
        &s,
        "bob@example.test",
        "broken",
        "require \"fileinto\";\nif header :is \"subject\" {\n  fileinto \"x\";\n}\n",
    ));
    assert!(err.contains("line 2"), "{err}");
    let listed = ok(s.cli(&["sieve", "list", "bob@example.test"], None));
    assert!(!listed.contains("broken"), "{listed}");

    ok(put_script(&s, "bob@example.test", "main", SCRIPT));
    let listed = ok(s.cli(&["sieve", "list", "bob@example.test"], None));
    assert!(listed.contains("main  ACTIVE"), "{listed}");

    // fileinto :create with a flag: an IMAP client finds it there, flagged.
    assert_eq!(
        send(
            &s,
            "alice@remote.test",
            &["bob@example.test"],
            "invoice 42",
            ""
        ),
        "250"
    );
    let invoices = imap_list(&s, "bob@example.test", "Invoices");
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0].0, "invoice 42");
    assert!(invoices[0].1.contains("\\Flagged"), "{invoices:?}");
    assert!(subjects(&s, "bob@example.test", "INBOX").is_empty());

    // reject: refused at SMTP time with the script's reason.
    let reply = send(
        &s,
        "alice@remote.test",
        &["bob@example.test"],
        "unwanted",
        "",
    );
    assert!(reply.starts_with("550"), "{reply}");
    assert!(reply.contains("We do not take this here"), "{reply}");

    // redirect: out through the queue to the peer, nothing kept.
    assert_eq!(
        send(
            &s,
            "alice@remote.test",
            &["bob@example.test"],
            "elsewhere",
            ""
        ),
        "250"
    );
    let got = peer.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].rcpts, vec!["bob.elsewhere@remote.test".to_string()]);
    // Forwarded with the sender rewritten (SRS), so SPF at the next hop judges us.
    assert!(
        got[0].from.starts_with("SRS0=")
            && got[0].from.ends_with("=remote.test=alice@mx.example.test"),
        "{}",
        got[0].from
    );
    assert!(got[0].data.contains("Subject: elsewhere"));

    // redirect :copy to a local account: both have it.
    assert_eq!(
        send(&s, "alice@remote.test", &["bob@example.test"], "share", ""),
        "250"
    );
    assert_eq!(subjects(&s, "bob@example.test", "INBOX"), vec!["share"]);
    assert_eq!(subjects(&s, "carol@example.test", "INBOX"), vec!["share"]);

    // vacation: one reply to a sender within :days, none to a list.
    assert_eq!(
        send(
            &s,
            "alice@remote.test",
            &["bob@example.test"],
            "hello 1",
            ""
        ),
        "250"
    );
    let got = peer.wait_for(2, Duration::from_secs(20));
    let reply = &got[1];
    assert_eq!(reply.from, "<>", "a vacation reply has the null sender");
    assert_eq!(reply.rcpts, vec!["alice@remote.test".to_string()]);
    assert!(
        reply.data.contains("Auto-Submitted: auto-replied"),
        "{}",
        reply.data
    );
    assert!(reply.data.contains("Subject: Away"), "{}", reply.data);
    assert!(
        reply.data.contains("In-Reply-To: <hello-1@client.test>"),
        "{}",
        reply.data
    );
    assert!(reply.data.contains("I am away until Monday."));
    assert_eq!(
        send(
            &s,
            "alice@remote.test",
            &["bob@example.test"],
            "hello 2",
            ""
        ),
        "250"
    );
    assert_eq!(
        send(
            &s,
            "list@lists.test",
            &["bob@example.test"],
            "hello list",
            "List-Id: <talk.lists.test>\r\n"
        ),
        "250"
    );
    // A marker message after them: once it is through the queue, the two above
    // would have been too.
    assert_eq!(
        send(
            &s,
            "alice@remote.test",
            &["bob@example.test"],
            "elsewhere 2",
            ""
        ),
        "250"
    );
    let got = peer.wait_for(3, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    let got_after = peer.received();
    assert_eq!(
        got_after.len(),
        3,
        "{:?}",
        got_after.iter().map(|r| &r.rcpts).collect::<Vec<_>>()
    );
    assert_eq!(got[2].rcpts, vec!["bob.elsewhere@remote.test".to_string()]);
    let inbox = subjects(&s, "bob@example.test", "INBOX");
    assert_eq!(inbox, vec!["share", "hello 1", "hello 2", "hello list"]);

    // The trace says what the script did.
    let trace = poll(
        || ok(s.cli(&["trace", "bob@example.test", "--json"], None)),
        "fileinto",
    );
    assert!(trace.contains("fileinto"), "{trace}");
}

#[test]
fn server_scripts_run_around_the_users_and_a_failing_script_keeps_the_mail() {
    let port = free_port();
    let _peer = SmtpPeer::start("127.0.0.1", port, serde_json::json!({}));
    let s = server(port);
    accounts(&s, &["bob", "carol"]);
    let dir = s.data_dir();
    let before = dir.join("before.sieve");
    std::fs::write(
        &before,
        "require \"fileinto\";\nif header :contains \"subject\" \"[SPAM]\" { fileinto \"Junk\"; stop; }\n",
    )
    .unwrap();
    ok(s.cli(
        &["sieve", "server-set", "before", before.to_str().unwrap()],
        None,
    ));
    let after = dir.join("after.sieve");
    std::fs::write(
        &after,
        "require [\"imap4flags\"];\nif header :contains \"subject\" \"urgent\" { addflag \"\\\\Flagged\"; }\n",
    )
    .unwrap();
    ok(s.cli(
        &[
            "sieve",
            "server-set",
            "after",
            after.to_str().unwrap(),
            "--domain",
            "example.test",
        ],
        None,
    ));
    let listed = ok(s.cli(&["sieve", "server-list"], None));
    assert!(listed.contains("sieve:before") && listed.contains("sieve:after:example.test"));

    assert_eq!(
        send(
            &s,
            "a@remote.test",
            &["bob@example.test"],
            "[SPAM] cheap",
            ""
        ),
        "250"
    );
    assert_eq!(
        subjects(&s, "bob@example.test", "Junk"),
        vec!["[SPAM] cheap"]
    );
    assert_eq!(
        send(
            &s,
            "a@remote.test",
            &["bob@example.test"],
            "urgent call",
            ""
        ),
        "250"
    );
    let inbox = imap_list(&s, "bob@example.test", "INBOX");
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].1.contains("\\Flagged"), "{inbox:?}");

    // A user script that stops at run time (too many redirects): the mail is kept.
    let mut many = String::from("");
    for i in 0..50 {
        many.push_str(&format!("redirect \"r{i}@remote.test\";\n"));
    }
    ok(put_script(&s, "carol@example.test", "many", &many));
    assert_eq!(
        send(
            &s,
            "a@remote.test",
            &["carol@example.test"],
            "kept anyway",
            ""
        ),
        "250"
    );
    assert_eq!(
        subjects(&s, "carol@example.test", "INBOX"),
        vec!["kept anyway"]
    );
    let events = poll(
        || ok(s.cli(&["events", "--type", "sieve.failed"], None)),
        "carol@example.test",
    );
    assert!(events.contains("carol@example.test"), "{events}");
}

#[test]
fn simple_rules_make_a_script_a_sieve_editor_can_open() {
    let port = free_port();
    let peer = SmtpPeer::start("127.0.0.1", port, serde_json::json!({}));
    let s = server(port);
    accounts(&s, &["bob"]);
    ok(s.cli(
        &[
            "rules",
            "move",
            "bob@example.test",
            "--from",
            "news@",
            "Newsletters",
        ],
        None,
    ));
    let script = ok(s.cli(
        &[
            "rules",
            "forward",
            "bob@example.test",
            "fwd@remote.test",
            "--keep",
        ],
        None,
    ));
    assert!(
        script.contains("redirect :copy \"fwd@remote.test\";"),
        "{script}"
    );
    let err = fails(s.cli(
        &[
            "rules",
            "vacation",
            "bob@example.test",
            "--text",
            "x",
            "--start",
            "2026-13-01",
        ],
        None,
    ));
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let shown = ok(s.cli(&["sieve", "show", "bob@example.test", "rules"], None));
    assert!(
        shown.contains("fileinto :create \"Newsletters\""),
        "{shown}"
    );

    assert_eq!(
        send(&s, "news@shop.test", &["bob@example.test"], "offers", ""),
        "250"
    );
    assert_eq!(
        subjects(&s, "bob@example.test", "Newsletters"),
        vec!["offers"]
    );
    let got = peer.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].rcpts, vec!["fwd@remote.test".to_string()]);
    // Mail from `sendmail` is filtered the same way.
    ok(s.cli(
        &["sendmail", "-t"],
        Some("From: news@shop.test\nTo: bob@example.test\nSubject: via sendmail\n\nHi\n"),
    ));
    assert_eq!(
        subjects(&s, "bob@example.test", "Newsletters"),
        vec!["offers", "via sendmail"]
    );

    ok(s.cli(&["rules", "clear", "bob@example.test", "forward"], None));
    let shown = ok(s.cli(&["sieve", "show", "bob@example.test", "rules"], None));
    assert!(!shown.contains("redirect"), "{shown}");
}
