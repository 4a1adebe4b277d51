//! Secrets at rest: smart-host and collection secrets are sealed in the database file
//! and read back in plaintext through the store; plaintext left by an earlier version
//! is sealed when the store opens; a key that does not match is a clear error on the
//! secret, not on the store.

mod common;

use common::{Engine, Env};
use pillarbox_store::{
    AccountUpdate, CollectionUpdate, NewCollectionAccount, Role, ServiceFlags, Store, StoreError,
    StoreOptions,
};

const SECRETS: [(&str, &str); 3] = [
    ("accounts", "smarthost_password"),
    ("collection_accounts", "remote_secret"),
    ("collection_accounts", "secrets"),
];

conformance!(secrets_are_sealed_in_the_database_and_plain_through_the_store);

/// Every stored value of the secret columns, read from the database itself.
fn raw_of(env: &Env) -> Vec<String> {
    let Some(url) = &env.url else {
        return raw(env.dir.path());
    };
    let db = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let pg = common::postgres::server();
    SECRETS
        .iter()
        .flat_map(|(table, column)| {
            let out = pg.psql(
                db,
                &format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL"),
            );
            out.lines().map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

/// Every stored value of the secret columns, read from the database file itself.
fn raw(dir: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(dir.join("pillarbox.db")).unwrap();
    let mut out = Vec::new();
    for (table, column) in SECRETS {
        let mut st = c
            .prepare(&format!(
                "SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
            ))
            .unwrap();
        let values = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(values.map(Result::unwrap));
    }
    out
}

async fn populate(store: &Store) {
    store.domain_create("example.test").await.unwrap();
    let a = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    store
        .account_update(
            a.id,
            AccountUpdate {
                smarthost_username: Some(Some("alice".into())),
                smarthost_password: Some(Some("smarthost-pw".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .collection_create(NewCollectionAccount {
            account: a.id,
            name: "isp".into(),
            remote_address: Some("alice@remote.test".into()),
            remote_username: Some("alice".into()),
            remote_secret: Some("remote-pw".into()),
            secrets: Some("{\"refresh_token\":\"rt-secret\"}".into()),
            settings: "{}".into(),
            enabled: true,
        })
        .await
        .unwrap();
}

async fn secrets_are_sealed_in_the_database_and_plain_through_the_store(env: Env) {
    let dir = &env.dir;
    let store = env.open(Role::Server);
    populate(&store).await;

    let values = raw_of(&env);
    assert_eq!(values.len(), 3);
    for v in &values {
        assert!(v.starts_with("sealed:1:"), "{v}");
        for plain in ["smarthost-pw", "remote-pw", "rt-secret"] {
            assert!(!v.contains(plain));
        }
    }
    // Nor anywhere in the files (the write-ahead log included).
    for file in ["pillarbox.db", "pillarbox.db-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("remote-pw") && !text.contains("rt-secret"),
            "{file}"
        );
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("secrets.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let a = store
        .account_get("alice@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.smarthost_password.as_deref(), Some("smarthost-pw"));
    let c = store.collection_get("isp").await.unwrap().unwrap();
    assert_eq!(c.remote_secret.as_deref(), Some("remote-pw"));
    assert_eq!(
        c.secrets.as_deref(),
        Some("{\"refresh_token\":\"rt-secret\"}")
    );
    assert_eq!(
        store
            .collection_login_for("alice@remote.test")
            .await
            .unwrap(),
        Some(("alice".into(), "remote-pw".into()))
    );
    let listed = store.collection_list(None).await.unwrap();
    assert_eq!(listed[0].remote_secret.as_deref(), Some("remote-pw"));

    // Updates seal too; clearing a secret stores nothing.
    let c = store
        .collection_update(
            c.id,
            CollectionUpdate {
                remote_secret: Some(Some("new-pw".into())),
                secrets: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(c.remote_secret.as_deref(), Some("new-pw"));
    assert_eq!(c.secrets, None);
    let values = raw_of(&env);
    assert_eq!(values.len(), 2);
    assert!(values.iter().all(|v| v.starts_with("sealed:1:")));
}

#[tokio::test]
async fn plaintext_from_before_is_sealed_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), Role::Server).unwrap();
        populate(&store).await;
    }
    // As an earlier version left it: plaintext, and no record of a sealing pass.
    {
        let c = rusqlite::Connection::open(dir.path().join("pillarbox.db")).unwrap();
        c.execute("DELETE FROM counters WHERE name = 'secrets_sealed'", [])
            .unwrap();
        c.execute(
            "UPDATE collection_accounts SET remote_secret = 'old-plain', secrets = NULL",
            [],
        )
        .unwrap();
        c.execute(
            "UPDATE accounts SET smarthost_password = 'old-smarthost'",
            [],
        )
        .unwrap();
    }
    let store = Store::open(dir.path(), Role::Tool).unwrap();
    let values = raw(dir.path());
    assert_eq!(values.len(), 2);
    assert!(
        values.iter().all(|v| v.starts_with("sealed:1:")),
        "{values:?}"
    );
    let c = store.collection_get("isp").await.unwrap().unwrap();
    assert_eq!(c.remote_secret.as_deref(), Some("old-plain"));
    let a = store
        .account_get("alice@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.smarthost_password.as_deref(), Some("old-smarthost"));
}

#[tokio::test]
async fn a_key_elsewhere_and_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let options = |key: &str| StoreOptions {
        secrets_key: Some(keys.path().join(key)),
        ..StoreOptions::default()
    };
    {
        let store = Store::open_with(dir.path(), Role::Server, options("one.key")).unwrap();
        populate(&store).await;
    }
    assert!(keys.path().join("one.key").is_file());
    assert!(!dir.path().join("secrets.key").exists());

    // Another key: the store opens and works; the secrets say what is wrong.
    let store = Store::open_with(dir.path(), Role::Server, options("two.key")).unwrap();
    assert!(store.domain_get("example.test").await.unwrap().is_some());
    // An account still logs in and receives mail; its smart-host password is left out.
    let a = store
        .account_get("alice@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.smarthost_password, None);
    let err = store.collection_get("isp").await.unwrap_err();
    assert!(matches!(err, StoreError::Secret(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("collection_accounts.remote_secret") && text.contains("two.key"),
        "{text}"
    );
    drop(store);

    let store = Store::open_with(dir.path(), Role::Server, options("one.key")).unwrap();
    let c = store.collection_get("isp").await.unwrap().unwrap();
    assert_eq!(c.remote_secret.as_deref(), Some("remote-pw"));
}

/// Every node of a cluster seals with the same key: a node with another key is refused
/// at start, saying what to do, rather than sealing secrets the others cannot open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_key_is_refused() {
    let env = Env::new(Engine::Postgres);
    let keys = tempfile::tempdir().unwrap();
    let first = StoreOptions {
        secrets_key: Some(keys.path().join("one.key")),
        ..env.options("node-a")
    };
    let store = env.open_with(Role::Server, first);
    populate(&store).await;
    let other = StoreOptions {
        secrets_key: Some(keys.path().join("two.key")),
        ..env.options("node-b")
    };
    let err = Store::open_with(env.dir.path(), Role::Server, other).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("two.key") && text.contains("copy the key file"),
        "{text}"
    );
    // The same key, copied: the node joins and reads the secrets.
    std::fs::copy(keys.path().join("one.key"), keys.path().join("copy.key")).unwrap();
    let joined = StoreOptions {
        secrets_key: Some(keys.path().join("copy.key")),
        ..env.options("node-b")
    };
    let b = env.open_with(Role::Server, joined);
    let c = b.collection_get("isp").await.unwrap().unwrap();
    assert_eq!(c.remote_secret.as_deref(), Some("remote-pw"));
}
