//! Operating the queue: the CLI (list, show, hold, release, retry, delete, flush) on a
//! live server, and a kill -9 in the middle of a run of deliveries — after the restart
//! every message arrives, none lost, duplicates only for messages in flight.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::peers::{SmtpPeer, free_port};
use support::{TestServer, accounts, listen_any, ok};

fn config(peer_port: u16, extra: &str) -> String {
    format!(
        "{}\n[queue]\nretry_intervals = [\"1s\"]\n{extra}\n\n[[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\n\
         host = \"127.0.0.1\"\nport = {peer_port}\ntls = \"none\"\n",
        listen_any("127.0.0.1")
    )
}

fn sendmail(s: &TestServer, to: &str, subject: &str) {
    let msg = format!("From: bob@example.test\nTo: {to}\nSubject: {subject}\n\nbody\n");
    ok(s.cli(&["sendmail", "-f", "bob@example.test", to], Some(&msg)));
}

#[test]
fn cli_lists_holds_releases_retries_and_deletes() {
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "defer_first": { "slow@remote.test": 1000 } }),
    );
    let s = TestServer::start(&config(peer.addr.port(), ""));
    accounts(&s, &["bob"]);
    ok(s.cli(&["queue", "hold", "--all"], None));
    sendmail(&s, "slow@remote.test", "deferred");
    // The whole queue is held: the new message waits. Held on its own too, it stays
    // held while the whole queue is.
    let list = ok(s.cli(&["queue", "list", "--json"], None));
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = v[0]["id"].as_i64().unwrap();
    ok(s.cli(&["queue", "hold", &id.to_string()], None));
    let shown = ok(s.cli(&["queue", "show", &id.to_string()], None));
    assert!(
        shown.contains("(held)") && shown.contains("slow@remote.test"),
        "{shown}"
    );
    assert_eq!(
        v[0]["recipients"][0]["attempts"], 0,
        "nothing sent while the queue is held"
    );
    // `release --all` releases the queue and every held message: it goes out (and is
    // deferred by the peer, retried every second).
    let out = ok(s.cli(&["queue", "release", "--all"], None));
    assert!(out.contains("1 held message(s) released too"), "{out}");
    let attempts = |s: &TestServer| -> i64 {
        let v: serde_json::Value = serde_json::from_str(&ok(
            s.cli(&["queue", "show", &id.to_string(), "--json"], None)
        ))
        .unwrap();
        v["recipients"][0]["attempts"].as_i64().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while attempts(&s) == 0 {
        assert!(Instant::now() < deadline, "never attempted");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Held again, it waits, even when asked to retry now (an attempt already under
    // way when the hold came may still finish).
    ok(s.cli(&["queue", "hold", &id.to_string()], None));
    std::thread::sleep(Duration::from_millis(1500));
    let n = attempts(&s);
    ok(s.cli(&["queue", "retry", &id.to_string()], None));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(attempts(&s), n, "a held message waits");

    ok(s.cli(&["queue", "release", &id.to_string()], None));
    // The remote keeps answering 451: the error shows in the listing.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = ok(s.cli(&["queue", "list"], None));
        if list.contains("451 4.7.1 try again later") {
            assert!(list.contains("attempts"), "{list}");
            break;
        }
        assert!(Instant::now() < deadline, "no attempt recorded: {list}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = ok(s.cli(&["queue", "retry", &id.to_string()], None));
    assert!(out.contains("scheduled"), "{out}");
    ok(s.cli(&["queue", "delete", &id.to_string()], None));
    assert!(ok(s.cli(&["queue", "list"], None)).contains("queue is empty"));
    let err = support::fails(s.cli(&["queue", "show", &id.to_string()], None));
    assert!(err.contains("no queued message"), "{err}");

    // flush: sends what waits and reports.
    sendmail(&s, "fast@remote.test", "flushed");
    let out = ok(s.cli(&["queue", "flush", "--timeout", "30"], None));
    assert!(
        out.contains("flush done") || out.contains("queue is empty"),
        "{out}"
    );
    peer.wait_for(1, Duration::from_secs(20));
}

#[test]
fn kill_9_during_deliveries_loses_nothing() {
    // A peer taking 20 ms per message: the run lasts over a second, so the kill
    // lands in its middle however fast this machine is.
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "data_delay": 0.02 }),
    );
    let s = TestServer::start(&config(
        peer.addr.port(),
        "max_connections_per_destination = 2\nmax_messages_per_connection = 5",
    ));
    accounts(&s, &["bob"]);
    // Queue 120 messages while the queue is held, then let them go and kill the
    // server in the middle of the run.
    ok(s.cli(&["queue", "hold", "--all"], None));
    let msg = "From: bob@example.test\nTo: r@remote.test\nSubject: x\n\nbody\n";
    let n = 120;
    for i in 0..n {
        let msg = format!(
            "From: bob@example.test\nTo: r@remote.test\nMessage-ID: <m{i}@example.test>\nSubject: {i}\n\nbody\n"
        );
        ok(s.cli(
            &["sendmail", "-f", "bob@example.test", "r@remote.test"],
            Some(&msg),
        ));
    }
    assert!(peer.received().is_empty(), "held");
    let _ = msg;
    ok(s.cli(&["queue", "release", "--all"], None));
    let deadline = Instant::now() + Duration::from_secs(30);
    while peer.received().len() < 10 {
        assert!(Instant::now() < deadline, "deliveries did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let dir = s.kill9();
    let before = peer.received().len();
    assert!(
        before < n,
        "the kill came too late to test anything ({before} of {n} delivered)"
    );
    let s2 = TestServer::start_in(dir, &config(peer.addr.port(), ""));
    // Done when the restarted server's queue is empty: everything it owed went out
    // (counting arrivals alone would stop early, as duplicates count too).
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let queued: serde_json::Value =
            serde_json::from_str(&ok(s2.cli(&["queue", "list", "--json"], None))).unwrap();
        if queued.as_array().is_some_and(|a| a.is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not drain: {queued}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The restarted server also mails the postmaster (through the same smart host) an
    // alert that it had not stopped cleanly: from the null sender, not one of ours.
    let (alerts, got): (Vec<_>, Vec<_>) = peer
        .received()
        .into_iter()
        .partition(|m| m.data.contains("Message-ID: <alert."));
    assert!(
        alerts
            .iter()
            .all(|m| m.data.contains("not stopped cleanly")),
        "the only alert is the unclean restart"
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in &got {
        let id = m
            .data
            .lines()
            .find(|l| l.starts_with("Message-ID:"))
            .unwrap_or_default()
            .to_string();
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), n, "every message delivered");
    let dups: usize = seen.values().map(|c| c - 1).sum();
    eprintln!("delivered before the kill: {before}, duplicates after the restart: {dups}");
    // Only what was in flight: a message is, from its DATA until its result is
    // committed (each message's result is committed as soon as the remote answered,
    // while the connection goes on), so at most connections × messages per connection,
    // and in practice about one per connection.
    assert!(dups <= 10, "{dups} duplicates");
}
