//! Screening of MX clients before their message, against real peers: DNS block lists
//! served by a real DNS server (dnsmasq listing 127.0.0.2 and a domain), greylisting
//! with swaks and with a real MTA that retries (a second Pillarbox's queue), an early
//! talker refused, and the per-address connection and message rates.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use support::peers::Dns;
use support::{TestServer, accounts, listen_any, ok};

fn swaks(server: &TestServer, from: &str, to: &str) -> String {
    let out = Command::new("swaks")
        .args([
            "--server",
            &server.addr("smtp").to_string(),
            "--from",
            from,
            "--to",
            to,
            "--helo",
            "client.example",
            "--body",
            "hello",
            "--timeout",
            "20",
        ])
        .output()
        .expect("swaks is installed (scripts/test installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn inbox(s: &TestServer, addr: &str) -> Vec<String> {
    support::mailbox(&s.data_dir(), addr, "INBOX")
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .collect()
}

#[test]
fn dns_block_lists_refuse_listed_clients_and_domains() {
    let dns = Dns::start(&[
        // 127.0.0.1 is listed in bl.test (RFC 5782: 1.0.0.127.bl.test A 127.0.0.2).
        "--host-record=1.0.0.127.bl.test,127.0.0.2".to_string(),
        // A domain list (DBL style) lists spammer.example.
        "--host-record=spammer.example.dbl.test,127.0.1.2".to_string(),
        // An answer outside 127/8 (a resolver's advertising page) never counts.
        "--host-record=1.0.0.127.hijack.test,192.0.2.1".to_string(),
        // An allow list (negative weight) lists it too.
        "--host-record=1.0.0.127.wl.test,127.0.0.3".to_string(),
    ]);
    let listed = TestServer::start(&format!(
        "{}\n[scan]\nresolver = [\"{}\"]\n\n[[scan.dnsbl]]\nzone = \"bl.test\"\n",
        listen_any("127.0.0.1"),
        dns.addr
    ));
    accounts(&listed, &["bob"]);
    let out = swaks(&listed, "a@good.example", "bob@example.test");
    assert!(
        out.contains("554 5.7.1") && out.contains("127.0.0.1 listed by bl.test"),
        "{out}"
    );
    assert!(inbox(&listed, "bob@example.test").is_empty());
    drop(listed);

    // Listed, but also on an allow list: the weights cancel out.
    let allowed = TestServer::start(&format!(
        "{}\n[scan]\nresolver = [\"{}\"]\n\n[[scan.dnsbl]]\nzone = \"bl.test\"\n\n\
         [[scan.dnsbl]]\nzone = \"wl.test\"\nweight = -1.0\nreturns = [\"127.0.0.3\"]\n",
        listen_any("127.0.0.1"),
        dns.addr
    ));
    accounts(&allowed, &["bob"]);
    let out = swaks(&allowed, "a@good.example", "bob@example.test");
    assert!(out.contains("250 2.0.0"), "allow-listed: {out}");
    drop(allowed);

    let domains = TestServer::start(&format!(
        "{}\n[scan]\nresolver = [\"{}\"]\n\n[[scan.dnsbl]]\nzone = \"dbl.test\"\nkind = \"domain\"\n\n\
         [[scan.dnsbl]]\nzone = \"hijack.test\"\n",
        listen_any("127.0.0.1"),
        dns.addr
    ));
    accounts(&domains, &["bob"]);
    let out = swaks(&domains, "a@spammer.example", "bob@example.test");
    assert!(
        out.contains("554 5.7.1") && out.contains("spammer.example listed by dbl.test"),
        "{out}"
    );
    let out = swaks(&domains, "a@good.example", "bob@example.test");
    assert!(out.contains("250 2.0.0"), "not listed: {out}");
    assert_eq!(inbox(&domains, "bob@example.test").len(), 1);
    // Each refusal is in the event log.
    support::wait_event(&domains, "smtp.rejected", "dbl.test");
}

#[test]
fn greylisting_refuses_a_first_attempt_and_takes_the_retry() {
    let s = TestServer::start(&format!(
        "{}\n[scan.greylist]\nenabled = true\ndelay = \"2s\"\nauto_whitelist_after = 1\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob", "carol"]);
    let out = swaks(&s, "a@sender.example", "bob@example.test");
    assert!(
        out.contains("451 4.7.1") && out.contains("Greylisted"),
        "{out}"
    );
    let out = swaks(&s, "a@sender.example", "bob@example.test");
    assert!(out.contains("451 4.7.1"), "too early: {out}");
    std::thread::sleep(Duration::from_millis(2200));
    let out = swaks(&s, "a@sender.example", "bob@example.test");
    assert!(out.contains("250 2.0.0"), "after the delay: {out}");
    // One pass whitelists the network: a new triplet goes through at once.
    let out = swaks(&s, "b@other.example", "carol@example.test");
    assert!(out.contains("250 2.0.0"), "whitelisted: {out}");
    assert_eq!(inbox(&s, "bob@example.test").len(), 1);
    assert_eq!(inbox(&s, "carol@example.test").len(), 1);
    // Authenticated submission is never greylisted.
    let sub = Command::new("swaks")
        .args([
            "--server",
            &s.addr("submission").to_string(),
            "--from",
            "bob@example.test",
            "--to",
            "carol@example.test",
            "--auth",
            "PLAIN",
            "--auth-user",
            "bob@example.test",
            "--auth-password",
            "pw",
        ])
        .output()
        .unwrap();
    let sub = String::from_utf8_lossy(&sub.stdout);
    assert!(sub.contains("250 2.0.0"), "{sub}");
}

#[test]
fn a_real_mta_retrying_gets_through_greylisting() {
    let receiver = TestServer::start(&format!(
        "{}\n[scan.greylist]\nenabled = true\ndelay = \"2s\"\n",
        listen_any("127.0.0.1")
    ));
    accounts(&receiver, &["bob"]);
    let sender = TestServer::start(&format!(
        "{}\n[queue]\nretry_intervals = [\"1s\"]\n\n[[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\n\
         host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        listen_any("127.0.0.1"),
        receiver.addr("smtp").port()
    ));
    let msg = "From: app@sender.test\nTo: bob@example.test\nSubject: greylisted\n\nbody\n";
    ok(sender.cli(
        &["sendmail", "-f", "app@sender.test", "bob@example.test"],
        Some(msg),
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while inbox(&receiver, "bob@example.test").is_empty() {
        assert!(Instant::now() < deadline, "the retry never got through");
        std::thread::sleep(Duration::from_millis(200));
    }
    // It was refused at least once first: the sender's queue recorded the deferral.
    support::wait_event(&sender, "message.deferred", "4.7.1");
}

/// Reads one SMTP reply (all its lines).
fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return all;
        }
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return all;
        }
    }
}

