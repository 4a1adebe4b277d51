//! Several nodes on one PostgreSQL behave as one server, driven by real clients, with
//! HAProxy in front: mail sent to node A reaches an IMAP session in IDLE on node B; a
//! POP3 maildrop node B holds is refused on node C; queued mail goes out exactly once
//! across the nodes (the connection limit holding across them) while one is killed
//! with -9 and started again; a node killed under SMTP load loses nothing it
//! acknowledged; a collection account is run by one node at a time; the database lost
//! while a node runs gives temporary errors in the sessions, which recover by
//! themselves when it returns.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::cluster::Cluster;
use support::peers::{HaProxy, SendProxy, SmtpPeer, free_port};
use support::{accounts, ok, python, python_ok};

#[path = "support/deliver.rs"]
mod deliver;

/// Loopback may log in without TLS (the tests' clients speak plaintext).
const NETWORK: &str = "[network]\ntrusted = [\"127.0.0.0/8\"]\n";

fn prelude() -> String {
    let support = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support");
    format!(
        "import sys, re, time, socket, smtplib, poplib\nsys.path.insert(0, {support:?})\nfrom imapc import *\n"
    )
}

#[test]
fn mail_on_one_node_reaches_idle_on_another_and_maildrops_lock_across_nodes() {
    // HAProxy (on 127.0.0.1) tells the nodes who its clients are with the PROXY
    // protocol; the clients that talk to a node directly come from 127.0.0.2.
    let c = Cluster::start(
        3,
        "[network]\ntrusted = [\"127.0.0.0/8\"]\nproxy_trusted = [\"127.0.0.1/32\"]\n",
    );
    accounts(c.node(0), &["bob"]);
    let lb = HaProxy::balance(&[
        ("smtp", c.addrs("smtp"), SendProxy::V2),
        ("imap", c.addrs("imap"), SendProxy::V2),
    ]);
    let script = format!(
        "{}\nA_SMTP, B_IMAP, B_POP3, C_POP3, LB_SMTP, LB_IMAP = {}, {}, {}, {}, {}, {}\n{}",
        prelude(),
        c.node(0).addr("smtp").port(),
        c.node(1).addr("imap").port(),
        c.node(1).addr("pop3").port(),
        c.node(2).addr("pop3").port(),
        lb.addr("smtp").port(),
        lb.addr("imap").port(),
        r#"
DIRECT = ("127.0.0.2", 0)
class POP3From(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=DIRECT)
a = connect(B_IMAP, source="127.0.0.2")
assert a.login().ok
assert a.cmd("SELECT INBOX").ok
a.send("i1 IDLE\r\n")
assert a.read() == b"+ idling"
s = smtplib.SMTP("127.0.0.1", A_SMTP, source_address=DIRECT)
s.sendmail("x@remote.test", ["bob@example.test"], b"Subject: one\r\n\r\nhello\r\n")
s.quit()
while True:
    r = a.read()
    if r.endswith(b" EXISTS"):
        assert r == b"* 1 EXISTS", r
        break
a.send("DONE\r\n")
assert a.wait("i1").ok
# Nine more through the load balancer, spread over the three nodes, from 127.0.0.3:
# each node records the client HAProxy names, not HAProxy.
for i in range(9):
    s = smtplib.SMTP("127.0.0.1", LB_SMTP, source_address=("127.0.0.3", 0))
    s.sendmail("x@remote.test", ["bob@example.test"], b"Subject: lb %d\r\n\r\nhello\r\n" % i)
    s.quit()
b = connect(LB_IMAP, source="127.0.0.3")
assert b.login().ok
r = b.cmd("SELECT INBOX")
assert r.ok and b"* 10 EXISTS" in r.untagged, r
r = b.cmd("FETCH 2:10 (BODY.PEEK[HEADER.FIELDS (RECEIVED)])")
assert r.ok and b"\n".join(r.untagged).count(b"[127.0.0.3]") == 9, r
# Node B holds the maildrop: node C refuses it (RFC 2449 [IN-USE]).
p = POP3From("127.0.0.1", B_POP3)
p.user("bob@example.test")
p.pass_("pw")
q = POP3From("127.0.0.1", C_POP3)
q.user("bob@example.test")
try:
    q.pass_("pw")
    raise SystemExit("node C opened a maildrop node B holds")
except poplib.error_proto as e:
    assert b"[IN-USE]" in e.args[0], e
q.quit()
assert p.stat()[0] == 10
p.quit()
# Released at QUIT: node C may open it now.
q = POP3From("127.0.0.1", C_POP3)
q.user("bob@example.test")
q.pass_("pw")
assert q.stat()[0] == 10
q.quit()
print("ok")
"#
    );
    assert_eq!(python_ok(&script, &[]).trim(), "ok");
}

fn queue_config(peer_port: u16) -> String {
    format!(
        "{NETWORK}\n[queue]\nretry_intervals = [\"1s\"]\nmax_connections_per_destination = 2\n\
         max_messages_per_connection = 5\n\n[[queue.route]]\nname = \"default\"\nkind = \"smarthost\"\n\
         host = \"127.0.0.1\"\nport = {peer_port}\ntls = \"none\"\n"
    )
}

