//! SPF, DKIM and DMARC on the MX, against a real DNS server (dnsmasq) publishing the
//! test domains' records and messages signed by an independent signer (dkimpy): mail
//! that passes SPF, fails it, carries a valid or a broken DKIM signature, spoofs a
//! `p=reject` domain or a `p=quarantine` one; each gets the right
//! `Authentication-Results` and the right fate (INBOX, Junk, `550 5.7.1`). A forged
//! `Authentication-Results` under our authserv-id is removed; submitted mail is not
//! checked.

mod support;

use std::process::Command;

use support::peers::Dns;
use support::{TestServer, accounts, listen_any};

/// An RSA key for `signed.test` (PEM) and its DKIM record's `p=` value.
fn signer_key(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let key = dir.join("signer.pem");
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let pem = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(pem.status.success());
    // The base64 of the SubjectPublicKeyInfo: the PEM without its armour.
    let public: String = String::from_utf8(pem.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    (key, public)
}

/// Sends `message` to the MX with `mail_from`, signing it first for `signed.test` when
/// `sign` (and breaking the signature after when `tamper`). Prints the reply code.
fn send(
    s: &TestServer,
    key: &std::path::Path,
    mail_from: &str,
    message: &str,
    sign: bool,
    tamper: bool,
) -> String {
    let script = format!(
        r#"
import smtplib, sys, dkim
msg = {message:?}.encode()
if {sign}:
    sig = dkim.sign(msg, b"sel", b"signed.test", open({key:?}, "rb").read(),
                    include_headers=[b"from", b"to", b"subject"])
    msg = sig + msg
if {tamper}:
    msg = msg.replace(b"Hello", b"Jello")
c = smtplib.SMTP("127.0.0.1", {port})
c.ehlo("client.example")
try:
    c.sendmail({mail_from:?}, ["bob@example.test"], msg)
    print(250)
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
c.quit()
"#,
        sign = if sign { "True" } else { "False" },
        tamper = if tamper { "True" } else { "False" },
        key = key.display().to_string(),
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

fn message(from: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: bob@example.test\r\nSubject: {subject}\r\nMessage-ID: <{subject}@client.example>\r\n\r\nHello there\r\n"
    )
}

/// The message whose Subject is `subject` in `mailbox`, as text.
fn find(s: &TestServer, mailbox: &str, subject: &str) -> Option<String> {
    support::mailbox(&s.data_dir(), "bob@example.test", mailbox)
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m).to_string())
        .find(|m| m.contains(&format!("Subject: {subject}\r\n")))
}

/// The value of our Authentication-Results field (unfolded).
fn results(m: &str) -> String {
    let fields: Vec<&str> = m.split("\r\n\r\n").next().unwrap().split("\r\n").collect();
    let mut out = Vec::new();
    let mut inside = false;
    for l in fields {
        if l.to_ascii_lowercase()
            .starts_with("authentication-results:")
        {
            inside = true;
            out.push(l.to_string());
        } else if inside && (l.starts_with(' ') || l.starts_with('\t')) {
            out.push(l.trim().to_string());
        } else {
            inside = false;
        }
    }
    out.join(" ")
}

