//! Backup and restore of a running server: a backup taken while SMTP clients keep
//! sending, restored into an empty data directory, has every message acknowledged
//! before it started, with the same UIDVALIDITY, UIDs and MODSEQs; a second backup
//! into the same place copies only what is new; restore refuses a data directory that
//! already has a database.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{TestServer, accounts, listen_any, ok};

/// Sends `n` messages to bob over SMTP, every `big`-th one of 100 KiB (a blob file),
/// each acknowledged before the next; their Message-IDs.
fn send(port: u16, tag: &str, n: usize, big: usize) -> Vec<String> {
    let script = format!(
        r#"
import smtplib
c = smtplib.SMTP("127.0.0.1", {port})
for i in range({n}):
    body = ("x" * 99 + "\r\n") * 1024 if {big} and i % {big} == 0 else "hello\r\n"
    mid = "<{tag}-%d@client.test>" % i
    msg = "From: a@client.test\r\nTo: bob@example.test\r\nSubject: %d\r\nMessage-ID: %s\r\n\r\n%s" % (i, mid, body)
    c.sendmail("a@client.test", ["bob@example.test"], msg)
    print(mid)
c.quit()
"#
    );
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// (UIDVALIDITY, [(uid, modseq, message)]) of bob's INBOX in `data_dir`.
fn inbox(data_dir: &std::path::Path) -> (u32, Vec<(u32, u64, String)>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = pillarbox_store::Store::open(data_dir, pillarbox_store::Role::Tool).unwrap();
        let account = store
            .account_get("bob@example.test")
            .await
            .unwrap()
            .unwrap();
        let mb = store
            .mailbox_get(account.id, "INBOX")
            .await
            .unwrap()
            .unwrap();
        let entries = store.entries(mb.id).await.unwrap();
        let data = store
            .messages(entries.iter().map(|e| e.message).collect())
            .await
            .unwrap();
        let mut out = Vec::new();
        for (e, d) in entries.iter().zip(data) {
            let bytes = store.blobs().read(&d.blob).await.unwrap();
            out.push((
                e.uid,
                e.modseq,
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        (mb.uidvalidity, out)
    })
}

#[test]
fn a_backup_under_load_restores_every_acknowledged_message() {
    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["bob"]);
    let port = s.addr("smtp").port();
    let acked = send(port, "before", 60, 10);
    let load = std::thread::spawn(move || send(port, "during", 300, 25));
    std::thread::sleep(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let out = s.cli(&["backup", target.to_str().unwrap(), "--quiet"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("message files copied"), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secrets key"),
        "the key is not in the backup, and it says so"
    );
    let during = load.join().unwrap();
    assert_eq!(during.len(), 300);

    // Restore into an empty data directory.
    let restored = dir.path().join("restored");
    let config = dir.path().join("restored.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"{}\"\n",
            restored.display()
        ),
    )
    .unwrap();
    let out = support::cli(
        &config,
        &["restore", target.to_str().unwrap(), "--quiet"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (v_back, back) = inbox(&restored);
    let (v_live, live) = inbox(&s.data_dir());
    assert_eq!(v_back, v_live, "UIDVALIDITY");
    for mid in &acked {
        assert!(
            back.iter().any(|(_, _, m)| m.contains(mid.as_str())),
            "acknowledged before the backup: {mid}"
        );
    }
    assert!(back.len() >= acked.len() && back.len() <= live.len());
    for (uid, modseq, m) in &back {
        let same = live.iter().find(|(u, _, _)| u == uid).unwrap();
        assert_eq!(
            (same.1, &same.2),
            (*modseq, m),
            "UID {uid}: same MODSEQ and bytes"
        );
    }
    let big = back.iter().filter(|(_, _, m)| m.len() > 64 * 1024).count();
    assert!(big >= 6, "the large messages (blob files) came back: {big}");

    // Again into the same place: only what is new is copied.
    let out = ok(s.cli(&["backup", target.to_str().unwrap(), "--quiet"], None));
    assert!(
        out.contains("already there") && !out.contains(", 0 already there"),
        "{out}"
    );
    // A data directory with a database is never overwritten.
    let again = support::cli(
        &config,
        &["restore", target.to_str().unwrap(), "--quiet"],
        None,
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a database"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Mounts a tmpfs of `size` at `dir` (the tests run as root, as `scripts/test` does).
fn tmpfs(dir: &std::path::Path, size: &str, remount: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let opts = if remount {
        format!("remount,size={size}")
    } else {
        format!("size={size}")
    };
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mount: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_backup_target_that_fills_up_fails_clearly_and_the_next_run_goes_on() {
    let s = TestServer::start(&listen_any("127.0.0.1"));
    accounts(&s, &["bob"]);
    // Forty 100 KiB messages (blob files): about 4 MiB.
    send(s.addr("smtp").port(), "big", 40, 1);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("small");
    tmpfs(&target, "1m", false);
    let out = s.cli(&["backup", target.to_str().unwrap(), "--quiet"], None);
    let failed = !out.status.success();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    // Room for more, keeping what is there; the next run copies only the rest.
    tmpfs(&target, "64m", true);
    let again = s.cli(&["backup", target.to_str().unwrap(), "--quiet"], None);
    let _ = Command::new("umount").arg(&target).status();
    assert!(failed, "a full target is an error");
    assert!(err.to_lowercase().contains("no space left"), "{err}");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("message files copied"), "{said}");
}