/// Waits until the cluster's queue is empty, as a tool on node `i` sees it.
fn wait_for_empty_queue(c: &Cluster, i: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let queued: serde_json::Value =
            serde_json::from_str(&ok(c.node(i).cli(&["queue", "list", "--json"], None))).unwrap();
        if queued.as_array().is_some_and(|a| a.is_empty()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not drain: {queued}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How often each Message-ID arrived at the peer.
fn arrivals(peer: &SmtpPeer) -> HashMap<String, usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in peer.received() {
        let id = m
            .data
            .lines()
            .find(|l| l.starts_with("Message-ID:"))
            .unwrap_or_default()
            .to_string();
        *seen.entry(id).or_default() += 1;
    }
    seen
}

#[test]
fn queued_mail_goes_out_once_across_nodes_while_one_is_killed_and_restarted() {
    // A peer taking 20 ms per message: the run lasts over a second.
    let peer = SmtpPeer::start(
        "127.0.0.1",
        free_port(),
        serde_json::json!({ "data_delay": 0.02 }),
    );
    let mut c = Cluster::start(3, &queue_config(peer.addr.port()));
    accounts(c.node(0), &["bob"]);
    // Queued on the shared store while the whole queue is held (every node obeys),
    // then let go: the three nodes lease from the one queue.
    ok(c.node(0).cli(&["queue", "hold", "--all"], None));
    let n = 120;
    for i in 0..n {
        let msg = format!(
            "From: bob@example.test\nTo: r@remote.test\nMessage-ID: <m{i}@example.test>\nSubject: {i}\n\nbody\n"
        );
        ok(c.node(i % 3).cli(
            &["sendmail", "-f", "bob@example.test", "r@remote.test"],
            Some(&msg),
        ));
    }
    assert!(peer.received().is_empty(), "held on every node");
    ok(c.node(2).cli(&["queue", "release", "--all"], None));
    let deadline = Instant::now() + Duration::from_secs(30);
    while peer.received().len() < 10 {
        assert!(Instant::now() < deadline, "deliveries did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let dir = c.kill9(1);
    let before = peer.received().len();
    assert!(
        before < n,
        "the kill came too late ({before} of {n} delivered)"
    );
    // Started again under its name, node B gives back what it held at once.
    c.restart(1, dir);
    wait_for_empty_queue(&c, 0, Duration::from_secs(120));
    let seen = arrivals(&peer);
    assert_eq!(seen.len(), n, "every message delivered");
    let dups: usize = seen.values().map(|c| c - 1).sum();
    eprintln!("delivered before the kill: {before}, duplicates: {dups}");
    // Only what was in flight on the killed node: at most its share of the two
    // connections the destination allows, five messages each.
    assert!(dups <= 10, "{dups} duplicates");
    // Two connections to the destination at most, counted across the three nodes.
    assert!(
        peer.max_sessions() <= 2,
        "{} connections at once",
        peer.max_sessions()
    );
}

#[test]
fn a_node_killed_under_smtp_load_loses_nothing_it_acknowledged() {
    let mut c = Cluster::start(2, NETWORK);
    accounts(c.node(0), &["bob"]);
    let port = c.node(0).addr("smtp").port();
    // A client sends messages one after the other and records each acknowledged one;
    // node A is killed while it runs.
    let script = format!(
        "{}\nPORT = {port}\n{}",
        prelude(),
        r#"
acked = []
try:
    for i in range(400):
        s = smtplib.SMTP("127.0.0.1", PORT, timeout=10)
        s.sendmail("x@remote.test", ["bob@example.test"],
                   b"Message-ID: <k%d@remote.test>\r\nSubject: %d\r\n\r\nx\r\n" % (i, i))
        acked.append(i)
        s.quit()
        print("acked", i, flush=True)
except Exception as e:
    pass
print("done", len(acked), flush=True)
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.py");
    std::fs::write(&path, script).unwrap();
    let mut child = std::process::Command::new("python3")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut acked = Vec::new();
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 {
        if let Some(i) = line.trim().strip_prefix("acked ") {
            acked.push(i.parse::<u32>().unwrap());
            if acked.len() == 40 {
                drop(c.kill9(0));
            }
        }
        line.clear();
    }
    child.wait().unwrap();
    assert!(
        acked.len() >= 40 && acked.len() < 400,
        "{} acknowledged",
        acked.len()
    );
    // Every acknowledged message is in the mailbox, as node B serves it.
    let script = format!(
        "{}\nIMAP = {}\n{}",
        prelude(),
        c.node(1).addr("imap").port(),
        r#"
a = connect(IMAP)
assert a.login().ok
assert a.cmd("SELECT INBOX").ok
r = a.cmd("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
ids = sorted(set(int(x) for x in re.findall(rb"<k(\d+)@remote.test>", b"\n".join(r.untagged))))
print(" ".join(str(i) for i in ids))
"#
    );
    let stored: Vec<u32> = python_ok(&script, &[])
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let lost: Vec<&u32> = acked.iter().filter(|i| !stored.contains(i)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

#[test]
fn a_collection_account_is_run_by_one_node_at_a_time() {
    // The remote mailbox: a single embedded Pillarbox serving POP3.
    let remote =
        support::TestServer::start(&format!("{}\n{NETWORK}", support::listen_any("127.0.0.1")));
    accounts(&remote, &["far"]);
    let n = 30;
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("Message-ID: <c{i}@far.test>\r\nSubject: {i}\r\n\r\nx\r\n").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    deliver::deliver(&remote.data_dir(), "far@example.test", &refs);
    // Three nodes collect on a one-second schedule, leaving the mail on the server:
    // whichever node takes the run's lease collects; every message arrives once.
    let c = Cluster::start(3, &format!("{NETWORK}\n[collect]\ntick = \"1s\"\n"));
    accounts(c.node(0), &["bob"]);
    ok(c.node(0).cli(
        &[
            "collect",
            "add",
            "far",
            "--owner",
            "bob@example.test",
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &remote.addr("pop3").port().to_string(),
            "--tls",
            "none",
            "--user",
            "far@example.test",
            "--password-stdin",
            "--interval",
            "1s",
            "--leave-on-server",
            "on",
        ],
        Some("pw\n"),
    ));
    let script = format!(
        "{}\nIMAP = {}\nN = {n}\n{}",
        prelude(),
        c.node(2).addr("imap").port(),
        r#"
deadline = time.time() + 60
while True:
    a = connect(IMAP)
    assert a.login().ok
    r = a.cmd("SELECT INBOX")
    exists = int(re.search(rb"\* (\d+) EXISTS", b"\n".join(r.untagged)).group(1))
    a.cmd("LOGOUT")
    if exists >= N:
        break
    assert time.time() < deadline, exists
    time.sleep(0.5)
# Several more runs happen on the schedule; none collects anything twice.
time.sleep(4)
a = connect(IMAP)
assert a.login().ok
r = a.cmd("SELECT INBOX")
assert b"* %d EXISTS" % N in r.untagged, r
r = a.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
ids = re.findall(rb"<c(\d+)@far.test>", b"\n".join(r.untagged))
assert len(ids) == N and len(set(ids)) == N, ids
print("ok")
"#
    );
    let out = python(&script, &[]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_database_lost_while_running_gives_temporary_errors_and_everything_resumes() {
    let pg = support::postgres::dedicated();
    let c = Cluster::start_on(&pg.fresh_database(), 1, NETWORK);
    accounts(c.node(0), &["bob"]);
    let script = format!(
        "{}\nSMTP, IMAP, POP3 = {}, {}, {}\n{}",
        prelude(),
        c.node(0).addr("smtp").port(),
        c.node(0).addr("imap").port(),
        c.node(0).addr("pop3").port(),
        r#"
def step(name):
    print(name, flush=True)
    assert sys.stdin.readline().strip() == "go"

s = smtplib.SMTP("127.0.0.1", SMTP)
s.ehlo("client.test")
i = connect(IMAP)
assert i.login().ok
p = poplib.POP3("127.0.0.1", POP3)
step("outage")
# SMTP never says 250 without a commit: a temporary refusal, the session goes on.
assert s.mail("x@remote.test")[0] == 250
code, text = s.rcpt("bob@example.test")
assert code == 451 and text.startswith(b"4.3.0"), (code, text)
assert s.rset()[0] == 250
r = i.cmd("STATUS INBOX (MESSAGES)")
assert r.status == "NO" and r.code == "UNAVAILABLE", r
assert i.cmd("NOOP").ok
p.user("bob@example.test")
try:
    p.pass_("pw")
    raise SystemExit("POP3 login without the database")
except poplib.error_proto as e:
    assert e.args[0].startswith(b"-ERR [SYS/TEMP]"), e
step("return")
# The same sessions, once the database is back.
deadline = time.time() + 20
while True:
    code, text = s.mail("x@remote.test")
    assert code == 250, (code, text)
    code, text = s.rcpt("bob@example.test")
    if code == 250:
        break
    assert time.time() < deadline, (code, text)
    s.rset()
    time.sleep(0.2)
code, text = s.data(b"Subject: after\r\n\r\nback\r\n")
assert code == 250, (code, text)
s.quit()
r = i.cmd("STATUS INBOX (MESSAGES)")
assert r.ok and r.one(b"STATUS INBOX (MESSAGES 1)"), r
p = poplib.POP3("127.0.0.1", POP3)
p.user("bob@example.test")
p.pass_("pw")
assert p.stat()[0] == 1
p.quit()
print("ok", flush=True)
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outage.py");
    std::fs::write(&path, script).unwrap();
    let mut child = std::process::Command::new("python3")
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut said = Vec::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 {
        let l = line.trim().to_string();
        match l.as_str() {
            "outage" => {
                pg.stop();
                std::io::Write::write_all(&mut input, b"go\n").unwrap();
            }
            "return" => {
                pg.restart();
                std::io::Write::write_all(&mut input, b"go\n").unwrap();
            }
            _ => {}
        }
        said.push(l);
        line.clear();
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{said:?}");
    assert_eq!(said.last().map(String::as_str), Some("ok"), "{said:?}");
}
