//! Monitoring end to end, with the real binary and real clients: a message sent by SMTP
//! shows every step in `trace`, down to the reply of a real SMTP peer; failed logins
//! are in `events` with their IP; an open IMAP session is in `sessions list` and gone
//! after `sessions kill`; `stats` and `/metrics` (read with Prometheus' own text
//! parser) count what was sent; a queue alert arrives by mail to the postmaster and at
//! a webhook receiver that checks the signature; a receiver that fails three times and
//! then recovers gets every event once, in order.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::peers::{SmtpPeer, free_port};
use support::{TestServer, accounts, fails, listen_any, ok, python_ok};

const NETWORK: &str = "[network]\ntrusted = [\"127.0.0.0/8\"]\nrelay = [\"127.0.0.0/8\"]\n";

fn server(extra: &str) -> TestServer {
    TestServer::start(&format!(
        "{}\n{NETWORK}\n[monitor]\nflush_interval = \"200ms\"\nalert_interval = \"1s\"\n\
         alert_disk_free_percent = 0\n{extra}",
        listen_any("127.0.0.1")
    ))
}

/// Runs a CLI command until its output satisfies `done` (the monitor writes in
/// batches), returning that output.
fn eventually(s: &TestServer, args: &[&str], done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = s.cli(args, None);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && done(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{args:?} never gave what was expected: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn smtp_send(s: &TestServer, to: &[&str], body: &str) -> String {
    python_ok(
        &format!(
            "import smtplib\nc = smtplib.SMTP('127.0.0.1', {})\nc.ehlo('client.example')\n\
             c.mail('x@remote.test')\nfor r in {to:?}:\n    c.rcpt(r)\n\
             code, text = c.data({body:?}.encode())\nprint(text.decode())\nc.quit()\n",
            s.addr("smtp").port()
        ),
        &[],
    )
}

#[test]
fn a_message_sent_by_smtp_shows_every_step_in_its_trace() {
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    let s = server(&format!(
        "[queue]\nretry_intervals = [\"1s\"]\n\n[[queue.route]]\nname = \"default\"\n\
         kind = \"smarthost\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        peer.addr.port()
    ));
    accounts(&s, &["bob"]);
    let reply = smtp_send(
        &s,
        &["bob@example.test", "far@remote.test"],
        "Message-ID: <traced@client.example>\r\nSubject: trace me\r\n\r\nhello\r\n",
    );
    let trace = reply.trim().rsplit(' ').next().unwrap().to_string();
    peer.wait_for(1, Duration::from_secs(20));
    let shown = eventually(&s, &["trace", &trace, "--json"], |t| {
        t.contains("\"attempt\"")
    });
    let v: serde_json::Value = serde_json::from_str(shown.lines().next().unwrap()).unwrap();
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        vec!["received", "delivered", "queued", "attempt"],
        "{shown}"
    );
    let detail = |i: usize| -> serde_json::Value {
        serde_json::from_str(v["steps"][i]["detail"].as_str().unwrap()).unwrap()
    };
    assert_eq!(detail(0)["helo"], "client.example");
    assert_eq!(detail(0)["ip"], "127.0.0.1");
    assert_eq!(detail(1)["account"], "bob@example.test");
    assert_eq!(detail(1)["mailbox"], "INBOX");
    assert_eq!(detail(3)["outcome"], "delivered");
    assert!(
        detail(3)["reply"]
            .as_str()
            .unwrap()
            .contains("250 2.0.0 Message accepted for delivery"),
        "{shown}"
    );
    // Found by its Message-ID and by an address too; the same id is in the header.
    let by_id = ok(s.cli(&["trace", "<traced@client.example>"], None));
    assert!(by_id.contains(&format!("trace {trace}")), "{by_id}");
    assert!(ok(s.cli(&["trace", "far@remote.test"], None)).contains(&trace));
    let received = &peer.received()[0].data;
    assert!(received.contains(&format!("id {trace}")), "{received}");
    let err = fails(s.cli(&["trace", "<nothing@nowhere>"], None));
    assert!(err.contains("no trace"), "{err}");
}

#[test]
fn failed_logins_are_in_the_event_log_with_their_ip() {
    let s = server("");
    accounts(&s, &["bob"]);
    python_ok(
        &format!(
            "import imaplib\nc = imaplib.IMAP4('127.0.0.1', {})\n\
             try:\n    c.login('bob@example.test', 'wrong')\nexcept imaplib.IMAP4.error:\n    pass\n\
             c.login('bob@example.test', 'pw')\nc.logout()\n",
            s.addr("imap").port()
        ),
        &[],
    );
    let shown = eventually(
        &s,
        &[
            "events",
            "--type",
            "login.failed",
            "--ip",
            "127.0.0.1",
            "--json",
        ],
        |t| !t.trim().is_empty(),
    );
    let e: serde_json::Value = serde_json::from_str(shown.lines().next().unwrap()).unwrap();
    assert_eq!(e["kind"], "login.failed");
    assert_eq!(e["ip"], "127.0.0.1");
    assert_eq!(e["account"], "bob@example.test");
    assert_eq!(e["severity"], "warning");
    let all = eventually(&s, &["events", "--type", "login."], |t| {
        t.contains("login.ok")
    });
    assert!(all.contains("login.failed"), "{all}");
    // Filters with a wrong syntax are one clear line.
    let err = fails(s.cli(&["events", "--severity", "loud"], None));
    assert!(err.contains("--severity \"loud\""), "{err}");
    let err = fails(s.cli(&["events", "--type", "nonsense"], None));
    assert!(err.contains("no such event type"), "{err}");
    let err = fails(s.cli(&["events", "--since", "yesterday-ish"], None));
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn an_open_imap_session_is_listed_and_ended_by_sessions_kill() {
    let s = server("");
    accounts(&s, &["bob"]);
    let mut client = std::net::TcpStream::connect(s.addr("imap")).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    std::io::Write::write_all(
        &mut client,
        b"a LOGIN bob@example.test pw\r\nb SELECT INBOX\r\n",
    )
    .unwrap();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.starts_with("b ") {
            break;
        }
    }
    let listed = eventually(&s, &["sessions", "list", "--json"], |t| {
        t.contains("\"INBOX\"")
    });
    let list: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let imap = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["protocol"] == "imap")
        .expect("the IMAP session is listed");
    assert_eq!(imap["user"], "bob@example.test");
    assert_eq!(imap["ip"], "127.0.0.1");
    assert_eq!(imap["last_command"], "SELECT");
    assert!(imap["bytes_in"].as_i64().unwrap() > 20);
    ok(s.cli(&["sessions", "kill", "--user", "bob@example.test"], None));
    // The server closes the connection.
    let mut rest = String::new();
    let n = reader.read_line(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "connection closed, got {rest:?}");
    eventually(&s, &["sessions", "list", "--json"], |t| {
        !t.contains("\"imap\"")
    });
    let events = eventually(&s, &["events", "--type", "session.killed"], |t| {
        !t.is_empty()
    });
    assert!(events.contains("user:bob@example.test"), "{events}");
}

