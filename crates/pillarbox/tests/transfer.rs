//! Import and export against files real mail programs wrote: a Maildir written by a
//! real Dovecot (messages APPENDed over IMAP with flags and keywords, one expunged so
//! the UIDs have a gap, a subfolder) imported with its UIDVALIDITY, UIDs, flags and
//! keywords kept, and imported again without duplicates; an mbox written by Python's
//! `mailbox` module with mutt's status flags; export to mbox and to Maildir, then
//! import back into another account: identical messages, flags and keywords; a Maildir
//! with a file that is not a message (reported and skipped).

mod support;

use std::path::Path;
use std::process::Command;

use support::remote::{Dovecot, PASSWORD, USER};
use support::{TestServer, accounts, listen_any, ok};

/// (UIDVALIDITY, [(uid, flags, keywords, message)]) of a mailbox, from the store.
type Listing = (u32, Vec<(u32, u32, String, Vec<u8>)>);

fn listing(data_dir: &Path, address: &str, mailbox: &str) -> Listing {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = pillarbox_store::Store::open(data_dir, pillarbox_store::Role::Tool).unwrap();
        let account = store.account_get(address).await.unwrap().expect("account");
        let mb = store
            .mailbox_get(account.id, mailbox)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no mailbox {mailbox}"));
        let entries = store.entries(mb.id).await.unwrap();
        let data = store
            .messages(entries.iter().map(|e| e.message).collect())
            .await
            .unwrap();
        let mut out = Vec::new();
        for (e, d) in entries.iter().zip(data) {
            out.push((
                e.uid,
                e.flags,
                e.keywords.clone(),
                store.blobs().read(&d.blob).await.unwrap(),
            ));
        }
        (mb.uidvalidity, out)
    })
}