#[test]
fn spf_dkim_and_dmarc_decide_the_fate_of_mail_from_other_servers() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = signer_key(dir.path());
    let dkim_txt = format!("v=DKIM1; k=rsa; p={public}");
    let chunks: Vec<String> = dkim_txt
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect();
    let dns = Dns::start(&[
        // The client's address names a host that resolves back to it (FCrDNS).
        "--host-record=client.test,127.0.0.1".to_string(),
        "--txt-record=spf-pass.test,v=spf1 ip4:127.0.0.1 -all".to_string(),
        "--txt-record=spf-fail.test,v=spf1 ip4:192.0.2.1 -all".to_string(),
        "--txt-record=signed.test,v=spf1 ip4:192.0.2.1 -all".to_string(),
        format!(
            "--txt-record=sel._domainkey.signed.test,{}",
            chunks.join(",")
        ),
        "--txt-record=_dmarc.signed.test,v=DMARC1; p=reject".to_string(),
        "--txt-record=quarantine.test,v=spf1 ip4:192.0.2.1 -all".to_string(),
        "--txt-record=_dmarc.quarantine.test,v=DMARC1; p=quarantine".to_string(),
    ]);
    let s = TestServer::start(&format!(
        "{}\n[network]\ntrusted = [\"127.0.0.0/8\"]\nrelay = []\n\n[mail_auth]\nresolver = [\"{}\"]\n",
        listen_any("127.0.0.1"),
        dns.addr
    ));
    accounts(&s, &["bob"]);

    // SPF pass, and a forged result under our authserv-id, which goes.
    let forged = format!(
        "Authentication-Results: mx.example.test; dkim=pass header.d=bank.test\r\n{}",
        message("a@spf-pass.test", "spfpass")
    );
    assert_eq!(
        send(&s, &key, "a@spf-pass.test", &forged, false, false),
        "250"
    );
    let m = find(&s, "INBOX", "spfpass").expect("delivered");
    let ar = results(&m);
    assert!(
        ar.starts_with("Authentication-Results: mx.example.test;"),
        "{ar}"
    );
    assert!(
        ar.contains("spf=pass") && ar.contains("smtp.mailfrom=a@spf-pass.test"),
        "{ar}"
    );
    assert!(!ar.contains("bank.test"), "the forged field is gone: {m}");
    assert!(
        ar.contains("iprev=pass") && ar.contains("policy.iprev=127.0.0.1"),
        "{ar}"
    );
    // The verified name is in the trace field too (RFC 5321 §4.4 TCP-info): the
    // first PTR name (dnsmasq answers "localhost" for 127.0.0.1 before ours).
    let received = m
        .lines()
        .find(|l| l.starts_with("Received: from client.example ("))
        .unwrap_or_else(|| panic!("{m}"));
    let inside = received
        .trim_start_matches("Received: from client.example (")
        .split(')')
        .next()
        .unwrap();
    assert!(
        inside.ends_with(" [127.0.0.1]") && inside.len() > " [127.0.0.1]".len(),
        "{received}"
    );
    assert_eq!(
        m.matches("Authentication-Results:").count(),
        1,
        "one field, ours: {m}"
    );

    // SPF fail without a DMARC policy: delivered, marked.
    assert_eq!(
        send(
            &s,
            &key,
            "a@spf-fail.test",
            &message("a@spf-fail.test", "spffail"),
            false,
            false
        ),
        "250"
    );
    let ar = results(&find(&s, "INBOX", "spffail").unwrap());
    assert!(ar.contains("spf=fail"), "{ar}");

    // A valid signature from a p=reject domain (SPF fails: DKIM alone aligns).
    assert_eq!(
        send(
            &s,
            &key,
            "x@signed.test",
            &message("x@signed.test", "goodsig"),
            true,
            false
        ),
        "250"
    );
    let ar = results(&find(&s, "INBOX", "goodsig").unwrap());
    assert!(
        ar.contains("dkim=pass") && ar.contains("header.i=@signed.test"),
        "{ar}"
    );
    assert!(ar.contains("dmarc=pass"), "{ar}");

    // The same message changed on the way: DKIM fails, so does DMARC: refused.
    let reply = send(
        &s,
        &key,
        "x@signed.test",
        &message("x@signed.test", "badsig"),
        true,
        true,
    );
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(find(&s, "INBOX", "badsig").is_none());
    // And a plain spoof of it.
    let reply = send(
        &s,
        &key,
        "ceo@signed.test",
        &message("ceo@signed.test", "spoof"),
        false,
        false,
    );
    assert!(
        reply.starts_with("550 5.7.1") && reply.contains("DMARC"),
        "{reply}"
    );

    // A p=quarantine domain spoofed: to Junk, with the results saying why.
    assert_eq!(
        send(
            &s,
            &key,
            "x@quarantine.test",
            &message("x@quarantine.test", "junk"),
            false,
            false
        ),
        "250"
    );
    assert!(find(&s, "INBOX", "junk").is_none());
    let ar = results(&find(&s, "Junk", "junk").expect("in Junk"));
    assert!(
        ar.contains("dmarc=fail") && ar.contains("policy.dmarc=quarantine"),
        "{ar}"
    );

    // Submitted mail (AUTH) is ours: not checked.
    support::python_ok(
        &format!(
            "import smtplib\nc = smtplib.SMTP('127.0.0.1', {})\nc.login('bob@example.test', 'pw')\n\
             c.sendmail('bob@example.test', ['bob@example.test'], b'From: bob@example.test\\r\\nSubject: mine\\r\\n\\r\\nx\\r\\n')\nc.quit()\n",
            s.addr("submission").port()
        ),
        &[],
    );
    let m = find(&s, "INBOX", "mine").unwrap();
    assert!(!m.contains("Authentication-Results"), "{m}");

    // The trace says what the checks found (the monitor writes every second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let out = s.cli(&["trace", "<junk@client.example>"], None);
        let trace = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && trace.contains("checked") {
            assert!(trace.contains("dmarc=fail"), "{trace}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no trace of the checks: {trace}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// DNS that does not answer: every check is a `temperror`, which never refuses mail
/// (RFC 7489 §6.6.2), even "from" a domain whose policy would.
#[test]
fn a_resolver_that_does_not_answer_never_leads_to_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = signer_key(dir.path());
    // A UDP port where nothing answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let s = TestServer::start(&format!(
        "{}\n[network]\ntrusted = [\"127.0.0.0/8\"]\nrelay = []\n\n[mail_auth]\nresolver = [\"{}\"]\ndns_timeout = \"1s\"\n",
        listen_any("127.0.0.1"),
        silent.local_addr().unwrap()
    ));
    accounts(&s, &["bob"]);
    assert_eq!(
        send(
            &s,
            &key,
            "ceo@signed.test",
            &message("ceo@signed.test", "unsure"),
            false,
            false
        ),
        "250"
    );
    let ar = results(&find(&s, "INBOX", "unsure").expect("delivered"));
    assert!(ar.contains("spf=temperror"), "{ar}");
    assert!(ar.contains("dmarc=temperror"), "{ar}");
    drop(silent);
}
