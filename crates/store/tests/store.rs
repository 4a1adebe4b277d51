//! Store behaviour through its public interface: migrations, blobs and their garbage
//! collection, crash safety of blob writes, group commit, delivery and quotas.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use pillarbox_store::{
    Change, LocalTarget, NewMessage, NewQueuedMessage, QueuedRecipient, Role, ServiceFlags, Store,
    StoreError, StoreOptions,
};

/// Both ways of keeping blobs: inline in the database (small, the default) and as files.
const MODES: [usize; 2] = [64 * 1024, 0];

fn open_mode(dir: &Path, inline_blob_max: usize) -> Store {
    Store::open_with(
        dir,
        Role::Server,
        StoreOptions {
            inline_blob_max,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

async fn store_with_account(dir: &Path) -> (Store, pillarbox_store::Account) {
    store_with_account_mode(dir, MODES[0]).await
}

async fn store_with_account_mode(dir: &Path, inline: usize) -> (Store, pillarbox_store::Account) {
    let store = open_mode(dir, inline);
    store.domain_create("example.test").await.unwrap();
    let a = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    (store, a)
}

async fn message(store: &Store, body: &str) -> NewMessage {
    let blob = store.blobs().put(body.as_bytes().to_vec()).await.unwrap();
    NewMessage {
        blob,
        structure: b"{}".to_vec(),
        received_at: 1_700_000_000,
    }
}

fn inbox(account: &pillarbox_store::Account) -> LocalTarget {
    LocalTarget {
        account: account.id,
        mailbox: None,
        flags: 0,
        keywords: String::new(),
        enforce_quota: true,
    }
}

#[tokio::test]
async fn migrations_run_on_empty_and_on_migrated_database() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), Role::Tool).unwrap();
        s.domain_create("example.test").await.unwrap();
    }
    // Second open: migrations already applied, data intact.
    let s = Store::open(dir.path(), Role::Tool).unwrap();
    assert_eq!(s.domain_list().await.unwrap().len(), 1);
    let db = rusqlite::Connection::open(dir.path().join("pillarbox.db")).unwrap();
    let versions: i64 = db
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 2);
    drop(s);

    // A database left by a version that knew only migration 1 is brought up to date.
    db.execute_batch("DROP TABLE pop3_retrieved; DELETE FROM schema_migrations WHERE version = 2;")
        .unwrap();
    let s = Store::open(dir.path(), Role::Tool).unwrap();
    assert_eq!(s.domain_list().await.unwrap().len(), 1);
    let (versions, table): (i64, i64) = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM schema_migrations), \
             (SELECT COUNT(*) FROM sqlite_master WHERE name = 'pop3_retrieved')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((versions, table), (2, 1));
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), Role::Tool).unwrap());
    let db = rusqlite::Connection::open(dir.path().join("pillarbox.db")).unwrap();
    db.execute("INSERT INTO schema_migrations VALUES (999, 0)", [])
        .unwrap();
    let err = Store::open(dir.path(), Role::Tool).unwrap_err();
    assert!(
        err.to_string().contains("newer than this Pillarbox knows"),
        "{err}"
    );
}

#[tokio::test]
async fn only_one_server_per_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path(), Role::Server).unwrap();
    assert!(matches!(
        Store::open(dir.path(), Role::Server),
        Err(StoreError::Locked(_))
    ));
    // Tools may open it beside the server.
    Store::open(dir.path(), Role::Tool).unwrap();
}

#[tokio::test]
async fn new_accounts_get_the_default_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a) = store_with_account(dir.path()).await;
    let names: Vec<(String, Option<String>)> = store
        .mailbox_list(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.special_use))
        .collect();
    let expect = [
        ("Archive", Some("\\Archive")),
        ("Drafts", Some("\\Drafts")),
        ("INBOX", None),
        ("Junk", Some("\\Junk")),
        ("Sent", Some("\\Sent")),
        ("Trash", Some("\\Trash")),
    ];
    let expect: Vec<(String, Option<String>)> = expect
        .iter()
        .map(|(n, s)| (n.to_string(), s.map(str::to_string)))
        .collect();
    assert_eq!(names, expect);
}

#[tokio::test]
async fn unreferenced_blob_is_removed_by_gc() {
    for mode in MODES {
        unreferenced_blob_is_removed_by_gc_in(mode).await;
    }
}

