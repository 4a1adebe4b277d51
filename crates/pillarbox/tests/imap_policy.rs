//! IMAP end to end: the account service policy at LOGIN and AUTHENTICATE. IMAP switched
//! off, and IMAP only from the LAN used from outside it, are refused with a response
//! code and the reason; the connection stays usable for another login; a LAN address is
//! let in. The LAN is 127.0.0.1/32, and the outside client connects from 127.0.0.2.
//! A password changed with the CLI applies to the next login, whatever the server's
//! login cache remembers.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

#[test]
fn imap_disabled_is_refused_with_the_reason() {
    let server = Imap::start();
    server.cli(&["account", "set", "bob@example.test", "--imap", "off"]);
    server.py(r#"
import base64
c = connect(IMAP)
r = c.cmd('LOGIN "bob@example.test" "pw"')
assert r.status == "NO" and r.code == "CONTACTADMIN", r
assert b"IMAP access is disabled for this account" in r.tagged, r
r = c.cmd("AUTHENTICATE PLAIN " + base64.b64encode(b"\0bob@example.test\0pw").decode())
assert r.status == "NO" and r.code == "CONTACTADMIN", r
# A wrong password never reveals the policy.
r = c.cmd('LOGIN "bob@example.test" "wrong"')
assert r.code == "AUTHENTICATIONFAILED", r
# Same connection, another account.
r = c.cmd('LOGIN "carol@example.test" "pw"')
assert r.ok, r
assert c.cmd("SELECT INBOX").ok
"#);
}

#[test]
fn lan_only_is_refused_from_outside_and_allowed_from_the_lan() {
    let server = Imap::start();
    server.cli(&[
        "account",
        "set",
        "bob@example.test",
        "--imap-lan-only",
        "on",
    ]);
    server.py(r#"
outside = connect(IMAP, source="127.0.0.2")
r = outside.cmd('LOGIN "bob@example.test" "pw"')
assert r.status == "NO" and r.code == "CONTACTADMIN", r
assert b"only from the local network" in r.tagged and b"127.0.0.2" in r.tagged, r
r = outside.cmd('LOGIN "carol@example.test" "pw"')
assert r.ok, r

inside = connect(IMAP, source="127.0.0.1")
r = inside.cmd('LOGIN "bob@example.test" "pw"')
assert r.ok, r
assert inside.cmd("SELECT INBOX").ok
"#);
}

#[test]
fn a_changed_password_applies_at_once_despite_the_login_cache() {
    // The server remembers verified logins for [auth] login_cache_ttl (60 s by
    // default); a password changed by the CLI (another process) must still take effect
    // for the very next login.
    let server = Imap::start();
    server.py(r#"
import imaplib
for _ in range(3):
    m = imaplib.IMAP4("127.0.0.1", IMAP)
    m.login("bob@example.test", "pw")
    m.logout()
"#);
    let out = server.s.cli(
        &["account", "passwd", "bob@example.test", "--password-stdin"],
        Some("fresh\n"),
    );
    assert!(out.status.success(), "{out:?}");
    server.py(r#"
import imaplib
m = imaplib.IMAP4("127.0.0.1", IMAP)
try:
    m.login("bob@example.test", "pw")
    raise SystemExit("the old password still works")
except imaplib.IMAP4.error as e:
    assert "AUTHENTICATIONFAILED" in str(e), e
m = imaplib.IMAP4("127.0.0.1", IMAP)
m.login("bob@example.test", "fresh")
m.logout()
"#);
}
