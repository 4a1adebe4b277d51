//! IMAP end to end: the account service policy at LOGIN and AUTHENTICATE. IMAP switched
//! off, and IMAP only from the LAN used from outside it, are refused with a response
//! code and the reason; the connection stays usable for another login; a LAN address is
//! let in. The LAN is 127.0.0.1/32, and the outside client connects from 127.0.0.2.

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
