//! IMAP end to end, the extensions added after issue 16's fixes, against the real
//! binary with Python's imaplib (a client that knows nothing of Pillarbox) and the raw
//! client where imaplib cannot speak the syntax: OBJECTID (RFC 8474), PREVIEW
//! (RFC 8970), ESORT and PARTIAL (RFC 5267, RFC 9394), REPLACE (RFC 8508), UIDONLY
//! (RFC 9586) and the MESSAGELIMIT capability (RFC 9738); then SAVEDATE (RFC 8514),
//! METADATA and METADATA-SERVER (RFC 5464) and STATUS DELETED-STORAGE (RFC 9208).

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

#[test]
fn new_extensions_with_imaplib_and_the_raw_client() {
    let server = Imap::start();
    server.py(
        r#"
import imaplib
imaplib.Commands.setdefault("REPLACE", ("SELECTED",))

m = imaplib.IMAP4("127.0.0.1", IMAP)
m.login("bob@example.test", "pw")
caps = m.capabilities
for cap in ("OBJECTID", "PREVIEW", "ESORT", "PARTIAL", "REPLACE", "UIDONLY"):
    assert cap in caps, caps
assert any(c.startswith("MESSAGELIMIT=") for c in caps), caps

# RFC 8474 §4: CREATE answers with the MAILBOXID, STATUS reports it, RENAME keeps it.
typ, data = m.create("Work")
assert typ == "OK", data
mid = re.search(rb"\[MAILBOXID \(([A-Za-z0-9_-]+)\)\]", data[0]).group(1)
typ, data = m.status("Work", "(MAILBOXID)")
assert data[0] == b"Work (MAILBOXID (" + mid + b"))", data
assert m.rename("Work", "Play")[0] == "OK"
typ, data = m.status("Play", "(MAILBOXID MESSAGES)")
assert data[0] == b"Play (MAILBOXID (" + mid + b") MESSAGES 0)", data

for n, subject in enumerate(["cherry", "apple", "banana"], 1):
    raw = ("Subject: %s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           "<html><body><p>Hello  %d</p>\n<p>&amp; more</p></body></html>\r\n" % (subject, n))
    assert m.append("INBOX", None, None, raw.encode())[0] == "OK"
typ, data = m.select("INBOX")
assert typ == "OK"
# RFC 8474 §5, RFC 8970: EMAILID, THREADID (NIL: threads are not tracked), PREVIEW.
typ, data = m.fetch("1:3", "(EMAILID THREADID PREVIEW)")
assert typ == "OK", data
ids = {}
for n, line in enumerate(data, 1):
    got = re.match(rb'%d \(EMAILID \(([A-Za-z0-9_-]+)\) THREADID NIL PREVIEW "Hello %d & more"\)$'
                   % (n, n), line)
    assert got, data
    ids[n] = got.group(1)
assert len(set(ids.values())) == 3
assert m.copy("1", "Play")[0] == "OK"
typ, data = m.uid("SEARCH", "EMAILID " + ids[2].decode())
assert data == [b"2"], data

# RFC 5267 ESORT with RFC 9394 PARTIAL; SEARCH RETURN (PARTIAL).
typ, data = m._simple_command("SORT", "RETURN (MIN MAX COUNT PARTIAL 1:2)", "(SUBJECT)", "UTF-8", "ALL")
assert typ == "OK", data
esearch = m.response("ESEARCH")[1][-1]
assert esearch.endswith(b"MIN 2 MAX 1 COUNT 3 PARTIAL (1:2 2:3)"), esearch
typ, data = m.uid("SEARCH", "RETURN (PARTIAL -1:-2) ALL")
assert typ == "OK", data
esearch = m.response("ESEARCH")[1][-1]
assert esearch.endswith(b"UID PARTIAL (-1:-2 2:3)"), esearch

# RFC 8508 REPLACE: APPENDUID in an untagged OK, the old message expunged.
m.literal = b"Subject: apple, edited\r\n\r\nfresh text\r\n"
typ, data = m._simple_command("REPLACE", "2", "Play")
assert typ == "OK", data
assert m.response("APPENDUID")[1][-1].endswith(b" 2"), m.untagged_responses
assert m.response("EXPUNGE")[1] == [b"2"]
typ, data = m.status("Play", "(MESSAGES)")
assert data[0] == b"Play (MESSAGES 2)", data
m.logout()

# RFC 9586 UIDONLY with the raw client: UIDFETCH, VANISHED, [UIDREQUIRED].
c = connect(IMAP)
c.login()
assert c.cmd("ENABLE UIDONLY").ok
assert c.cmd("SELECT INBOX").ok
r = c.cmd("FETCH 1 (FLAGS)")
assert r.status == "BAD" and r.code == "UIDREQUIRED", r
r = c.cmd("UID FETCH 1:* (PREVIEW)")
assert r.ok and [u.split(b" (")[0] for u in r.untagged] == [b"* 1 UIDFETCH", b"* 3 UIDFETCH"], r
r = c.cmd("UID STORE 3 +FLAGS (\\Deleted)")
assert r.ok and r.untagged[0].startswith(b"* 3 UIDFETCH (FLAGS (\\Deleted"), r
r = c.cmd("UID EXPUNGE 3")
assert r.ok and r.untagged == [b"* VANISHED 3"], r
"#,
    );
}

#[test]
fn savedate_metadata_and_deleted_storage_with_imaplib() {
    let server = Imap::start();
    server.py(
        r#"
import imaplib
imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))

m = imaplib.IMAP4("127.0.0.1", IMAP)
m.login("bob@example.test", "pw")
caps = m.capabilities
for cap in ("SAVEDATE", "METADATA", "METADATA-SERVER", "QUOTA=RES-STORAGE"):
    assert cap in caps, caps

# RFC 8514: the save date is when the message entered the mailbox, not the
# INTERNALDATE the APPEND set; SAVEDON/SAVEDBEFORE search by it.
raw = b"Subject: old\r\n\r\nbody\r\n"
assert m.append("INBOX", None, '"01-Jan-2000 10:00:00 +0000"', raw)[0] == "OK"
typ, data = m.select("INBOX")
typ, data = m.fetch("1", "(INTERNALDATE SAVEDATE)")
assert typ == "OK", data
got = re.match(rb'1 \(INTERNALDATE " 1-Jan-2000 10:00:00 \+0000" SAVEDATE "([ 0-9]+-[A-Za-z]+-[0-9]+) ', data[0])
assert got, data
today = got.group(1).strip().decode()
typ, data = m.search(None, "SAVEDON", today)
assert data == [b"1"], data
typ, data = m.search(None, "SAVEDBEFORE", "1-Jan-2001")
assert data == [b""], data
typ, data = m.search(None, "BEFORE", "1-Jan-2001")
assert data == [b"1"], data

# RFC 5464: SETMETADATA / GETMETADATA on a mailbox and on the server.
typ, data = m._simple_command("SETMETADATA", "INBOX", '(/private/comment "My comment" /shared/comment "Ours")')
assert typ == "OK", data
typ, data = m._simple_command("GETMETADATA", "INBOX", "(/private/comment /shared/comment /shared/none)")
assert typ == "OK", data
meta = m.response("METADATA")[1][-1]
assert meta == b'INBOX (/private/comment "My comment" /shared/comment "Ours" /shared/none NIL)', meta
typ, data = m._simple_command("SETMETADATA", '""', '(/private/vendor/example/setting "1")')
assert typ == "OK", data
# RFC 5464 §3.2: a vendor entry has at least four components; a bad name is BAD.
try:
    m._simple_command("GETMETADATA", "(DEPTH infinity MAXSIZE 100)", '""', "/private/vendor/example")
    raise AssertionError("three-component vendor entry accepted")
except m.error as e:
    assert "invalid metadata entry name" in str(e), e
typ, data = m._simple_command("GETMETADATA", "(DEPTH infinity)", '""', "/private/vendor/example/setting")
assert typ == "OK", data
assert m.response("METADATA")[1][-1] == b'"" (/private/vendor/example/setting "1")'
typ, data = m._simple_command("SETMETADATA", '""', '(/shared/comment "everyone")')
assert typ == "NO", data
typ, data = m._simple_command("GETMETADATA", "(MAXSIZE 5)", "INBOX", "/private/comment")
assert typ == "OK" and b"[METADATA LONGENTRIES 10]" in data[0], (typ, data)

# RFC 9208: DELETED-STORAGE with QUOTA=RES-STORAGE.
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
typ, data = m.status("INBOX", "(DELETED DELETED-STORAGE)")
assert data[0] == b"INBOX (DELETED 1 DELETED-STORAGE %d)" % len(raw), data
m.logout()
"#,
    );
}
