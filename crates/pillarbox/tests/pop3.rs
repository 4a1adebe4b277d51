//! POP3 end to end against the real binary, with real clients: Python's poplib for every
//! command (TOP, UIDL, RSET, UPDATE only on QUIT, a dropped connection deleting
//! nothing, the maildrop lock, service policy by source address), fetchmail over STLS
//! and over implicit TLS, getmail6 over implicit TLS (keep and delete modes, a second run
//! fetching nothing), and curl retrieving a message byte for byte.

mod support;

#[path = "support/deliver.rs"]
mod deliver;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{TestServer, accounts, inbox, listen_any, ok, python, python_ok};

/// The LAN is 127.0.0.1 only; all of loopback may use plaintext logins.
const NETWORK: &str = "[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = [\"127.0.0.0/8\"]\n";

struct Pop3Server {
    s: TestServer,
    /// The pop3 listener on 127.0.0.2 (outside the LAN).
    outside: u16,
}

impl Pop3Server {
    fn start(network: &str) -> Pop3Server {
        // A free port on 127.0.0.2 for the second pop3 listener.
        let outside = std::net::TcpListener::bind("127.0.0.2:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = listen_any("127.0.0.1").replace(
            "pop3 = [\"127.0.0.1:0\"]",
            &format!("pop3 = [\"127.0.0.2:{outside}\", \"127.0.0.1:0\"]"),
        );
        let s = TestServer::start(&format!("{listen}\n{network}"));
        accounts(&s, &["bob", "carol"]);
        Pop3Server { s, outside }
    }

    fn port(&self, svc: &str) -> String {
        self.s.addr(svc).port().to_string()
    }

    /// The pop3 listener on 127.0.0.1 (listed last, so it is the one the log names).
    fn pop3(&self) -> String {
        let a = self.s.addr("pop3");
        assert_eq!(a.ip().to_string(), "127.0.0.1");
        a.port().to_string()
    }

    fn cert(&self) -> PathBuf {
        self.s.data_dir().join("tls/cert.pem")
    }

    fn deliver(&self, to: &str, messages: &[&[u8]]) {
        deliver::deliver(&self.s.data_dir(), to, messages);
    }

    fn inbox_len(&self, who: &str) -> usize {
        inbox(&self.s.data_dir(), who).len()
    }
}

fn msg(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n\r\n{body}"
    )
    .into_bytes()
}

/// Waits for `child` up to `limit` (a safety net, not a timing assertion), killing it
/// if it hangs; returns its exit code and output.
fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            for pipe in [
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read>),
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read>),
            ]
            .into_iter()
            .flatten()
            {
                let mut p = pipe;
                let _ = p.read_to_string(&mut out);
            }
            return (status.code(), out);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("client did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const POPLIB_COMMON: &str = r#"
import base64, json, poplib, socket, ssl, sys, time

class SourcedPOP3(poplib.POP3):
    """poplib.POP3 connecting from a chosen source address."""
    def __init__(self, host, port, source):
        self.source = source
        super().__init__(host, port, timeout=30)
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))

def connect(port, source="127.0.0.1", host="127.0.0.1"):
    return SourcedPOP3(host, int(port), source)

def login(port, user="bob@example.test", pw="pw", source="127.0.0.1", host="127.0.0.1"):
    # The previous session of a test may still be releasing the maildrop lock.
    for _ in range(200):
        p = connect(port, source, host)
        p.user(user)
        try:
            p.pass_(pw)
            return p
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0]:
                raise
            p.quit()
            time.sleep(0.05)
    raise SystemExit("maildrop stayed locked")

def err(f, *a):
    try:
        f(*a)
    except poplib.error_proto as e:
        a = e.args[0]
        return a.decode() if isinstance(a, bytes) else a
    return "no error"
"#;

