//! IMAP end to end, several sessions on one mailbox: flag changes, expunges and new mail
//! made by one session (or by SMTP delivery, or by POP3) reach the others as FETCH,
//! EXPUNGE (VANISHED with QRESYNC) and EXISTS at the points RFC 9051 §7.4.1 allows,
//! IDLE wakes within a second of a delivery, and a message expunged under a FETCH never
//! breaks the session.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

const THREE: &str = r#"
a = connect(IMAP)
a.login()
for n in range(1, 4):
    assert a.cmd("APPEND INBOX ", Lit("Subject: m%d\r\n\r\nbody %d\r\n" % (n, n))).ok
assert a.cmd("SELECT INBOX").ok
b = connect(IMAP)
b.login()
assert b.cmd("SELECT INBOX").ok
"#;

#[test]
fn two_sessions_see_each_other() {
    let server = Imap::start();
    server.py(&format!(
        "{THREE}{}",
        r#"
assert b.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)").ok
r = a.cmd("NOOP")
assert any(l.startswith(b"* 1 FETCH (UID 1 FLAGS (\\Flagged") for l in r.untagged), r
assert b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
assert b.cmd("EXPUNGE").ok
# Not during a FETCH by sequence number: the numbers the client uses stay valid.
r = a.cmd("FETCH 1:3 (FLAGS)")
assert not r.lines("2 EXPUNGE") and len([l for l in r.untagged if b" FETCH " in l]) >= 3, r
r = a.cmd("SEARCH ALL")
assert not r.lines("2 EXPUNGE"), r
r = a.cmd("NOOP")
assert r.lines("2 EXPUNGE"), r
assert b.cmd("APPEND INBOX ", Lit("Subject: m4\r\n\r\nbody 4\r\n")).ok
r = a.cmd("NOOP")
assert r.lines("3 EXISTS"), r
# A UID command may carry the EXPUNGE.
assert b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").ok and b.cmd("EXPUNGE").ok
r = a.cmd("UID FETCH 1:* (FLAGS)")
assert r.lines("1 EXPUNGE"), r
# With QRESYNC the other session's expunges arrive as VANISHED.
assert a.cmd("ENABLE QRESYNC").ok
assert b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").ok and b.cmd("EXPUNGE").ok
r = a.cmd("NOOP")
assert r.lines("VANISHED") == [b"* VANISHED 3"], r
"#
    ));
}

#[test]
fn idle_reports_smtp_delivery_flags_and_expunges() {
    let server = Imap::start_with("[imap]\nidle_keepalive = \"1s\"\n");
    server.py(&format!(
        "{THREE}{}",
        r#"
import smtplib
a.send("i1 IDLE\r\n")
assert a.read() == b"+ idling"
s = smtplib.SMTP("127.0.0.1", SMTP)
s.sendmail("x@remote.test", ["bob@example.test"], b"From: x@remote.test\r\nSubject: pushed\r\n\r\nhello\r\n")
sent = time.time()
s.quit()
while True:
    r = a.read()
    if r == b"* 4 EXISTS":
        break
    assert r.startswith(b"* OK Still here") or r.startswith(b"* 4 RECENT") or r.startswith(b"* "), r
assert time.time() - sent < 1.0, time.time() - sent
assert b.cmd("STORE 2 +FLAGS (\\Seen)").ok
seen = [a.read() for _ in range(1)]
while not any(b" FETCH " in x for x in seen):
    seen.append(a.read())
assert any(x.startswith(b"* 2 FETCH (UID 2 FLAGS (\\Seen") for x in seen), seen
assert b.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)").ok and b.cmd("EXPUNGE").ok
r = a.read()
while r.startswith(b"* OK Still here") or b"FETCH" in r:
    r = a.read()
assert r == b"* 3 EXPUNGE", r
# Keepalives keep coming while nothing happens.
r = a.read()
assert r == b"* OK Still here", r
a.send("DONE\r\n")
r = a.wait("i1")
assert r.ok, r
"#
    ));
}

#[test]
fn pop3_deletion_is_an_expunge_for_imap() {
    let server = Imap::start();
    server.py(
        r#"
import smtplib, poplib
s = smtplib.SMTP("127.0.0.1", SMTP)
for n in (1, 2):
    s.sendmail("x@remote.test", ["bob@example.test"], b"From: x@remote.test\r\nSubject: m%d\r\n\r\nbody\r\n" % n)
s.quit()
a = connect(IMAP)
a.login()
r = a.cmd("SELECT INBOX")
assert r.lines("2 EXISTS"), r
a.send("i1 IDLE\r\n")
assert a.read().startswith(b"+")
p = poplib.POP3("127.0.0.1", POP3)
p.user("bob@example.test")
p.pass_("pw")
p.dele(1)
p.quit()
r = a.read()
assert r == b"* 1 EXPUNGE", r
a.send("DONE\r\n")
assert a.wait("i1").ok
r = a.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"m2" in r.one("1 FETCH"), r
"#,
    );
}

#[test]
fn expunged_under_a_fetch_never_breaks_the_session() {
    let server = Imap::start();
    server.py(&format!(
        "{THREE}{}",
        r#"
# b expunges everything; a has not synchronised yet.
assert b.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)").ok and b.cmd("EXPUNGE").ok
r = a.cmd("FETCH 1:3 (BODY.PEEK[] FLAGS)")
assert r.status == "NO" and r.code == "EXPUNGEISSUED", r
assert not r.lines("1 EXPUNGE")
r = a.cmd("FETCH 2 (FLAGS UID)")
assert r.ok and r.lines("2 FETCH"), r                    # still answerable from the view
r = a.cmd("NOOP")
assert [l for l in r.untagged if l.endswith(b"EXPUNGE")] == [b"* 3 EXPUNGE", b"* 2 EXPUNGE", b"* 1 EXPUNGE"], r

# A writer and a reader hammering one mailbox.
import threading
stop = time.time() + 3
errors = []
def writer():
    w = connect(IMAP)
    w.login()
    w.cmd("SELECT INBOX")
    n = 0
    while time.time() < stop:
        n += 1
        if not w.cmd("APPEND INBOX ", Lit("Subject: w%d\r\n\r\n%s\r\n" % (n, "x" * (n % 5000)))).ok:
            errors.append("append")
        if n % 3 == 0:
            w.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
            w.cmd("EXPUNGE")
t = threading.Thread(target=writer)
t.start()
while time.time() < stop:
    r = a.cmd("FETCH 1:* (UID FLAGS BODY.PEEK[] ENVELOPE)")
    if r.status not in ("OK", "NO"):
        errors.append(r)
    for l in r.untagged:
        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE)", l)
    a.cmd("NOOP")
t.join()
assert not errors, errors
r = a.cmd("NOOP")
count = int(a.cmd("STATUS INBOX (MESSAGES)").one("STATUS").split(b"MESSAGES ")[1].rstrip(b")"))
r = a.cmd("SEARCH ALL")
assert len(r.one("SEARCH").split()) - 2 == count, (r, count)
"#
    ));
}
