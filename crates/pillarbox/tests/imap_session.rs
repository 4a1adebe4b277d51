//! IMAP end to end, the session level: greeting and capabilities, STARTTLS and
//! LOGINDISABLED, implicit TLS, LOGIN / AUTHENTICATE (PLAIN, LOGIN, SASL-IR),
//! UNAUTHENTICATE, ID, ENABLE, NAMESPACE, COMPRESS=DEFLATE, bad input (BAD and the
//! session continues, BYE after too many), line caps, the idle timeout and shutdown.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

/// Every capability issue 4 requires.
const REQUIRED: &str = "['IMAP4rev1', 'IMAP4rev2', 'SASL-IR', 'LITERAL+', 'ENABLE', 'ID', 'IDLE',
 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE', 'CHILDREN', 'LIST-EXTENDED', 'LIST-STATUS',
 'SPECIAL-USE', 'CREATE-SPECIAL-USE', 'CONDSTORE', 'QRESYNC', 'ESEARCH', 'SEARCHRES', 'SORT',
 'THREAD=REFERENCES', 'THREAD=ORDEREDSUBJECT', 'WITHIN', 'QUOTA', 'STATUS=SIZE', 'BINARY',
 'UTF8=ACCEPT', 'MULTIAPPEND', 'UNAUTHENTICATE', 'COMPRESS=DEFLATE']";

#[test]
fn greeting_and_capabilities_from_a_trusted_network() {
    let server = Imap::start();
    server.py(&format!(
        r#"
c = connect(IMAP)
assert c.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 "), c.greeting
r = c.cmd("CAPABILITY")
assert r.ok
caps = r.one("CAPABILITY").split()[2:]
caps = [x.decode() for x in caps]
for need in {REQUIRED} + ['STARTTLS', 'AUTH=PLAIN', 'AUTH=LOGIN']:
    assert need in caps, (need, caps)
assert 'LOGINDISABLED' not in caps
assert any(x.startswith('APPENDLIMIT=') for x in caps)
r = c.login()
assert r.code.startswith("CAPABILITY "), r
r = c.cmd("CAPABILITY")
after = [x.decode() for x in r.one("CAPABILITY").split()[2:]]
assert 'STARTTLS' not in after and 'AUTH=PLAIN' not in after and 'IDLE' in after, after
r = c.cmd("LOGOUT")
assert r.ok and r.lines("BYE"), r
assert c.closed()
"#
    ));
}

