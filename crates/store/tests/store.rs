//! Store behaviour through its public interface, on both engines (see `common`):
//! migrations, blobs and their garbage collection, crash safety of blob writes, group
//! commit, delivery and quotas, the change feed from tool processes.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Engine, Env};
use pillarbox_store::{
    Change, LocalTarget, NewMessage, NewQueuedMessage, QueuedRecipient, Role, ServiceFlags, Store,
    StoreError,
};

/// Both ways of keeping blobs: inline in the database (small, the default) and not.
const MODES: [usize; 2] = [64 * 1024, 0];

async fn with_account(store: &Store) -> pillarbox_store::Account {
    store.domain_create("example.test").await.unwrap();
    store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap()
}

async fn store_with_account(env: &Env) -> (Store, pillarbox_store::Account) {
    let store = env.open(Role::Server);
    let a = with_account(&store).await;
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

conformance!(
    new_accounts_get_the_default_mailboxes,
    unreferenced_blob_is_removed_by_gc,
    a_blob_shared_by_two_accounts_lives_until_both_let_go,
    concurrent_writes_share_commits,
    a_failing_job_does_not_spoil_its_batch,
    deliveries_get_increasing_uids_and_announce_after_commit,
    quota_refuses_one_target_not_the_others,
    remote_recipients_are_queued_with_the_blob,
    changes_by_a_tool_process_reach_the_server,
    small_blobs_live_in_the_database_large_ones_elsewhere,
    a_newer_schema_is_refused,
);

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
    assert_eq!(versions, i64::from(pillarbox_store::SCHEMA_VERSION));
    drop(s);

    // A database left by a version that knew only migration 1 is brought up to date.
    db.execute_batch(
        "DROP TABLE pop3_retrieved; DROP TABLE settings; \
         ALTER TABLE queue_recipients DROP COLUMN lease_owner; \
         ALTER TABLE collection_accounts DROP COLUMN lease_owner; \
         DROP TABLE events; DROP TABLE trace_steps; DROP TABLE trace_keys; \
         DROP TABLE stats; DROP TABLE live_sessions; DROP TABLE session_kills; \
         DROP TABLE alerts; DROP TABLE webhook_outbox; DROP TABLE webhooks; \
         ALTER TABLE queue_messages DROP COLUMN trace; \
         DROP TABLE sieve_scripts; DROP TABLE sieve_memory; \
         ALTER TABLE accounts DROP COLUMN sieve_generation; \
         DROP TABLE quarantine; DROP TABLE greylist; \
         DROP TABLE metadata; ALTER TABLE mailbox_entries DROP COLUMN saved_at; \
         DELETE FROM schema_migrations WHERE version >= 2;",
    )
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
    assert_eq!(
        (versions, table),
        (i64::from(pillarbox_store::SCHEMA_VERSION), 1)
    );
}

async fn a_newer_schema_is_refused(env: Env) {
    drop(env.open(Role::Tool));
    match &env.url {
        None => {
            let db = rusqlite::Connection::open(env.dir.path().join("pillarbox.db")).unwrap();
            db.execute("INSERT INTO schema_migrations VALUES (999, 0)", [])
                .unwrap();
        }
        Some(url) => {
            let name = url.rsplit('/').next().unwrap().split('?').next().unwrap();
            common::postgres::server().psql(name, "INSERT INTO schema_migrations VALUES (999, 0)");
        }
    }
    let err = Store::open_with(env.dir.path(), Role::Tool, env.options("node-a")).unwrap_err();
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

async fn new_accounts_get_the_default_mailboxes(env: Env) {
    let (store, a) = store_with_account(&env).await;
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

async fn unreferenced_blob_is_removed_by_gc(env: Env) {
    for mode in MODES {
        let fresh = Env::new(env.engine);
        unreferenced_blob_is_removed_by_gc_in(&fresh, mode).await;
    }
}

async fn unreferenced_blob_is_removed_by_gc_in(env: &Env, mode: usize) {
    let store = env.open_inline(mode);
    let a = with_account(&store).await;
    let m = message(&store, "Subject: hi\r\n\r\nbody\r\n").await;
    let hash = m.blob.hash.clone();
    store.deliver(m, vec![inbox(&a)], None).await.unwrap();
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), Some(1));

    // Referenced blobs survive a collection.
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.unreferenced, 0);
    assert!(store.blobs().exists(&hash).await);

    // Deleting the only account that shows the message drops the last reference.
    store.account_delete(a.id).await.unwrap();
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), Some(0));
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.unreferenced, 1);
    assert!(!store.blobs().exists(&hash).await);
    assert_eq!(store.blob_refcount(&hash).await.unwrap(), None);
}

