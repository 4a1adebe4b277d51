//! IMAP end to end, mailbox management: CREATE (missing parents, USE), DELETE, RENAME
//! of hierarchies and of INBOX, SUBSCRIBE/UNSUBSCRIBE/LSUB, LIST (basic, LIST-EXTENDED
//! selection and return options, LIST-STATUS, SPECIAL-USE), STATUS, QUOTA, and
//! modified UTF-7 / UTF-8 mailbox names.

mod support;

#[path = "support/imap.rs"]
mod imap;

use imap::Imap;

#[test]
fn create_delete_rename() {
    let server = Imap::start();
    server.py(r#"
c = connect(IMAP)
c.login()
def names(r):
    return {re.search(rb'"/" (.*)$', l).group(1).decode().strip('"'): l for l in r.lines("LIST")}
assert c.cmd("CREATE a/b/c").ok
n = names(c.cmd('LIST "" "*"'))
assert {"a", "a/b", "a/b/c", "INBOX", "Sent"} <= set(n), n
assert b"\\HasChildren" in n["a"] and b"\\HasNoChildren" in n["a/b/c"], n
r = c.cmd("CREATE a")
assert r.status == "NO" and r.code == "ALREADYEXISTS", r
r = c.cmd("CREATE inbox")
assert r.status == "NO" and r.code == "ALREADYEXISTS", r
assert c.cmd('CREATE "trailing/"').ok
assert "trailing" in names(c.cmd('LIST "" "trailing"'))
assert c.cmd("CREATE Templates (USE (\\Drafts))").ok
assert b"\\Drafts" in c.cmd('LIST "" Templates').one("LIST")
r = c.cmd("CREATE Everything (USE (\\All))")
assert r.status == "NO" and r.code == "USEATTR", r

# RENAME a hierarchy under an existing mailbox.
assert c.cmd("CREATE x").ok
assert c.cmd("APPEND a/b ", Lit("Subject: kept\r\n\r\nbody\r\n")).ok
st = c.cmd("STATUS a/b (UIDVALIDITY)").one("STATUS")
assert c.cmd("RENAME a x/a").ok
n = names(c.cmd('LIST "" "*"'))
assert {"x/a", "x/a/b", "x/a/b/c"} <= set(n) and "a" not in n, n
assert c.cmd("STATUS x/a/b (UIDVALIDITY)").one("STATUS").split(b"(")[1] == st.split(b"(")[1]
r = c.cmd("RENAME x/a Sent")
assert r.code == "ALREADYEXISTS", r
r = c.cmd("RENAME nothere y")
assert r.code == "NONEXISTENT", r
r = c.cmd("RENAME x x/inside")
assert r.status == "NO", r
# RENAME to a new hierarchy creates the parents.
assert c.cmd("RENAME trailing deep/er/trail").ok
assert {"deep", "deep/er", "deep/er/trail"} <= set(names(c.cmd('LIST "" "deep*"')))

# RENAME INBOX moves its messages and leaves INBOX empty.
assert c.cmd("APPEND INBOX ", Lit("Subject: one\r\n\r\n1\r\n")).ok
assert c.cmd("APPEND INBOX ", Lit("Subject: two\r\n\r\n2\r\n")).ok
assert c.cmd("RENAME INBOX Old").ok
assert c.cmd("STATUS INBOX (MESSAGES)").one("STATUS").endswith(b"(MESSAGES 0)")
assert c.cmd("STATUS Old (MESSAGES)").one("STATUS").endswith(b"(MESSAGES 2)")

# DELETE keeps children; the parent shows as not selectable.
assert c.cmd("DELETE x/a").ok
n = names(c.cmd('LIST "" "x/%"'))
assert b"\\Noselect" in n["x/a"] and b"\\HasChildren" in n["x/a"], n
r = c.cmd("SELECT x/a")
assert r.status == "NO" and r.code == "NONEXISTENT", r
assert c.cmd("FETCH 1 FLAGS").status == "BAD"   # nothing selected after a failed SELECT
r = c.cmd("DELETE INBOX")
assert r.status == "NO", r
r = c.cmd("DELETE nothere")
assert r.code == "NONEXISTENT", r
"#);
}

#[test]
fn subscriptions_and_extended_list() {
    let server = Imap::start();
    server.py(r#"
c = connect(IMAP)
c.login()
assert c.cmd("CREATE Fruit/Apple").ok
assert c.cmd("CREATE Fruit/Banana").ok
assert c.cmd("SUBSCRIBE Fruit/Banana").ok
# RFC 9051 §6.3.7: SUBSCRIBE of a mailbox that does not exist is refused; a
# subscription outlives the mailbox it names.
r = c.cmd("SUBSCRIBE Ghost")
assert r.status == "NO" and r.code == "NONEXISTENT", r
assert c.cmd("CREATE Ghost").ok
assert c.cmd("SUBSCRIBE Ghost").ok
assert c.cmd("DELETE Ghost").ok
assert c.cmd("APPEND Fruit/Apple ", Lit("Subject: a\r\n\r\nx\r\n")).ok

r = c.cmd('LSUB "" "*"')
lsub = r.lines("LSUB")
assert any(l.endswith(b" Fruit/Banana") for l in lsub), lsub
assert any(l.endswith(b" Ghost") and b"\\Noselect" in l for l in lsub), lsub
assert not any(l.endswith(b" Fruit/Apple") for l in lsub), lsub
r = c.cmd('LSUB "" "%"')
assert any(l.endswith(b' "/" Fruit') and b"\\Noselect" in l for l in r.lines("LSUB")), r

r = c.cmd('LIST (SUBSCRIBED) "" "*"')
l = {x.rsplit(b" ", 1)[1]: x for x in r.lines("LIST")}
assert b"\\Subscribed" in l[b"Fruit/Banana"], l
assert b"\\NonExistent" in l[b"Ghost"] and b"\\Subscribed" in l[b"Ghost"], l
assert b"Fruit/Apple" not in l, l

r = c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
fruit = [x for x in r.lines("LIST") if b' "/" Fruit ' in x + b" "]
assert fruit and b'("CHILDINFO" ("SUBSCRIBED"))' in fruit[0], r

r = c.cmd('LIST "" "Fruit/%" RETURN (SUBSCRIBED CHILDREN)')
l = {x.split(b'"/" ')[1]: x for x in r.lines("LIST")}
assert b"\\Subscribed" in l[b"Fruit/Banana"] and b"\\Subscribed" not in l[b"Fruit/Apple"], l
assert b"\\HasNoChildren" in l[b"Fruit/Apple"], l

r = c.cmd('LIST (SPECIAL-USE) "" "*"')
got = sorted(x.split(b'"/" ')[1] for x in r.lines("LIST"))
assert got == [b"Archive", b"Drafts", b"Junk", b"Sent", b"Trash"], got
assert b"\\Sent" in [x for x in r.lines("LIST") if x.endswith(b"Sent")][0]

r = c.cmd('LIST "" (INBOX Sent)')
assert len(r.lines("LIST")) == 2, r

r = c.cmd('LIST "" "Fruit/*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
st = r.lines("STATUS")
assert any(s.startswith(b"* STATUS Fruit/Apple (MESSAGES 1 UNSEEN 1 SIZE ") for s in st), r
assert len(st) == 2, r

r = c.cmd('LIST "" ""')
assert r.one("LIST") == b'* LIST (\\Noselect) "/" ""', r

r = c.cmd('LIST "Fruit/" "%"')
assert len(r.lines("LIST")) == 2, r

assert c.cmd("UNSUBSCRIBE Ghost").ok
r = c.cmd('LSUB "" "Ghost"')
assert not r.lines("LSUB"), r
"#);
}

#[test]
fn status_and_quota() {
    let server = Imap::start();
    server.py(
        r#"
c = connect(IMAP)
c.login()
assert c.cmd("APPEND INBOX (\\Seen) ", Lit("Subject: a\r\n\r\n0123456789\r\n")).ok
assert c.cmd("APPEND INBOX (\\Deleted) ", Lit("Subject: b\r\n\r\nx\r\n")).ok
r = c.cmd("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)")
st = r.one("STATUS").decode()
m = dict(re.findall(r"([A-Z]+) (\d+)", st))
assert m["MESSAGES"] == "2" and m["UIDNEXT"] == "3" and m["UNSEEN"] == "1", st
assert m["DELETED"] == "1" and m["SIZE"] == str(len("Subject: a\r\n\r\n0123456789\r\n") + len("Subject: b\r\n\r\nx\r\n")), st
assert int(m["HIGHESTMODSEQ"]) >= 2 and m["APPENDLIMIT"] == "52428800", st
r = c.cmd("STATUS nothere (MESSAGES)")
assert r.status == "NO" and r.code == "NONEXISTENT", r

r = c.cmd("GETQUOTAROOT INBOX")
assert r.one("QUOTAROOT") == b"* QUOTAROOT INBOX", r
r = c.cmd('SETQUOTA "" (STORAGE 10)')
assert r.status == "NO" and r.code == "NOPERM", r
"#,
    );
    server.cli(&["account", "set", "bob@example.test", "--quota", "1MiB"]);
    server.py(r#"
c = connect(IMAP)
c.login()
r = c.cmd("GETQUOTAROOT INBOX")
assert r.one("QUOTAROOT") == b'* QUOTAROOT INBOX ""', r
assert r.one("QUOTA") == b'* QUOTA "" (STORAGE 1 1024)', r
r = c.cmd('GETQUOTA ""')
assert r.one("QUOTA") == b'* QUOTA "" (STORAGE 1 1024)', r
r = c.cmd('GETQUOTA "other"')
assert r.status == "NO", r
"#);
}

#[test]
fn modified_utf7_and_utf8_names() {
    let server = Imap::start();
    server.py(r#"
c = connect(IMAP)
c.login()
assert c.cmd("CREATE Entw&APw-rfe/Gr&APw-n").ok
r = c.cmd('LIST "" "Entw*"')
got = [l.split(b'"/" ')[1] for l in r.lines("LIST")]
assert got == [b"Entw&APw-rfe", b"Entw&APw-rfe/Gr&APw-n"], got
r = c.cmd("CREATE Bad&-name&Jjo")
assert r.status == "NO", r
r = c.cmd("ENABLE UTF8=ACCEPT")
assert r.ok
r = c.cmd('LIST "" "Entw*"')
got = [l.split(b'"/" ')[1] for l in r.lines("LIST")]
assert got == ['"Entwürfe"'.encode(), '"Entwürfe/Grün"'.encode()], got
r = c.cmd('SELECT "Entwürfe/Grün"'.encode())
assert r.ok, r
assert c.cmd('CREATE "Ελληνικά"'.encode()).ok
d = connect(IMAP)
d.login()
r = d.cmd('LIST "" "&A5UDuwO7A7cDvQO5A7oDrAMB-"')
assert len(r.lines("LIST")) in (0, 1)
r = d.cmd('LIST "" "*"')
assert any(l.endswith(b"&A5UDuwO7A7cDvQO5A7oDrA-") for l in r.lines("LIST")), r
"#);
}
