//! Collection state through the store interface: account CRUD with unique names and
//! redacted secrets, the remote key recorded in the delivery's own transaction (a key
//! seen before stores nothing; a refused message records nothing), forgetting keys,
//! and the run lease.

mod common;

use common::Env;
use pillarbox_store::{
    AccountUpdate, CollectedMark, CollectionUpdate, LocalTarget, NewCollectionAccount, NewMessage,
    Role, ServiceFlags, Store, StoreError,
};

conformance!(
    accounts_crud,
    the_remote_key_is_recorded_with_the_delivery,
    one_run_at_a_time,
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

fn new(a: &pillarbox_store::Account, name: &str) -> NewCollectionAccount {
    NewCollectionAccount {
        account: a.id,
        name: name.into(),
        remote_address: Some("alice@remote.test".into()),
        remote_username: Some("alice".into()),
        remote_secret: Some("hunter2".into()),
        secrets: Some("{\"proxy_password\":\"p\"}".into()),
        settings: "{}".into(),
        enabled: true,
    }
}

async fn accounts_crud(env: Env) {
    let (store, a) = setup(&env).await;
    let c = store.collection_create(new(&a, "work")).await.unwrap();
    assert!(!format!("{c:?}").contains("hunter2"), "secret redacted");
    assert!(matches!(
        store.collection_create(new(&a, "work")).await,
        Err(StoreError::Conflict(_))
    ));
    store.collection_create(new(&a, "home")).await.unwrap();
    let names: Vec<String> = store
        .collection_list(Some(a.id))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["home", "work"]);
    // The queue finds the login by remote address.
    let login = store
        .collection_login_for("ALICE@remote.test")
        .await
        .unwrap();
    assert_eq!(login, Some(("alice".into(), "hunter2".into())));
    let c = store
        .collection_update(
            c.id,
            CollectionUpdate {
                settings: Some("{\"x\":1}".into()),
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((c.settings.as_str(), c.enabled), ("{\"x\":1}", false));
    assert_eq!(c.remote_secret.as_deref(), Some("hunter2"));
    store.collection_delete(c.id).await.unwrap();
    assert!(store.collection_get("work").await.unwrap().is_none());
}

async fn message(store: &Store, body: &str) -> NewMessage {
    NewMessage {
        blob: store.blobs().put(body.as_bytes().to_vec()).await.unwrap(),
        structure: b"{}".to_vec(),
        received_at: 1_700_000_000,
    }
}

async fn the_remote_key_is_recorded_with_the_delivery(env: Env) {
    let (store, a) = setup(&env).await;
    let c = store.collection_create(new(&a, "work")).await.unwrap();
    let target = LocalTarget {
        account: a.id,
        mailbox: None,
        flags: 0,
        keywords: String::new(),
        enforce_quota: true,
    };
    let mark = |k: &str| CollectedMark {
        collection: c.id,
        key: k.into(),
        at: 1_700_000_000,
    };
    let m = message(&store, "one").await;
    store
        .deliver_collected(m.clone(), vec![target.clone()], None, mark("uidl:1"))
        .await
        .unwrap();
    // The same key again: nothing stored.
    let again = store
        .deliver_collected(m, vec![target.clone()], None, mark("uidl:1"))
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyCollected)),
        "{again:?}"
    );
    let inbox = store.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(store.entries(inbox.id).await.unwrap().len(), 1);

    // Over quota: refused, and the key is not recorded, so a later run retries it.
    store
        .account_update(
            a.id,
            AccountUpdate {
                quota_bytes: Some(4),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let big = message(&store, "too large").await;
    let r = store
        .deliver_collected(big, vec![target], None, mark("uidl:2"))
        .await;
    assert!(matches!(r, Err(StoreError::OverQuota)), "{r:?}");
    let seen: Vec<String> = store
        .collection_seen(c.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(seen, ["uidl:1"]);
    assert_eq!(
        store
            .collection_forget(c.id, vec!["uidl:1".into()])
            .await
            .unwrap(),
        1
    );
    assert!(store.collection_seen(c.id).await.unwrap().is_empty());
}

async fn one_run_at_a_time(env: Env) {
    let (store, a) = setup(&env).await;
    let c = store.collection_create(new(&a, "work")).await.unwrap();
    assert!(store.collection_lease(c.id, 100, 200).await.unwrap());
    assert!(!store.collection_lease(c.id, 150, 250).await.unwrap());
    // An expired lease (a crashed run) can be taken.
    assert!(store.collection_lease(c.id, 200, 300).await.unwrap());
    store
        .collection_finish_run(c.id, 210, "ok".into(), true)
        .await
        .unwrap();
    let c = store.collection_by_id(c.id).await.unwrap().unwrap();
    assert_eq!((c.last_run_at, c.last_success_at), (Some(210), Some(210)));
    assert!(store.collection_lease(c.id, 211, 300).await.unwrap());
}
