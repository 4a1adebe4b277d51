//! Puts exact octets into a local mailbox through the delivery pipeline, from the test
//! process (the store opened in the tool role beside the running server), so tests can
//! compare what a client retrieves byte for byte with what was delivered.
#![allow(dead_code)]

use std::path::Path;

use pillarbox_config::{AuthSection, IpRanges};
use pillarbox_delivery::{DeliveryPipeline, Envelope, Recipient};
use pillarbox_directory::Directory;
use pillarbox_store::{Role, Store};

/// Delivers each of `messages` to `to`, in order.
pub fn deliver(data_dir: &Path, to: &str, messages: &[&[u8]]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(data_dir, Role::Tool).unwrap();
        let directory = Directory::new(store.clone(), IpRanges::default(), &AuthSection::default());
        let pipeline = DeliveryPipeline::new(directory);
        for raw in messages {
            let blob = store.blobs().put(raw.to_vec()).await.unwrap();
            let envelope = Envelope {
                sender: "sender@remote.example".into(),
                recipients: vec![Recipient::plain(to)],
                source: "test".into(),
                ..Default::default()
            };
            let out = pipeline.deliver(blob, raw, &envelope).await.unwrap();
            assert!(out[0].accepted(), "delivered to {to}: {out:?}");
        }
    });
}
