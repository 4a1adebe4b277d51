//! IMAP end to end, RFC rules checked against the real binary with Python's imaplib
//! (a client that knows nothing of Pillarbox) and the raw client where the exact bytes
//! matter: `\Recent` belongs to one session and EXAMINE/STATUS report unclaimed mail
//! (RFC 3501 §2.3.2), no NUL in a plain literal (RFC 9051 §4.3, RFC 3516), `~` in LIST
//! patterns, ESEARCH MIN/MAX with MODSEQ (RFC 7162 §3.1.5), RECURSIVEMATCH CHILDINFO
//! (RFC 5258 §3.5), parsed-address and sent-date SEARCH keys (RFC 9051 §6.4.4), SORT
//! on groups (RFC 5256, RFC 5957), THREAD REFERENCES step 1B and SUBSCRIBE of a missing
//! mailbox.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

#[test]
fn recent_examine_and_status_with_imaplib() {
    let server = Imap::start();
    server.py(r#"
import imaplib, threading

def login():
    m = imaplib.IMAP4("127.0.0.1", IMAP)
    m.login("bob@example.test", "pw")
    return m

def recent_uids(m):
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK", data
    return [int(re.search(rb"UID (\d+)", d).group(1)) for d in data if d and b"\\Recent" in d]

def status_recent(m):
    typ, data = m.status("INBOX", "(MESSAGES RECENT)")
    assert typ == "OK", data
    got = re.search(rb"MESSAGES (\d+) RECENT (\d+)", data[0])
    return int(got.group(1)), int(got.group(2))

a = login()
for n in (1, 2):
    typ, _ = a.append("INBOX", None, None, ("Subject: %d\r\n\r\nbody\r\n" % n).encode())
    assert typ == "OK"
# RFC 3501 §6.3.2: EXAMINE reports the two unclaimed messages and does not claim them.
typ, data = a.select("INBOX", readonly=True)
assert typ == "OK" and data == [b"2"], data
assert a.response("RECENT") == ("RECENT", [b"2"]), a.untagged_responses
b = login()
assert status_recent(b) == (2, 2)
# A read-write SELECT claims them: nobody else sees them as recent afterwards.
typ, data = b.select("INBOX")
assert b.response("RECENT") == ("RECENT", [b"2"]), b.untagged_responses
assert recent_uids(b) == [1, 2]
assert status_recent(login()) == (2, 0)
typ, _ = a.select("INBOX", readonly=True)
assert a.response("RECENT") == ("RECENT", [b"0"])

# Several sessions selected while mail arrives: each new message is \Recent in at
# most one of them, RECENT never exceeds EXISTS, and what no session claimed is
# what STATUS reports.
sessions = [login() for _ in range(4)]
for s in sessions:
    s.select("INBOX")
claimed = {i: set() for i in range(len(sessions))}
problems = []
def poll(i):
    s = sessions[i]
    for _ in range(15):
        typ, _ = s.noop()
        exists = s.response("EXISTS")[1][-1]
        recent = s.response("RECENT")[1][-1]
        if exists is not None and recent is not None and int(recent) > int(exists):
            problems.append((i, exists, recent))
        claimed[i].update(recent_uids(s))
threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(sessions))]
for t in threads:
    t.start()
writer = login()
for n in range(12):
    writer.append("INBOX", None, None, ("Subject: load %d\r\n\r\nx\r\n" % n).encode())
for t in threads:
    t.join()
# All mail is in: one more NOOP lets each session claim what it was last told of,
# and its view (never re-selected) shows every UID it claimed.
for i, s in enumerate(sessions):
    s.noop()
    claimed[i].update(recent_uids(s))
assert not problems, problems
seen = [u for i in claimed for u in claimed[i]]
assert len(seen) == len(set(seen)), claimed
messages, unclaimed = status_recent(login())
assert messages == 14 and len(seen) + unclaimed == 12, (messages, unclaimed, claimed)
"#);
}

