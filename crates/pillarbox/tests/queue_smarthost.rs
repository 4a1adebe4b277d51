//! Smart host routes against real servers that enforce what is being tested: a second
//! Pillarbox (TLS none / STARTTLS / implicit, AUTH required) and aiosmtpd (AUTH optional
//! with an empty password, XOAUTH2 with tokens from an RFC 6749 token endpoint, per-
//! account credentials, POP-before-SMTP against the second Pillarbox's POP3), and a smart
//! host that speaks only TLS 1.0 (aiosmtpd behind stunnel).

mod support;

use std::time::{Duration, Instant};

use support::peers::{SmtpPeer, free_port};
use support::{TestServer, inbox, listen_any, ok};

fn sendmail(s: &TestServer, from: &str, to: &str, subject: &str) {
    let msg = format!("From: {from}\nTo: {to}\nSubject: {subject}\n\nbody\n");
    ok(s.cli(&["sendmail", "-f", from, to], Some(&msg)));
}

fn wait_inbox(data: &std::path::Path, addr: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let msgs: Vec<String> = inbox(data, addr)
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .collect();
        if msgs.len() >= n {
            return msgs;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} messages for {addr}, got {}",
            msgs.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The upstream: a Pillarbox with domain d.test and account u@d.test (password pw).
fn upstream() -> TestServer {
    let b = TestServer::start(&format!(
        "{}\n[network]\ntrusted = []\nrelay = []\n\n[smtp]\nsubmission_sender_must_match = false\n",
        listen_any("127.0.0.1")
    ));
    ok(b.cli(&["domain", "add", "d.test"], None));
    ok(b.cli(
        &["account", "add", "u@d.test", "--password-stdin"],
        Some("pw\n"),
    ));
    b
}

#[test]
fn tls_modes_and_required_auth_against_a_second_pillarbox() {
    let b = upstream();
    let ca = b.data_dir().join("tls/cert.pem");
    let route = |name: &str, port: u16, tls: &str, auth: &str, mech: &str| {
        format!(
            "[[queue.route]]\nname = \"{name}\"\nkind = \"smarthost\"\nhost = \"localhost\"\nport = {port}\ntls = \"{tls}\"\n\
             tls_ca_file = \"{}\"\nauth = \"{auth}\"\nusername = \"u@d.test\"\npassword = \"pw\"\nmechanisms = [\"{mech}\"]\n\
             ehlo_name = \"relay-{name}.example.test\"\n",
            ca.display()
        )
    };
    let a = TestServer::start(&format!(
        "{}\n{}\n{}\n{}\n\
         [[queue.rule]]\nsender = \"plain@a.test\"\nroute = \"plain\"\n\
         [[queue.rule]]\nsender = \"starttls@a.test\"\nroute = \"starttls\"\n\
         [[queue.rule]]\nsender = \"implicit@a.test\"\nroute = \"implicit\"\n",
        listen_any("127.0.0.1"),
        route("plain", b.addr("smtp").port(), "none", "none", "PLAIN"),
        route(
            "starttls",
            b.addr("submission").port(),
            "starttls",
            "required",
            "PLAIN"
        ),
        route(
            "implicit",
            b.addr("submissions").port(),
            "implicit",
            "required",
            "LOGIN"
        ),
    ));
    sendmail(&a, "plain@a.test", "u@d.test", "over plain SMTP");
    sendmail(&a, "starttls@a.test", "u@d.test", "over STARTTLS");
    sendmail(&a, "implicit@a.test", "u@d.test", "over implicit TLS");
    let msgs = wait_inbox(&b.data_dir(), "u@d.test", 3);
    let find = |subject: &str| {
        msgs.iter()
            .find(|m| m.contains(subject))
            .unwrap_or_else(|| panic!("{subject} missing"))
    };
    assert!(
        find("over plain SMTP").contains("from relay-plain.example.test"),
        "EHLO name used"
    );
    assert!(find("over plain SMTP").contains("with ESMTP id"));
    assert!(
        find("over STARTTLS").contains("with ESMTPSA"),
        "{}",
        find("over STARTTLS")
    );
    assert!(find("over implicit TLS").contains("with ESMTPSA"));
    assert!(find("over implicit TLS").contains("version=TLSv1."));
}

#[test]
fn optional_auth_with_an_empty_password_and_per_account_credentials() {
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({
            "auth": { "anon": "unused", "bob-relay": "bob-secret", "route-user": "route-pw" },
            "allow_empty_password": true,
            "require_auth": true
        }),
    );
    let port = peer.addr.port();
    let a = TestServer::start(&format!(
        "{}\n\
         [[queue.route]]\nname = \"optional\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nauth = \"optional\"\nusername = \"anon\"\n\
         [[queue.route]]\nname = \"peraccount\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nauth = \"required\"\n\
         credentials = \"account\"\nusername = \"route-user\"\npassword = \"route-pw\"\n\
         [[queue.rule]]\nsender = \"app@example.test\"\nroute = \"optional\"\n\
         [[queue.rule]]\nsender_domain = \"example.test\"\nroute = \"peraccount\"\n",
        listen_any("127.0.0.1")
    ));
    support::accounts(&a, &["bob", "alice"]);
    ok(a.cli(
        &[
            "account",
            "set",
            "bob@example.test",
            "--smarthost-user",
            "bob-relay",
            "--smarthost-password-stdin",
        ],
        Some("bob-secret\n"),
    ));
    sendmail(&a, "app@example.test", "x@remote.test", "optional auth");
    peer.wait_for(1, Duration::from_secs(30));
    sendmail(&a, "bob@example.test", "x@remote.test", "from bob");
    peer.wait_for(2, Duration::from_secs(30));
    sendmail(&a, "alice@example.test", "x@remote.test", "from alice");
    let got = peer.wait_for(3, Duration::from_secs(30));
    let log = peer.auth_log();
    assert!(
        log.iter().any(|l| l.ends_with("anon ok")),
        "empty password accepted: {log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("bob-relay ok")),
        "bob's own credentials: {log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("route-user ok")),
        "alice has none: the route's: {log:?}"
    );
    assert_eq!(got.len(), 3);
}

