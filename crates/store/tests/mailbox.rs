//! Mailbox operations through the store interface: flags with MODSEQ, CONDSTORE
//! UNCHANGEDSINCE, expunge with tombstones, copy and move, rename (INBOX and
//! hierarchies), subscriptions, status counts, \Recent claiming, quota on append.

mod common;

use common::Env;
use pillarbox_store::{
    AccountUpdate, AppendMessage, FlagChange, FlagOp, NewMessage, Role, ServiceFlags, Store,
    StoreError, flags,
};

conformance!(
    append_flags_modseq_and_unchangedsince,
    expunge_leaves_tombstones_and_frees_quota,
    copy_and_move_share_the_message,
    rename_hierarchy_and_inbox,
    subscriptions_are_by_name,
    recent_is_claimed_once_and_quota_refuses_append,
);

async fn setup(env: &Env) -> (Store, pillarbox_store::Account) {
    let store = env.open(Role::Server);
    store.domain_create("example.test").await.unwrap();
    let a = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    (store, a)
}

async fn msg(store: &Store, body: &str) -> AppendMessage {
    let blob = store.blobs().put(body.as_bytes().to_vec()).await.unwrap();
    AppendMessage {
        message: NewMessage {
            blob,
            structure: b"{}".to_vec(),
            received_at: 1_700_000_000,
        },
        flags: 0,
        keywords: String::new(),
        internal_date: None,
    }
}

