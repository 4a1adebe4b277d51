//! The queue tables through the store interface: leasing, results, hold and release,
//! retry, removal of finished messages with their blobs.

mod common;

use common::Env;
use pillarbox_store::{
    NewMessage, NewQueuedMessage, QueuedRecipient, RecipientResult, Role, Store,
};

conformance!(
    lease_record_and_removal,
    hold_release_retry_delete,
    leases_are_exclusive_and_each_node_takes_back_only_its_own,
    leases_are_renewed_by_their_holder_and_lapse_without_it,
);

async fn queued(store: &Store, rcpts: &[&str], body: &str) -> pillarbox_store::QueueId {
    let blob = store.blobs().put(body.as_bytes().to_vec()).await.unwrap();
    let q = NewQueuedMessage {
        sender: "a@example.test".into(),
        envid: Some("env1".into()),
        ret: Some("HDRS".into()),
        account: None,
        source: "test".into(),
        route: None,
        trace: None,
        recipients: rcpts
            .iter()
            .map(|r| QueuedRecipient {
                address: r.to_string(),
                orcpt: None,
                notify: Some("FAILURE".into()),
            })
            .collect(),
    };
    let m = NewMessage {
        blob,
        structure: b"{}".to_vec(),
        received_at: 0,
    };
    store
        .deliver(m, vec![], Some(q))
        .await
        .unwrap()
        .queued
        .unwrap()
}

async fn lease_record_and_removal(env: Env) {
    for inline in [64 * 1024, 0] {
        let env = Env::new(env.engine);
        let store = env.open_inline(inline);
        let id = queued(
            &store,
            &["x@one.example", "y@two.example"],
            "Subject: q\r\n\r\nx\r\n",
        )
        .await;
        let now = store.queue_next_due().await.unwrap().unwrap();
        let items = store.queue_lease_due(now, now + 600, 100).await.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].envid.as_deref(), Some("env1"));
        assert_eq!(items[1].domain, "two.example");
        // Leased items are not handed out twice.
        assert!(
            store
                .queue_lease_due(now, now + 600, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.queue_next_due().await.unwrap(), Some(now + 600));

        store
            .queue_record(
                now,
                vec![
                    (
                        items[0].recipient_id,
                        RecipientResult::Delivered {
                            detail: "250 ok".into(),
                        },
                    ),
                    (
                        items[1].recipient_id,
                        RecipientResult::Retry {
                            next_attempt: now + 60,
                            error: "451 later".into(),
                        },
                    ),
                ],
            )
            .await
            .unwrap();
        let list = store.queue_list(Some(id)).await.unwrap();
        assert_eq!(list[0].recipients[0].status, "delivered");
        assert_eq!(list[0].recipients[1].status, "queued");
        assert_eq!(list[0].recipients[1].attempts, 1);
        assert_eq!(
            list[0].recipients[1].last_error.as_deref(),
            Some("451 later")
        );
        assert_eq!(store.queue_next_due().await.unwrap(), Some(now + 60));

        // The last recipient finishing removes the message and releases its blob.
        let items = store
            .queue_lease_due(now + 60, now + 600, 100)
            .await
            .unwrap();
        let hash = items[0].blob.clone();
        store
            .queue_record(
                now + 60,
                vec![(
                    items[0].recipient_id,
                    RecipientResult::Failed {
                        error: "550 no".into(),
                    },
                )],
            )
            .await
            .unwrap();
        assert!(store.queue_list(None).await.unwrap().is_empty());
        assert_eq!(store.blob_refcount(&hash).await.unwrap(), Some(0));
    }
}

async fn hold_release_retry_delete(env: Env) {
    let store = env.open(Role::Server);
    let a = queued(&store, &["x@one.example"], "a").await;
    let b = queued(&store, &["y@one.example"], "b").await;
    assert_eq!(store.queue_set_held(Some(a), true).await.unwrap(), 1);
    let now = store.queue_next_due().await.unwrap().unwrap();
    let items = store.queue_lease_due(now, now + 600, 100).await.unwrap();
    assert_eq!(items.len(), 1, "the held message is skipped");
    assert_eq!(items[0].queue_id, b);
    store
        .queue_record(
            now,
            vec![(
                items[0].recipient_id,
                RecipientResult::Retry {
                    next_attempt: now + 3600,
                    error: "x".into(),
                },
            )],
        )
        .await
        .unwrap();
    assert_eq!(store.queue_set_held(None, false).await.unwrap(), 1);
    assert_eq!(store.queue_retry_now(None, now).await.unwrap(), 2);
    assert_eq!(
        store
            .queue_lease_due(now, now + 600, 100)
            .await
            .unwrap()
            .len(),
        2
    );
    store.queue_delete(a).await.unwrap();
    assert_eq!(store.queue_list(None).await.unwrap().len(), 1);
    assert!(store.queue_delete(a).await.is_err());
}

/// Two nodes (two server processes on PostgreSQL; on SQLite a server and a tool, the
/// one other process that may lease) never lease the same recipient, and a node
/// starting again gives back only the leases it held.
async fn leases_are_exclusive_and_each_node_takes_back_only_its_own(env: Env) {
    let a = env.open(Role::Server);
    let b = match env.engine {
        common::Engine::Postgres => env.open_with(Role::Server, env.options("node-b")),
        common::Engine::Sqlite => env.open(Role::Tool),
    };
    for i in 0..20 {
        queued(&a, &[&format!("r{i}@one.example")], &format!("m{i}")).await;
    }
    // Due by a minute later: the twenty were queued over a second boundary at times,
    // and the last ones were then not due yet at the first one's time.
    let now = a.queue_next_due().await.unwrap().unwrap() + 60;
    let (la, lb) = tokio::join!(
        a.queue_lease_due(now, now + 600, 15),
        b.queue_lease_due(now, now + 600, 15)
    );
    let (mut la, lb) = (la.unwrap(), lb.unwrap());
    // Leasing at the same time, a node may take fewer than it asked for (on
    // PostgreSQL, a row the other node locked and then leased is skipped, not
    // replaced): what is left goes on the next pass.
    la.extend(a.queue_lease_due(now, now + 600, 100).await.unwrap());
    assert_eq!(la.len() + lb.len(), 20, "every recipient leased once");
    let mut ids: Vec<i64> = la.iter().chain(&lb).map(|i| i.recipient_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "no recipient leased twice");
    // Node b starts again: its leases come back, node a's stay.
    assert_eq!(b.queue_clear_leases().await.unwrap(), lb.len());
    let again = a.queue_lease_due(now, now + 600, 100).await.unwrap();
    assert_eq!(again.len(), lb.len());
}

/// A lease lapses at its expiry unless its holder renews it.
async fn leases_are_renewed_by_their_holder_and_lapse_without_it(env: Env) {
    let store = env.open(Role::Server);
    queued(&store, &["x@one.example"], "a").await;
    let now = store.queue_next_due().await.unwrap().unwrap();
    assert_eq!(
        store
            .queue_lease_due(now, now + 10, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .queue_lease_due(now + 5, now + 15, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.queue_renew_leases(now + 20).await.unwrap(), 1);
    assert!(
        store
            .queue_lease_due(now + 15, now + 25, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Not renewed past now + 20: another runner may take it then.
    assert_eq!(
        store
            .queue_lease_due(now + 20, now + 30, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.queue_next_due().await.unwrap(), Some(now + 30));
}
