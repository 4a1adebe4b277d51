//! IMAP end to end, changing messages: STORE (+/-/replace, .SILENT, UNCHANGEDSINCE and
//! MODIFIED), EXPUNGE and UID EXPUNGE, CLOSE and UNSELECT, COPY and MOVE with COPYUID,
//! APPEND with flags and dates, MULTIAPPEND all-or-none, APPENDLIMIT (TOOBIG, for
//! synchronizing and LITERAL+ literals), OVERQUOTA, TRYCREATE, large streamed
//! literals, and CONDSTORE/QRESYNC resynchronisation (VANISHED (EARLIER), CHANGEDSINCE).

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

const SETUP: &str = r#"
c = connect(IMAP)
c.login()
def msg(n):
    return "From: a@x.test\r\nSubject: message %d\r\nMessage-ID: <n%d@x>\r\n\r\nbody %d\r\n" % (n, n, n)
for n in range(1, 6):
    assert c.cmd("APPEND INBOX ", Lit(msg(n))).ok
assert c.cmd("SELECT INBOX").ok
"#;

#[test]
fn store_flags_silent_and_unchangedsince() {
    let server = Imap::start();
    server.py(&format!(
        "{SETUP}{}",
        r#"
r = c.cmd("STORE 1 +FLAGS (\\Seen $Label)")
assert r.one("1 FETCH") == b"* 1 FETCH (FLAGS (\\Seen \\Recent $Label))", r
assert b"$Label" in r.one("FLAGS"), r                      # a new keyword is announced
assert any(b"PERMANENTFLAGS" in l and b"\\*" in l for l in r.lines("OK")), r
r = c.cmd("STORE 1 -FLAGS (\\Seen)")
assert r.one("1 FETCH") == b"* 1 FETCH (FLAGS (\\Recent $Label))", r
r = c.cmd("STORE 2 FLAGS (\\Answered)")
assert r.one("2 FETCH") == b"* 2 FETCH (FLAGS (\\Answered \\Recent))", r
r = c.cmd("STORE 1:3 +FLAGS.SILENT (\\Flagged)")
assert r.ok and not r.untagged, r
r = c.cmd("UID STORE 3 +FLAGS (\\Deleted)")
assert r.one("3 FETCH").startswith(b"* 3 FETCH (UID 3 FLAGS (\\Flagged \\Deleted"), r
r = c.cmd("FETCH 1 (MODSEQ)")
m = int(re.search(rb"MODSEQ \((\d+)\)", r.one("1 FETCH")).group(1))
r = c.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)" % (m - 1))
assert r.ok and r.code == "MODIFIED 1", r
assert not r.lines("1 FETCH"), r
r = c.cmd("STORE 1,3 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)" % m)
assert r.ok and r.code == "MODIFIED 3", r
f = r.one("1 FETCH")
assert b"\\Draft" in f and int(re.search(rb"MODSEQ \((\d+)\)", f).group(1)) > m, f
r = c.cmd("UID STORE 1:5 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Seen)")
assert r.code == "MODIFIED 1:5", r
r = c.cmd("STORE 4 +FLAGS.SILENT (\\Seen)")
assert [l for l in r.lines("4 FETCH") if b"MODSEQ" in l and b"FLAGS" not in l], r
assert c.cmd("EXAMINE INBOX").ok
r = c.cmd("STORE 1 +FLAGS (\\Seen)")
assert r.status == "NO", r
"#
    ));
}

