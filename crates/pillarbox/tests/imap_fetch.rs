//! IMAP end to end, FETCH: every data item (ENVELOPE with raw encoded words,
//! BODYSTRUCTURE with extension data, BODY, BODY[section]<partial>, BODY.PEEK,
//! BINARY/BINARY.PEEK/BINARY.SIZE with UNKNOWN-CTE, RFC822*, INTERNALDATE, FLAGS, UID,
//! MODSEQ, the ALL/FAST/FULL macros) on a nested multipart message, a broken one and a
//! binary one; `\Seen` set by a non-PEEK body fetch and reported in the same response.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

/// Defines NESTED (a multipart/mixed with an alternative, an embedded message and a
/// base64 attachment), BROKEN and appends them.
const FIXTURES: &str = r#"
NESTED = (
    "From: =?utf-8?q?J=C3=B6rg?= <joerg@x.test>\r\n"
    "To: bob@example.test, \"Carol C.\" <carol@example.test>\r\n"
    "Cc: team: a@x.test, b@x.test;\r\n"
    "Subject: =?iso-8859-1?q?Gr=FC=DFe?= and more\r\n"
    "Date: Tue, 01 Feb 2022 10:00:00 +0100\r\n"
    "Message-ID: <nested@x.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=C3=BC=C3=9Fe aus Berlin\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>Gr&uuml;&szlig;e</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@x.test\r\n"
    "Subject: inner message\r\n"
    "\r\n"
    "inner body\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC/w==\r\n"
    "--outer\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--outer--\r\n"
).encode()
BROKEN = (
    "Subject: broken\r\n"
    "Content-Type: multipart/mixed\r\n"
    "Content-Transfer-Encoding: bogus\r\n"
    "X-Junk header without colon\r\n"
    "\r\n"
    "--nowhere\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "never closed\r\n"
).encode()
c = connect(IMAP)
c.login()
assert c.cmd('APPEND INBOX "01-Feb-2022 10:00:00 +0100" ', Lit(NESTED)).ok
assert c.cmd("APPEND INBOX (\\Flagged) ", Lit(BROKEN)).ok
assert c.cmd("SELECT INBOX").ok
"#;

fn run(server: &Imap, script: &str) {
    server.py(&format!("{FIXTURES}\n{script}"));
}

#[test]
fn envelope_bodystructure_and_static_items() {
    let server = Imap::start();
    run(
        &server,
        r#"
r = c.cmd("FETCH 1 (ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE INTERNALDATE FLAGS UID)")
f = r.one("1 FETCH").decode()
env = ('ENVELOPE ("Tue, 01 Feb 2022 10:00:00 +0100" "=?iso-8859-1?q?Gr=FC=DFe?= and more" '
       '(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "x.test")) (("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "x.test")) '
       '(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "x.test")) '
       '((NIL NIL "bob" "example.test")("Carol C." NIL "carol" "example.test")) '
       '((NIL NIL "team" NIL)(NIL NIL "a" "x.test")(NIL NIL "b" "x.test")(NIL NIL NIL NIL)) NIL NIL "<nested@x.test>")')
assert env in f, f
assert 'RFC822.SIZE %d' % len(NESTED) in f, f
assert 'INTERNALDATE " 1-Feb-2022 09:00:00 +0000"' in f, f
assert 'UID 1' in f and 'FLAGS (\\Recent)' in f, f
bs = f[f.index("BODYSTRUCTURE "):]
for piece in [
    '((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 26 1 NIL NIL NIL NIL)',
    '("text" "html" ("charset" "utf-8") NIL NIL "7BIT" 23 1 NIL NIL NIL NIL) "alternative" ("boundary" "inner") NIL NIL NIL)',
    '("message" "rfc822" NIL NIL NIL "7BIT" 56 (NIL "inner message" ((NIL NIL "inner" "x.test"))',
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)',
    '("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" 8 NIL ("attachment" ("filename" "data.bin")) NIL NIL)',
    '"mixed" ("boundary" "outer") NIL NIL NIL)',
]:
    assert piece in bs, (piece, bs)
body = f[f.index(" BODY ("):f.index(" BODYSTRUCTURE") if f.index(" BODY (") < f.index(" BODYSTRUCTURE") else None]
assert "attachment" not in body and '"mixed")' in body, body

r = c.cmd("FETCH 2 (BODYSTRUCTURE BODY[1] BODY[TEXT] FLAGS)")
assert r.ok, r
f = r.one("2 FETCH")
assert b"\\Flagged" in f and b"\\Seen" in f, f

r = c.cmd("FETCH 1:2 ALL")
assert len(r.lines("1 FETCH")) == 1 and b"ENVELOPE" in r.one("2 FETCH"), r
r = c.cmd("FETCH 1 FAST")
assert b"RFC822.SIZE" in r.one("1 FETCH") and b"ENVELOPE" not in r.one("1 FETCH"), r
r = c.cmd("FETCH 1 FULL")
assert b" BODY (" in r.one("1 FETCH"), r
r = c.cmd("UID FETCH 2 FLAGS")
assert r.one("2 FETCH").startswith(b"* 2 FETCH (UID 2 FLAGS"), r
"#,
    );
}

