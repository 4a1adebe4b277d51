//! The queue tables through the store interface: leasing, results, hold and release,
//! retry, removal of finished messages with their blobs.

use pillarbox_store::{
    NewMessage, NewQueuedMessage, QueuedRecipient, RecipientResult, Role, Store, StoreOptions,
};

async fn queued(store: &Store, rcpts: &[&str], body: &str) -> pillarbox_store::QueueId {
    let blob = store.blobs().put(body.as_bytes().to_vec()).await.unwrap();
    let q = NewQueuedMessage {
        sender: "a@example.test".into(),
        envid: Some("env1".into()),
        ret: Some("HDRS".into()),
        account: None,
        source: "test".into(),
        route: None,
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

#[tokio::test]
async fn lease_record_and_removal() {
    for inline in [64 * 1024, 0] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(
            dir.path(),
            Role::Server,
            StoreOptions {
                inline_blob_max: inline,
                ..StoreOptions::default()
            },
        )
        .unwrap();
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

#[tokio::test]
async fn hold_release_retry_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Role::Server).unwrap();
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