#[test]
fn expunge_copy_move_close() {
    let server = Imap::start();
    server.py(&format!(
        "{SETUP}{}",
        r#"
assert c.cmd("STORE 2,4 +FLAGS.SILENT (\\Deleted)").ok
r = c.cmd("EXPUNGE")
assert r.untagged == [b"* 4 EXPUNGE", b"* 2 EXPUNGE"], r
st = c.cmd("STATUS Archive (UIDVALIDITY)").one("STATUS")
v = int(re.search(rb"UIDVALIDITY (\d+)", st).group(1))
r = c.cmd("COPY 1:2 Archive")
assert r.ok and r.code == "COPYUID %d 1,3 1:2" % v, r
r = c.cmd("COPY 1 Nowhere")
assert r.status == "NO" and r.code == "TRYCREATE", r
r = c.cmd("MOVE 1 Trash")
assert r.ok, r
assert r.untagged[0].startswith(b"* OK [COPYUID ") and r.untagged[1] == b"* 1 EXPUNGE", r
r = c.cmd("UID MOVE 5 Archive")
assert r.untagged[0].startswith(b"* OK [COPYUID %d 5 3]" % v) and r.untagged[1] == b"* 2 EXPUNGE", r
assert c.cmd("STATUS INBOX (MESSAGES)").one("STATUS").endswith(b"(MESSAGES 1)")
# UID EXPUNGE removes only the named \Deleted messages.
for n in (6, 7):
    assert c.cmd("APPEND INBOX ", Lit(msg(n))).ok
r = c.cmd("UID SEARCH ALL")
assert r.one("SEARCH") == b"* SEARCH 3 6 7", r
assert c.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)").ok
r = c.cmd("UID EXPUNGE 6")
assert r.untagged == [b"* 2 EXPUNGE"], r
# QRESYNC reports expunges as VANISHED.
assert c.cmd("ENABLE QRESYNC").ok
r = c.cmd("UID EXPUNGE 7")
assert r.lines("VANISHED") == [b"* VANISHED 7"], r
# UNSELECT keeps \Deleted messages; CLOSE expunges them silently.
assert c.cmd("UNSELECT").ok
assert c.cmd("STATUS INBOX (MESSAGES)").one("STATUS").endswith(b"(MESSAGES 1)")
assert c.cmd("SELECT INBOX").ok
r = c.cmd("CLOSE")
assert r.ok and not r.untagged, r
assert c.cmd("STATUS INBOX (MESSAGES)").one("STATUS").endswith(b"(MESSAGES 0)")
assert c.cmd("FETCH 1 FLAGS").status == "BAD"
"#
    ));
}

