//! The pipeline against a real store: local, alias, remote and over-quota recipients in
//! one delivery; the structure is stored once.

use pillarbox_config::{AuthSection, IpRanges};
use pillarbox_delivery::{DeliveryPipeline, Envelope, Recipient, RecipientOutcome};
use pillarbox_directory::Directory;
use pillarbox_store::{AccountUpdate, Role, ServiceFlags, Store};

#[tokio::test]
async fn mixed_recipients_in_one_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Role::Server).unwrap();
    store.domain_create("example.test").await.unwrap();
    let alice = store
        .account_create("alice@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    let bob = store
        .account_create("bob@example.test", "x", ServiceFlags::default())
        .await
        .unwrap();
    store
        .account_update(
            bob.id,
            AccountUpdate {
                quota_bytes: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .alias_create("team@example.test", "alice@example.test")
        .await
        .unwrap();
    store
        .alias_create("team@example.test", "friend@remote.example")
        .await
        .unwrap();
    let pipeline = DeliveryPipeline::new(Directory::new(
        store.clone(),
        IpRanges::default(),
        &AuthSection::default(),
    ));

    let raw = b"From: a@remote.example\r\nSubject: hello\r\n\r\nbody\r\n";
    let blob = store.blobs().put(raw.to_vec()).await.unwrap();
    let envelope = Envelope {
        sender: "a@remote.example".into(),
        recipients: [
            "alice@example.test",
            "team@example.test",
            "bob@example.test",
            "x@elsewhere.example",
            "ghost@example.test",
        ]
        .iter()
        .map(|a| Recipient::plain(a))
        .collect(),
        enforce_quota: true,
        source: "test".into(),
        ..Default::default()
    };
    let out = pipeline.deliver(blob, raw, &envelope).await.unwrap();
    assert_eq!(
        out,
        vec![
            RecipientOutcome::Delivered(vec![alice.id]),
            RecipientOutcome::DeliveredAndQueued(vec![alice.id]),
            RecipientOutcome::OverQuota,
            RecipientOutcome::Queued,
            RecipientOutcome::Unknown,
        ]
    );
    // Alice got it once, though two recipients led to her.
    let inbox = store.mailbox_get(alice.id, "INBOX").await.unwrap().unwrap();
    let entries = store.entries(inbox.id).await.unwrap();
    assert_eq!(entries.len(), 1);
    let data = store.messages(vec![entries[0].message]).await.unwrap();
    let s: serde_json::Value = serde_json::from_slice(&data[0].structure).unwrap();
    assert!(
        s.to_string().contains("hello"),
        "structure computed at delivery: {s}"
    );
    // Two remote recipients queued: the direct one and the alias's forward.
    assert_eq!(store.queue_pending_count().await.unwrap(), 2);
}