fn python(script: &str) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_maildir_written_by_dovecot_keeps_its_uids_flags_and_keywords() {
    let dc = Dovecot::start(false);
    // Dovecot writes its own Maildir: APPENDs with flags and keywords, a folder, a gap.
    let uids = python(&format!(
        r#"
import imaplib
c = imaplib.IMAP4("127.0.0.1", {port})
c.login("{USER}", "{PASSWORD}")
for i in range(5):
    msg = ("From: a@remote.test\r\nSubject: m%d\r\nMessage-ID: <m%d@remote.test>\r\n\r\nbody %d\r\n" % (i, i, i)).encode()
    flags = ["(\\Seen)", "(\\Seen \\Flagged Work)", "()", "(\\Answered $Label1)", "(\\Draft)"][i]
    c.append("INBOX", flags, imaplib.Time2Internaldate(1700000000 + i * 86400), msg)
c.create("Archive.2024")
c.append("Archive.2024", "(\\Seen)", None, b"From: b@remote.test\r\nSubject: old\r\n\r\nold\r\n")
c.select("INBOX")
c.uid("STORE", "3", "+FLAGS.SILENT", "(\\Deleted)")
c.expunge()
typ, data = c.status("INBOX", "(UIDVALIDITY UIDNEXT)")
print(data[0].decode())
typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
for d in data:
    print(d.decode())
c.logout()
"#,
        port = dc.imap
    ));
    let maildir = dc.dir.path().join("mail").join(USER).join("Maildir");
    assert!(maildir.join("dovecot-uidlist").is_file(), "{uids}");
    let status = uids.lines().next().unwrap();
    let uidvalidity: u32 = status
        .split("UIDVALIDITY ")
        .nth(1)
        .unwrap()
        .split([' ', ')'])
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["alice", "bob"]);
    let path = maildir.to_str().unwrap();
    let out = ok(s.cli(
        &[
            "import",
            "maildir",
            path,
            "--account",
            "alice@example.test",
            "--quiet",
        ],
        None,
    ));
    assert!(
        out.contains("5 messages imported") && out.contains("5 UIDs kept"),
        "{out}"
    );
    let (v, inbox) = listing(&s.data_dir(), "alice@example.test", "INBOX");
    assert_eq!(v, uidvalidity, "Dovecot's UIDVALIDITY: {status}");
    let got: Vec<u32> = inbox.iter().map(|m| m.0).collect();
    assert_eq!(
        got,
        vec![1, 2, 4, 5],
        "Dovecot's UIDs, gap included: {uids}"
    );
    use pillarbox_store::flags::*;
    assert_eq!(inbox[0].1, SEEN);
    assert_eq!((inbox[1].1, inbox[1].2.as_str()), (SEEN | FLAGGED, "Work"));
    assert_eq!((inbox[2].1, inbox[2].2.as_str()), (ANSWERED, "$Label1"));
    assert_eq!(inbox[3].1, DRAFT);
    assert!(String::from_utf8_lossy(&inbox[1].3).contains("Subject: m1\r\n"));
    let (_, archive) = listing(&s.data_dir(), "alice@example.test", "Archive/2024");
    assert_eq!(archive.len(), 1);
    assert_eq!(archive[0].1, SEEN);

    // Again: nothing twice.
    let out = ok(s.cli(
        &[
            "import",
            "maildir",
            path,
            "--account",
            "alice@example.test",
            "--quiet",
        ],
        None,
    ));
    assert!(
        out.contains("0 messages imported") && out.contains("5 already there"),
        "{out}"
    );
    assert_eq!(
        listing(&s.data_dir(), "alice@example.test", "INBOX")
            .1
            .len(),
        4
    );

    // Export to a Maildir and import that into bob: the same UIDs, flags, keywords, bytes.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("export");
    let out = ok(s.cli(
        &[
            "export",
            "maildir",
            out_dir.to_str().unwrap(),
            "--account",
            "alice@example.test",
            "--quiet",
        ],
        None,
    ));
    assert!(out.contains("exported"), "{out}");
    ok(s.cli(
        &[
            "import",
            "maildir",
            out_dir.to_str().unwrap(),
            "--account",
            "bob@example.test",
            "--quiet",
        ],
        None,
    ));
    let (bv, bob) = listing(&s.data_dir(), "bob@example.test", "INBOX");
    assert_eq!(bv, v);
    assert_eq!(bob, inbox, "export then import gives the same mailbox");
    assert_eq!(
        listing(&s.data_dir(), "bob@example.test", "Archive/2024").1,
        archive
    );

    // Dovecot reads our export: the same UIDVALIDITY, UIDs, flags and keywords.
    let dc2 = Dovecot::start(false);
    let target = dc2.dir.path().join("mail").join(USER).join("Maildir");
    let _ = std::fs::remove_dir_all(&target);
    ok(s.cli(
        &[
            "export",
            "maildir",
            target.to_str().unwrap(),
            "--account",
            "alice@example.test",
            "--quiet",
        ],
        None,
    ));
    let seen = python(&format!(
        r#"
import imaplib
c = imaplib.IMAP4("127.0.0.1", {port})
c.login("{USER}", "{PASSWORD}")
typ, data = c.status("INBOX", "(UIDVALIDITY)")
print(data[0].decode())
c.select("INBOX", readonly=True)
typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
for d in data:
    print(d.decode())
typ, data = c.list()
for d in data:
    print(d.decode())
c.logout()
"#,
        port = dc2.imap
    ));
    assert!(seen.contains(&format!("UIDVALIDITY {v}")), "{seen}");
    for (uid, flags) in [(1, "\\Seen"), (2, "Work"), (4, "$Label1"), (5, "\\Draft")] {
        let line = seen
            .lines()
            .find(|l| l.contains(&format!("UID {uid} ")) || l.contains(&format!("UID {uid})")))
            .unwrap_or_else(|| panic!("UID {uid}: {seen}"));
        assert!(line.contains(flags), "UID {uid} has {flags}: {line}");
    }
    assert!(
        seen.contains("Archive.2024") || seen.contains("Archive/2024"),
        "{seen}"
    );
}

