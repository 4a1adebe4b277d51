//! What the nodes of a cluster agree on through the store: lock slots, pacing, failed
//! logins, shared settings, and the change feed between nodes. The single-node rules
//! run on both engines; the cross-node ones on PostgreSQL with two server processes
//! (two `Store`s under different node names) sharing one database.

mod common;

use std::time::Duration;

use common::{Engine, Env};
use pillarbox_store::{Change, LocalTarget, NewMessage, Role, ServiceFlags, Store};

conformance!(
    slots_are_limited_and_given_back,
    pacing_spaces_messages_and_idle_names_bank_nothing,
    settings_keep_the_first_value,
);

async fn slots_are_limited_and_given_back(env: Env) {
    let store = env.open(Role::Server);
    let a = store.lock_slot("queue:x", 2).await.unwrap().unwrap();
    let b = store.lock_slot("queue:x", 2).await.unwrap().unwrap();
    assert_ne!(a, b);
    assert!(store.lock_slot("queue:x", 2).await.unwrap().is_none());
    assert!(store.lock_slot("queue:y", 1).await.unwrap().is_some());
    store.unlock_slot(a).await.unwrap();
    assert!(store.lock_slot("queue:x", 2).await.unwrap().is_some());
}

async fn pacing_spaces_messages_and_idle_names_bank_nothing(env: Env) {
    let store = env.open(Role::Server);
    let step = Duration::from_secs(10);
    assert_eq!(store.pace("route:r", step).await.unwrap(), Duration::ZERO);
    let second = store.pace("route:r", step).await.unwrap();
    assert!(
        second > Duration::from_secs(9) && second <= step,
        "{second:?}"
    );
    let third = store.pace("route:r", step).await.unwrap();
    assert!(
        third > Duration::from_secs(19) && third <= step * 2,
        "{third:?}"
    );
    assert_eq!(store.pace("route:s", step).await.unwrap(), Duration::ZERO);
}

async fn settings_keep_the_first_value(env: Env) {
    let store = env.open(Role::Server);
    assert_eq!(store.setting("x").await.unwrap(), None);
    assert_eq!(store.setting_init("x", "one").await.unwrap(), "one");
    assert_eq!(store.setting_init("x", "two").await.unwrap(), "one");
    assert_eq!(store.setting("x").await.unwrap().as_deref(), Some("one"));
    assert_eq!(
        store.secret_setting_init("k", "private").await.unwrap(),
        "private"
    );
    assert_eq!(
        store.secret_setting_init("k", "other").await.unwrap(),
        "private"
    );
    // Sealed in the store.
    assert!(
        store
            .setting("k")
            .await
            .unwrap()
            .unwrap()
            .starts_with("sealed:")
    );
}

fn two_nodes(env: &Env) -> (Store, Store) {
    let a = env.open_with(Role::Server, env.options("node-a"));
    let b = env.open_with(Role::Server, env.options("node-b"));
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_held_by_one_node_is_refused_to_the_other() {
    let env = Env::new(Engine::Postgres);
    let (a, b) = two_nodes(&env);
    let held = a.lock_slot("pop3:7", 1).await.unwrap().unwrap();
    assert!(b.lock_slot("pop3:7", 1).await.unwrap().is_none());
    a.unlock_slot(held).await.unwrap();
    assert!(b.lock_slot("pop3:7", 1).await.unwrap().is_some());
    assert!(a.lock_slot("pop3:7", 1).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_slots_are_taken_back_when_it_starts_again() {
    let env = Env::new(Engine::Postgres);
    let (a, b) = two_nodes(&env);
    let _held = b.lock_slot("queue:x", 1).await.unwrap().unwrap();
    drop(b);
    // Node b starts again (its previous run died holding the slot).
    let b = env.open_with(Role::Server, env.options("node-b"));
    assert!(a.lock_slot("queue:x", 1).await.unwrap().is_some());
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_holds_across_nodes() {
    let env = Env::new(Engine::Postgres);
    let (a, b) = two_nodes(&env);
    let step = Duration::from_secs(10);
    assert_eq!(a.pace("route:r", step).await.unwrap(), Duration::ZERO);
    let next = b.pace("route:r", step).await.unwrap();
    assert!(next > Duration::from_secs(9), "{next:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_add_up_across_nodes() {
    let env = Env::new(Engine::Postgres);
    let (a, b) = two_nodes(&env);
    let (w, l) = (Duration::from_secs(60), Duration::from_secs(300));
    assert!(!a.login_failed("192.0.2.1", 3, w, l).await.unwrap());
    assert!(!b.login_failed("192.0.2.1", 3, w, l).await.unwrap());
    assert!(a.login_locked("192.0.2.1").await.unwrap().is_none());
    assert!(b.login_failed("192.0.2.1", 3, w, l).await.unwrap());
    let wait = a.login_locked("192.0.2.1").await.unwrap().unwrap();
    assert!(wait > Duration::from_secs(200));
    assert!(a.login_locked("192.0.2.2").await.unwrap().is_none());
    b.login_succeeded("192.0.2.1").await.unwrap();
    assert!(a.login_locked("192.0.2.1").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_on_one_node_is_announced_on_the_other() {
    let env = Env::new(Engine::Postgres);
    let (a, b) = two_nodes(&env);
    a.domain_create("example.test").await.unwrap();
    let alice = a
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    let mut feed = b.changes().subscribe();
    let blob = a
        .blobs()
        .put(b"Subject: x\r\n\r\nx\r\n".to_vec())
        .await
        .unwrap();
    let out = a
        .deliver(
            NewMessage {
                blob,
                structure: b"{}".to_vec(),
                received_at: 0,
            },
            vec![LocalTarget {
                account: alice.id,
                mailbox: None,
                flags: 0,
                keywords: String::new(),
                enforce_quota: true,
            }],
            None,
        )
        .await
        .unwrap();
    let mailbox = out.local[0].as_ref().unwrap().mailbox;
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match feed.recv().await.unwrap() {
                Change::Mailbox { mailbox: m, .. } if m == mailbox => return,
                _ => continue,
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "node b heard of the delivery on node a");
    let names: Vec<String> = a
        .nodes()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, vec!["node-a".to_string(), "node-b".to_string()]);
}
