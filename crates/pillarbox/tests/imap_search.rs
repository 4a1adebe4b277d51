//! IMAP end to end, SEARCH, SORT and THREAD: every search key of RFC 9051 and the
//! IMAP4rev1 ones (flags, keywords, \Recent, addresses, subject and header fields with
//! encoded words, body and text through transfer encodings and charsets, internal and
//! sent dates, sizes, UID and sequence sets, NOT/OR/nesting, OLDER/YOUNGER, MODSEQ),
//! CHARSET and BADCHARSET, ESEARCH return options, SAVE and `$`, IMAP4rev2 answers,
//! SORT on every key (DISPLAYFROM too) and both THREAD algorithms.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

/// Five messages with distinct headers, bodies, dates and flags.
const FIXTURES: &str = r#"
import base64
MSGS = [
    ("(\\Seen)", "01-Jan-2021 12:00:00 +0000",
     "From: alice@x.test\r\nTo: bob@example.test\r\nSubject: Project kickoff\r\n"
     "Date: Fri, 1 Jan 2021 10:00:00 +0000\r\nMessage-ID: <m1@x>\r\n\r\nThe kickoff is on Monday\r\n"),
    ("(\\Flagged \\Answered $Work)", "02-Jan-2021 12:00:00 +0000",
     "From: \"Bob B\" <bob@y.test>\r\nTo: carol@example.test\r\nCc: alice@x.test\r\n"
     "Subject: Re: Project kickoff\r\nDate: Sat, 2 Jan 2021 10:00:00 +0000\r\nMessage-ID: <m2@x>\r\n"
     "In-Reply-To: <m1@x>\r\nReferences: <m1@x>\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"secret meeting notes").decode() + "\r\n"),
    ("(\\Deleted)", "03-Jan-2021 12:00:00 +0000",
     "From: zed@z.test\r\nTo: bob@example.test\r\nSubject: =?utf-8?q?=C3=84rger?= Umlaute\r\n"
     "Date: Sun, 3 Jan 2021 10:00:00 +0000\r\nMessage-ID: <m3@x>\r\n"
     "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
     "Gr=FC=DFe aus Wien\r\n"),
    ("(\\Draft)", "05-Jan-2021 12:00:00 +0000",
     "From: Dora <dora@x.test>\r\nTo: bob@example.test\r\nBcc: hidden@x.test\r\nSubject: misc\r\n"
     "Message-ID: <m4@x>\r\n\r\n" + "filler line\r\n" * 400),
    ("()", "06-Jan-2021 12:00:00 +0000",
     "From: eve@x.test\r\nTo: bob@example.test\r\nSubject: Re: misc\r\n"
     "Date: Wed, 6 Jan 2021 10:00:00 +0000\r\nMessage-ID: <m5@x>\r\nReferences: <m4@x>\r\n\r\nok\r\n"),
]
c = connect(IMAP)
c.login()
for flags, date, raw in MSGS:
    assert c.cmd('APPEND INBOX %s "%s" ' % (flags, date), Lit(raw)).ok
assert c.cmd("SELECT INBOX").ok

def search(crit, *lits):
    parts = ["SEARCH " + crit] + list(lits)
    r = c.cmd(*parts)
    assert r.ok, (crit, r)
    line = r.one("SEARCH")
    return [int(x) for x in line.split()[2:]]
"#;

fn run(server: &Imap, script: &str) {
    server.py(&format!("{FIXTURES}\n{script}"));
}

#[test]
fn every_search_key() {
    let server = Imap::start();
    run(
        &server,
        r#"
cases = [
    ("ALL", [1, 2, 3, 4, 5]),
    ("SEEN", [1]), ("UNSEEN", [2, 3, 4, 5]),
    ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4, 5]),
    ("ANSWERED", [2]), ("UNANSWERED", [1, 3, 4, 5]),
    ("DELETED", [3]), ("UNDELETED", [1, 2, 4, 5]),
    ("DRAFT", [4]), ("UNDRAFT", [1, 2, 3, 5]),
    ("KEYWORD $Work", [2]), ("KEYWORD $work", [2]), ("UNKEYWORD $Work", [1, 3, 4, 5]),
    ("RECENT", [1, 2, 3, 4, 5]), ("NEW", [2, 3, 4, 5]), ("OLD", []),
    ("FROM alice", [1]), ('FROM "Bob B"', [2]), ("TO carol", [2]), ("CC alice", [2]),
    ("BCC hidden", [4]),
    ("SUBJECT kickoff", [1, 2]), ("SUBJECT KICKOFF", [1, 2]), ("SUBJECT umlaute", [3]),
    ("HEADER Message-ID m4", [4]), ('HEADER X-Nothing ""', []), ('HEADER References ""', [2, 5]),
    ("BODY secret", [2]), ("BODY kickoff", [1]), ("TEXT kickoff", [1, 2]), ("TEXT m5@x", [5]),
    ("BEFORE 3-Jan-2021", [1, 2]), ("ON 3-Jan-2021", [3]), ("SINCE 5-Jan-2021", [4, 5]),
    ("SENTBEFORE 2-Jan-2021", [1]), ("SENTON 2-Jan-2021", [2]), ("SENTSINCE 6-Jan-2021", [5]),
    ("LARGER 4000", [4]), ("SMALLER 4000", [1, 2, 3, 5]),
    ("UID 2:3", [2, 3]), ("2,4", [2, 4]), ("4:*", [4, 5]), ("NOT 1:3", [4, 5]),
    ("OR FLAGGED DELETED", [2, 3]), ("(SEEN) OR DELETED DRAFT", []),
    ("NOT (OR SEEN FLAGGED)", [3, 4, 5]), ("UNSEEN SUBJECT misc", [4, 5]),
    ("OLDER 3600", [1, 2, 3, 4, 5]), ("YOUNGER 3600", []),
]
for crit, expected in cases:
    assert search(crit) == expected, (crit, search(crit), expected)
# Strings in other charsets, and in literals.
assert search("CHARSET UTF-8 SUBJECT ", Lit("ärger")) == [3]
assert search("CHARSET UTF-8 BODY ", Lit("GRÜßE")) == [3]
assert search("CHARSET ISO-8859-1 SUBJECT ", Lit(b"\xc4RGER")) == [3]
r = c.cmd("SEARCH CHARSET X-KLINGON ALL")
assert r.status == "NO" and r.code.startswith("BADCHARSET"), r
# MODSEQ switches CONDSTORE on and reports the highest mod-sequence.
r = c.cmd("SEARCH MODSEQ 1")
assert re.match(rb"\* SEARCH 1 2 3 4 5 \(MODSEQ \d+\)$", r.one("SEARCH")), r
r = c.cmd("UID SEARCH UNSEEN")
assert r.one("SEARCH") == b"* SEARCH 2 3 4 5", r
"#,
    );
}