#[test]
fn starttls_and_logindisabled_outside_trusted_networks() {
    let server = Imap::start_with("[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = []\n");
    server.py(r#"
c = connect(IMAP)
caps = c.greeting.decode()
assert "LOGINDISABLED" in caps and "STARTTLS" in caps and "AUTH=" not in caps, caps
r = c.cmd('LOGIN "bob@example.test" "pw"')
assert r.status == "NO" and r.code == "PRIVACYREQUIRED", r
r = c.cmd("AUTHENTICATE PLAIN AGJvYkBleGFtcGxlLnRlc3QAcHc=")
assert r.status == "NO" and r.code == "PRIVACYREQUIRED", r
# A command pipelined after STARTTLS must be discarded, not run after the handshake.
t = c.tag()
c.send(t + " STARTTLS\r\nx1 LOGIN bob@example.test pw\r\n")
r = c.wait(t)
assert r.ok, r
c.buf = b""
c._wrap(CERT)
r = c.cmd("CAPABILITY")
caps = r.one("CAPABILITY").decode()
assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps and "STARTTLS" not in caps, caps
assert not any(b"x1" in u for u in r.untagged), r
r = c.cmd("STARTTLS")
assert r.status == "BAD", r
c.login()
assert c.cmd("SELECT INBOX").ok

# Implicit TLS: no STARTTLS, plaintext mechanisms offered.
s = connect(IMAPS, tls=True, cafile=CERT)
caps = s.greeting.decode()
assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, caps
s.login()
"#);
}

#[test]
fn authenticate_login_and_unauthenticate() {
    let server = Imap::start();
    server.py(r#"
import base64
b64 = lambda s: base64.b64encode(s.encode()).decode()
c = connect(IMAP)
# SASL-IR
r = c.cmd("AUTHENTICATE PLAIN " + b64("\0bob@example.test\0pw"))
assert r.ok and r.code.startswith("CAPABILITY"), r
r = c.cmd("UNAUTHENTICATE")
assert r.ok, r
r = c.cmd("SELECT INBOX")
assert r.status == "BAD", r
# PLAIN with an empty challenge
t = c.tag()
c.send(t + " AUTHENTICATE PLAIN\r\n")
assert c.read() == b"+ ", c.buf
c.send(b64("\0bob@example.test\0pw") + "\r\n")
assert c.wait(t).ok
c.cmd("UNAUTHENTICATE")
# LOGIN mechanism
t = c.tag()
c.send(t + " AUTHENTICATE LOGIN\r\n")
assert c.read() == b"+ VXNlcm5hbWU6"
c.send(b64("bob@example.test") + "\r\n")
assert c.read() == b"+ UGFzc3dvcmQ6"
c.send(b64("pw") + "\r\n")
assert c.wait(t).ok
c.cmd("UNAUTHENTICATE")
# Cancelled exchange
t = c.tag()
c.send(t + " AUTHENTICATE PLAIN\r\n")
c.read()
c.send("*\r\n")
assert c.wait(t).status == "BAD"
# Wrong password: the connection stays usable.
r = c.cmd('LOGIN "bob@example.test" "nope"')
assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
r = c.cmd("AUTHENTICATE XOAUTH9")
assert r.status == "NO", r
# LOGIN with a synchronizing and a LITERAL+ literal.
r = c.cmd("LOGIN ", Lit("bob@example.test"), " ", Lit("pw", sync=False))
assert r.ok and len(r.continuations) == 1, r
r = c.cmd("LOGIN bob@example.test pw")
assert r.status == "BAD", r
"#);
}

#[test]
fn id_enable_namespace() {
    let server = Imap::start();
    server.py(r#"
c = connect(IMAP)
r = c.cmd('ID ("name" "imapc" "version" "1")')
assert r.ok and b'"name" "Pillarbox"' in r.one("ID"), r
r = c.cmd("ENABLE CONDSTORE")
assert r.status == "BAD", r
c.login()
r = c.cmd("ENABLE CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2 X-UNKNOWN")
assert r.ok, r
assert r.one("ENABLED") == b"* ENABLED CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2", r
r = c.cmd("ENABLE CONDSTORE")
assert r.one("ENABLED") == b"* ENABLED", r
r = c.cmd("NAMESPACE")
assert r.one("NAMESPACE") == b'* NAMESPACE (("" "/")) NIL NIL', r
r = c.cmd("ID NIL")
assert r.ok
"#);
}

#[test]
fn compress_deflate_both_ways() {
    let server = Imap::start();
    server.py(r#"
c = connect(IMAP)
c.login()
body = "Subject: big\r\n\r\n" + "compressible line of text\r\n" * 4000
assert c.cmd("APPEND INBOX ", Lit(body)).ok
c.compress()
r = c.cmd("CAPABILITY")
assert b"COMPRESS=DEFLATE" not in r.one("CAPABILITY"), r
r = c.cmd("SELECT INBOX")
assert r.ok and r.lines("1 EXISTS"), r
r = c.cmd("FETCH 1 BODY.PEEK[]")
assert fetch_data(r, b"BODY[]")[1] == body.encode()
r = c.cmd("COMPRESS DEFLATE")
assert r.status == "NO" and r.code == "COMPRESSIONACTIVE", r
# Pipelined compressed commands are answered in order.
c.send("p1 NOOP\r\np2 NOOP\r\n")
assert c.wait("p1").ok and c.wait("p2").ok
assert c.cmd("LOGOUT").ok
"#);
}

#[test]
fn bad_input_gets_bad_and_too_much_gets_bye() {
    let server = Imap::start_with("[imap]\nmax_bad_commands = 6\nmax_line = 2000\n");
    server.py(r#"
c = connect(IMAP)
r = c.cmd("FROBNICATE")
assert r.status == "BAD", r
r = c.cmd("LOGIN")
assert r.status == "BAD", r
c.send("\r\n")                      # empty lines between commands are tolerated
c.login()
r = c.cmd("FETCH 1 FLAGS")
assert r.status == "BAD", r             # no mailbox selected
r = c.cmd("SELECT INBOX")
assert r.ok
r = c.cmd("FETCH 1 FLAGS")
assert r.status == "BAD", r             # no such message number
r = c.cmd("NOOP " + "x" * 5000)
assert r.status == "BAD", r             # line too long
assert c.cmd("NOOP").ok                 # the session goes on
c.send("no-command-here\r\n")
r = c.read()
assert r.startswith(b"no-command-here BAD"), r   # the sixth BAD
r = c.read()
assert r.startswith(b"* BYE"), r
assert c.closed()
"#);
}

#[test]
fn idle_timeout_logs_out() {
    let server = Imap::start_with("[imap]\nidle_timeout = \"2s\"\n");
    server.py(r#"
c = connect(IMAP)
c.login()
start = time.time()
r = c.read()
assert r.startswith(b"* BYE") and b"idle" in r.lower(), r
assert c.closed()
assert time.time() - start < 10
"#);
}

#[test]
fn shutdown_says_bye_to_idlers() {
    let server = Imap::start();
    server.py(r#"
import os, signal
c = connect(IMAP)
c.login()
c.cmd("SELECT INBOX")
c.send("i1 IDLE\r\n")
assert c.read().startswith(b"+")
os.kill(PID, signal.SIGTERM)
r = c.read()
assert r.startswith(b"* BYE"), r
"#);
}
