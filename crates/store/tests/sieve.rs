//! Sieve scripts and their memory through the store, on both engines: one active
//! script per account, RFC 5804's rules for delete and rename, server-wide scripts
//! read with the active ones, and remembered keys that expire.

mod common;

use common::Env;
use pillarbox_store::{Role, ServiceFlags, StoreError};

conformance!(
    scripts_one_active_delete_and_rename,
    delivery_reads_active_and_server_scripts,
    memory_expires,
);

async fn scripts_one_active_delete_and_rename(env: Env) {
    let store = env.open(Role::Server);
    store.domain_create("example.test").await.unwrap();
    let a = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    store.sieve_put(a.id, "one", "keep;").await.unwrap();
    store.sieve_put(a.id, "two", "discard;").await.unwrap();
    let generation = |s: &pillarbox_store::Store| {
        let s = s.clone();
        async move {
            s.account_get("alice@example.test")
                .await
                .unwrap()
                .unwrap()
                .sieve_generation
        }
    };
    assert_eq!(generation(&store).await, 0, "no active script");
    store.sieve_activate(a.id, Some("one")).await.unwrap();
    let g1 = generation(&store).await;
    assert!(g1 > 0);
    store.sieve_put(a.id, "two", "discard;").await.unwrap();
    assert_eq!(generation(&store).await, g1, "an inactive script changed");
    store.sieve_activate(a.id, Some("two")).await.unwrap();
    let g2 = generation(&store).await;
    assert!(g2 > g1);
    let list = store.sieve_list(a.id).await.unwrap();
    let active: Vec<&str> = list
        .iter()
        .filter(|s| s.active)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(active, vec!["two"]);
    assert!(matches!(
        store.sieve_activate(a.id, Some("nope")).await,
        Err(StoreError::NotFound(_))
    ));
    // Replacing the active script keeps it active.
    store.sieve_put(a.id, "two", "stop;").await.unwrap();
    let two = store.sieve_get(a.id, "two").await.unwrap().unwrap();
    assert!(two.active && two.content == "stop;");
    assert!(generation(&store).await > g2, "the active script changed");
    assert!(matches!(
        store.sieve_delete(a.id, "two").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.sieve_rename(a.id, "one", "two").await,
        Err(StoreError::Conflict(_))
    ));
    store.sieve_rename(a.id, "two", "main").await.unwrap();
    assert!(store.sieve_get(a.id, "main").await.unwrap().unwrap().active);
    store.sieve_activate(a.id, None).await.unwrap();
    assert_eq!(generation(&store).await, 0);
    store.sieve_delete(a.id, "main").await.unwrap();
    assert!(matches!(
        store.sieve_delete(a.id, "main").await,
        Err(StoreError::NotFound(_))
    ));
    // The account goes, and its scripts with it.
    store.account_delete(a.id).await.unwrap();
    assert!(store.sieve_list(a.id).await.unwrap().is_empty());
}

async fn delivery_reads_active_and_server_scripts(env: Env) {
    let store = env.open(Role::Server);
    store.domain_create("example.test").await.unwrap();
    let a = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    let b = store
        .account_create("bob@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    store.sieve_put(a.id, "mine", "keep;").await.unwrap();
    store.sieve_activate(a.id, Some("mine")).await.unwrap();
    store.sieve_put(b.id, "inactive", "keep;").await.unwrap();
    store.setting_put("sieve:before", "stop;").await.unwrap();
    store
        .setting_put("sieve:after:example.test", "keep;")
        .await
        .unwrap();
    store.setting_put("siever", "not a script").await.unwrap();
    let found = store.sieve_for_delivery(vec![a.id, b.id]).await.unwrap();
    assert_eq!(found.personal.len(), 1);
    assert_eq!(found.personal[0].0, a.id);
    assert_eq!(found.personal[0].1.name, "mine");
    let names: Vec<&str> = found.server.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["sieve:after:example.test", "sieve:before"]);
}

async fn memory_expires(env: Env) {
    let store = env.open(Role::Server);
    store.domain_create("example.test").await.unwrap();
    let a = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    store
        .sieve_memory_put(a.id, vec![("k1".into(), 200), ("k2".into(), 100)], 50)
        .await
        .unwrap();
    let has = |now| store.sieve_memory_has(a.id, vec!["k1".into(), "k2".into(), "k3".into()], now);
    assert_eq!(has(60).await.unwrap().len(), 2);
    assert_eq!(has(150).await.unwrap(), vec!["k1".to_string()]);
    // Refreshing moves the expiry; what expired is forgotten.
    store
        .sieve_memory_put(a.id, vec![("k1".into(), 300)], 150)
        .await
        .unwrap();
    assert_eq!(has(250).await.unwrap(), vec!["k1".to_string()]);
}