#[test]
fn early_talkers_and_rates_are_refused() {
    let s = TestServer::start(&format!(
        "{}\n[scan]\ngreet_delay = \"1s\"\nmax_connections_per_minute = 4\nmax_messages_per_minute = 2\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["bob"]);
    // 1: talks before the greeting.
    let mut c = TcpStream::connect(s.addr("smtp")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"EHLO hasty.example\r\n").unwrap();
    let mut got = String::new();
    let _ = c.read_to_string(&mut got);
    assert!(got.starts_with("554 "), "{got:?}");
    assert!(
        !got.contains("220 "),
        "no greeting for an early talker: {got:?}"
    );

    // 2: waits for the greeting; two messages pass, the third is over the rate.
    let c = TcpStream::connect(s.addr("smtp")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = c.try_clone().unwrap();
    let mut r = BufReader::new(c);
    assert!(reply(&mut r).starts_with("220 "));
    w.write_all(b"EHLO patient.example\r\n").unwrap();
    assert!(reply(&mut r).starts_with("250"));
    for i in 0..3 {
        w.write_all(b"MAIL FROM:<a@patient.example>\r\n").unwrap();
        let mail = reply(&mut r);
        if i == 2 {
            assert!(mail.starts_with("451 4.7.1"), "{mail}");
            break;
        }
        assert!(mail.starts_with("250"), "{mail}");
        w.write_all(b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
            .unwrap();
        assert!(reply(&mut r).starts_with("250"));
        assert!(reply(&mut r).starts_with("354"));
        w.write_all(b"Subject: rate\r\n\r\nhi\r\n.\r\n").unwrap();
        assert!(reply(&mut r).starts_with("250"));
    }
    w.write_all(b"QUIT\r\n").unwrap();
    drop(r);

    // 3 and 4 were used above (connections 1 and 2); two more fit, the fifth not.
    for _ in 0..2 {
        let c = TcpStream::connect(s.addr("smtp")).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(c);
        assert!(reply(&mut r).starts_with("220 "));
    }
    let c = TcpStream::connect(s.addr("smtp")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(c);
    let refused = reply(&mut r);
    assert!(
        refused.starts_with("421 ") && refused.contains("Too many connections"),
        "{refused}"
    );
    assert_eq!(inbox(&s, "bob@example.test").len(), 2);
}