async fn a_blob_shared_by_two_accounts_lives_until_both_let_go(env: Env) {
    for mode in MODES {
        let fresh = Env::new(env.engine);
        shared_blob_in(&fresh, mode).await;
    }
}

async fn shared_blob_in(env: &Env, mode: usize) {
    let store = env.open_inline(mode);
    let a = with_account(&store).await;
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
    assert!(store.blobs().exists(&hash).await, "bob still shows it");
    store.account_delete(b.id).await.unwrap();
    store.collect_garbage(Duration::ZERO).await.unwrap();
    assert!(!store.blobs().exists(&hash).await);
}

#[tokio::test]
async fn orphan_blob_files_are_swept_but_recent_ones_kept() {
    let env = Env::new(Engine::Sqlite);
    let store = env.open_inline(0);
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
    assert!(store.blobs().exists(&orphan.hash).await);
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.orphans, 1);
    assert!(!store.blobs().exists(&orphan.hash).await);
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
    assert!(!store.blobs().exists(&h).await, "no visible blob");
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

async fn concurrent_writes_share_commits(env: Env) {
    let store = env.open(Role::Server);
    let before = store.commits();
    let writes = (0..200).map(|i| {
        let s = store.clone();
        async move { s.domain_create(&format!("d{i}.example")).await }
    });
    let results = futures::future::join_all(writes).await;
    assert!(results.iter().all(Result::is_ok));
    let commits = store.commits() - before;
    // SQLite's one writer batches them; PostgreSQL commits each on its own connection
    // (and batches the WAL flushes itself).
    if env.engine == Engine::Sqlite {
        assert!(
            commits < 100,
            "200 concurrent writes took {commits} commits"
        );
    }
    assert_eq!(store.domain_list().await.unwrap().len(), 200);
}