async fn unreferenced_blob_is_removed_by_gc_in(mode: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (store, a) = store_with_account_mode(dir.path(), mode).await;
    let m = message(&store, "Subject: hi\r\n\r\nbody\r\n").await;
    let hash = m.blob.hash.clone();
    store.deliver(m, vec![inbox(&a)], None).await.unwrap();
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), Some(1));

    // Referenced blobs survive a collection.
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.unreferenced, 0);
    assert!(store.blobs().exists(&hash));

    // Deleting the only account that shows the message drops the last reference.
    store.account_delete(a.id).await.unwrap();
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), Some(0));
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.unreferenced, 1);
    assert!(!store.blobs().exists(&hash));
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), None);
}

#[tokio::test]
async fn a_blob_shared_by_two_accounts_lives_until_both_let_go() {
    for mode in MODES {
        shared_blob_in(mode).await;
    }
}

async fn shared_blob_in(mode: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (store, a) = store_with_account_mode(dir.path(), mode).await;
    let b = store
        .account_create("bob@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    let m = message(&store, "Subject: shared\r\n\r\nbody\r\n").await;
    let hash = m.blob.hash.clone();
    let out = store
        .deliver(m, vec![inbox(&a), inbox(&b)], None)
        .await
        .unwrap();
    assert!(out.local.iter().all(Result::is_ok));
    store.account_delete(a.id).await.unwrap();
    store.collect_garbage(Duration::ZERO).await.unwrap();
    assert!(store.blobs().exists(&hash), "bob still shows it");
    store.account_delete(b.id).await.unwrap();
    store.collect_garbage(Duration::ZERO).await.unwrap();
    assert!(!store.blobs().exists(&hash));
}

#[tokio::test]
async fn orphan_blob_files_are_swept_but_recent_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_mode(dir.path(), 0);
    // A blob written but never referenced: a crash between rename and commit.
    let orphan = store.blobs().put(b"orphan".to_vec()).await.unwrap();
    let r = store
        .collect_garbage(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        r.orphans, 0,
        "a recent file may belong to a write in flight"
    );
    assert!(store.blobs().exists(&orphan.hash));
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.orphans, 1);
    assert!(!store.blobs().exists(&orphan.hash));
}

/// Child half of `killed_before_rename_leaves_no_blob`: starts a blob write large enough
/// to spill to a temporary file, then waits to be killed.
#[test]
fn crash_child_writes_then_hangs() {
    let Ok(dir) = std::env::var("PILLARBOX_CRASH_CHILD_DIR") else {
        return;
    };
    let blobs = pillarbox_store::BlobStore::open(&Path::new(&dir).join("blobs")).unwrap();
    let mut w = blobs.writer();
    w.write_blocking(&vec![b'x'; 3 * 1024 * 1024]).unwrap();
    println!("READY");
    std::thread::sleep(Duration::from_secs(120));
}

#[tokio::test]
async fn killed_before_rename_leaves_no_blob_and_no_row() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), Role::Tool).unwrap());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writes_then_hangs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PILLARBOX_CRASH_CHILD_DIR", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("READY") {
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        assert!(n > 0, "child exited early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let tmp: Vec<_> = std::fs::read_dir(dir.path().join("blobs/tmp"))
        .unwrap()
        .collect();
    assert_eq!(
        tmp.len(),
        1,
        "the interrupted write left its temporary file"
    );
    let hash = {
        use sha2_free_hash::hex_sha256;
        hex_sha256(&vec![b'x'; 3 * 1024 * 1024])
    };
    let store = Store::open(dir.path(), Role::Server).unwrap();
    let h = pillarbox_store::BlobHash::parse(&hash).unwrap();
    assert!(!store.blobs().exists(&h), "no visible blob");
    assert_eq!(store.blob_refcount(&h).await.unwrap(), None, "no row");
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.temporaries, 1);
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs/tmp"))
            .unwrap()
            .count(),
        0
    );
}

/// The expected name of a blob, computed independently of the store.
mod sha2_free_hash {
    pub fn hex_sha256(data: &[u8]) -> String {
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(data)?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    }
}

#[tokio::test]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Role::Server).unwrap();
    let before = store.commits();
    let writes = (0..200).map(|i| {
        let s = store.clone();
        async move { s.domain_create(&format!("d{i}.example")).await }
    });
    let results = futures::future::join_all(writes).await;
    assert!(results.iter().all(Result::is_ok));
    let commits = store.commits() - before;
    assert!(
        commits < 100,
        "200 concurrent writes took {commits} commits"
    );
    assert_eq!(store.domain_list().await.unwrap().len(), 200);
}