#[test]
fn an_mbox_from_python_round_trips_through_export() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saved.mbox");
    python(&format!(
        r#"
import mailbox, email.message
box = mailbox.mbox({file:?})
for i, flags in enumerate(["RO", "ROAF", "O", "ROD"]):
    m = mailbox.mboxMessage()
    m["From"] = "c@remote.test"
    m["Subject"] = "mbox %d" % i
    m.set_payload("line one\nFrom the start of a line\n>From quoted\nend\n")
    m.set_from("c@remote.test", (2024, 3, 1 + i, 12, 0, 0, 0, 0, 0))
    m.set_flags(flags)
    box.add(m)
box.flush()
box.close()
"#,
        file = file.to_str().unwrap()
    ));
    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["alice", "bob"]);
    let out = ok(s.cli(
        &[
            "import",
            "mbox",
            file.to_str().unwrap(),
            "--account",
            "alice@example.test",
            "--mailbox",
            "Saved",
            "--quiet",
        ],
        None,
    ));
    assert!(out.contains("4 messages imported"), "{out}");
    let (_, saved) = listing(&s.data_dir(), "alice@example.test", "Saved");
    use pillarbox_store::flags::*;
    let flags: Vec<u32> = saved.iter().map(|m| m.1).collect();
    assert_eq!(
        flags,
        vec![SEEN, SEEN | ANSWERED | FLAGGED, 0, SEEN | DELETED]
    );
    let text = String::from_utf8_lossy(&saved[0].3).into_owned();
    // Python writes mboxo: `From ` quoted as `>From `, `>From` left alone; reading
    // mboxo undoes `>From ` (its known ambiguity: both lines come back as `From `).
    assert!(
        text.contains("\r\nFrom the start of a line\r\nFrom quoted\r\n"),
        "mboxo quoting undone: {text}"
    );
    assert!(!text.contains("Status:"), "{text}");

    let exported = dir.path().join("out.mbox");
    ok(s.cli(
        &[
            "export",
            "mbox",
            exported.to_str().unwrap(),
            "--account",
            "alice@example.test",
            "--mailbox",
            "Saved",
            "--mboxrd",
            "--quiet",
        ],
        None,
    ));
    // Python reads our file back with the same flags.
    let read = python(&format!(
        "import mailbox\nfor m in mailbox.mbox({:?}):\n    print(m['Subject'], ''.join(sorted(m.get_flags())))\n",
        exported.to_str().unwrap()
    ));
    assert_eq!(
        read, "mbox 0 OR\nmbox 1 AFOR\nmbox 2 O\nmbox 3 DOR\n",
        "{read}"
    );
    ok(s.cli(
        &[
            "import",
            "mbox",
            exported.to_str().unwrap(),
            "--account",
            "bob@example.test",
            "--mailbox",
            "Saved",
            "--mboxrd",
            "--quiet",
        ],
        None,
    ));
    let (_, back) = listing(&s.data_dir(), "bob@example.test", "Saved");
    let strip = |l: &[(u32, u32, String, Vec<u8>)]| -> Vec<(u32, String, Vec<u8>)> {
        l.iter().map(|m| (m.1, m.2.clone(), m.3.clone())).collect()
    };
    assert_eq!(strip(&back), strip(&saved), "identical messages and flags");
}

