//! The quarantine and the greylist through the store, on both engines: a quarantined
//! message holds its blob until deleted or expired; greylisting refuses a first
//! attempt, passes a retry after the delay, and whitelists a network after N passes.

mod common;

use common::Env;
use pillarbox_store::{GreylistPolicy, NewQuarantined, Role};

conformance!(quarantine_holds_blob_until_deleted, greylist_sequence,);

async fn quarantine_holds_blob_until_deleted(env: Env) {
    let store = env.open(Role::Server);
    let blob = store.blobs().put(b"virus inside".to_vec()).await.unwrap();
    let q = |expires_at| NewQuarantined {
        blob: blob.clone(),
        sender: "bad@evil.test".into(),
        recipients: vec!["alice@example.test".into()],
        account: None,
        reason: "virus Eicar".into(),
        verdict: "{}".into(),
        source: "smtp 192.0.2.1".into(),
        expires_at,
    };
    let a = store.quarantine_put(q(100)).await.unwrap();
    let b = store.quarantine_put(q(i64::MAX)).await.unwrap();
    assert_eq!(store.blob_refcount(&blob.hash).await.unwrap(), Some(2));
    let list = store.quarantine_list(10).await.unwrap();
    assert_eq!(
        list.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![b, a],
        "newest first"
    );
    let got = store.quarantine_get(a).await.unwrap().unwrap();
    assert_eq!(got.recipients, vec!["alice@example.test".to_string()]);
    assert_eq!(got.reason, "virus Eicar");
    assert_eq!(got.size, 12);
    assert_eq!(store.quarantine_expire(1000).await.unwrap(), 1);
    assert!(store.quarantine_get(a).await.unwrap().is_none());
    assert!(store.quarantine_delete(b).await.unwrap());
    assert!(!store.quarantine_delete(b).await.unwrap());
    assert_eq!(store.blob_refcount(&blob.hash).await.unwrap(), Some(0));
}

async fn greylist_sequence(env: Env) {
    let store = env.open(Role::Server);
    let p = GreylistPolicy {
        delay: 300,
        retry_window: 3600,
        auto_whitelist_after: 2,
        remember: 86400,
    };
    let t = "192.0.2.0/24|a@x.test|b@y.test";
    let check = |triplet: &'static str, now: i64| {
        let s = store.clone();
        async move {
            s.greylist_check("192.0.2.0/24", triplet, p, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(check(t, 1000).await, Err(300), "first attempt");
    assert_eq!(check(t, 1100).await, Err(200), "too early");
    assert_eq!(check(t, 1300).await, Ok(()), "retry after the delay");
    assert_eq!(check(t, 5000).await, Ok(()), "remembered");
    // Two passes: the network is whitelisted, a new triplet passes at once.
    assert_eq!(check("192.0.2.0/24|c@x.test|b@y.test", 5001).await, Ok(()));
    // Expired memory: a triplet starts over.
    let other = store.clone();
    assert_eq!(
        other
            .greylist_check("198.51.100.0/24", "198.51.100.0/24|a@x|b@y", p, 10)
            .await
            .unwrap(),
        Err(300)
    );
    assert_eq!(
        other
            .greylist_check("198.51.100.0/24", "198.51.100.0/24|a@x|b@y", p, 10 + 3601)
            .await
            .unwrap(),
        Err(300),
        "a retry after the window starts over"
    );
    assert!(store.greylist_expire(6000).await.unwrap() >= 1);
}
