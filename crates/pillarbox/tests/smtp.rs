//! SMTP end to end against the real binary, with real clients: swaks, Python's smtplib
//! and raw sockets for the protocol corners (pipelining, BDAT, smuggling, STARTTLS
//! injection). Also durability across kill -9 and `pillarbox sendmail`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use support::{TestServer, accounts, inbox, listen_any, ok, python, python_ok};

fn server() -> TestServer {
    // Loopback is not trusted for plaintext AUTH here, so TLS rules are exercised.
    let s = TestServer::start(&format!(
        "{}\n[network]\ntrusted = []\nrelay = []\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob", "alice"]);
    s
}

fn port(s: &TestServer, svc: &str) -> String {
    s.addr(svc).port().to_string()
}

fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(args)
        .output()
        .expect("swaks is installed (scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A raw SMTP conversation: sends `chunks` one write each, reading after each (until
/// the server is quiet; after a chunk that ends with QUIT, until it closes, however
/// long a loaded machine takes).
fn raw(addr: std::net::SocketAddr, chunks: &[&[u8]]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut all = String::new();
    let read_some = |s: &mut TcpStream, all: &mut String| {
        let mut buf = [0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => all.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => break,
            }
        }
    };
    read_some(&mut s, &mut all);
    for c in chunks {
        s.write_all(c).unwrap();
        if c.ends_with(b"QUIT\r\n") {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        read_some(&mut s, &mut all);
    }
    all
}

#[test]
fn mx_delivery_to_a_local_account_with_swaks_and_smtplib() {
    let s = server();
    let (ok_, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", port(&s, "smtp")),
        "--to",
        "bob@example.test",
        "--from",
        "someone@remote.example",
        "--body",
        "swaks body",
    ]);
    assert!(ok_, "{out}");
    assert!(out.contains("250 2.0.0 Message accepted"), "{out}");
    python_ok(
        r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.sendmail("x@remote.example", ["bob@example.test"], "Subject: from python\r\n\r\npython body\r\n")
s.quit()
"#,
        &[&port(&s, "smtp")],
    );
    let msgs = inbox(&s.data_dir(), "bob@example.test");
    assert_eq!(msgs.len(), 2);
    let first = String::from_utf8_lossy(&msgs[0]);
    assert!(first.starts_with("Received: from "), "{first}");
    assert!(first.contains("with ESMTP id "), "{first}");
    assert!(first.contains("swaks body"));
    assert!(String::from_utf8_lossy(&msgs[1]).contains("python body"));
}

#[test]
fn submission_starttls_with_auth_plain_and_login() {
    let s = server();
    let script = r#"
import smtplib, ssl, sys
port, mech = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = smtplib.SMTP("127.0.0.1", port)
c.ehlo()
assert "auth" not in c.esmtp_features, "no AUTH before TLS from an untrusted network"
code, _ = c.mail("bob@example.test")
assert code == 530, code
c.starttls(context=ctx)
c.ehlo()
assert "starttls" not in c.esmtp_features
c.user, c.password = "bob@example.test", "pw"
code, _ = c.auth(mech, getattr(c, "auth_" + mech.lower()), initial_response_ok=(mech == "PLAIN"))
assert code == 235, code
c.sendmail("bob@example.test", ["alice@example.test"], "Subject: " + mech + "\r\n\r\nhi\r\n")
c.quit()
print("ok")
"#;
    for mech in ["PLAIN", "LOGIN"] {
        assert_eq!(
            python_ok(script, &[&port(&s, "submission"), mech]).trim(),
            "ok"
        );
    }
    let msgs = inbox(&s.data_dir(), "alice@example.test");
    assert_eq!(msgs.len(), 2);
    let text = String::from_utf8_lossy(&msgs[0]);
    assert!(text.contains("with ESMTPSA"), "{text}");
    assert!(
        text.contains("Message-ID: <"),
        "submission adds a Message-ID: {text}"
    );
    assert!(text.contains("Date: "), "{text}");
    // swaks with STARTTLS and AUTH LOGIN.
    let (ok_, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", port(&s, "submission")),
        "-tls",
        "--auth",
        "LOGIN",
        "--auth-user",
        "bob@example.test",
        "--auth-password",
        "pw",
        "--from",
        "bob@example.test",
        "--to",
        "alice@example.test",
    ]);
    assert!(ok_, "{out}");
}

#[test]
fn implicit_tls_submission() {
    let s = server();
    python_ok(
        r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=ctx)
c.login("bob@example.test", "pw")
c.sendmail("bob@example.test", ["alice@example.test"], "Subject: 465\r\n\r\nhi\r\n")
c.quit()
"#,
        &[&port(&s, "submissions")],
    );
    let (ok_, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", port(&s, "submissions")),
        "--tlsc",
        "--auth",
        "PLAIN",
        "--auth-user",
        "bob@example.test",
        "--auth-password",
        "pw",
        "--from",
        "bob@example.test",
        "--to",
        "alice@example.test",
    ]);
    assert!(ok_, "{out}");
    assert_eq!(inbox(&s.data_dir(), "alice@example.test").len(), 2);
}