/// The samples of `metric` in Prometheus text, parsed with prometheus_client's own
/// parser (Debian's python3-prometheus-client): (labels as JSON, value).
fn scrape(addr: std::net::SocketAddr, token: Option<&str>) -> String {
    let script = format!(
        "import json, sys, urllib.request\nfrom prometheus_client.parser import text_string_to_metric_families\n\
         req = urllib.request.Request('http://{addr}/metrics')\n\
         tok = {token:?}\nif tok != 'None':\n    req.add_header('Authorization', 'Bearer ' + tok)\n\
         text = urllib.request.urlopen(req).read().decode()\nout = {{}}\n\
         for fam in text_string_to_metric_families(text):\n    for s in fam.samples:\n        \
         key = s.name + json.dumps(s.labels, sort_keys=True)\n        out[key] = s.value\n\
         print(json.dumps(out))\n",
        token = token.unwrap_or("None")
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

/// The example alerting rules shipped in contrib/prometheus pass `promtool check rules`
/// and their unit tests (`promtool test rules`), every metric they name is in a live
/// scrape, and the scrape itself passes `promtool check metrics` (names, types, HELP).
#[test]
fn the_example_alert_rules_and_a_live_scrape_pass_promtool() {
    let s = server("");
    accounts(&s, &["bob"]);
    smtp_send(
        &s,
        &["bob@example.test"],
        "Subject: counted\r\n\r\nhello\r\n",
    );
    let text = {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--fail",
                &format!("http://{}/metrics", s.addr("metrics")),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/prometheus");
    for args in [
        vec!["check", "rules", "pillarbox-alerts.yml"],
        vec!["test", "rules", "pillarbox-alerts.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rules = std::fs::read_to_string(dir.join("pillarbox-alerts.yml")).unwrap();
    let named: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("pillarbox_"))
        .collect();
    assert!(named.len() >= 8, "{named:?}");
    for metric in named {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{metric} "))
                    || l.starts_with(&format!("{metric}{{"))),
            "the rules name {metric}, which the server does not export"
        );
    }
}

#[test]
fn stats_and_metrics_count_what_was_sent() {
    let token = "metrics-token-0123456789";
    let s = server(&format!("metrics_token = \"{token}\"\n"));
    accounts(&s, &["bob"]);
    for i in 0..3 {
        smtp_send(
            &s,
            &["bob@example.test"],
            &format!("Subject: {i}\r\n\r\nx\r\n"),
        );
    }
    python_ok(
        &format!(
            "import imaplib\nfor i in range(2):\n    c = imaplib.IMAP4('127.0.0.1', {})\n    \
             try:\n        c.login('bob@example.test', 'wrong')\n    except imaplib.IMAP4.error:\n        pass\n",
            s.addr("imap").port()
        ),
        &[],
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&scrape(s.addr("metrics"), Some(token))).unwrap();
    assert_eq!(metrics["pillarbox_received_total{}"], 3.0, "{metrics}");
    assert_eq!(metrics["pillarbox_accepted_total{}"], 3.0, "{metrics}");
    assert_eq!(
        metrics["pillarbox_delivered_local_total{\"domain\": \"example.test\"}"], 3.0,
        "{metrics}"
    );
    assert_eq!(
        metrics["pillarbox_login_failed_total{\"protocol\": \"imap\"}"], 2.0,
        "{metrics}"
    );
    assert_eq!(metrics["pillarbox_queue_recipients{}"], 0.0, "{metrics}");
    assert!(
        metrics["pillarbox_store_deliver_seconds_count{}"]
            .as_f64()
            .unwrap()
            >= 3.0
    );
    assert!(
        metrics["pillarbox_tls_certificate_expiry_timestamp_seconds{}"]
            .as_f64()
            .unwrap()
            > 1e9
    );
    // Without the token: refused.
    let code = python_ok(
        &format!(
            "import urllib.request, urllib.error\ntry:\n    urllib.request.urlopen('http://{}/metrics')\n    print(200)\n\
             except urllib.error.HTTPError as e:\n    print(e.code)\n",
            s.addr("metrics")
        ),
        &[],
    );
    assert_eq!(code.trim(), "401");
    // The same counts in the store's minute buckets.
    let shown = eventually(&s, &["stats", "--by", "minute", "--json"], |t| {
        let v: serde_json::Value = serde_json::from_str(t).unwrap_or_default();
        let sum = |n: &str| -> i64 {
            v["counters"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|c| c["name"] == n)
                        .map(|c| c["value"].as_i64().unwrap())
                        .sum()
                })
                .unwrap_or(0)
        };
        sum("received") == 3 && sum("login.failed.imap") == 2
    });
    assert!(shown.contains("\"recipients\":0"), "{shown}");
    let by_domain = ok(s.cli(&["stats", "--by", "hour", "--domain", "example.test"], None));
    assert!(by_domain.contains("delivered.local=3"), "{by_domain}");
}

