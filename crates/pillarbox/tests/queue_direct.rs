//! Direct delivery: MX records served by a real DNS server on loopback (dnsmasq), real
//! receiving SMTP servers on 127.0.0.x (aiosmtpd); preference order, fallback to the
//! second MX when the first is down, null MX bounces.

mod support;

use std::time::Duration;

use support::peers::{Dns, SmtpPeer, free_port};
use support::{TestServer, accounts, inbox, listen_any, ok};

fn send(s: &TestServer, from: &str, to: &str, subject: &str) {
    let msg = format!("From: {from}\nTo: {to}\nSubject: {subject}\n\nbody of {subject}\n");
    ok(s.cli(&["sendmail", "-f", from, to], Some(&msg)));
}

#[test]
fn mx_preference_fallback_and_null_mx() {
    let port = free_port();
    let dns = Dns::start(&[
        "--mx-host=one.test,mx1.one.test,10",
        "--mx-host=one.test,mx2.one.test,20",
        "--host-record=mx1.one.test,127.0.0.2",
        "--host-record=mx2.one.test,127.0.0.3",
        "--mx-host=two.test,mx.two.test,5",
        "--host-record=mx.two.test,127.0.0.4",
        "--mx-host=null.test,.,0",
    ]);
    let mx1 = SmtpPeer::start("127.0.0.2", port, serde_json::json!({}));
    let mx2 = SmtpPeer::start("127.0.0.3", port, serde_json::json!({}));
    let two = SmtpPeer::start("127.0.0.4", port, serde_json::json!({}));
    let s = TestServer::start(&format!(
        "{}\n[queue]\nresolver = [\"{}\"]\nretry_intervals = [\"1s\"]\n\n[[queue.route]]\nname = \"direct\"\nkind = \"direct\"\nport = {port}\n",
        listen_any("127.0.0.1"),
        dns.addr
    ));
    accounts(&s, &["bob"]);

    send(&s, "bob@example.test", "a@one.test", "first");
    send(&s, "bob@example.test", "b@two.test", "second");
    let got = mx1.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].rcpts, vec!["a@one.test"]);
    assert_eq!(got[0].from, "bob@example.test");
    assert!(got[0].data.contains("body of first"));
    let got = two.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].rcpts, vec!["b@two.test"]);
    assert!(
        mx2.received().is_empty(),
        "the lower-preference MX is not used while the first is up"
    );

    // The preferred MX goes down: the next message goes to the second.
    drop(mx1);
    send(&s, "bob@example.test", "c@one.test", "third");
    let got = mx2.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].rcpts, vec!["c@one.test"]);

    // A null MX is a permanent failure: a bounce comes back to the sender.
    send(&s, "bob@example.test", "x@null.test", "fourth");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let bounce = loop {
        let msgs = inbox(&s.data_dir(), "bob@example.test");
        if let Some(m) = msgs
            .into_iter()
            .find(|m| String::from_utf8_lossy(m).contains("multipart/report"))
        {
            break String::from_utf8(m).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no bounce for the null MX"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(bounce.contains("x@null.test"), "{bounce}");
    assert!(bounce.contains("null MX"), "{bounce}");
    assert!(bounce.contains("Action: failed"), "{bounce}");
    let list = ok(s.cli(&["queue", "list"], None));
    assert!(list.contains("queue is empty"), "{list}");
}
