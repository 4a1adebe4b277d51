//! Foundation behaviour seen from outside: TLS versions on a live listener, certificate
//! reload on SIGHUP, and the per-IP login failure limit over the network.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{TestServer, accounts, listen_any, python_ok};

/// Runs `openssl s_client` against `port` with extra flags; Ok when a session was
/// established, Err(output) when the server refused the handshake with an alert.
fn openssl_handshake(port: u16, flags: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-brief",
        ])
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("Protocol version:") && !text.contains("alert") {
        Ok(())
    } else {
        assert!(
            text.contains("alert"),
            "the server must refuse with a TLS alert: {text}"
        );
        Err(text)
    }
}

#[test]
fn tls_12_and_13_accepted_11_and_10_refused() {
    let s = TestServer::start(&listen_any("127.0.0.1"));
    let port = s.addr("submissions").port();
    openssl_handshake(port, &["-tls1_3"]).expect("TLS 1.3");
    openssl_handshake(port, &["-tls1_2"]).expect("TLS 1.2");
    // Lower the client's security level so it is willing to offer the old versions.
    openssl_handshake(port, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        .expect_err("TLS 1.1 refused");
    openssl_handshake(port, &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"])
        .expect_err("TLS 1.0 refused");
}

fn served_cert(port: u16) -> String {
    python_ok(
        "import ssl, sys\nprint(ssl.get_server_certificate(('127.0.0.1', int(sys.argv[1]))))",
        &[&port.to_string()],
    )
}

fn normalise(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

#[test]
fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let first = support::self_signed(dir.path(), "first.example");
    let s = TestServer::start_in(
        dir,
        &format!(
            "{}\n[tls]\ncertificate = \"{{dir}}/cert.pem\"\nprivate_key = \"{{dir}}/key.pem\"\n",
            listen_any("127.0.0.1")
        ),
    );
    let port = s.addr("submissions").port();
    assert_eq!(normalise(&served_cert(port)), normalise(&first));
    let second = support::self_signed(s.dir.path(), "second.example");
    s.signal("HUP");
    assert!(
        s.wait_log("certificate reloaded", Duration::from_secs(10))
            .is_some()
    );
    assert_eq!(normalise(&served_cert(port)), normalise(&second));
}

#[test]
fn failed_logins_lock_out_one_address_while_another_gets_through() {
    let s = TestServer::start(&format!(
        "{}\n[network]\ntrusted = [\"127.0.0.0/8\"]\n\n[auth]\nmax_failures = 3\nlockout = \"10m\"\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob"]);
    let script = r#"
import smtplib, sys
port, source, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = smtplib.SMTP("127.0.0.1", port, source_address=(source, 0))
c.ehlo()
c.user, c.password = "bob@example.test", password
try:
    code, text = c.auth("PLAIN", c.auth_plain)
except smtplib.SMTPAuthenticationError as e:
    code, text = e.smtp_code, e.smtp_error
print(code, text.decode() if isinstance(text, bytes) else text)
"#;
    let port = s.addr("submission").port().to_string();
    for _ in 0..3 {
        let out = python_ok(script, &[&port, "127.0.0.2", "wrong"]);
        assert!(out.starts_with("535"), "{out}");
    }
    let out = python_ok(script, &[&port, "127.0.0.2", "pw"]);
    assert!(
        out.starts_with("454") && out.contains("Too many failed logins"),
        "locked out: {out}"
    );
    let out = python_ok(script, &[&port, "127.0.0.1", "pw"]);
    assert!(
        out.starts_with("235"),
        "another address still logs in: {out}"
    );
}