#[test]
fn append_variants_and_limits() {
    let server = Imap::start_with("[imap]\nappend_limit = \"8MiB\"\n");
    server.py(
        r#"
import hashlib, os
c = connect(IMAP)
c.login()
r = c.cmd('APPEND INBOX (\\Seen \\Draft $Kw) "14-Jul-2020 08:30:00 +0200" ', Lit("Subject: dated\r\n\r\nx\r\n"))
assert r.ok and re.match(r"APPENDUID \d+ 1$", r.code), r
assert c.cmd("SELECT INBOX").ok
r = c.cmd("FETCH 1 (FLAGS INTERNALDATE)")
f = r.one("1 FETCH")
assert b'INTERNALDATE "14-Jul-2020 06:30:00 +0000"' in f and b"\\Seen \\Draft" in f and b"$Kw" in f, f
# MULTIAPPEND: one APPENDUID set for all.
r = c.cmd("APPEND INBOX (\\Seen) ", Lit("Subject: m1\r\n\r\n1\r\n"), " (\\Flagged) ", Lit("Subject: m2\r\n\r\n2\r\n", sync=False))
assert r.ok and re.match(r"APPENDUID \d+ 2:3$", r.code), r
# A synchronizing literal over APPENDLIMIT is refused before it is sent.
big = 9 * 1024 * 1024
t = c.tag()
c.send(t + " APPEND INBOX {%d}\r\n" % big)
r = c.read()
assert r.startswith(t.encode() + b" NO [TOOBIG]"), r
# A LITERAL+ one is read and thrown away; the session goes on.
t = c.tag()
c.send(t.encode() + b" APPEND INBOX {%d+}\r\n" % big + b"x" * big + b"\r\n")
r = c.wait(t)
assert r.status == "NO" and r.code == "TOOBIG", r
assert c.cmd("NOOP").ok
# MULTIAPPEND is all or none.
r = c.cmd("APPEND INBOX ", Lit("Subject: ok\r\n\r\n"), " ", Lit(b"y" * big, sync=False))
assert r.status == "NO" and r.code == "TOOBIG", r
assert c.cmd("STATUS INBOX (MESSAGES)").one("STATUS").endswith(b"(MESSAGES 3)")
r = c.cmd("APPEND Missing ", Lit("Subject: x\r\n\r\n"))
assert r.status == "NO" and r.code == "TRYCREATE", r
# A large message is streamed to disk and comes back intact.
body = os.urandom(3 * 1024 * 1024)
import base64
raw = b"Subject: large\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(body).replace(b"\n", b"\r\n")
r = c.cmd("APPEND INBOX ", Lit(raw))
assert r.ok, r
r = c.cmd("FETCH 4 (RFC822.SIZE BODY.PEEK[] BINARY.PEEK[1])")
assert b"RFC822.SIZE %d" % len(raw) in r.one("4 FETCH")
assert hashlib.sha256(fetch_data(r, b"BODY[]")[4]).digest() == hashlib.sha256(raw).digest()
assert fetch_data(r, b"BINARY[1]")[4] == body
"#,
    );
    server.cli(&["account", "set", "bob@example.test", "--quota", "6MiB"]);
    server.py(r#"
c = connect(IMAP)
c.login()
r = c.cmd("APPEND INBOX ", Lit(b"Subject: over\r\n\r\n" + b"z" * 2 * 1024 * 1024))
assert r.status == "NO" and r.code == "OVERQUOTA", r
assert c.cmd("APPEND INBOX ", Lit("Subject: small\r\n\r\nfits\r\n")).ok
"#);
}

#[test]
fn condstore_and_qresync_resynchronisation() {
    let server = Imap::start();
    server.py(&format!(
        "{SETUP}{}",
        r#"
r = c.cmd("SELECT INBOX (CONDSTORE)")
assert r.ok
h0 = int(re.search(rb"HIGHESTMODSEQ (\d+)", b" ".join(r.lines("OK"))).group(1))
v = int(re.search(rb"UIDVALIDITY (\d+)", b" ".join(r.lines("OK"))).group(1))
assert h0 > 0
# Another session changes things.
o = connect(IMAP)
o.login()
o.cmd("SELECT INBOX")
assert o.cmd("STORE 1 +FLAGS (\\Answered)").ok
assert o.cmd("STORE 2 +FLAGS (\\Deleted)").ok
assert o.cmd("EXPUNGE").ok
assert o.cmd("APPEND INBOX ", Lit(msg(6))).ok
r = c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
fetched = [l for l in r.untagged if b" FETCH " in l and b"UID" not in l or b"FLAGS (\\Answered" in l]
assert any(l.startswith(b"* 1 FETCH") and b"\\Answered" in l and b"MODSEQ" in l for l in r.untagged), r
# A fresh session resynchronises with QRESYNC.
q = connect(IMAP)
q.login()
r = q.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v, h0))
assert r.status == "BAD", r                          # QRESYNC not enabled yet
assert q.cmd("ENABLE QRESYNC").ok
r = q.cmd("SELECT INBOX (QRESYNC (%d %d 1:5))" % (v, h0))
assert r.ok, r
assert r.lines("VANISHED") == [b"* VANISHED (EARLIER) 2"], r
changed = [l for l in r.untagged if b" FETCH " in l]
assert any(b"UID 1 " in l and b"\\Answered" in l for l in changed), r
assert any(b"UID 6 " in l for l in changed) or r.lines("5 EXISTS"), r
# Reselecting reports CLOSED first.
r = q.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v, h0))
assert r.untagged[0].startswith(b"* OK [CLOSED]"), r
r = q.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
assert r.lines("VANISHED") == [b"* VANISHED (EARLIER) 2"], r
uids = sorted(int(re.search(rb"UID (\d+)", l).group(1)) for l in r.untagged if b" FETCH " in l)
assert uids == [1, 6], r
# A wrong UIDVALIDITY gets a plain SELECT.
r = q.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v + 1, h0))
assert r.ok and not r.lines("VANISHED"), r
r = q.cmd("STATUS Sent (HIGHESTMODSEQ)")
assert re.search(rb"HIGHESTMODSEQ \d+", r.one("STATUS")), r
"#
    ));
}