#[test]
fn pipelined_mail_rcpt_data() {
    let s = server();
    let out = raw(
        s.addr("smtp"),
        &[
            b"EHLO client.example\r\n",
            b"MAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n",
            b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n",
        ],
    );
    let codes: Vec<&str> = out.lines().map(|l| &l[..3]).collect();
    // greeting, EHLO (multi-line), MAIL, RCPT ok, RCPT 550, RCPT ok, 354, 250, 221
    let tail: Vec<&str> = codes.iter().rev().take(7).rev().cloned().collect();
    assert_eq!(
        tail,
        vec!["250", "250", "550", "250", "354", "250", "221"],
        "{out}"
    );
    assert!(out.contains("250-PIPELINING"));
    assert_eq!(inbox(&s.data_dir(), "bob@example.test").len(), 1);
    assert_eq!(inbox(&s.data_dir(), "alice@example.test").len(), 1);
}

#[test]
fn bdat_chunks() {
    let s = server();
    let body1 = b"Subject: chunked\r\n\r\nfirst ";
    let body2 = b"second\r\n.not stuffed\r\n";
    let out = raw(
        s.addr("smtp"),
        &[
            b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.test>\r\n",
            &[format!("BDAT {}\r\n", body1.len()).as_bytes(), body1].concat(),
            &[format!("BDAT {} LAST\r\n", body2.len()).as_bytes(), body2].concat(),
            b"QUIT\r\n",
        ],
    );
    assert!(out.contains("250-CHUNKING"), "{out}");
    assert!(
        out.contains(&format!("250 2.0.0 {} octets received", body1.len())),
        "{out}"
    );
    assert!(out.contains("250 2.0.0 Message accepted"), "{out}");
    let msgs = inbox(&s.data_dir(), "bob@example.test");
    let text = String::from_utf8_lossy(&msgs[0]);
    assert!(
        text.ends_with("Subject: chunked\r\n\r\nfirst second\r\n.not stuffed\r\n"),
        "{text}"
    );
}

