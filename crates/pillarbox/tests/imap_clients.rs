//! IMAP end to end with real clients: mbsync (isync) two-way synchronisation of a
//! 500-message mailbox tree with flag changes, new and deleted mail on both sides
//! (identical afterwards, and a further run changes nothing), and curl listing,
//! fetching and appending.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

#[test]
fn mbsync_two_way_sync_of_a_mailbox_tree() {
    let server = Imap::start();
    server.py(
        r#"
import os, subprocess, tempfile, email.parser, collections

FOLDERS = {"INBOX": 200, "Work": 150, "Work/Projects": 100, "Lists": 50}
c = connect(IMAP)
c.login()
c.cmd("CREATE Work/Projects")
c.cmd("CREATE Lists")
n = 0
for folder, count in FOLDERS.items():
    for i in range(count):
        n += 1
        flags = "(\\Seen)" if n % 3 == 0 else "()"
        raw = ("From: sender%d@x.test\r\nTo: bob@example.test\r\nSubject: %s %d\r\n"
               "Message-ID: <mb%d@x.test>\r\nDate: Mon, 1 Mar 2021 10:00:00 +0000\r\n\r\n"
               "Body of message %d in %s\r\n" % (n, folder, i, n, n, folder))
        assert c.cmd('APPEND "%s" %s ' % (folder, flags), Lit(raw, sync=False)).ok

home = tempfile.mkdtemp()
mail = os.path.join(home, "mail")
os.makedirs(mail)
cfg = os.path.join(home, "mbsyncrc")
open(cfg, "w").write("""
IMAPAccount pb
Host 127.0.0.1
Port %d
User bob@example.test
Pass pw
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account pb

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""" % (IMAP, mail, mail))

def mbsync():
    p = subprocess.run(["mbsync", "-c", cfg, "-a"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout + p.stderr

def maildir_path(folder):
    return os.path.join(mail, folder)

def local_state():
    """{folder: {message-id: flags}} from the maildirs (trashed ones excluded)."""
    out = {}
    for folder in FOLDERS:
        d = maildir_path(folder)
        box = {}
        for sub in ("cur", "new"):
            p = os.path.join(d, sub)
            if not os.path.isdir(p):
                continue
            for f in os.listdir(p):
                info = f.split(":2,")[1] if ":2," in f else ""
                if "T" in info:
                    continue
                with open(os.path.join(p, f), "rb") as fh:
                    hdr = email.parser.BytesHeaderParser().parse(fh)
                box[hdr["Message-ID"]] = "".join(sorted(x for x in info if x in "DFRS"))
        out[folder] = box
    return out

def server_state():
    letters = {b"\\Draft": "D", b"\\Flagged": "F", b"\\Answered": "R", b"\\Seen": "S"}
    out = {}
    s = connect(IMAP)
    s.login()
    for folder in FOLDERS:
        r = s.cmd('EXAMINE "%s"' % folder)
        assert r.ok, r
        box = {}
        r = s.cmd("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        for l in r.untagged:
            if b" FETCH " not in l:
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", l).group(1).split()
            if b"\\Deleted" in flags:
                continue
            mid = re.search(rb"Message-ID: (<[^>]+>)", l, re.I).group(1).decode()
            box[mid] = "".join(sorted(letters[f] for f in flags if f in letters))
        out[folder] = box
    return out

mbsync()
local, remote = local_state(), server_state()
assert {f: len(b) for f, b in local.items()} == FOLDERS, {f: len(b) for f, b in local.items()}
assert local == remote

# Changes on the server: flags, new mail, deletions.
assert c.cmd("SELECT INBOX").ok
assert c.cmd("STORE 1:20 +FLAGS.SILENT (\\Flagged)").ok
assert c.cmd("STORE 21:30 +FLAGS.SILENT (\\Deleted)").ok
assert c.cmd("EXPUNGE").ok
assert c.cmd("APPEND Work ", Lit("Message-ID: <new-remote@x.test>\r\nSubject: new remote\r\n\r\nhi\r\n")).ok
assert c.cmd("SELECT Lists").ok
assert c.cmd("STORE 1:* +FLAGS.SILENT (\\Answered)").ok
# Changes in the maildirs: flags, a deletion, a new message.
def retag(folder, count, add):
    d = os.path.join(maildir_path(folder), "cur")
    changed = 0
    for f in sorted(os.listdir(d)):
        if changed == count:
            break
        base, info = f.split(":2,") if ":2," in f else (f, "")
        if add in info:
            continue
        os.rename(os.path.join(d, f), os.path.join(d, base + ":2," + "".join(sorted(info + add))))
        changed += 1
retag("Work/Projects", 25, "S")
retag("Work", 10, "F")
retag("Lists", 5, "T")
new = os.path.join(maildir_path("Work/Projects"), "new", "1600000000.local1.host")
open(new, "wb").write(b"Message-ID: <new-local@x.test>\r\nSubject: new local\r\n\r\nfrom the maildir\r\n")

mbsync()
local, remote = local_state(), server_state()
assert local == remote, [(f, set(local[f].items()) ^ set(remote[f].items())) for f in FOLDERS]
assert "<new-local@x.test>" in remote["Work/Projects"] and "<new-remote@x.test>" in local["Work"]
assert len(remote["INBOX"]) == 190 and len(remote["Lists"]) == 45, {f: len(b) for f, b in remote.items()}
assert sum(1 for v in remote["Work/Projects"].values() if "S" in v) >= 25

# A further run is a no-op on both sides.
before_local = sorted(os.path.relpath(os.path.join(d, f), mail) for d, _, fs in os.walk(mail) for f in fs if "/tmp" not in d)
s = connect(IMAP)
s.login()
modseqs = {f: s.cmd('STATUS "%s" (HIGHESTMODSEQ MESSAGES UIDNEXT)' % f).one("STATUS") for f in FOLDERS}
out = mbsync()
after_local = sorted(os.path.relpath(os.path.join(d, f), mail) for d, _, fs in os.walk(mail) for f in fs if "/tmp" not in d)
assert before_local == after_local
assert modseqs == {f: s.cmd('STATUS "%s" (HIGHESTMODSEQ MESSAGES UIDNEXT)' % f).one("STATUS") for f in FOLDERS}
assert local_state() == server_state()
"#,
    );
}

#[test]
fn curl_lists_fetches_and_appends() {
    let server = Imap::start();
    server.py(
        r#"
import subprocess, tempfile, os
c = connect(IMAP)
c.login()
raw = b"From: a@x.test\r\nSubject: for curl\r\n\r\nfetch me exactly\r\n"
assert c.cmd("APPEND INBOX ", Lit(raw)).ok
base = "imap://127.0.0.1:%d" % IMAP
auth = ["--user", "bob@example.test:pw", "-s", "-S"]
p = subprocess.run(["curl"] + auth + [base + "/"], capture_output=True, timeout=60)
assert p.returncode == 0, p
listing = p.stdout.decode()
assert '"/" INBOX' in listing and "Sent" in listing, listing
p = subprocess.run(["curl"] + auth + [base + "/INBOX;UID=1"], capture_output=True, timeout=60)
assert p.returncode == 0 and p.stdout == raw, p
p = subprocess.run(["curl"] + auth + [base + "/INBOX;UID=1;SECTION=TEXT"], capture_output=True, timeout=60)
assert p.stdout == b"fetch me exactly\r\n", p
f = os.path.join(tempfile.mkdtemp(), "up.eml")
up = b"From: curl@x.test\r\nSubject: uploaded\r\n\r\nvia curl\r\n"
open(f, "wb").write(up)
p = subprocess.run(["curl"] + auth + ["-T", f, base + "/Drafts"], capture_output=True, timeout=60)
assert p.returncode == 0, p
r = c.cmd("EXAMINE Drafts")
assert r.lines("1 EXISTS"), r
assert fetch_data(c.cmd("FETCH 1 BODY.PEEK[]"), b"BODY[]")[1] == up
p = subprocess.run(["curl"] + auth + ["-X", "SEARCH SUBJECT curl", base + "/INBOX"], capture_output=True, timeout=60)
assert p.returncode == 0 and b"SEARCH 1" in p.stdout, p
"#,
    );
}
