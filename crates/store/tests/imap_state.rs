//! What the store keeps for IMAP SAVEDATE and METADATA, on both engines: every entry
//! gets the time it was saved into its mailbox (APPEND, COPY and MOVE give the new
//! entry a new save date, the source keeps its own; RFC 8514 §3), and annotations of
//! mailboxes and of the server are set all-or-none under an entry limit, follow a
//! renamed mailbox and go with a deleted one (RFC 5464 §4.1, §4.3). STATUS counts what
//! an EXPUNGE would give back (RFC 9208 §4.1.4 DELETED-STORAGE).

mod common;

use common::Env;
use pillarbox_store::{
    AppendMessage, FlagChange, FlagOp, MetadataSet, NewMessage, Role, ServiceFlags, Store,
    StoreError, flags,
};

conformance!(
    entries_record_when_they_were_saved,
    metadata_all_or_none_with_a_limit,
    metadata_follows_and_leaves_with_the_mailbox,
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn entries_record_when_they_were_saved(env: Env) {
    let (store, a) = setup(&env).await;
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let blob = store
        .blobs()
        .put(b"Subject: x\r\n\r\nx".to_vec())
        .await
        .unwrap();
    let before = now();
    let m = AppendMessage {
        message: NewMessage {
            blob,
            structure: b"{}".to_vec(),
            received_at: 1_000,
        },
        flags: 0,
        keywords: String::new(),
        internal_date: Some(1_000),
    };
    store.append(inbox.id, vec![m], true).await.unwrap();
    let e = store.entries(inbox.id).await.unwrap().remove(0);
    // The save date is the time of saving, not the INTERNALDATE the client gave.
    assert_eq!(e.internal_date, 1_000);
    let saved = e.saved_at.expect("a save date");
    assert!(saved >= before && saved <= now(), "{saved}");

    let other = store.mailbox_create(a.id, "Other", None).await.unwrap();
    let third = store.mailbox_create(a.id, "Third", None).await.unwrap();
    store.copy(inbox.id, vec![e.uid], other.id).await.unwrap();
    store
        .move_entries(other.id, vec![1], third.id)
        .await
        .unwrap();
    for mb in [inbox.id, third.id] {
        let got = store.entries(mb).await.unwrap().remove(0);
        assert!(got.saved_at.is_some_and(|s| s >= saved), "{got:?}");
        assert_eq!(got.internal_date, 1_000, "COPY/MOVE keep INTERNALDATE");
    }
    let snap = store.mailbox_snapshot(third.id).await.unwrap();
    assert!(snap.entries[0].entry.saved_at.is_some());

    // DELETED-STORAGE: the sizes of the \Deleted entries.
    assert_eq!(
        store.mailbox_status(inbox.id).await.unwrap().deleted_size,
        0
    );
    store
        .store_flags(
            inbox.id,
            vec![e.uid],
            FlagChange {
                op: FlagOp::Add,
                flags: flags::DELETED,
                keywords: vec![],
                unchanged_since: None,
            },
        )
        .await
        .unwrap();
    let st = store.mailbox_status(inbox.id).await.unwrap();
    assert_eq!((st.deleted, st.deleted_size), (1, e.size));
}

fn set(name: &str, value: Option<&str>) -> (String, Option<Vec<u8>>) {
    (name.to_string(), value.map(|v| v.as_bytes().to_vec()))
}

async fn metadata_all_or_none_with_a_limit(env: Env) {
    let (store, a) = setup(&env).await;
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let r = store
        .metadata_set(
            Some(a.id),
            Some(inbox.id),
            vec![
                set("/private/Comment", Some("mine")),
                set("/shared/comment", Some("ours")),
            ],
            2,
        )
        .await
        .unwrap();
    assert_eq!(r, MetadataSet::Done);
    let list = store.metadata_list(a.id, Some(inbox.id)).await.unwrap();
    assert_eq!(
        list,
        vec![
            ("/private/comment".to_string(), b"mine".to_vec()),
            ("/shared/comment".to_string(), b"ours".to_vec()),
        ],
        "names are stored lowercased"
    );
    // A third entry is over the limit: nothing of the command changes.
    let r = store
        .metadata_set(
            Some(a.id),
            Some(inbox.id),
            vec![
                set("/private/comment", Some("changed")),
                set("/private/x", Some("new")),
            ],
            2,
        )
        .await
        .unwrap();
    assert_eq!(r, MetadataSet::TooMany);
    assert_eq!(
        store.metadata_list(a.id, Some(inbox.id)).await.unwrap(),
        list
    );
    // Removing one and adding one in the same command stays within it; replacing is
    // not adding.
    let r = store
        .metadata_set(
            Some(a.id),
            Some(inbox.id),
            vec![
                set("/SHARED/comment", None),
                set("/private/x", Some("new")),
                set("/private/comment", Some("2")),
            ],
            2,
        )
        .await
        .unwrap();
    assert_eq!(r, MetadataSet::Done);
    let names: Vec<String> = store
        .metadata_list(a.id, Some(inbox.id))
        .await
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["/private/comment", "/private/x"]);

    // Server entries: the account's own and those the administrator set for all.
    store
        .metadata_set(
            None,
            None,
            vec![set("/shared/admin", Some("mailto:postmaster@example.test"))],
            10,
        )
        .await
        .unwrap();
    store
        .metadata_set(
            Some(a.id),
            None,
            vec![set("/private/vendor/x/y", Some("1"))],
            10,
        )
        .await
        .unwrap();
    let b = store
        .account_create("bob@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    let server_a = store.metadata_list(a.id, None).await.unwrap();
    assert_eq!(server_a.len(), 2, "{server_a:?}");
    let server_b = store.metadata_list(b.id, None).await.unwrap();
    assert_eq!(
        server_b,
        vec![(
            "/shared/admin".to_string(),
            b"mailto:postmaster@example.test".to_vec()
        )]
    );
    // Another account's mailbox is not found, neither to read nor to write.
    assert!(matches!(
        store.metadata_list(b.id, Some(inbox.id)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .metadata_set(
                Some(b.id),
                Some(inbox.id),
                vec![set("/private/a", Some("b"))],
                10
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    // Deleting the account removes its annotations, not the administrator's.
    store.account_delete(a.id).await.unwrap();
    assert_eq!(store.metadata_list(b.id, None).await.unwrap(), server_b);
}

async fn metadata_follows_and_leaves_with_the_mailbox(env: Env) {
    let (store, a) = setup(&env).await;
    let m = store.mailbox_create(a.id, "Work", None).await.unwrap();
    store
        .metadata_set(
            Some(a.id),
            Some(m.id),
            vec![set("/shared/comment", Some("w"))],
            10,
        )
        .await
        .unwrap();
    store.mailbox_rename(a.id, "Work", "Job").await.unwrap();
    let job = store.mailbox_get(a.id, "Job").await.unwrap().unwrap();
    assert_eq!(
        store.metadata_list(a.id, Some(job.id)).await.unwrap().len(),
        1
    );
    store.mailbox_delete(a.id, "Job").await.unwrap();
    let again = store.mailbox_create(a.id, "Job", None).await.unwrap();
    assert!(
        store
            .metadata_list(a.id, Some(again.id))
            .await
            .unwrap()
            .is_empty()
    );
}