const TOKEN_ENDPOINT: &str = r#"
import http.server, json, sys, urllib.parse, itertools
counter = itertools.count(1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = urllib.parse.parse_qs(body)
        ok = (self.path == "/token" and form.get("grant_type") == ["refresh_token"]
              and form.get("refresh_token") == ["rt-1"] and form.get("client_id") == ["cid"])
        if not ok:
            self.send_response(400)
            payload = {"error": "invalid_grant"}
        else:
            self.send_response(200)
            payload = {"access_token": "tok-%d" % next(counter), "token_type": "Bearer", "expires_in": 1}
        data = json.dumps(payload).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
print("READY", flush=True)
s.serve_forever()
"#;

#[test]
fn xoauth2_token_fetched_and_refreshed_after_expiry() {
    let token_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.py"), TOKEN_ENDPOINT).unwrap();
    let mut endpoint = std::process::Command::new("python3")
        .arg(dir.path().join("token.py"))
        .arg(token_port.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(endpoint.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "xoauth2_tokens": ["tok-1", "tok-2", "tok-3"], "require_auth": true }),
    );
    let a = TestServer::start(&format!(
        "{}\n[[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         auth = \"required\"\nusername = \"app@example.test\"\nmechanisms = [\"XOAUTH2\"]\n\
         [queue.route.oauth2]\ntoken_url = \"http://127.0.0.1:{token_port}/token\"\nclient_id = \"cid\"\nrefresh_token = \"rt-1\"\n",
        listen_any("127.0.0.1"),
        peer.addr.port()
    ));
    sendmail(&a, "app@example.test", "x@remote.test", "first");
    peer.wait_for(1, Duration::from_secs(30));
    // The token lives one second: the next message needs a fresh one.
    std::thread::sleep(Duration::from_millis(2500));
    sendmail(&a, "app@example.test", "x@remote.test", "second");
    peer.wait_for(2, Duration::from_secs(30));
    let log = peer.auth_log();
    assert_eq!(
        log.first().map(String::as_str),
        Some("XOAUTH2 app@example.test tok-1 ok"),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l == "XOAUTH2 app@example.test tok-2 ok"),
        "refreshed: {log:?}"
    );
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}

#[test]
fn pop_before_smtp_logs_in_first() {
    let b = upstream();
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    let route = |name: &str, password: &str| {
        format!(
            "[[queue.route]]\nname = \"{name}\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             [queue.route.pop_before_smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\ntls_verify = false\nusername = \"u@d.test\"\npassword = \"{password}\"\n",
            peer.addr.port(),
            b.addr("pop3").port()
        )
    };
    let a = TestServer::start(&format!(
        "{}\n{}\n{}\n[[queue.rule]]\nsender = \"good@a.test\"\nroute = \"good\"\n[[queue.rule]]\nsender = \"bad@a.test\"\nroute = \"bad\"\n",
        listen_any("127.0.0.1"),
        route("good", "pw"),
        route("bad", "wrong"),
    ));
    sendmail(&a, "good@a.test", "x@remote.test", "after pop");
    peer.wait_for(1, Duration::from_secs(30));
    assert!(
        b.wait_log("\"event\":\"login.ok\"", Duration::from_secs(5))
            .is_some_and(|l| l.contains("\"service\":\"pop3\"")),
        "the POP3 login happened on the upstream"
    );
    sendmail(&a, "bad@a.test", "x@remote.test", "no pop");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = ok(a.cli(&["queue", "list"], None));
        if list.contains("POP-before-SMTP") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the failed POP3 login must hold the message: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        peer.received().len(),
        1,
        "nothing sent without the POP3 login"
    );
}

/// The Accredo seed's "Transport Security: TLS 1.0": a smart host that speaks only
/// TLS 1.0 (stunnel in front of aiosmtpd) gets the mail once the route allows 1.0, and
/// not before (the message waits in the queue with the handshake's reason).
#[test]
fn a_smart_host_speaking_only_tls_1_0() {
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    let old = support::remote::legacy_tls_front(peer.addr.port());
    let route = |min: &str, verify: bool| {
        format!(
            "{}\n[[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\nhost = \"127.0.0.1\"\n\
             port = {}\ntls = \"implicit\"\ntls_verify = {verify}\ntls_min_version = \"{min}\"\n",
            listen_any("127.0.0.1"),
            old.port
        )
    };
    // The message waits in the queue with the reason of the failed handshake.
    let refused = |config: &str, reason: &str| {
        let s = TestServer::start(config);
        sendmail(&s, "app@example.test", "x@remote.test", "refused");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = ok(s.cli(&["queue", "list", "--json"], None));
            if listed.contains(reason) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no {reason:?} recorded: {listed}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    refused(&route("1.2", false), "ProtocolVersion");
    // Allowed, but its self-signed certificate is not trusted: verification still holds.
    refused(&route("1.0", true), "not trusted");
    assert!(peer.received().is_empty());

    let legacy = TestServer::start(&route("1.0", false));
    sendmail(&legacy, "app@example.test", "x@remote.test", "over TLS 1.0");
    let got = peer.wait_for(1, Duration::from_secs(30));
    assert!(got[0].data.contains("over TLS 1.0"));
}
