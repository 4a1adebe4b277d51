//! `pillarbox store migrate`: a populated embedded installation copied into
//! PostgreSQL, after which an IMAP client that had synced before finds the same
//! UIDVALIDITY, UIDs, flags and MODSEQs, the queue still holds its message, and the
//! collection account's sealed password still opens; a second migration into the
//! same database is refused.

mod support;

use support::{TestServer, accounts, fails, listen_any, ok, python_ok};

const NETWORK: &str = "[network]\ntrusted = [\"127.0.0.0/8\"]\n";

/// What an IMAP client that synced sees of bob's INBOX: UIDVALIDITY, then each
/// message's UID, FLAGS and MODSEQ.
fn imap_view(s: &TestServer) -> String {
    let support = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support");
    python_ok(
        &format!(
            "import sys, re\nsys.path.insert(0, {support:?})\nfrom imapc import *\nIMAP = {}\n{}",
            s.addr("imap").port(),
            r#"
a = connect(IMAP)
assert a.login().ok
assert a.cmd("ENABLE CONDSTORE").ok
r = a.cmd("SELECT INBOX")
print(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(r.untagged)).group(1).decode())
r = a.cmd("UID FETCH 1:* (FLAGS MODSEQ)")
for u in r.untagged:
    print(u.decode())
"#
        ),
        &[],
    )
}

#[test]
fn an_embedded_installation_moves_into_postgres_and_clients_see_the_same_mailbox() {
    let s = TestServer::start(&format!("{}\n{NETWORK}", listen_any("127.0.0.1")));
    accounts(&s, &["bob"]);
    let support = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support");
    python_ok(
        &format!(
            "import sys, smtplib\nsys.path.insert(0, {support:?})\nfrom imapc import *\n\
             SMTP, IMAP = {}, {}\n{}",
            s.addr("smtp").port(),
            s.addr("imap").port(),
            r#"
for i in range(5):
    c = smtplib.SMTP("127.0.0.1", SMTP)
    c.sendmail("x@remote.test", ["bob@example.test"], b"Subject: %d\r\n\r\nbody %d\r\n" % (i, i))
    c.quit()
a = connect(IMAP)
assert a.login().ok
assert a.cmd("SELECT INBOX").ok
assert a.cmd("UID STORE 2 +FLAGS (\\Seen $Work)").ok
assert a.cmd("UID STORE 4 +FLAGS (\\Deleted)").ok
assert a.cmd("EXPUNGE").ok
"#
        ),
        &[],
    );
    // A message waiting in the queue, and a collection account with a password.
    ok(s.cli(&["queue", "hold", "--all"], None));
    ok(s.cli(
        &["sendmail", "-f", "bob@example.test", "far@remote.test"],
        Some("Subject: queued\n\nwaiting\n"),
    ));
    ok(s.cli(
        &[
            "collect",
            "add",
            "isp",
            "--owner",
            "bob@example.test",
            "--protocol",
            "pop3",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--user",
            "bob@isp.test",
            "--password-stdin",
            "--enabled",
            "off",
        ],
        Some("remote-secret\n"),
    ));
    let before = imap_view(&s);
    let queued_before = ok(s.cli(&["queue", "list", "--json"], None));
    let dir = s.stop();

    let url = support::postgres::server().fresh_database();
    let config = dir.path().join("pillarbox.toml");
    let out = ok(support::cli(
        &config,
        &["store", "migrate", "--to", &url],
        None,
    ));
    assert!(out.contains("verified"), "{out}");
    assert!(
        out.contains("mailbox_entries") && out.contains("4 rows"),
        "{out}"
    );

    // The same data directory (and secrets key), now on PostgreSQL.
    let s = TestServer::start_in(
        dir,
        &format!(
            "{}\n{NETWORK}\n[store]\nengine = \"postgres\"\nurl = \"{url}\"\nnode_name = \"moved\"\n",
            listen_any("127.0.0.1")
        ),
    );
    assert_eq!(imap_view(&s), before);
    let queued_after = ok(s.cli(&["queue", "list", "--json"], None));
    assert_eq!(queued_after, queued_before);
    let shown = ok(s.cli(&["collect", "show", "isp", "--json"], None));
    assert!(shown.contains("\"isp\""), "{shown}");
    // New mail continues the same UIDs.
    python_ok(
        &format!(
            "import smtplib\nc = smtplib.SMTP('127.0.0.1', {})\n\
             c.sendmail('x@remote.test', ['bob@example.test'], b'Subject: new\\r\\n\\r\\nx\\r\\n')\nc.quit()\n",
            s.addr("smtp").port()
        ),
        &[],
    );
    let after = imap_view(&s);
    assert!(after.starts_with(&before), "{after}");
    assert!(after.contains("UID 6 "), "{after}");

    // A second migration into the now populated database is refused, clearly.
    let again = support::TestServer::start(&format!("{}\n{NETWORK}", listen_any("127.0.0.1")));
    let dir2 = again.kill9();
    let err = fails(support::cli(
        &dir2.path().join("pillarbox.toml"),
        &["store", "migrate", "--to", &url],
        None,
    ));
    assert!(err.contains("already holds data"), "{err}");
}
