//! ManageSieve (RFC 5804) with real clients: sieve-connect over STARTTLS uploads and
//! activates a script that then files mail from SMTP into a folder an IMAP client
//! reads; Python's sievelib drives the other commands; a raw socket checks that
//! garbage, bad scripts and quotas get `NO` and the session goes on, and that no
//! plaintext login is offered before TLS to a client outside the trusted networks.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{TestServer, accounts, listen_any};

fn server(trusted: &str) -> TestServer {
    TestServer::start(&format!(
        "{}\n[network]\ntrusted = [{trusted}]\nrelay = []\n\n[managesieve]\nmax_scripts = 3\nmax_script_size = 2048\n",
        listen_any("127.0.0.1")
    ))
}

/// Runs sieve-connect with `args`, the password on its standard input
/// (`--passwordfd 0`).
fn sieve_connect(s: &TestServer, args: &[&str]) -> (bool, String) {
    let port = s.addr("managesieve").port().to_string();
    let mut child = Command::new("sieve-connect")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--user",
            "bob@example.test",
            "--passwordfd",
            "0",
            "--notlsverify",
            "--authmech",
            "PLAIN",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn send(s: &TestServer, subject: &str) {
    let script = format!(
        r#"
import smtplib
c = smtplib.SMTP("127.0.0.1", {port})
c.sendmail("alice@remote.test", ["bob@example.test"], b"From: alice@remote.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\r\nHi\r\n")
c.quit()
"#,
        port = s.addr("smtp").port()
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
}

fn imap_subjects(s: &TestServer, mailbox: &str) -> String {
    let script = format!(
        r#"
import imaplib, ssl
c = imaplib.IMAP4("127.0.0.1", {port})
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c.starttls(ssl_context=ctx)
c.login("bob@example.test", "pw")
typ, _ = c.select("{mailbox}")
if typ == "OK":
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    print(b"".join(p[1] for p in data if isinstance(p, tuple)).decode().strip())
c.logout()
"#,
        port = s.addr("imap").port()
    );
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn sieve_connect_uploads_and_activates_over_starttls_and_the_script_files_mail() {
    // Loopback is not trusted here: the client must use STARTTLS to log in.
    let s = server("\"10.255.255.0/24\"");
    accounts(&s, &["bob"]);
    let script = s.data_dir().join("local.sieve");
    std::fs::write(
        &script,
        "require [\"fileinto\", \"mailbox\"];\nif header :contains \"subject\" \"report\" {\n  fileinto :create \"Reports\";\n}\n",
    )
    .unwrap();
    let local = script.to_str().unwrap();
    let (ok, out) = sieve_connect(
        &s,
        &["--upload", "--localsieve", local, "--remotesieve", "main"],
    );
    assert!(ok, "{out}");
    let (ok, out) = sieve_connect(&s, &["--activate", "--remotesieve", "main"]);
    assert!(ok, "{out}");
    let (ok, out) = sieve_connect(&s, &["--list"]);
    assert!(ok, "{out}");
    assert!(out.contains("\"main\" ACTIVE"), "{out}");

    send(&s, "weekly report");
    assert!(imap_subjects(&s, "Reports").contains("weekly report"));

    // A script that does not compile is refused by the server, with where and why.
    std::fs::write(&script, "if true {\n  fileinto \"x\";\n}\n").unwrap();
    let (ok, out) = sieve_connect(
        &s,
        &["--upload", "--localsieve", local, "--remotesieve", "bad"],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("line 2"), "{out}");
}

#[test]
fn sievelib_drives_every_command() {
    let s = server("\"127.0.0.0/8\"");
    accounts(&s, &["bob"]);
    let script = format!(
        r#"
from sievelib.managesieve import Client
c = Client("127.0.0.1", {port})
assert c.connect("bob@example.test", "pw", starttls=False, authmech="PLAIN"), c.errmsg
caps = c.get_sieve_capabilities()
assert "fileinto" in caps and "vacation" in caps, caps
assert c.havespace("one", 100)
assert not c.havespace("one", 100000)
assert c.putscript("one", 'require "fileinto";\r\nfileinto "A";\r\n'), c.errmsg
assert c.putscript("two", "keep;\r\n"), c.errmsg
assert not c.putscript("bad", "fileinto \"A\";\r\n")
print("bad:", c.errmsg)
assert c.setactive("one")
active, others = c.listscripts()
assert active == "one" and others == ["two"], (active, others)
got = c.getscript("one").replace("\r\n", "\n").strip()
assert got == 'require "fileinto";\nfileinto "A";', got
assert not c.deletescript("one")
print("delete active:", c.errmsg)
assert c.renamescript("two", "three")
assert not c.renamescript("three", "one")
assert c.putscript("four", "keep;")
assert not c.putscript("five", "keep;")
print("quota:", c.errmsg)
assert c.setactive("")
assert c.deletescript("one")
assert c.checkscript("keep;")
c.logout()
print("done")
"#,
        port = s.addr("managesieve").port()
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
    assert!(text.contains("done"), "{text}");
    assert!(text.contains("bad: ") && text.contains("require"), "{text}");
}

/// Reads one response (lines until one starting OK, NO or BYE).
fn response(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 {
            return all;
        }
        all.push_str(&line);
        if line.starts_with("OK") || line.starts_with("NO") || line.starts_with("BYE") {
            return all;
        }
    }
}

#[test]
fn garbage_gets_no_and_the_session_goes_on() {
    let s = server("\"10.255.255.0/24\"");
    accounts(&s, &["bob"]);
    let stream = TcpStream::connect(s.addr("managesieve")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let greeting = response(&mut r);
    assert!(greeting.contains("\"STARTTLS\""), "{greeting}");
    assert!(
        greeting.contains("\"SASL\" \"\""),
        "no plaintext SASL before TLS: {greeting}"
    );
    assert!(
        greeting.ends_with("OK \"Pillarbox ManageSieve ready\"\r\n"),
        "{greeting}"
    );

    for (input, expect) in [
        (&b"\"unterminated\r\n"[..], "NO"),
        (b"GETSCRIPT \"a\\q\"\r\n", "NO"),
        (b"LISTSCRIPTS\r\n", "NO \"Authenticate first\""),
        (
            b"AUTHENTICATE \"PLAIN\" \"AGJvYkBleGFtcGxlLnRlc3QAcHc=\"\r\n",
            "NO (ENCRYPT-NEEDED)",
        ),
        (b"FROBNICATE\r\n", "NO"),
        (b"\xff\xfe\r\n", "NO"),
        (b"NOOP \"t1\"\r\n", "OK (TAG \"t1\")"),
    ] {
        w.write_all(input).unwrap();
        let got = response(&mut r);
        assert!(got.starts_with(expect), "{input:?} -> {got}");
    }
    // A literal past the size limit ends the session with BYE.
    w.write_all(b"PUTSCRIPT \"x\" {99999999+}\r\n").unwrap();
    let got = response(&mut r);
    assert!(got.starts_with("BYE (QUOTA/MAXSIZE)"), "{got}");
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    // The server still serves others.
    let again = TcpStream::connect(s.addr("managesieve")).unwrap();
    again
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let greeting = response(&mut BufReader::new(again));
    assert!(greeting.contains("OK"), "{greeting}");
}