async fn append_flags_modseq_and_unchangedsince(env: Env) {
    let (store, a) = setup(&env).await;
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let m1 = msg(&store, "a").await;
    let m2 = msg(&store, "bb").await;
    let r = store.append(inbox.id, vec![m1, m2], true).await.unwrap();
    assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2]);
    let before = store.mailbox_status(inbox.id).await.unwrap();
    assert_eq!((before.messages, before.unseen, before.size), (2, 2, 3));

    let out = store
        .store_flags(
            inbox.id,
            vec![1, 2],
            FlagChange {
                op: FlagOp::Add,
                flags: flags::SEEN,
                keywords: vec!["$Label1".into()],
                unchanged_since: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(out.changed.len(), 2);
    let m = out.changed[0].modseq;
    assert!(m > before.highestmodseq);
    assert_eq!(out.changed[0].keywords, "$Label1");

    // UNCHANGEDSINCE below the entries' modseq refuses them.
    let out = store
        .store_flags(
            inbox.id,
            vec![1],
            FlagChange {
                op: FlagOp::Remove,
                flags: flags::SEEN,
                keywords: vec![],
                unchanged_since: Some(m - 1),
            },
        )
        .await
        .unwrap();
    assert_eq!(out.modified, vec![1]);
    assert!(out.changed.is_empty());

    let (changed, gone) = store
        .entries_changed_since(inbox.id, before.highestmodseq)
        .await
        .unwrap();
    assert_eq!(changed.len(), 2);
    assert!(gone.is_empty());
    assert_eq!(store.mailbox_status(inbox.id).await.unwrap().unseen, 0);
}

async fn expunge_leaves_tombstones_and_frees_quota(env: Env) {
    let (store, a) = setup(&env).await;
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let ms = vec![
        msg(&store, "1").await,
        msg(&store, "22").await,
        msg(&store, "333").await,
    ];
    store.append(inbox.id, ms, true).await.unwrap();
    let hs = store.mailbox_status(inbox.id).await.unwrap().highestmodseq;
    store
        .store_flags(
            inbox.id,
            vec![1, 3],
            FlagChange {
                op: FlagOp::Add,
                flags: flags::DELETED,
                keywords: vec![],
                unchanged_since: None,
            },
        )
        .await
        .unwrap();
    // UID EXPUNGE limited to 3.
    assert_eq!(
        store
            .expunge_deleted(inbox.id, Some(vec![3]))
            .await
            .unwrap(),
        vec![3]
    );
    assert_eq!(
        store.expunge_deleted(inbox.id, None).await.unwrap(),
        vec![1]
    );
    let (_, gone) = store.entries_changed_since(inbox.id, hs).await.unwrap();
    assert_eq!(gone, vec![1, 3]);
    let uids: Vec<u32> = store
        .entries(inbox.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.uid)
        .collect();
    assert_eq!(uids, vec![2]);
    assert_eq!(
        store
            .account_get_by_id(a.id)
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        2
    );
    // POP3-style expunge of exact UIDs ignores flags.
    assert_eq!(
        store.expunge_uids(inbox.id, vec![2]).await.unwrap(),
        vec![2]
    );
    assert_eq!(
        store
            .account_get_by_id(a.id)
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        0
    );
}

async fn copy_and_move_share_the_message(env: Env) {
    let (store, a) = setup(&env).await;
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let archive = store.mailbox_get(a.id, "Archive").await.unwrap().unwrap();
    let m = msg(&store, "hello").await;
    let hash = m.message.blob.hash.clone();
    store.append(inbox.id, vec![m], true).await.unwrap();
    assert_eq!(
        store.copy(inbox.id, vec![1], archive.id).await.unwrap(),
        vec![(1, 1)]
    );
    assert_eq!(
        store.blob_refcount(&hash).await.unwrap(),
        Some(1),
        "one message row, one blob ref"
    );
    assert_eq!(
        store
            .move_entries(inbox.id, vec![1], archive.id)
            .await
            .unwrap(),
        vec![(1, 2)]
    );
    assert!(store.entries(inbox.id).await.unwrap().is_empty());
    assert_eq!(store.entries(archive.id).await.unwrap().len(), 2);
    let ids: Vec<_> = store
        .entries(archive.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(ids[0], ids[1]);
    let data = store.messages(vec![ids[0]]).await.unwrap();
    assert_eq!(store.blobs().read(&data[0].blob).await.unwrap(), b"hello");
}

async fn rename_hierarchy_and_inbox(env: Env) {
    let (store, a) = setup(&env).await;
    for n in ["Work", "Work/2024", "Work/2024/Q1", "Workshop"] {
        store.mailbox_create(a.id, n, None).await.unwrap();
    }
    store.mailbox_rename(a.id, "Work", "Jobs").await.unwrap();
    let names: Vec<String> = store
        .mailbox_list(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert!(names.contains(&"Jobs/2024/Q1".to_string()), "{names:?}");
    assert!(
        names.contains(&"Workshop".to_string()),
        "a sibling with the same prefix is untouched"
    );
    assert!(!names.iter().any(|n| n.starts_with("Work/")));

    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    store
        .append(inbox.id, vec![msg(&store, "x").await], true)
        .await
        .unwrap();
    store.mailbox_rename(a.id, "INBOX", "Old").await.unwrap();
    let old = store.mailbox_get(a.id, "Old").await.unwrap().unwrap();
    assert_eq!(store.entries(old.id).await.unwrap().len(), 1);
    let inbox_after = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(inbox_after.id, inbox.id, "INBOX stays");
    assert!(store.entries(inbox.id).await.unwrap().is_empty());

    assert!(matches!(
        store.mailbox_delete(a.id, "INBOX").await,
        Err(StoreError::Conflict(_))
    ));
    store.mailbox_delete(a.id, "Old").await.unwrap();
    // A recreated name gets a new UIDVALIDITY.
    let again = store.mailbox_create(a.id, "Old", None).await.unwrap();
    assert_ne!(again.uidvalidity, old.uidvalidity);
}

async fn subscriptions_are_by_name(env: Env) {
    let (store, a) = setup(&env).await;
    assert!(
        store
            .mailbox_subscriptions(a.id)
            .await
            .unwrap()
            .contains(&"INBOX".to_string())
    );
    store
        .mailbox_subscribe(a.id, "Not/There", true)
        .await
        .unwrap();
    assert!(
        store
            .mailbox_subscriptions(a.id)
            .await
            .unwrap()
            .contains(&"Not/There".to_string())
    );
    store
        .mailbox_subscribe(a.id, "Not/There", false)
        .await
        .unwrap();
    assert!(
        !store
            .mailbox_subscriptions(a.id)
            .await
            .unwrap()
            .contains(&"Not/There".to_string())
    );
}

async fn recent_is_claimed_once_and_quota_refuses_append(env: Env) {
    let (store, a) = setup(&env).await;
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    store
        .append(inbox.id, vec![msg(&store, "1").await], true)
        .await
        .unwrap();
    store
        .append(inbox.id, vec![msg(&store, "2").await], true)
        .await
        .unwrap();
    assert_eq!(store.mailbox_status(inbox.id).await.unwrap().recent, 2);
    // A session that has seen UIDNEXT 2 claims UID 1 only.
    assert_eq!(store.claim_recent(inbox.id, 2).await.unwrap(), 1);
    assert_eq!(store.mailbox_status(inbox.id).await.unwrap().recent, 1);
    let delta = store.mailbox_delta(inbox.id, 0).await.unwrap();
    assert_eq!(delta.first_unclaimed_recent, 2);
    // Claiming the same range again gets nothing (first >= up_to); the mark never
    // moves back nor past UIDNEXT.
    assert_eq!(store.claim_recent(inbox.id, 2).await.unwrap(), 2);
    assert_eq!(store.claim_recent(inbox.id, 1).await.unwrap(), 2);
    assert_eq!(store.claim_recent(inbox.id, 99).await.unwrap(), 2);
    assert_eq!(store.claim_recent(inbox.id, 99).await.unwrap(), 3);
    assert_eq!(store.mailbox_status(inbox.id).await.unwrap().recent, 0);
    let snapshot = store.mailbox_snapshot(inbox.id).await.unwrap();
    assert_eq!(snapshot.first_unclaimed_recent, 3);

    store
        .account_update(
            a.id,
            AccountUpdate {
                quota_bytes: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let big = msg(&store, "too big").await;
    assert!(matches!(
        store.append(inbox.id, vec![big], true).await,
        Err(StoreError::OverQuota)
    ));
}