#[tokio::test]
async fn a_failing_job_does_not_spoil_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Role::Server).unwrap();
    store.domain_create("taken.example").await.unwrap();
    let writes = (0..20).map(|i| {
        let s = store.clone();
        let name = if i % 2 == 0 {
            "taken.example".to_string()
        } else {
            format!("d{i}.example")
        };
        async move { s.domain_create(&name).await }
    });
    let results = futures::future::join_all(writes).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 10);
    assert_eq!(store.domain_list().await.unwrap().len(), 11);
}

#[tokio::test]
async fn deliveries_get_increasing_uids_and_announce_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a) = store_with_account(dir.path()).await;
    let mut feed = store.changes().subscribe();
    let mut uids = Vec::new();
    for i in 0..5 {
        let m = message(&store, &format!("Subject: {i}\r\n\r\nx\r\n")).await;
        let out = store.deliver(m, vec![inbox(&a)], None).await.unwrap();
        uids.push(out.local[0].as_ref().unwrap().uid);
    }
    assert_eq!(uids, vec![1, 2, 3, 4, 5]);
    let inbox_box = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(inbox_box.uidnext, 6);
    assert!(matches!(feed.try_recv().unwrap(), Change::Mailbox { .. }));
}

#[tokio::test]
async fn quota_refuses_one_target_not_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a) = store_with_account(dir.path()).await;
    let b = store
        .account_create("bob@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    store
        .account_update(
            b.id,
            pillarbox_store::AccountUpdate {
                quota_bytes: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let m = message(&store, "Subject: big\r\n\r\nmore than ten bytes\r\n").await;
    let out = store
        .deliver(m, vec![inbox(&a), inbox(&b)], None)
        .await
        .unwrap();
    assert!(out.local[0].is_ok());
    assert!(matches!(out.local[1], Err(StoreError::OverQuota)));
    let a2 = store.account_get_by_id(a.id).await.unwrap().unwrap();
    assert!(a2.used_bytes > 0);
}

#[tokio::test]
async fn remote_recipients_are_queued_with_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Role::Server).unwrap();
    let m = message(&store, "Subject: out\r\n\r\nx\r\n").await;
    let hash = m.blob.hash.clone();
    let q = NewQueuedMessage {
        sender: "a@example.test".into(),
        envid: None,
        ret: None,
        account: None,
        source: "test".into(),
        route: None,
        recipients: vec![QueuedRecipient {
            address: "x@remote.example".into(),
            orcpt: None,
            notify: None,
        }],
    };
    let out = store.deliver(m, vec![], Some(q)).await.unwrap();
    assert!(out.queued.is_some());
    assert_eq!(store.queue_pending_count().await.unwrap(), 1);
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), Some(1));
}

#[tokio::test]
async fn changes_by_a_tool_process_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, a) = store_with_account(dir.path()).await;
    let _poller = server.spawn_change_poller(Duration::from_millis(20));
    let mut feed = server.changes().subscribe();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let tool = Store::open(dir.path(), Role::Tool).unwrap();
    let m = message(&tool, "Subject: from sendmail\r\n\r\nx\r\n").await;
    tool.deliver(m, vec![inbox(&a)], None).await.unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(change, Change::Mailbox { account, .. } if account == a.id));
}

#[tokio::test]
async fn small_blobs_live_in_the_database_large_ones_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a) = store_with_account(dir.path()).await;
    let small = message(&store, "Subject: small\r\n\r\nx\r\n").await;
    assert!(small.blob.inline.is_some());
    assert!(
        !store.blobs().path(&small.blob.hash).exists(),
        "no file for a small blob"
    );
    let big_body = format!("Subject: big\r\n\r\n{}", "y".repeat(100 * 1024));
    let big = message(&store, &big_body).await;
    assert!(big.blob.inline.is_none());
    assert!(store.blobs().path(&big.blob.hash).is_file());
    let (hs, hb) = (small.blob.hash.clone(), big.blob.hash.clone());
    store.deliver(small, vec![inbox(&a)], None).await.unwrap();
    store.deliver(big, vec![inbox(&a)], None).await.unwrap();
    assert_eq!(
        store.blobs().read(&hs).await.unwrap(),
        b"Subject: small\r\n\r\nx\r\n"
    );
    assert_eq!(store.blobs().read(&hb).await.unwrap(), big_body.as_bytes());
    assert_eq!(
        store.blobs().read_range_blocking(&hs, 9, 5).unwrap(),
        b"small"
    );
    // An inline blob that was never referenced leaves nothing behind.
    let lost = store
        .blobs()
        .put(b"never referenced".to_vec())
        .await
        .unwrap();
    assert!(!store.blobs().exists(&lost.hash));
}
