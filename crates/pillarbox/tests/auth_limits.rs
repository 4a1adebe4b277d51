//! Failed-login limits seen from outside: one account locked from an address while
//! another logs in from it, the address as a whole locked at the higher threshold, and
//! `pillarbox auth blocked` / `unblock` against the running server. Logins are POP3
//! over TLS from 127.0.0.x, with `network.trusted` not including them.

mod support;

use support::{TestServer, accounts, listen_any, ok, python_ok};

/// `pop3s-port source user password...`: one connection per password, each line the
/// server's answer to PASS.
const LOGIN: &str = r#"
import socket, ssl, sys
port, source, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for password in sys.argv[4:]:
    raw = socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=10)
    s = ctx.wrap_socket(raw)
    f = s.makefile("rb")
    f.readline()
    s.sendall(("USER %s\r\n" % user).encode()); f.readline()
    s.sendall(("PASS %s\r\n" % password).encode())
    print(f.readline().decode().strip())
    s.sendall(b"QUIT\r\n")
    s.close()
"#;

fn login(s: &TestServer, source: &str, user: &str, passwords: &[&str]) -> Vec<String> {
    let port = s.addr("pop3s").port().to_string();
    let mut args = vec![port.as_str(), source, user];
    args.extend_from_slice(passwords);
    python_ok(LOGIN, &args)
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_ok(answers: &[String]) {
    assert!(answers.iter().all(|a| a.starts_with("+OK")), "{answers:?}");
}

fn assert_locked(answers: &[String]) {
    assert!(
        answers
            .iter()
            .all(|a| a.starts_with("-ERR") && a.contains("too many failed logins")),
        "{answers:?}"
    );
}

#[test]
fn accounts_are_locked_per_address_the_address_at_a_higher_threshold_and_unblock_lifts_both() {
    let s = TestServer::start(&format!(
        "{}\n[network]\ntrusted = [\"10.0.0.0/8\"]\n\n[auth]\nmax_failures = 3\n\
         max_failures_per_address = 6\nlockout = \"10m\"\n",
        listen_any("127.0.0.1")
    ));
    accounts(&s, &["alice", "bob"]);
    let (alice, bob) = ("alice@example.test", "bob@example.test");

    // Three wrong passwords for bob lock bob, not alice, out of 127.0.0.1.
    let answers = login(&s, "127.0.0.1", bob, &["wrong", "wrong", "wrong"]);
    assert!(answers.iter().all(|a| a.starts_with("-ERR")), "{answers:?}");
    assert_locked(&login(&s, "127.0.0.1", bob, &["pw"]));
    assert_ok(&login(&s, "127.0.0.1", alice, &["pw"]));
    assert_ok(&login(&s, "127.0.0.4", bob, &["pw"]));

    let blocked = ok(s.cli(&["auth", "blocked"], None));
    assert!(
        blocked.contains("127.0.0.1") && blocked.contains(bob) && blocked.contains('m'),
        "{blocked}"
    );
    let json = ok(s.cli(&["auth", "blocked", "--json"], None));
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(list[0]["account"], bob);
    assert!(list[0]["seconds_left"].as_u64().unwrap() > 500, "{json}");

    let out = ok(s.cli(&["auth", "unblock", bob], None));
    assert!(out.contains("unblocked") && out.contains(bob), "{out}");
    assert_ok(&login(&s, "127.0.0.1", bob, &["pw"]));

    // Six failures from 127.0.0.2, two per name (none reaches 3): the address is locked
    // for everyone, other addresses are not.
    for user in ["u1@example.test", "u2@example.test", "u3@example.test"] {
        login(&s, "127.0.0.2", user, &["wrong", "wrong"]);
    }
    assert_locked(&login(&s, "127.0.0.2", alice, &["pw"]));
    assert_ok(&login(&s, "127.0.0.3", alice, &["pw"]));
    let blocked = ok(s.cli(&["auth", "blocked"], None));
    assert!(
        blocked.contains("127.0.0.2") && blocked.contains("(every account)"),
        "{blocked}"
    );
    let out = ok(s.cli(&["auth", "unblock", "127.0.0.2"], None));
    assert!(out.contains("127.0.0.2"), "{out}");
    assert_ok(&login(&s, "127.0.0.2", alice, &["pw"]));
    assert!(ok(s.cli(&["auth", "blocked"], None)).contains("nothing is blocked"));
}