#[test]
fn esearch_save_and_rev2() {
    let server = Imap::start();
    run(
        &server,
        r#"
r = c.cmd("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
assert r.one("ESEARCH") == ('* ESEARCH (TAG "%s") MIN 2 MAX 5 COUNT 4 ALL 2:5' % r.tagged.split()[0].decode()).encode(), r
r = c.cmd("UID SEARCH RETURN () ALL")
assert r.one("ESEARCH").endswith(b") UID ALL 1:5"), r
r = c.cmd("SEARCH RETURN (COUNT MIN) KEYWORD nothere")
assert r.one("ESEARCH").endswith(b") COUNT 0"), r
r = c.cmd("SEARCH RETURN (SAVE) FLAGGED")
assert r.ok and not r.lines("ESEARCH"), r
r = c.cmd("FETCH $ (UID)")
assert [l.split()[1] for l in r.lines("")] == [b"2"], r
r = c.cmd("SEARCH RETURN (SAVE MIN) UNSEEN")
assert r.lines("ESEARCH"), r
r = c.cmd("UID SEARCH $")
assert r.one("SEARCH") == b"* SEARCH 2", r
r = c.cmd("SEARCH RETURN (SAVE) OR $ SEEN")
assert c.cmd("SEARCH $").one("SEARCH") == b"* SEARCH 1 2"
assert c.cmd("UID STORE $ +FLAGS.SILENT (\\Seen)").ok
assert search("UNSEEN") == [3, 4, 5]
# IMAP4rev2 answers SEARCH with ESEARCH.
assert c.cmd("ENABLE IMAP4rev2").ok
r = c.cmd("SEARCH SEEN")
assert r.one("ESEARCH").endswith(b") ALL 1:2"), r
r = c.cmd("SEARCH DRAFT DELETED")
assert r.one("ESEARCH").endswith(b'")'), r
"#,
    );
}

#[test]
fn sort_and_thread() {
    let server = Imap::start();
    run(
        &server,
        r#"
def sort(crit, search="ALL", uid=""):
    r = c.cmd("%sSORT (%s) UTF-8 %s" % (uid, crit, search))
    assert r.ok, r
    return [int(x) for x in r.one("SORT").split()[2:]]
assert sort("SUBJECT") == [4, 5, 1, 2, 3]
assert sort("REVERSE DATE") == [5, 4, 3, 2, 1]
assert sort("DATE") == [1, 2, 3, 4, 5]
assert sort("ARRIVAL") == [1, 2, 3, 4, 5]
assert sort("REVERSE ARRIVAL") == [5, 4, 3, 2, 1]
assert sort("FROM") == [1, 2, 4, 5, 3]
assert sort("DISPLAYFROM") == [1, 2, 4, 5, 3]
assert sort("TO") == [1, 3, 4, 5, 2]
assert sort("DISPLAYTO") == [1, 3, 4, 5, 2]
assert sort("CC") == [1, 3, 4, 5, 2]
assert sort("SIZE")[-1] == 4
assert sort("SUBJECT REVERSE ARRIVAL") == [5, 4, 2, 1, 3]
assert sort("SUBJECT", "UNDELETED", uid="UID ") == [4, 5, 1, 2]
r = c.cmd("THREAD REFERENCES UTF-8 ALL")
assert r.one("THREAD") == b"* THREAD (1 2)(3)(4 5)", r
r = c.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")
assert r.one("THREAD") == b"* THREAD (1 2)(3)(4 5)", r
r = c.cmd("UID THREAD REFERENCES UTF-8 NOT DELETED")
assert r.one("THREAD") == b"* THREAD (1 2)(4 5)", r
r = c.cmd("THREAD REFERENCES UTF-8 KEYWORD none")
assert r.one("THREAD") == b"* THREAD", r
"#,
    );
}