#[test]
fn body_sections_partials_and_seen() {
    let server = Imap::start();
    run(
        &server,
        r#"
def get(spec, item=None):
    r = c.cmd("FETCH 1 (%s)" % spec)
    assert r.ok, r
    return fetch_data(r, (item or spec.replace(".PEEK", "")).encode())[1]

assert get("BODY.PEEK[1.1]") == b"Gr=C3=BC=C3=9Fe aus Berlin"
assert get("BODY.PEEK[1.2]") == b"<p>Gr&uuml;&szlig;e</p>"
assert get("BODY.PEEK[1.MIME]") == b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
assert get("BODY.PEEK[2.HEADER]") == b"From: inner@x.test\r\nSubject: inner message\r\n\r\n"
assert get("BODY.PEEK[2.TEXT]") == b"inner body"
assert get("BODY.PEEK[2]").startswith(b"From: inner@x.test")
assert get("BODY.PEEK[2.1]") == b"inner body"
assert get("BODY.PEEK[3]") == b"AAEC/w=="
assert get("BODY.PEEK[9]") == b""
assert get("BODY.PEEK[HEADER.FIELDS (SUBJECT message-id)]") == \
    b"Subject: =?iso-8859-1?q?Gr=FC=DFe?= and more\r\nMessage-ID: <nested@x.test>\r\n\r\n"
h = get("BODY.PEEK[HEADER.FIELDS.NOT (To Cc From Date Subject)]")
assert h.startswith(b"Message-ID:") and b"Subject" not in h, h
assert get("BODY.PEEK[HEADER]") == NESTED[:NESTED.index(b"\r\n\r\n") + 4]
assert get("BODY.PEEK[TEXT]") == NESTED[NESTED.index(b"\r\n\r\n") + 4:]
assert get("RFC822.HEADER") == NESTED[:NESTED.index(b"\r\n\r\n") + 4]
r = c.cmd("FETCH 1 BODY.PEEK[]<0.10>")
assert b"BODY[]<0> {10}" in r.one("1 FETCH"), r
assert fetch_data(r, b"BODY[]")[1] == NESTED[:10]
r = c.cmd("FETCH 1 BODY.PEEK[TEXT]<5.1000000>")
assert fetch_data(r, b"BODY[TEXT]")[1] == NESTED[NESTED.index(b"\r\n\r\n") + 4 + 5:]
# Nothing so far set \Seen.
assert b"\\Seen" not in c.cmd("FETCH 1 FLAGS").one("1 FETCH")

# BINARY decodes; BINARY.SIZE measures; a NUL-bearing result is a literal8.
assert get("BINARY.PEEK[1.1]", "BINARY[1.1]") == "Grüße aus Berlin".encode()
r = c.cmd("FETCH 1 (BINARY.SIZE[1.1] BINARY.SIZE[3])")
f = r.one("1 FETCH")
assert b"BINARY.SIZE[1.1] %d" % len("Grüße aus Berlin".encode()) in f and b"BINARY.SIZE[3] 4" in f, f
r = c.cmd("FETCH 1 BINARY.PEEK[3]")
assert b"BINARY[3] ~{4}\r\n\x00\x01\x02\xff" in r.one("1 FETCH"), r
r = c.cmd("FETCH 1 BINARY.PEEK[4]")
assert r.status == "NO" and r.code == "UNKNOWN-CTE", r

# A non-PEEK body fetch sets \Seen and reports FLAGS with the data.
r = c.cmd("FETCH 1 BODY[1.2]")
f = r.one("1 FETCH")
assert b"\\Seen" in f and b"FLAGS" in f, f
r = c.cmd("FETCH 1 RFC822")
assert fetch_data(r, b"RFC822")[1] == NESTED
r = c.cmd("FETCH 2 RFC822.TEXT")
f = r.one("2 FETCH")
assert b"FLAGS (\\Seen \\Flagged" in f, f
# The header ends at the first line that is not a field: the body starts there.
assert fetch_data(r, b"RFC822.TEXT")[2] == BROKEN[BROKEN.index(b"X-Junk"):], r

# EXAMINE never sets \Seen.
assert c.cmd("STORE 1:2 -FLAGS (\\Seen)").ok
assert c.cmd("EXAMINE INBOX").ok
r = c.cmd("FETCH 1 BODY[TEXT]")
assert b"\\Seen" not in r.one("1 FETCH"), r
assert b"\\Seen" not in c.cmd("FETCH 1 FLAGS").one("1 FETCH")
"#,
    );
}

#[test]
fn binary_messages_modseq_and_rev2() {
    let server = Imap::start();
    run(
        &server,
        r#"
raw = b"Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01binary\x00\r\n"
r = c.cmd("APPEND INBOX ", Lit(raw, binary=True))
assert r.ok and r.code.startswith("APPENDUID "), r
assert r.lines("3 EXISTS"), r   # appended to the selected mailbox: announced at once
r = c.cmd("FETCH 3 (BINARY.PEEK[] RFC822.SIZE)")
assert b"RFC822.SIZE %d" % len(raw) in r.one("3 FETCH"), r
assert b"BINARY[] ~{%d}" % len(raw) in r.one("3 FETCH"), r
r = c.cmd("FETCH 1:3 (MODSEQ)")
assert r.lines("OK") and b"HIGHESTMODSEQ" in r.lines("OK")[0], r   # CONDSTORE enabled now
assert all(b"MODSEQ (" in l for l in r.lines("") if b"FETCH" in l), r
r = c.cmd("FETCH 1 FLAGS")
assert b"MODSEQ" in r.one("1 FETCH"), r
r = c.cmd("ENABLE IMAP4rev2")
assert r.ok
r = c.cmd("FETCH 1 FLAGS")
assert b"\\Recent" not in r.one("1 FETCH"), r
"#,
    );
}
