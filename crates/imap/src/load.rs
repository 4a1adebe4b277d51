//! Loading what FETCH, SEARCH and SORT need of a batch of messages with one store call:
//! the structures computed at delivery (one `Store::messages` read for the batch), and
//! the raw bytes (the top-level header only, or the whole message) read on a blocking
//! thread. A structure that cannot be decoded is recomputed from the raw message.
//!
//! A message that vanished meanwhile (expunged by another session, blob gone) is simply
//! absent from the result: callers skip it. Never holds a lock across I/O.

use std::collections::HashMap;

use pillarbox_mime::MessageStructure;
use pillarbox_store::{MessageId, Store, StoreError};

/// How much of each message to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Raw {
    /// No raw bytes.
    None,
    /// The top-level header block.
    Header,
    /// The whole message.
    Whole,
}

/// One loaded message.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub structure: MessageStructure,
    /// The bytes read: empty for [`Raw::None`], the header block, or the message.
    pub raw: Vec<u8>,
}

/// Batches are cut so their raw bytes stay below this many octets (one message may be
/// larger on its own).
pub(crate) const BATCH_BYTES: u64 = 16 * 1024 * 1024;

/// Most messages per batch.
pub(crate) const BATCH_MESSAGES: usize = 256;

/// Loads `ids` (structures always; raw bytes as `raw` asks).
pub(crate) async fn load(
    store: &Store,
    ids: Vec<MessageId>,
    raw: Raw,
) -> Result<HashMap<MessageId, Loaded>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let data = store.messages(ids).await?;
    let blobs = store.blobs().clone();
    tokio::task::spawn_blocking(move || {
        let mut out = HashMap::with_capacity(data.len());
        for md in data {
            let parsed: Option<MessageStructure> = serde_json::from_slice(&md.structure).ok();
            let result = match (parsed, raw) {
                (Some(st), Raw::None) => Ok((st, Vec::new())),
                (Some(st), Raw::Header) => {
                    let len = usize::try_from(st.root.body_start).unwrap_or(usize::MAX);
                    blobs.read_range_blocking(&md.blob, 0, len).map(|r| (st, r))
                }
                (Some(st), Raw::Whole) => blobs.read_blocking(&md.blob).map(|r| (st, r)),
                (None, _) => blobs.read_blocking(&md.blob).map(|r| {
                    tracing::warn!(message = %md.id, "stored structure unreadable; re-parsing");
                    (pillarbox_mime::parse(&r), r)
                }),
            };
            match result {
                Ok((structure, raw)) => {
                    out.insert(md.id, Loaded { structure, raw });
                }
                Err(e) => tracing::warn!(message = %md.id, error = %e, "message unreadable"),
            }
        }
        out
    })
    .await
    .map_err(|_| StoreError::Closed)
}

/// Splits `items` (with their sizes) into batches of at most [`BATCH_MESSAGES`] and,
/// when `whole`, at most [`BATCH_BYTES`] octets.
pub(crate) fn batches<T: Copy>(items: &[(T, u64)], whole: bool) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0u64;
    for &(item, size) in items {
        let over = whole && !cur.is_empty() && bytes.saturating_add(size) > BATCH_BYTES;
        if cur.len() == BATCH_MESSAGES || over {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(item);
        bytes = bytes.saturating_add(size);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        let items: Vec<(u32, u64)> = (0..600).map(|i| (i, 1)).collect();
        let b = batches(&items, false);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [256, 256, 88]);
        let big: Vec<(u32, u64)> = vec![(1, BATCH_BYTES), (2, 10), (3, BATCH_BYTES * 2), (4, 1)];
        let b = batches(&big, true);
        assert_eq!(b, vec![vec![1], vec![2], vec![3], vec![4]]);
        assert!(batches::<u32>(&[], true).is_empty());
    }
}
