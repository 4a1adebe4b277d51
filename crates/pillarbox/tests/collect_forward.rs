//! The collector inside `pillarbox serve`, on its schedule, forwarding collected mail to
//! a downstream SMTP server (the seed's "Exchange Connection") through a
//! `[[queue.route]]`: an aiosmtpd receiver gets every message once, addressed to the
//! original recipient — the remote account's address by default, or the one in
//! `Delivered-To` / `X-Original-To` with `--recipient headers` — and from the
//! original sender; nothing lands in the owner's mailbox.

mod support;

use std::time::Duration;

use support::peers::{SmtpPeer, free_port};
use support::remote::Dovecot;
use support::{TestServer, accounts, inbox, listen_any, ok};

#[test]
fn scheduled_runs_forward_each_message_once_to_its_original_recipient() {
    let pop = Dovecot::start(false);
    pop.fill(0, 30);
    let imap = Dovecot::start(false);
    imap.fill(100, 10);
    imap.add(
        "carol.M1P1.remote",
        b"Return-Path: <boss@elsewhere.test>\r\nDelivered-To: carol@corp.test\r\n\
          From: boss@elsewhere.test\r\nTo: team@corp.test\r\nSubject: for carol\r\n\
          Message-ID: <carol@elsewhere.test>\r\n\r\nhi\r\n",
    );
    imap.add(
        "dave.M2P1.remote",
        b"X-Original-To: dave@corp.test\r\nFrom: Ann <ann@elsewhere.test>\r\n\
          To: team@corp.test\r\nSubject: for dave\r\nMessage-ID: <dave@elsewhere.test>\r\n\r\nhi\r\n",
    );
    let peer = SmtpPeer::start("127.0.0.1", free_port(), serde_json::json!({}));
    let s = TestServer::start(&format!(
        "{}\n[collect]\ntick = \"1s\"\n\n[[queue.route]]\nname = \"exchange\"\nkind = \"smarthost\"\n\
         host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        listen_any("127.0.0.1"),
        peer.addr.port()
    ));
    accounts(&s, &["alice"]);
    let add = |name: &str, protocol: &str, port: u16, extra: &[&str]| {
        let port = port.to_string();
        let mut args = vec![
            "collect",
            "add",
            name,
            "--owner",
            "alice@example.test",
            "--protocol",
            protocol,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "none",
            "--user",
            "remote",
            "--address",
            "remote@remote.test",
            "--password-stdin",
            "--forward",
            "exchange",
            "--interval",
            "1s",
        ];
        args.extend_from_slice(extra);
        ok(s.cli(&args, Some("secret\n")));
    };
    add("pop", "pop3", pop.pop3, &["--leave-on-server", "off"]);
    add("imap", "imap", imap.imap, &["--recipient", "headers"]);

    let got = peer.wait_for(42, Duration::from_secs(60));
    // Let the scheduler run both accounts a few more times: nothing is sent again.
    std::thread::sleep(Duration::from_secs(3));
    let got_later = peer.received();
    assert_eq!(got_later.len(), 42, "no message forwarded twice");
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            r.data
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_string))
                .unwrap()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 42);
    for r in &got {
        let subject = r.data.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        let expect = match subject {
            "Subject: for carol" => "carol@corp.test",
            "Subject: for dave" => "dave@corp.test",
            _ => "remote@remote.test",
        };
        assert_eq!(r.rcpts, vec![expect.to_string()], "{subject}");
        // Forwarded with the original sender behind SRS (a bounce to it reaches them).
        if subject == "Subject: message 7" {
            assert!(
                r.from.starts_with("SRS0=")
                    && r.from.ends_with("=elsewhere.test=sender7@mx.example.test"),
                "{}",
                r.from
            );
        }
        if subject == "Subject: for dave" {
            assert!(
                r.from.starts_with("SRS0=")
                    && r.from.ends_with("=elsewhere.test=ann@mx.example.test"),
                "{}",
                r.from
            );
        }
    }
    assert_eq!(pop.count(), 0, "POP3 account deletes after forwarding");
    assert_eq!(imap.count(), 12, "IMAP account leaves mail on the server");
    assert!(inbox(&s.data_dir(), "alice@example.test").is_empty());
    let listed = ok(s.cli(&["collect", "list", "--json"], None));
    assert!(listed.contains("\"collected\""), "{listed}");
}