#[test]
fn rfc_rules_on_the_wire() {
    let server = Imap::start();
    server.py(
        r#"
import imaplib
c = connect(IMAP)
c.login()
MSGS = [
    # 1: a part with a NUL octet (Content-Transfer-Encoding: binary).
    b"Subject: nul\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    b"a\0b\r\n--b--\r\n",
    # 2-4: addresses, dates as written, groups, a References loop.
    b"From: <user (comment)@ (comment) domain.org>\r\nTo: empty:;\r\nCc: user2: blah@domain1.org;\r\n"
    b"Date: Sat, 2 Jan 2021 01:00:00 +0200\r\nMessage-ID: <1@x>\r\nSubject: a\r\n\r\nx\r\n",
    b"From: Real <other@domain.org>\r\nTo: mid@x.test\r\nCc: carl@x.test\r\n"
    b"Date: Sat, 2 Jan 2021 22:00:00 -0500\r\nMessage-ID: <2@x>\r\nReferences: <1@x> <3@x>\r\n"
    b"Subject: b\r\n\r\nx\r\n",
    b"From: z@x.test\r\nTo: Zoe <a@x.test>\r\nCc: zack@x.test\r\nDate: Fri, 1 Jan 2021 12:00:00 +0000\r\n"
    b"Message-ID: <3@x>\r\nReferences: <2@x>\r\nSubject: c\r\n\r\nx\r\n",
]
for raw in MSGS:
    assert c.cmd("APPEND INBOX ", Lit(raw, binary=b"\0" in raw)).ok
assert c.cmd("SELECT INBOX (CONDSTORE)").ok

# RFC 9051 §4.3 / RFC 3516 §4.2: NUL only in a BINARY literal8.
r = c.cmd("FETCH 1 (BODY.PEEK[1] RFC822.TEXT)")
assert b"\0" not in r.untagged[0] and b"~{" not in r.untagged[0], r
assert fetch_data(r, b"BODY[1]") == {1: b"a\x80b"}, r
r = c.cmd("FETCH 1 BINARY.PEEK[1]")
assert r.untagged[0].startswith(b"* 1 FETCH (BINARY[1] ~{3}\r\na\0b"), r

# RFC 7162 §3.1.5: MIN or MAX alone report that message's own MODSEQ.
mod = {}
for n in (2, 4, 3):
    r = c.cmd("STORE %d +FLAGS (\\Seen)" % n)
    mod[n] = int(re.search(rb"MODSEQ \((\d+)\)", r.one("%d FETCH" % n)).group(1))
r = c.cmd("SEARCH RETURN (MIN) 2:4 MODSEQ 1")
assert r.one("ESEARCH").endswith(b"MIN 2 MODSEQ %d" % mod[2]), r
r = c.cmd("SEARCH RETURN (MAX) 2:4 MODSEQ 1")
assert r.one("ESEARCH").endswith(b"MAX 4 MODSEQ %d" % mod[4]), r
r = c.cmd("SEARCH RETURN (COUNT) 2:4 MODSEQ 1")
assert r.one("ESEARCH").endswith(b"COUNT 3 MODSEQ %d" % mod[3]), r

# RFC 9051 §6.4.4: addresses parsed, sent dates as written.
def search(crit):
    r = c.cmd("SEARCH " + crit)
    assert r.ok, (crit, r)
    return [int(x) for x in r.one("SEARCH").split()[2:]]
assert search("FROM user@domain.org") == [2]
assert search("TO empty") == [2]
assert search("CC blah@domain1.org") == [2]
assert search("SENTON 2-Jan-2021") == [2, 3]
assert search("SENTBEFORE 2-Jan-2021") == [4]

# RFC 5256 / RFC 5957: a group sorts by its name.
def sort(crit):
    r = c.cmd("SORT (%s) UTF-8 2:4" % crit)
    return [int(x) for x in r.one("SORT").split()[2:]]
assert sort("CC") == [3, 2, 4], sort("CC")
assert sort("DISPLAYTO") == [2, 3, 4], sort("DISPLAYTO")

# RFC 5256 step 1B: the old parent link is broken before the new one is made.
r = c.cmd("THREAD REFERENCES UTF-8 2:4")
assert r.one("THREAD") == b"* THREAD (4 3)(2)", r

# LIST patterns may start with '~'; SUBSCRIBE refuses missing mailboxes; CHILDINFO
# only for children no pattern returns. imaplib sends ~foo as an atom.
m = imaplib.IMAP4("127.0.0.1", IMAP)
m.login("bob@example.test", "pw")
assert m.create("~foo")[0] == "OK"
typ, data = m.list('""', "~foo")
assert typ == "OK" and data == [b'(\\HasNoChildren) "/" ~foo'], data
typ, data = m.subscribe("nothere")
assert typ == "NO" and data[0].startswith(b"[NONEXISTENT]"), (typ, data)
for box in ("p/a", "q/a"):
    assert m.create(box)[0] == "OK" and m.subscribe(box)[0] == "OK"
r = c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" (p q q/a)')
assert r.lines("LIST") == [b'* LIST (\\HasChildren) "/" p ("CHILDINFO" ("SUBSCRIBED"))',
                           b'* LIST (\\HasNoChildren \\Subscribed) "/" q/a'], r
r = c.cmd("SUBSCRIBE nothere")
assert r.status == "NO" and r.code == "NONEXISTENT", r
m.logout()
"#,
    );
}