#[test]
fn eight_bit_mime_and_smtputf8_address() {
    let s = server();
    ok(s.cli(
        &["account", "add", "jöran@example.test", "--password-stdin"],
        Some("pw\n"),
    ));
    let out = python_ok(
        r#"
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
c.ehlo()
assert c.has_extn("8bitmime") and c.has_extn("smtputf8")
msg = "Subject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÄpfel und Bäume\r\n".encode("utf-8")
c.sendmail("sändare@remote.example", ["jöran@example.test"], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
# Without SMTPUTF8 a non-ASCII address is refused.
code, text = c.docmd("MAIL", "FROM:<sändare@remote.example>")
print(code)
c.quit()
"#,
        &[&port(&s, "smtp")],
    );
    assert_eq!(out.trim(), "553");
    let msgs = inbox(&s.data_dir(), "jöran@example.test");
    assert_eq!(msgs.len(), 1);
    let text = String::from_utf8(msgs[0].clone()).unwrap();
    assert!(text.contains("Äpfel und Bäume"), "8-bit body kept: {text}");
    assert!(text.contains("with UTF8SMTP"), "{text}");
}

#[test]
fn size_refused_at_mail_and_during_data() {
    let s = TestServer::start(&format!(
        "{}\n[smtp]\nmax_message_size = 1000\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob"]);
    let big = "x".repeat(80);
    let body: String = (0..30).map(|_| format!("{big}\r\n")).collect();
    let out = raw(
        s.addr("smtp"),
        &[
            b"EHLO c\r\n",
            b"MAIL FROM:<a@remote.example> SIZE=5000\r\n",
            b"MAIL FROM:<a@remote.example> SIZE=500\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
            format!("Subject: big\r\n\r\n{body}.\r\n").as_bytes(),
            b"NOOP\r\n",
        ],
    );
    assert!(out.contains("250-SIZE 1000"), "{out}");
    assert!(out.contains("552 5.3.4"), "refused at MAIL: {out}");
    assert_eq!(
        out.matches("552 5.3.4").count(),
        2,
        "and again after DATA: {out}"
    );
    assert!(
        out.trim_end().ends_with("250 2.0.0 OK"),
        "session goes on: {out}"
    );
    assert!(inbox(&s.data_dir(), "bob@example.test").is_empty());
}

/// A local mailbox that fills up between RCPT and the end of DATA: the message is
/// accepted for the others, and the sender gets a failure notice (RFC 3464) for that
/// recipient, unless it said NOTIFY=NEVER.
#[test]
fn a_recipient_failing_after_data_gets_the_sender_a_failure_notice() {
    let s = server();
    ok(s.cli(
        &["account", "add", "carol@example.test", "--password-stdin"],
        Some("pw\n"),
    ));
    ok(s.cli(
        &["account", "set", "carol@example.test", "--quota", "4KiB"],
        None,
    ));
    python_ok(
        r#"
import smtplib, sys
big = "Subject: big\r\nMessage-ID: <big@remote.example>\r\n\r\n" + ("x" * 70 + "\r\n") * 100
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.example")
for notify in (None, "NEVER"):
    # No SIZE parameter: RCPT cannot see that carol's mailbox is too small.
    code, _ = s.mail("alice@example.test")
    assert code == 250
    for rcpt in ("bob@example.test", "carol@example.test"):
        opts = ["NOTIFY=" + notify] if notify else []
        code, msg = s.rcpt(rcpt, opts)
        assert code == 250, (rcpt, code, msg)
    code, msg = s.data(big)
    assert code == 250, (code, msg)
s.quit()
"#,
        &[&port(&s, "smtp")],
    );
    assert_eq!(inbox(&s.data_dir(), "bob@example.test").len(), 2);
    assert!(inbox(&s.data_dir(), "carol@example.test").is_empty());
    let notices = inbox(&s.data_dir(), "alice@example.test");
    assert_eq!(
        notices.len(),
        1,
        "one notice: the second message said NOTIFY=NEVER"
    );
    let text = String::from_utf8_lossy(&notices[0]);
    for want in [
        "Content-Type: multipart/report; report-type=delivery-status",
        "Final-Recipient: rfc822; carol@example.test",
        "Action: failed",
        "Status: 5.2.2",
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
        "Message-ID: <big@remote.example>",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert!(!text.contains("Final-Recipient: rfc822; bob@example.test"));
}

#[test]
fn unknown_user_relay_and_foreign_sender_are_refused() {
    let s = server();
    let out = raw(
        s.addr("smtp"),
        &[b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<victim@elsewhere.example>\r\nQUIT\r\n"],
    );
    assert!(out.contains("550 5.1.1"), "{out}");
    assert!(out.contains("554 5.7.1 Relay access denied"), "{out}");

    let out = python(
        r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=ctx)
c.login("bob@example.test", "pw")
code, text = c.docmd("MAIL", "FROM:<alice@example.test>")
print(code, text.decode())
code, text = c.docmd("MAIL", "FROM:<bob+tag@example.test>")
print(code)
code, text = c.docmd("RCPT", "TO:<friend@elsewhere.example>")
print(code)
"#,
        &[&port(&s, "submissions")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("553 5.7.1"), "{text}");
    assert_eq!(lines[1], "250", "own address with a +tag is fine");
    assert_eq!(lines[2], "250", "authenticated users may relay");
}

#[test]
fn bare_lf_smuggling_does_not_end_or_inject() {
    for mode in ["reject", "normalize"] {
        let s = TestServer::start(&format!(
            "{}\n[smtp]\nbare_newline = \"{mode}\"\n",
            listen_any("127.0.0.1")
        ));
        accounts(&s, &["bob", "alice"]);
        let out = raw(
            s.addr("smtp"),
            &[
                b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
                b"Subject: outer\r\n\r\nhello\n.\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n",
                b"NOOP\r\n",
            ],
        );
        assert_eq!(
            out.matches("354 ").count(),
            1,
            "{mode}: one DATA only: {out}"
        );
        assert!(
            inbox(&s.data_dir(), "alice@example.test").is_empty(),
            "{mode}: nothing injected"
        );
        let bob = inbox(&s.data_dir(), "bob@example.test");
        match mode {
            "reject" => {
                assert!(out.contains("554 5.6.0"), "{out}");
                assert!(bob.is_empty());
            }
            _ => {
                assert_eq!(bob.len(), 1, "{out}");
                let text = String::from_utf8_lossy(&bob[0]);
                assert!(
                    text.contains("hello\r\n.\r\nMAIL FROM:<evil@remote.example>"),
                    "one message with the text inside: {text}"
                );
            }
        }
        assert!(out.trim_end().ends_with("250 2.0.0 OK"), "{out}");
    }
}

#[test]
fn plaintext_pipelined_after_starttls_is_not_executed() {
    let s = server();
    let out = python_ok(
        r#"
import socket, ssl, sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = sock.makefile("rb")
f.readline()
sock.sendall(b"EHLO c\r\n")
while True:
    l = f.readline()
    if l[3:4] == b" ": break
# STARTTLS with an injected command in the same packet.
sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\n")
print(f.readline().decode().strip())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(sock)
tf = t.makefile("rb")
t.sendall(b"RCPT TO:<bob@example.test>\r\n")
print(tf.readline().decode().strip())
t.sendall(b"EHLO c\r\n")
while True:
    l = tf.readline()
    if l[3:4] == b" ": break
t.sendall(b"QUIT\r\n")
print(tf.readline().decode().strip())
"#,
        &[&port(&s, "submission")],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "220 2.0.0 Ready to start TLS", "{out}");
    // The injected MAIL was discarded: RCPT finds no transaction (and no EHLO yet).
    assert!(lines[1].starts_with("503"), "{out}");
    assert!(lines[2].starts_with("221"), "{out}");
}

#[test]
fn acknowledged_mail_survives_kill_9() {
    let s = server();
    let (ok_, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", port(&s, "smtp")),
        "--to",
        "bob@example.test",
        "--from",
        "a@remote.example",
        "--body",
        "durable body",
    ]);
    assert!(ok_ && out.contains("250 2.0.0"), "{out}");
    let dir = s.kill9();
    let s2 = TestServer::start_in(dir, &listen_any("127.0.0.1"));
    let msgs = inbox(&s2.data_dir(), "bob@example.test");
    assert_eq!(msgs.len(), 1);
    assert!(String::from_utf8_lossy(&msgs[0]).contains("durable body"));
}

#[test]
fn sendmail_t_delivers_from_stdin() {
    let s = server();
    let out = s.cli(
        &["sendmail", "-t", "-i", "-f", "app@example.test"],
        Some("To: Bob <bob@example.test>\nBcc: alice@example.test\nSubject: from sendmail\n\nline one\n.\nline three\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bob = inbox(&s.data_dir(), "bob@example.test");
    let alice = inbox(&s.data_dir(), "alice@example.test");
    assert_eq!((bob.len(), alice.len()), (1, 1));
    let text = String::from_utf8_lossy(&bob[0]);
    assert!(
        text.contains("Subject: from sendmail\r\n"),
        "CRLF line endings: {text}"
    );
    assert!(
        text.contains("line one\r\n.\r\nline three\r\n"),
        "-i keeps the dot line: {text}"
    );
    assert!(!text.contains("Bcc:"), "Bcc removed: {text}");
    assert!(
        text.contains("Message-ID: <") && text.contains("Date: "),
        "{text}"
    );

    // Invoked through a link named `sendmail`, with sendmail's own flags.
    let link = s.dir.path().join("sendmail");
    std::os::unix::fs::symlink(support::bin(), &link).unwrap();
    let mut child = Command::new(&link)
        .args(["-oi", "bob@example.test"])
        .env("PILLARBOX_CONFIG", &s.config)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Subject: via link\n\nhello\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(inbox(&s.data_dir(), "bob@example.test").len(), 2);

    let out = s.cli(
        &["sendmail", "ghost@example.test"],
        Some("Subject: x\n\ny\n"),
    );
    assert_eq!(out.status.code(), Some(67), "unknown user: EX_NOUSER");
}

#[test]
fn limits_on_recipients_errors_and_connections_per_ip() {
    let s = TestServer::start(&format!(
        "{}\n[smtp]\nmax_recipients = 2\nmax_errors = 4\n\n[limits]\nmax_connections_per_ip = 2\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob"]);
    let out = raw(
        s.addr("smtp"),
        &[b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<bob+1@example.test>\r\nRCPT TO:<bob+2@example.test>\r\nRSET\r\n"],
    );
    assert!(out.contains("452 4.5.3 Too many recipients"), "{out}");
    assert!(out.trim_end().ends_with("250 2.0.0 Reset OK"), "{out}");

    // Malformed commands get 500/501 and the session goes on, until the error limit.
    let out = raw(
        s.addr("smtp"),
        &[b"EHLO c\r\nFOO\r\nMAIL FROM:bad\r\nNOOP\r\nBAR\r\nBAZ\r\nNOOP\r\n"],
    );
    let codes: Vec<&str> = out.lines().map(|l| &l[..3]).collect();
    assert!(codes.contains(&"500") && codes.contains(&"501"), "{out}");
    assert!(
        out.contains("250 2.0.0 OK"),
        "NOOP after a bad command works: {out}"
    );
    assert!(
        out.trim_end()
            .ends_with("421 4.7.0 Too many errors, closing connection"),
        "{out}"
    );

    // A third connection from the same address is refused with 421.
    let _a = TcpStream::connect(s.addr("smtp")).unwrap();
    let _b = TcpStream::connect(s.addr("smtp")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = raw(s.addr("smtp"), &[]);
    assert!(out.starts_with("421 4.7.0 Too many connections"), "{out}");
}
