//! Loading what FETCH, SEARCH and SORT need of a batch of messages. Structures and
//! header blocks come from the process-wide [`MessageCache`] (keyed by blob) when it has
//! them; the others are read with one `Store::messages` call for the batch and decoded
//! (or recomputed from the raw message when the stored structure cannot be decoded) on
//! a blocking thread. Message bytes are read with one `Store::blob_contents` call per
//! batch, by the blob names the view knows.
//!
//! A message that vanished meanwhile (expunged by another session, blob gone) is simply
//! absent from the result: callers skip it. Never holds a lock across I/O.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use pillarbox_mime::MessageStructure;
use pillarbox_store::{MessageData, MessageId, Store, StoreError};

use crate::cache::{CachedMessage, MessageCache};
use crate::view::{BlobKey, blob_hash, blob_key};

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
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub structure: Arc<MessageStructure>,
    /// The bytes asked for: empty for [`Raw::None`], the header block, or the message.
    pub raw: Bytes,
}

/// Batches are cut so their raw bytes stay below this many octets (one message may be
/// larger on its own).
pub(crate) const BATCH_BYTES: u64 = 16 * 1024 * 1024;

/// Most messages per batch.
pub(crate) const BATCH_MESSAGES: usize = 256;

/// Loads `items` — message ids with the blob the view knows for each — (structures
/// always; raw bytes as `raw` asks). A message whose id now names another blob (it was
/// deleted and the id reused) is left out, like one that no longer exists.
pub(crate) async fn load(
    store: &Store,
    cache: &MessageCache,
    items: Vec<(MessageId, BlobKey)>,
    raw: Raw,
) -> Result<HashMap<MessageId, Loaded>, StoreError> {
    if items.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<BlobKey> = items.iter().map(|i| i.1).collect();
    let cached = cache.get_many(&keys);
    let missing: Vec<MessageId> = items
        .iter()
        .filter(|(_, k)| !cached.contains_key(k))
        .map(|(id, _)| *id)
        .collect();
    let data = if missing.is_empty() {
        Vec::new()
    } else {
        store.messages(missing).await?
    };
    let wanted: HashMap<MessageId, BlobKey> = items.iter().copied().collect();
    let data: Vec<MessageData> = data
        .into_iter()
        .filter(|md| wanted.get(&md.id) == Some(&blob_key(&md.blob)))
        .collect();
    // The bytes to read: the fresh messages (to cut out their header for the cache),
    // and the cached ones too when whole messages are wanted.
    let mut to_read: Vec<(MessageId, BlobKey)> = Vec::new();
    if raw == Raw::Whole {
        to_read.extend(
            items
                .iter()
                .filter(|(_, k)| cached.contains_key(k))
                .copied(),
        );
    }
    to_read.extend(data.iter().map(|md| (md.id, blob_key(&md.blob))));
    let hashes: Vec<_> = to_read.iter().filter_map(|(_, k)| blob_hash(k)).collect();
    let contents = if hashes.is_empty() {
        Vec::new()
    } else {
        store.blob_contents(hashes).await?
    };
    let mut bytes: HashMap<MessageId, Bytes> = HashMap::with_capacity(contents.len());
    for ((id, _), c) in to_read.iter().zip(contents) {
        match c {
            Some(c) => {
                bytes.insert(*id, Bytes::from(c));
            }
            None => tracing::debug!(message = %id, "message blob missing"),
        }
    }
    let mut out = HashMap::with_capacity(items.len());
    for (id, key) in &items {
        if let Some(c) = cached.get(key) {
            let mut l = from_cache(c, raw);
            if raw == Raw::Whole {
                match bytes.get(id) {
                    Some(b) => l.raw = b.clone(),
                    None => continue,
                }
            }
            out.insert(*id, l);
        }
    }
    if !data.is_empty() {
        let fresh = tokio::task::spawn_blocking(move || decode_fresh(data, bytes))
            .await
            .map_err(|_| StoreError::Closed)?;
        for (id, key, entry, whole) in fresh {
            let raw_bytes = match raw {
                Raw::None => Bytes::new(),
                Raw::Header => entry.header.clone(),
                Raw::Whole => whole,
            };
            out.insert(
                id,
                Loaded {
                    structure: entry.structure.clone(),
                    raw: raw_bytes,
                },
            );
            cache.insert_many([(key, entry)]);
        }
    }
    Ok(out)
}

fn from_cache(c: &CachedMessage, raw: Raw) -> Loaded {
    Loaded {
        structure: c.structure.clone(),
        raw: match raw {
            Raw::None | Raw::Whole => Bytes::new(),
            Raw::Header => c.header.clone(),
        },
    }
}

/// Decodes fresh structures (re-parsing the message when the stored one is unusable)
/// and cuts out their header blocks. CPU work: runs on a blocking thread.
fn decode_fresh(
    data: Vec<MessageData>,
    mut bytes: HashMap<MessageId, Bytes>,
) -> Vec<(MessageId, BlobKey, Arc<CachedMessage>, Bytes)> {
    let mut out = Vec::with_capacity(data.len());
    for md in data {
        let Some(whole) = bytes.remove(&md.id) else {
            continue;
        };
        let structure = match serde_json::from_slice::<MessageStructure>(&md.structure) {
            Ok(st) => st,
            Err(_) => {
                tracing::warn!(message = %md.id, "stored structure unreadable; re-parsing");
                pillarbox_mime::parse(&whole)
            }
        };
        let header_len = usize::try_from(structure.root.body_start).unwrap_or(usize::MAX);
        // A copy, so the cache does not keep the whole message alive.
        let header = Bytes::copy_from_slice(&whole[..header_len.min(whole.len())]);
        let cost = md.structure.len() * 3 + header.len() + 128;
        let entry = Arc::new(CachedMessage {
            structure: Arc::new(structure),
            header,
            cost,
        });
        out.push((md.id, blob_key(&md.blob), entry, whole));
    }
    out
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