async fn a_failing_job_does_not_spoil_its_batch(env: Env) {
    let store = env.open(Role::Server);
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

async fn deliveries_get_increasing_uids_and_announce_after_commit(env: Env) {
    let (store, a) = store_with_account(&env).await;
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

async fn quota_refuses_one_target_not_the_others(env: Env) {
    let (store, a) = store_with_account(&env).await;
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

async fn remote_recipients_are_queued_with_the_blob(env: Env) {
    let store = env.open(Role::Server);
    let m = message(&store, "Subject: out\r\n\r\nx\r\n").await;
    let hash = m.blob.hash.clone();
    let q = NewQueuedMessage {
        sender: "a@example.test".into(),
        envid: None,
        ret: None,
        account: None,
        source: "test".into(),
        route: None,
        trace: None,
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

async fn changes_by_a_tool_process_reach_the_server(env: Env) {
    let (server, a) = store_with_account(&env).await;
    let _poller = server.spawn_background(Duration::from_millis(20));
    let mut feed = server.changes().subscribe();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let tool = env.open(Role::Tool);
    let m = message(&tool, "Subject: from sendmail\r\n\r\nx\r\n").await;
    tool.deliver(m, vec![inbox(&a)], None).await.unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(change, Change::Mailbox { account, .. } if account == a.id));
}

async fn small_blobs_live_in_the_database_large_ones_elsewhere(env: Env) {
    let (store, a) = store_with_account(&env).await;
    let small = message(&store, "Subject: small\r\n\r\nx\r\n").await;
    assert!(small.blob.inline.is_some());
    assert!(
        !store.blobs().path(&small.blob.hash).exists(),
        "no file for a small blob"
    );
    // Larger than one PostgreSQL chunk (256 KiB), so ranges cross chunk boundaries.
    let big_body = format!(
        "Subject: big\r\n\r\n{}",
        (0..300_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect::<String>()
    );
    let big = message(&store, &big_body).await;
    assert!(big.blob.inline.is_none());
    // Files on the embedded engine; rows in the database on PostgreSQL (nodes share
    // no disk).
    assert_eq!(
        store.blobs().path(&big.blob.hash).is_file(),
        env.engine == Engine::Sqlite
    );
    let (hs, hb) = (small.blob.hash.clone(), big.blob.hash.clone());
    store.deliver(small, vec![inbox(&a)], None).await.unwrap();
    store.deliver(big, vec![inbox(&a)], None).await.unwrap();
    assert_eq!(
        store.blobs().read(&hs).await.unwrap(),
        b"Subject: small\r\n\r\nx\r\n"
    );
    assert_eq!(store.blobs().read(&hb).await.unwrap(), big_body.as_bytes());
    let blobs = store.blobs().clone();
    let (hs2, hb2) = (hs.clone(), hb.clone());
    let (small_range, big_range, tail) = tokio::task::spawn_blocking(move || {
        (
            blobs.read_range_blocking(&hs2, 9, 5).unwrap(),
            blobs.read_range_blocking(&hb2, 262_000, 5_000).unwrap(),
            blobs.read_range_blocking(&hb2, 299_000, 10_000).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(small_range, b"small");
    assert_eq!(big_range, &big_body.as_bytes()[262_000..267_000]);
    assert_eq!(tail, &big_body.as_bytes()[299_000..]);
    let contents = store.blob_contents(vec![hs, hb]).await.unwrap();
    assert_eq!(contents[1].as_deref(), Some(big_body.as_bytes()));
    // An inline blob that was never referenced leaves nothing behind.
    let lost = store
        .blobs()
        .put(b"never referenced".to_vec())
        .await
        .unwrap();
    assert!(!store.blobs().exists(&lost.hash).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_run_once_and_nodes_need_distinct_names() {
    let env = Env::new(Engine::Postgres);
    let first = env.open(Role::Server);
    first.domain_create("example.test").await.unwrap();
    // Another process on the same database: migrations already applied, data shared.
    let second = env.open_with(Role::Server, env.options("node-b"));
    assert_eq!(second.domain_list().await.unwrap().len(), 1);
    let name = env.url.as_ref().unwrap().rsplit('/').next().unwrap();
    let name = name.split('?').next().unwrap();
    assert_eq!(
        common::postgres::server().psql(name, "SELECT COUNT(*) FROM schema_migrations"),
        pillarbox_store::SCHEMA_VERSION.to_string()
    );
    // A second server under a name already in use is refused, clearly.
    let err = Store::open_with(env.dir.path(), Role::Server, env.options("node-a")).unwrap_err();
    assert!(
        err.to_string().contains("another Pillarbox node named"),
        "{err}"
    );
    // Tools never take a node name.
    env.open(Role::Tool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_orphan_chunks_are_swept_but_recent_ones_kept() {
    let env = Env::new(Engine::Postgres);
    let store = env.open_inline(0);
    // Chunks written but never referenced: a crash between their commit and the
    // delivery's.
    let orphan = store.blobs().put(vec![b'o'; 300_000]).await.unwrap();
    let r = store
        .collect_garbage(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        r.orphans, 0,
        "recent chunks may belong to a write in flight"
    );
    assert!(store.blobs().exists(&orphan.hash).await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = store.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(r.orphans, 1);
    assert!(!store.blobs().exists(&orphan.hash).await);
}
