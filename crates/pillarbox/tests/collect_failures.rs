//! What goes wrong, said clearly, with nothing changed: wrong password, STARTTLS
//! chosen against a server without it, implicit TLS against a plaintext port, a proxy
//! refusing the credentials, a server that never answers. Each case runs `collect run`
//! (fails, stores nothing, deletes nothing, records the error) and `test-connection`,
//! whose output is compared with the expected text in `tests/snapshots/`, times,
//! ports and dates normalised (`UPDATE_SNAPSHOTS=1` rewrites them).

mod support;

use support::remote::{Dovecot, Local, PASSWORD, Proxy, USER, silent_listener};
use support::{cli, ok};

/// Collapses spaces, and replaces times, the given ports and dates with placeholders.
fn normalise(text: &str, ports: &[u16]) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut words: Vec<String> = Vec::new();
        for w in line.split_whitespace() {
            if w == "ms"
                && words
                    .last()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
            {
                words.pop();
                words.push("N".into());
            }
            words.push(w.to_string());
        }
        let mut l = words.join(" ");
        for p in ports {
            l = l
                .replace(&format!(":{p}"), ":PORT")
                .replace(&format!("port {p}"), "port PORT");
        }
        if let Some(i) = l.find("expires ") {
            let date = &l[i + 8..(i + 18).min(l.len())];
            if date.len() == 10 && date.as_bytes()[4] == b'-' {
                l = l.replace(&format!("expires {date}"), "expires DATE");
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/test_connection")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {} (run with UPDATE_SNAPSHOTS=1)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "snapshot {name} differs");
}

/// `pillarbox test-connection ARGS`, expecting success or failure; normalised stdout.
fn test_connection(args: &[&str], stdin: Option<&str>, pass: bool, ports: &[u16]) -> String {
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join("p.toml");
    std::fs::write(&path, "[server]\nhostname = \"pb.example.test\"\n").unwrap();
    let mut all = vec!["test-connection"];
    all.extend_from_slice(args);
    let out = cli(&path, &all, stdin);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.success(),
        pass,
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    normalise(&stdout, ports)
}

/// `collect run NAME` fails, names `expect`, stores nothing, and records the error.
fn run_fails(l: &Local, name: &str, expect: &str) {
    let out = l.cli(&["collect", "run", name], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains(expect), "expected {expect:?} in {stdout}");
    assert!(l.folder("INBOX").is_empty(), "nothing stored");
    let shown = ok(l.cli(&["collect", "show", name, "--json"], None));
    assert!(
        shown.contains("\"ok\": false") && shown.contains(expect),
        "{shown}"
    );
}

fn port(p: u16) -> String {
    p.to_string()
}

#[test]
fn a_good_server() {
    let dc = Dovecot::start(true);
    let p = port(dc.imap);
    let text = test_connection(
        &[
            "imap",
            &format!("127.0.0.1:{p}"),
            "--tls",
            "starttls",
            "--no-verify",
            "--user",
            USER,
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
        true,
        &[dc.imap],
    );
    snapshot("imap_starttls_ok", &text);
    let text = test_connection(
        &[
            "pop3",
            &format!("127.0.0.1:{}", dc.pop3s),
            "--tls",
            "implicit",
            "--no-verify",
        ],
        None,
        true,
        &[dc.pop3s],
    );
    snapshot("pop3_implicit_ok", &text);
    // The same through a collection account's settings.
    let l = Local::new("");
    l.add(
        "acct",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--tls",
            "implicit",
            "--port",
            &port(dc.imaps),
        ],
    );
    let out = ok(l.cli(&["collect", "test", "acct"], None));
    assert!(
        out.contains("Auth          ok") && out.contains("PASS:"),
        "{out}"
    );
    assert!(!out.contains(PASSWORD));
}

#[test]
fn wrong_password() {
    let dc = Dovecot::start(false);
    dc.fill(0, 5);
    let text = test_connection(
        &[
            "pop3",
            &format!("127.0.0.1:{}", dc.pop3),
            "--tls",
            "none",
            "--user",
            USER,
            "--password-stdin",
        ],
        Some("wrong\n"),
        false,
        &[dc.pop3],
    );
    snapshot("pop3_wrong_password", &text);
    let l = Local::new("");
    let out = l.cli(
        &[
            "collect",
            "add",
            "bad",
            "--owner",
            "alice@example.test",
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imap),
            "--tls",
            "none",
            "--user",
            USER,
            "--address",
            "remote@remote.test",
            "--password-stdin",
            "--leave-on-server",
            "off",
        ],
        Some("wrong\n"),
    );
    ok(out);
    run_fails(&l, "bad", "login failed");
    assert_eq!(dc.count(), 5, "nothing deleted");
}

#[test]
fn starttls_against_a_server_without_it() {
    let dc = Dovecot::start(false);
    dc.fill(0, 5);
    let text = test_connection(
        &[
            "imap",
            &format!("127.0.0.1:{}", dc.imap),
            "--tls",
            "starttls",
        ],
        None,
        false,
        &[dc.imap],
    );
    snapshot("imap_starttls_missing", &text);
    let l = Local::new("");
    l.add(
        "st",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "starttls",
            "--leave-on-server",
            "off",
        ],
    );
    run_fails(&l, "st", "STLS");
    assert_eq!(dc.count(), 5);
}

#[test]
fn implicit_tls_against_a_plaintext_port() {
    let dc = Dovecot::start(false);
    dc.fill(0, 5);
    let text = test_connection(
        &[
            "imap",
            &format!("127.0.0.1:{}", dc.imap),
            "--tls",
            "implicit",
        ],
        None,
        false,
        &[dc.imap],
    );
    snapshot("imap_implicit_on_plaintext", &text);
    let l = Local::new("");
    l.add(
        "imp",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.imap),
            "--tls",
            "implicit",
            "--leave-on-server",
            "off",
        ],
    );
    run_fails(&l, "imp", "TLS handshake");
    assert_eq!(dc.count(), 5);
}

#[test]
fn proxy_refusing_the_credentials() {
    let dc = Dovecot::start(false);
    dc.fill(0, 5);
    let socks = Proxy::microsocks("puser", "ppass");
    let text = test_connection(
        &[
            "imap",
            &format!("127.0.0.1:{}", dc.imap),
            "--tls",
            "none",
            "--proxy",
            &format!("socks5://puser:wrong@127.0.0.1:{}", socks.port),
        ],
        None,
        false,
        &[dc.imap, socks.port],
    );
    snapshot("socks5_proxy_refuses", &text);
    let l = Local::new("");
    l.add(
        "px",
        &[
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            &port(dc.pop3),
            "--tls",
            "none",
            "--leave-on-server",
            "off",
            "--proxy",
            &format!("socks5://puser:wrong@127.0.0.1:{}", socks.port),
        ],
    );
    run_fails(&l, "px", "refused the credentials");
    let shown = ok(l.cli(&["collect", "show", "px", "--json"], None));
    assert!(
        !shown.contains("wrong"),
        "the proxy password is not shown: {shown}"
    );
    assert_eq!(dc.count(), 5);
}

#[test]
fn a_server_that_never_answers() {
    let (addr, _h) = silent_listener();
    let text = test_connection(
        &["pop3", &addr.to_string(), "--tls", "none", "--timeout", "1"],
        None,
        false,
        &[addr.port()],
    );
    snapshot("pop3_timeout", &text);
    let l = Local::new("");
    l.add(
        "slow",
        &[
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &port(addr.port()),
            "--tls",
            "none",
            "--timeout",
            "1",
        ],
    );
    run_fails(&l, "slow", "no answer to greeting within 1 s");
}