#[test]
fn poplib_exercises_every_command() {
    let p = Pop3Server::start(NETWORK);
    let m1 = msg("one", "first body\r\n");
    let m2 = msg("two", "line 1\r\n.line 2 starts with a dot\r\nline 3\r\n");
    let m3 = msg("three", "third\r\n");
    p.deliver("bob@example.test", &[&m1, &m2, &m3]);
    let script = format!(
        "{POPLIB_COMMON}{}",
        r#"
port = sys.argv[1]
out = {}
p = connect(port)
out["welcome"] = p.getwelcome().decode()
out["capa"] = {k: v for k, v in p.capa().items()}
# poplib's own apop() needs a timestamp in the greeting, which we do not send.
out["apop"] = err(p._shortcmd, "APOP bob@example.test c4c9334bac560ecc979e58001b3e22fb")
p.user("bob@example.test")
out["pass"] = p.pass_("pw").decode()
out["stat"] = list(p.stat())
resp, lines, _ = p.list()
out["list"] = [l.decode() for l in lines]
out["list2"] = p.list(2).decode()
out["list9"] = err(p.list, 9)
resp, lines, _ = p.uidl()
out["uidl"] = [l.decode() for l in lines]
out["uidl1"] = p.uidl(1).decode()
resp, lines, octets = p.retr(2)
out["retr2"] = {"resp": resp.decode(), "lines": [l.decode() for l in lines], "octets": octets}
resp, lines, _ = p.top(2, 0)
out["top0"] = [l.decode() for l in lines]
resp, lines, _ = p.top(2, 2)
out["top2"] = [l.decode() for l in lines]
out["noop"] = p.noop().decode()
out["dele1"] = p.dele(1).decode()
out["dele1_again"] = err(p.dele, 1)
out["retr1_deleted"] = err(p.retr, 1)
out["stat_after_dele"] = list(p.stat())
out["rset"] = p.rset().decode()
out["stat_after_rset"] = list(p.stat())
p.dele(1)
p.dele(3)
out["bogus"] = err(p._shortcmd, "BOGUS")
out["quit"] = p.quit().decode()
p = login(port)
out["stat_next_session"] = list(p.stat())
resp, lines, _ = p.uidl()
out["uidl_next_session"] = [l.decode() for l in lines]
p.quit()
print(json.dumps(out))
"#
    );
    let out = python_ok(&script, &[&p.pop3()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    assert!(s("welcome").starts_with("+OK "), "{v}");
    let capa = v["capa"].as_object().unwrap();
    for cap in [
        "TOP",
        "UIDL",
        "USER",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "STLS",
        "EXPIRE",
        "SASL",
        "IMPLEMENTATION",
    ] {
        assert!(capa.contains_key(cap), "{cap} in {capa:?}");
    }
    assert_eq!(capa["SASL"], serde_json::json!(["PLAIN", "LOGIN"]));
    assert_eq!(capa["EXPIRE"], serde_json::json!(["NEVER"]));
    assert!(
        s("apop").starts_with("-ERR [AUTH] APOP is not available"),
        "{v}"
    );
    assert!(s("pass").starts_with("+OK maildrop locked and ready, 3 messages"));
    let total = m1.len() + m2.len() + m3.len();
    assert_eq!(v["stat"], serde_json::json!([3, total]));
    assert_eq!(
        v["list"],
        serde_json::json!([
            format!("1 {}", m1.len()),
            format!("2 {}", m2.len()),
            format!("3 {}", m3.len())
        ])
    );
    assert_eq!(s("list2"), format!("+OK 2 {}", m2.len()));
    assert!(s("list9").starts_with("-ERR no such message 9"));
    let uidl = v["uidl"].as_array().unwrap();
    assert_eq!(uidl.len(), 3);
    let id1 = uidl[0]
        .as_str()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(id1.len(), 16, "uidvalidity and uid in hex: {id1}");
    assert_eq!(s("uidl1"), format!("+OK 1 {id1}"));
    // RETR: poplib un-stuffs the dot line; the octet count covers the stuffed lines.
    let retr = &v["retr2"];
    assert_eq!(retr["resp"], format!("+OK {} octets", m2.len()));
    let text: Vec<&str> = retr["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        text.join("\r\n") + "\r\n",
        String::from_utf8(m2.clone()).unwrap()
    );
    // TOP 0: the header and the blank line; TOP 2: two body lines more.
    let top0 = v["top0"].as_array().unwrap();
    assert_eq!(top0.last().unwrap(), "");
    assert_eq!(top0.len(), 5);
    let top2 = v["top2"].as_array().unwrap();
    assert_eq!(top2.len(), 7);
    assert_eq!(top2[5], "line 1");
    assert_eq!(top2[6], ".line 2 starts with a dot");
    assert_eq!(s("noop"), "+OK");
    assert_eq!(s("dele1"), "+OK message 1 deleted");
    assert_eq!(s("dele1_again"), "-ERR message 1 already deleted");
    assert_eq!(s("retr1_deleted"), "-ERR message 1 already deleted");
    assert_eq!(
        v["stat_after_dele"],
        serde_json::json!([2, m2.len() + m3.len()])
    );
    assert!(s("rset").starts_with("+OK maildrop has 3 messages"));
    assert_eq!(v["stat_after_rset"], serde_json::json!([3, total]));
    assert_eq!(s("bogus"), "-ERR unknown command");
    assert_eq!(
        s("quit"),
        "+OK Pillarbox POP3 server signing off (2 messages deleted, 1 left)"
    );
    // UPDATE removed 1 and 3; message 2 kept its unique id.
    assert_eq!(v["stat_next_session"], serde_json::json!([1, m2.len()]));
    let next = v["uidl_next_session"].as_array().unwrap();
    assert_eq!(
        next[0].as_str().unwrap().split(' ').nth(1),
        uidl[1].as_str().unwrap().split(' ').nth(1)
    );
    let left = inbox(&p.s.data_dir(), "bob@example.test");
    assert_eq!(left, vec![m2]);
}

#[test]
fn sasl_auth_plain_and_stls_with_poplib() {
    // Nothing is trusted: plaintext logins need TLS.
    let p = Pop3Server::start("[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = []\n");
    p.deliver("bob@example.test", &[&msg("tls", "over tls\r\n")]);
    let script = format!(
        "{POPLIB_COMMON}{}",
        r#"
port, cert = sys.argv[1], sys.argv[2]
out = {}
p = connect(port)
caps = p.capa()
out["caps_before"] = sorted(caps.keys())
out["user_before"] = err(p.user, "bob@example.test")
ctx = ssl.create_default_context(cafile=cert)
ctx.check_hostname = False
out["stls"] = p.stls(ctx).decode()
out["caps_after"] = sorted(p.capa().keys())
ir = base64.b64encode(b"\0bob@example.test\0pw").decode()
out["auth"] = p._shortcmd("AUTH PLAIN " + ir).decode()
out["stat"] = list(p.stat())
out["stls_again"] = err(p._shortcmd, "STLS")
p.quit()
print(json.dumps(out))
"#
    );
    let out = python_ok(&script, &[&p.pop3(), p.cert().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let before: Vec<&str> = v["caps_before"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(before.contains(&"STLS") && !before.contains(&"USER") && !before.contains(&"SASL"));
    assert!(
        v["user_before"]
            .as_str()
            .unwrap()
            .starts_with("-ERR [AUTH] plaintext authentication is not allowed without TLS"),
        "{v}"
    );
    assert_eq!(v["stls"], "+OK begin TLS negotiation");
    let after: Vec<&str> = v["caps_after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(after.contains(&"USER") && after.contains(&"SASL") && !after.contains(&"STLS"));
    assert!(
        v["auth"]
            .as_str()
            .unwrap()
            .starts_with("+OK maildrop locked")
    );
    assert_eq!(v["stat"][0], 1);
    assert_eq!(v["stls_again"], "-ERR STLS is not valid after login");
}

/// A poplib session that marks message 1 deleted, reports it, then waits for the test to
/// say whether to QUIT or to drop the connection.
const MARK_THEN_WAIT: &str = r#"
port = sys.argv[1]
p = login(port)
print(p.dele(1).decode(), flush=True)
if sys.stdin.readline().strip() == "quit":
    print(p.quit().decode(), flush=True)
else:
    p.sock.close()
    print("dropped", flush=True)
"#;

fn mark_then(p: &Pop3Server, action: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mark.py");
    std::fs::write(&path, format!("{POPLIB_COMMON}{MARK_THEN_WAIT}")).unwrap();
    let mut child = Command::new("python3")
        .arg(&path)
        .arg(p.pop3())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "+OK message 1 deleted", "{line}");
    // Marked, not deleted: the store still has both messages.
    assert_eq!(p.inbox_len("bob@example.test"), 2);
    writeln!(child.stdin.take().unwrap(), "{action}").unwrap();
    let mut last = String::new();
    stdout.read_line(&mut last).unwrap();
    let (code, rest) = wait(child, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{rest}");
    last.trim().to_string()
}

#[test]
fn deletions_happen_on_quit_only_and_a_dropped_connection_deletes_nothing() {
    let p = Pop3Server::start(NETWORK);
    p.deliver(
        "bob@example.test",
        &[&msg("first", "1\r\n"), &msg("second", "2\r\n")],
    );
    assert_eq!(mark_then(&p, "drop"), "dropped");
    assert_eq!(p.inbox_len("bob@example.test"), 2);
    let bye = mark_then(&p, "quit");
    assert!(bye.contains("1 messages deleted"), "{bye}");
    let left = inbox(&p.s.data_dir(), "bob@example.test");
    assert_eq!(left.len(), 1);
    assert!(String::from_utf8_lossy(&left[0]).contains("Subject: second"));
}

#[test]
fn a_second_concurrent_session_gets_in_use() {
    let p = Pop3Server::start(NETWORK);
    let script = format!(
        "{POPLIB_COMMON}{}",
        r#"
port = sys.argv[1]
first = login(port)
second = connect(port)
second.user("bob@example.test")
print(err(second.pass_, "pw"))
# Another account is not affected.
other = login(port, user="carol@example.test")
other.quit()
first.quit()
second.user("bob@example.test")
print(second.pass_("pw").decode())
second.quit()
"#
    );
    let out = python_ok(&script, &[&p.pop3()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "-ERR [IN-USE] the maildrop is already locked by another POP3 session"
    );
    assert!(lines[1].starts_with("+OK maildrop locked"), "{out}");
}

#[test]
fn service_policy_by_account_and_source_address() {
    let p = Pop3Server::start(NETWORK);
    let try_login = |source: &str, port: &str| -> String {
        let script = format!(
            "{POPLIB_COMMON}{}",
            r#"
port, source = sys.argv[1], sys.argv[2]
p = connect(port, source=source, host=source)
p.user("bob@example.test")
r = err(p.pass_, "pw")
print(r if r != "no error" else "+OK logged in")
p.quit()
"#
        );
        python_ok(&script, &[port, source]).trim().to_string()
    };
    let outside = p.outside.to_string();
    let inside = p.pop3();
    // POP3 switched off.
    ok(p.s.cli(
        &["account", "set", "bob@example.test", "--pop", "off"],
        None,
    ));
    assert_eq!(
        try_login("127.0.0.1", &inside),
        "-ERR [AUTH] POP3 access is disabled for this account"
    );
    // POP3 only from the LAN (127.0.0.1/32): 127.0.0.2 is refused with the reason.
    ok(p.s.cli(
        &[
            "account",
            "set",
            "bob@example.test",
            "--pop",
            "on",
            "--pop-lan-only",
            "on",
        ],
        None,
    ));
    assert_eq!(
        try_login("127.0.0.2", &outside),
        "-ERR [AUTH] POP3 access is allowed for this account only from the local network, and 127.0.0.2 is outside it"
    );
    assert_eq!(try_login("127.0.0.1", &inside), "+OK logged in");
}

#[test]
fn curl_retrieves_a_message_byte_for_byte() {
    let p = Pop3Server::start(NETWORK);
    let raw = b"From: alice@example.test\r\nSubject: exact\r\n\r\n.dot line\r\n\r\ntrailing spaces   \r\n..\r\n\tend\r\n".to_vec();
    p.deliver("bob@example.test", &[&raw]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("msg");
    let child = Command::new("curl")
        .args(["-s", "-S", "--max-time", "60", "--url"])
        .arg(format!("pop3://127.0.0.1:{}/1", p.pop3()))
        .args(["--user", "bob@example.test:pw", "-o"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl is installed (scripts/test installs it)");
    let (code, text) = wait(child, Duration::from_secs(90));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(std::fs::read(&out).unwrap(), raw);
}

/// A fetchmail run: `extra` completes the poll line; returns (exit code, log).
fn fetchmail(home: &Path, rc_body: &str) -> (Option<i32>, String) {
    let rc = home.join("fetchmailrc");
    std::fs::write(&rc, rc_body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let child = Command::new("fetchmail")
        .arg("-f")
        .arg(&rc)
        .arg("--idfile")
        .arg(home.join("fetchids"))
        // As root the default lock is /var/run/fetchmail.pid, shared by parallel tests.
        .arg("--pidfile")
        .arg(home.join("fetchmail.pid"))
        .args(["-v", "--nosyslog", "--nodetach"])
        .env("HOME", home)
        .env("FETCHMAILHOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fetchmail is installed (scripts/test installs it)");
    wait(child, Duration::from_secs(120))
}

fn delivered_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn fetchmail_round(p: &Pop3Server, tls: &str, keep: bool) {
    p.deliver(
        "bob@example.test",
        &[&msg("fm-one", "one\r\n"), &msg("fm-two", "two\r\n")],
    );
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (port, ssl) = match tls {
        "stls" => (p.pop3(), ""),
        _ => (p.port("pop3s"), "ssl"),
    };
    let rc = format!(
        "set no bouncemail\n\
         poll 127.0.0.1 proto POP3 port {port} timeout 30 uidl\n\
         \tuser \"bob@example.test\" there with password \"pw\" is \"{user}\" here\n\
         \t{ssl} sslproto \"TLS1.2+\" sslcertck sslcertfile \"{cert}\" sslcommonname \"localhost\"\n\
         \t{keep} fetchall\n\
         \tmda \"/bin/sh -c 'cat > {out}/msg.$$'\"\n",
        user = std::env::var("USER").unwrap_or_else(|_| "root".into()),
        cert = p.cert().display(),
        keep = if keep { "keep" } else { "nokeep" },
        out = out.display(),
    );
    // Keep mode fetches everything new; `fetchall` only applies to the first run there.
    let rc_first = rc.clone();
    let rc_next = rc.replace(" fetchall", "");
    let (code, log) = fetchmail(home.path(), &rc_first);
    assert_eq!(code, Some(0), "fetchmail retrieved mail: {log}");
    if tls == "stls" {
        assert!(log.contains("POP3> STLS"), "STLS was used: {log}");
    }
    let got = delivered_files(&out);
    assert_eq!(got.len(), 2, "{log}");
    assert!(got.iter().any(|m| m.contains("Subject: fm-one")));
    assert!(got.iter().any(|m| m.contains("Subject: fm-two")));
    assert_eq!(p.inbox_len("bob@example.test"), if keep { 2 } else { 0 });
    // A second run finds nothing new (exit code 1 is fetchmail's "no mail").
    let (code, log) = fetchmail(home.path(), &rc_next);
    assert_eq!(code, Some(1), "nothing new: {log}");
    assert_eq!(delivered_files(&out).len(), 2);
    assert_eq!(p.inbox_len("bob@example.test"), if keep { 2 } else { 0 });
}

#[test]
fn fetchmail_over_stls_keep_and_delete() {
    let p = Pop3Server::start("[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = []\n");
    fetchmail_round(&p, "stls", true);
    let p = Pop3Server::start("[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = []\n");
    fetchmail_round(&p, "stls", false);
}

#[test]
fn fetchmail_over_implicit_tls_keep_and_delete() {
    let p = Pop3Server::start(NETWORK);
    fetchmail_round(&p, "pop3s", true);
    let p = Pop3Server::start(NETWORK);
    fetchmail_round(&p, "pop3s", false);
}

fn getmail(p: &Pop3Server, getmaildir: &Path, maildir: &Path, delete: bool) -> String {
    let rc = getmaildir.join("getmailrc");
    std::fs::write(
        &rc,
        format!(
            "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = 127.0.0.1\nport = {port}\n\
             username = bob@example.test\npassword = pw\nca_certs = {cert}\nssl_cert_hostname = localhost\n\n\
             [destination]\ntype = Maildir\npath = {maildir}/\n\
             {user}\n\n[options]\nread_all = false\ndelete = {delete}\nverbose = 2\n",
            port = p.port("pop3s"),
            // getmail refuses to write a Maildir as root.
            user = if running_as_root() { "user = nobody" } else { "" },
            cert = p.cert().display(),
            maildir = maildir.display(),
        ),
    )
    .unwrap();
    let child = Command::new("getmail")
        .arg("--getmaildir")
        .arg(getmaildir)
        .arg("--rcfile")
        .arg(&rc)
        .env("HOME", getmaildir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("getmail is installed (scripts/test installs getmail6)");
    let (code, log) = wait(child, Duration::from_secs(120));
    assert_eq!(code, Some(0), "getmail: {log}");
    log
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn maildir_count(maildir: &Path) -> usize {
    std::fs::read_dir(maildir.join("new")).unwrap().count()
}

#[test]
fn getmail_over_implicit_tls_keep_and_delete() {
    for delete in [false, true] {
        let p = Pop3Server::start(NETWORK);
        p.deliver(
            "bob@example.test",
            &[&msg("gm-one", "one\r\n"), &msg("gm-two", "two\r\n")],
        );
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        if running_as_root() {
            // Delivery runs as nobody: let it reach and write the Maildir.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            for d in [
                maildir.clone(),
                maildir.join("new"),
                maildir.join("cur"),
                maildir.join("tmp"),
            ] {
                std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
            }
        }
        let log = getmail(&p, dir.path(), &maildir, delete);
        assert_eq!(maildir_count(&maildir), 2, "{log}");
        assert_eq!(
            p.inbox_len("bob@example.test"),
            if delete { 0 } else { 2 },
            "{log}"
        );
        let log = getmail(&p, dir.path(), &maildir, delete);
        assert_eq!(
            maildir_count(&maildir),
            2,
            "second run fetches nothing: {log}"
        );
        assert_eq!(p.inbox_len("bob@example.test"), if delete { 0 } else { 2 });
    }
}

#[test]
fn python_can_see_refusals_before_tls_without_a_trusted_network() {
    let p = Pop3Server::start("[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = []\n");
    let out = python(
        &format!(
            "{POPLIB_COMMON}{}",
            r#"
p = connect(sys.argv[1])
print(err(p.user, "bob@example.test"))
print(err(p._shortcmd, "AUTH PLAIN AGJvYkBleGFtcGxlLnRlc3QAcHc="))
p.quit()
"#
        ),
        &[&p.pop3()],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in lines {
        assert!(
            l.starts_with("-ERR [AUTH] plaintext authentication is not allowed"),
            "{l}"
        );
    }
}

/// Retrieves message 1 whole and message 2's headers, then QUITs; prints the EXPIRE
/// capability line.
const RETR_ONE_TOP_TWO: &str = r#"
p = login(sys.argv[1])
print([c for c in p.capa() if c == "EXPIRE"], p.capa().get("EXPIRE"))
p.retr(1)
p.top(2, 0)
print(p.quit().decode())
"#;

/// The EXPIRE policy (RFC 2449 §6.7) is enforced, not only advertised: with 0, a
/// message RETR sent is deleted at QUIT (TOP is not a retrieval); with 3 days, it stays
/// until three days after its retrieval, then the server's maintenance removes it.
#[test]
fn expire_policy_is_enforced_at_quit_or_days_later() {
    let two = [msg("first", "1\r\n"), msg("second", "2\r\n")];
    let two: Vec<&[u8]> = two.iter().map(Vec::as_slice).collect();

    let p = Pop3Server::start(&format!("{NETWORK}\n[pop3]\nexpire_days = 0\n"));
    p.deliver("bob@example.test", &two);
    let out = python_ok(&format!("{POPLIB_COMMON}{RETR_ONE_TOP_TWO}"), &[&p.pop3()]);
    assert!(out.contains("['0']"), "EXPIRE 0 advertised: {out}");
    let left = inbox(&p.s.data_dir(), "bob@example.test");
    assert_eq!(left.len(), 1, "{out}");
    assert!(String::from_utf8_lossy(&left[0]).contains("Subject: second"));
    drop(p);

    let config = format!("{NETWORK}\n[pop3]\nexpire_days = 3\n");
    let p = Pop3Server::start(&config);
    p.deliver("bob@example.test", &two);
    let out = python_ok(&format!("{POPLIB_COMMON}{RETR_ONE_TOP_TWO}"), &[&p.pop3()]);
    assert!(out.contains("['3']"), "EXPIRE 3 advertised: {out}");
    assert_eq!(p.inbox_len("bob@example.test"), 2, "kept for now");
    // Three days pass: the retrieval time moves back, and the restarted server's
    // maintenance pass (hourly, first at start) removes the message.
    let dir = p.s.kill9();
    let db = dir.path().join("data/pillarbox.db");
    python_ok(
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n\
         c.execute('UPDATE pop3_retrieved SET retrieved_at = retrieved_at - 3 * 86400')\nc.commit()\n",
        &[db.to_str().unwrap()],
    );
    let s = TestServer::start_in(dir, &format!("{}\n{config}", listen_any("127.0.0.1")));
    let deadline = Instant::now() + Duration::from_secs(30);
    while inbox(&s.data_dir(), "bob@example.test").len() != 1 {
        assert!(
            Instant::now() < deadline,
            "the retrieved message was not expired"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let left = inbox(&s.data_dir(), "bob@example.test");
    assert!(String::from_utf8_lossy(&left[0]).contains("Subject: second"));
}