/// Starts the webhook receiver; returns it and the file it logs posts to.
fn receiver(secret: &str, fail_first: u32) -> (Child, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/webhook_receiver.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(secret)
        .arg(dir.path().join("log"))
        .arg(fail_first.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY");
    (child, port, dir)
}

fn posts(dir: &tempfile::TempDir) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.path().join("log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_queue_alert_arrives_by_mail_and_at_a_signed_webhook() {
    let (mut rx, port, log) = receiver("hook-secret", 0);
    let s = server(
        "alert_queue_size = 2\nalert_recipients = [\"postmaster@example.test\"]\nwebhook_retry = \"200ms\"\n",
    );
    accounts(&s, &["bob", "postmaster"]);
    ok(s.cli(
        &[
            "webhooks",
            "add",
            &format!("http://127.0.0.1:{port}/hook"),
            "--events",
            "alert.",
            "--secret-stdin",
        ],
        Some("hook-secret\n"),
    ));
    // Three recipients wait in a held queue: over the threshold of two.
    ok(s.cli(&["queue", "hold", "--all"], None));
    for i in 0..3 {
        ok(s.cli(
            &[
                "sendmail",
                "-f",
                "bob@example.test",
                &format!("r{i}@remote.test"),
            ],
            Some("Subject: waiting\n\nx\n"),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = posts(&log);
        if let Some(p) = got.iter().find(|p| p["event"] == "alert.raised") {
            assert_eq!(p["valid"], true, "signed with the secret");
            assert_eq!(p["body"]["data"]["alert"], "queue.size");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no alert at the webhook: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mail = eventually(
        &s,
        &[
            "events",
            "--type",
            "message.delivered",
            "--account",
            "postmaster@example.test",
        ],
        |t| !t.is_empty(),
    );
    assert!(mail.contains("INBOX"), "{mail}");
    let inbox = support::inbox(&s.data_dir(), "postmaster@example.test");
    let text = String::from_utf8_lossy(&inbox[0]).to_string();
    assert!(
        text.contains("Subject: [Pillarbox alert] queue.size raised"),
        "{text}"
    );
    assert!(text.contains("3 recipients are waiting"), "{text}");
    let listed = ok(s.cli(&["alerts", "list"], None));
    assert!(
        listed.contains("queue.size") && listed.contains("RAISED"),
        "{listed}"
    );
    ok(s.cli(&["alerts", "ack", "queue.size"], None));
    // The queue goes down: the alert clears, and the receiver hears of it.
    for id in
        serde_json::from_str::<serde_json::Value>(&ok(s.cli(&["queue", "list", "--json"], None)))
            .unwrap()
            .as_array()
            .unwrap()
    {
        ok(s.cli(&["queue", "delete", &id["id"].to_string()], None));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !posts(&log).iter().any(|p| p["event"] == "alert.cleared") {
        assert!(Instant::now() < deadline, "the alert did not clear");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = rx.kill();
    let _ = rx.wait();
}

#[test]
fn a_webhook_receiver_that_fails_three_times_then_recovers_gets_every_event_once_in_order() {
    let (mut rx, port, log) = receiver("k2", 3);
    let s = server("webhook_retry = \"200ms\"\n");
    accounts(&s, &["bob"]);
    ok(s.cli(
        &[
            "webhooks",
            "add",
            &format!("http://127.0.0.1:{port}/"),
            "--events",
            "message.new",
            "--account",
            "bob@example.test",
            "--secret-stdin",
        ],
        Some("k2\n"),
    ));
    for i in 0..5 {
        smtp_send(
            &s,
            &["bob@example.test"],
            &format!("Subject: n{i}\r\n\r\nx\r\n"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok_posts: Vec<serde_json::Value> = posts(&log)
            .into_iter()
            .filter(|p| p["status"] == 200)
            .collect();
        if ok_posts.len() >= 5 {
            let uids: Vec<i64> = ok_posts
                .iter()
                .map(|p| p["body"]["data"]["uid"].as_i64().unwrap())
                .collect();
            assert_eq!(uids, vec![1, 2, 3, 4, 5], "each once, in order");
            assert!(ok_posts.iter().all(|p| p["valid"] == true));
            break;
        }
        assert!(Instant::now() < deadline, "posts so far: {:?}", posts(&log));
        std::thread::sleep(Duration::from_millis(200));
    }
    let all = posts(&log);
    assert_eq!(all.iter().filter(|p| p["status"] == 500).count(), 3);
    // The first post's history says it failed three times first.
    let history = ok(s.cli(&["webhooks", "history", "1", "--json"], None));
    let h: serde_json::Value = serde_json::from_str(&history).unwrap();
    let first = h
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|x| x["id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(first["status"], "delivered", "{history}");
    assert_eq!(first["attempts"], 4, "{history}");
    assert_eq!(
        first["last_error"], "HTTP 500 Internal Server Error",
        "{history}"
    );
    let _ = rx.kill();
    let _ = rx.wait();
}