#[test]
fn files_that_are_not_messages_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    std::fs::write(md.join("cur/1.M1.host:2,S"), "Subject: fine\n\nhello\n").unwrap();
    std::fs::write(md.join("cur/2.M2.host:2,"), [0u8, 159, 146, 150, 10]).unwrap();
    std::fs::write(md.join("new/3.M3.host"), "Subject: new\n\nunread\n").unwrap();
    // A 300 MiB file (sparse: nothing is written), over the import limit.
    let big = std::fs::File::create(md.join("cur/5.M5.host:2,")).unwrap();
    big.set_len(300 << 20).unwrap();
    // A folder whose name is not UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let bad = md.join(std::ffi::OsStr::from_bytes(b".Bad\xff"));
    std::fs::create_dir_all(bad.join("cur")).unwrap();
    std::fs::write(bad.join("cur/4.M4.host:2,"), "Subject: lost\n\nx\n").unwrap();
    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["alice"]);
    let out = s.cli(
        &[
            "import",
            "maildir",
            md.to_str().unwrap(),
            "--account",
            "alice@example.test",
            "--quiet",
        ],
        None,
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("2 messages imported") && stdout.contains("3 broken"),
        "{stdout}"
    );
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert!(
        stderr.contains("5.M5.host") && stderr.contains("over the 256 MiB limit"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2.M2.host") && stderr.contains("not a message"),
        "{stderr}"
    );
    let (_, inbox) = listing(&s.data_dir(), "alice@example.test", "INBOX");
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].1, pillarbox_store::flags::SEEN);
    assert_eq!(inbox[1].1, 0, "new/ is unseen");
    // Not a Maildir at all: a clear error.
    let bad = s.cli(
        &[
            "import",
            "maildir",
            "/nonexistent",
            "--account",
            "alice@example.test",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a Maildir"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn migration_from_dovecot_over_imaps_twice() {
    let dc = Dovecot::start(true);
    let imap = |script: &str| {
        python(&format!(
            r#"
import imaplib, ssl
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = imaplib.IMAP4_SSL("127.0.0.1", {port}, ssl_context=ctx)
c.login("{USER}", "{PASSWORD}")
{script}
c.logout()
"#,
            port = dc.imaps
        ))
    };
    imap(
        r#"
for i in range(3):
    c.append("INBOX", "(\\Seen)" if i else "()", None, ("From: a@remote.test\r\nSubject: in %d\r\n\r\nbody\r\n" % i).encode())
c.create("Projects.2025")
c.append("Projects.2025", "(\\Flagged Work)", None, b"From: b@remote.test\r\nSubject: project\r\n\r\nplan\r\n")
c.create("Sent")
c.append("Sent", "(\\Seen)", None, b"From: remote@remote.test\r\nSubject: sent one\r\n\r\nhi\r\n")
"#,
    );
    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["alice"]);
    let from = format!("imaps://127.0.0.1:{}", dc.imaps);
    let migrate = || {
        ok(s.cli(
            &[
                "migrate",
                "imap",
                "--account",
                "alice@example.test",
                "--from",
                &from,
                "--user",
                USER,
                "--password-stdin",
                "--tls-verify",
                "off",
                "--quiet",
            ],
            Some(&format!("{PASSWORD}\n")),
        ))
    };
    let out = migrate();
    assert!(out.contains("5 messages copied"), "{out}");
    let (_, inbox) = listing(&s.data_dir(), "alice@example.test", "INBOX");
    assert_eq!(inbox.iter().map(|m| m.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    use pillarbox_store::flags::*;
    assert_eq!(inbox[0].1, 0);
    assert_eq!(inbox[1].1, SEEN);
    let (_, projects) = listing(&s.data_dir(), "alice@example.test", "Projects/2025");
    assert_eq!((projects[0].1, projects[0].2.as_str()), (FLAGGED, "Work"));
    let (_, sent) = listing(&s.data_dir(), "alice@example.test", "Sent");
    assert_eq!(sent.len(), 1, "Dovecot's Sent into ours");

    // New mail and changed flags at the source; a second run.
    imap(
        r#"
c.select("INBOX")
c.uid("STORE", "1", "+FLAGS", "(\\Seen \\Answered)")
c.append("INBOX", "()", None, b"From: a@remote.test\r\nSubject: later\r\n\r\nnew\r\n")
"#,
    );
    let out = migrate();
    assert!(out.contains("1 messages copied"), "{out}");
    assert!(
        out.contains("1 messages had their flags brought up to date"),
        "{out}"
    );
    let (_, inbox) = listing(&s.data_dir(), "alice@example.test", "INBOX");
    assert_eq!(inbox.len(), 4);
    assert_eq!(inbox[0].1, SEEN | ANSWERED);
    assert!(String::from_utf8_lossy(&inbox[3].3).contains("Subject: later"));
}

#[test]
fn a_migration_cut_mid_folder_resumes_without_duplicates() {
    let dc = Dovecot::start(false);
    dc.fill(0, 250);
    let relay = support::remote::CuttingRelay::start(dc.imap, 150_000);
    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["alice"]);
    let migrate = |port: u16| {
        s.cli(
            &[
                "migrate",
                "imap",
                "--account",
                "alice@example.test",
                "--from",
                &format!("imap://127.0.0.1:{port}"),
                "--tls",
                "none",
                "--user",
                USER,
                "--password-stdin",
                "--quiet",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
    };
    let cut = migrate(relay.port);
    assert!(!cut.status.success(), "the cut is an error");
    let before = listing(&s.data_dir(), "alice@example.test", "INBOX")
        .1
        .len();
    assert!(before < 250, "{before}");
    relay
        .armed
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let out = migrate(relay.port);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, inbox) = listing(&s.data_dir(), "alice@example.test", "INBOX");
    assert_eq!(
        inbox.len(),
        250,
        "everything, once ({before} before the cut)"
    );
    let mut uids: Vec<u32> = inbox.iter().map(|m| m.0).collect();
    uids.dedup();
    assert_eq!(uids, (1..=250).collect::<Vec<u32>>(), "the source's UIDs");
}
