//! Loading what FETCH, SEARCH and SORT need of a batch of messages: the structure and
//! the header block come from the process-wide [`MessageCache`] (keyed by blob) when it
//! has them, and whole messages are read by the blob name the view knows;
//! the others are read with one `Store::messages` call for the batch and decoded (or
//! recomputed from the raw message when the stored structure cannot be decoded) on a
//! blocking thread, where whole messages are read too.
//!
//! A message that vanished meanwhile (expunged by another session, blob gone) is simply
//! absent from the result: callers skip it. Never holds a lock across I/O.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use pillarbox_mime::MessageStructure;
use pillarbox_store::{BlobStore, MessageData, MessageId, Store, StoreError};

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
    let hits: Vec<(MessageId, BlobKey, Arc<CachedMessage>)> = items
        .iter()
        .filter_map(|(id, k)| cached.get(k).map(|c| (*id, *k, c.clone())))
        .collect();
    if data.is_empty() && raw != Raw::Whole {
        return Ok(hits
            .into_iter()
            .map(|(id, _, c)| (id, from_cache(&c, raw)))
            .collect());
    }
    let blobs = store.blobs().clone();
    let (loaded, fresh) =
        tokio::task::spawn_blocking(move || read_blocking(&blobs, hits, data, raw))
            .await
            .map_err(|_| StoreError::Closed)?;
    cache.insert_many(fresh);
    Ok(loaded)
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

/// Entries to cache, from a fresh read.
type Fresh = Vec<(BlobKey, Arc<CachedMessage>)>;

/// The blocking part: decodes fresh structures, reads headers and whole messages.
fn read_blocking(
    blobs: &BlobStore,
    hits: Vec<(MessageId, BlobKey, Arc<CachedMessage>)>,
    data: Vec<MessageData>,
    raw: Raw,
) -> (HashMap<MessageId, Loaded>, Fresh) {
    let mut out = HashMap::with_capacity(hits.len() + data.len());
    let mut fresh = Vec::with_capacity(data.len());
    for (id, key, c) in hits {
        let mut l = from_cache(&c, raw);
        if raw == Raw::Whole {
            let read = blob_hash(&key).map(|h| blobs.read_blocking(&h));
            match read {
                Some(Ok(bytes)) => l.raw = Bytes::from(bytes),
                Some(Err(e)) => {
                    tracing::debug!(message = %id, error = %e, "message unreadable");
                    continue;
                }
                None => continue,
            }
        }
        out.insert(id, l);
    }
    for md in data {
        match read_fresh(blobs, &md, raw) {
            Ok((entry, whole)) => {
                let raw_bytes = match raw {
                    Raw::None => Bytes::new(),
                    Raw::Header => entry.header.clone(),
                    Raw::Whole => whole.unwrap_or_default(),
                };
                out.insert(
                    md.id,
                    Loaded {
                        structure: entry.structure.clone(),
                        raw: raw_bytes,
                    },
                );
                fresh.push((blob_key(&md.blob), Arc::new(entry)));
            }
            Err(e) => tracing::debug!(message = %md.id, error = %e, "message unreadable"),
        }
    }
    (out, fresh)
}

/// Decodes one message read from the store; reads its header (and the whole message
/// when asked, or when the stored structure is unusable).
fn read_fresh(
    blobs: &BlobStore,
    md: &MessageData,
    raw: Raw,
) -> Result<(CachedMessage, Option<Bytes>), StoreError> {
    let parsed: Option<MessageStructure> = serde_json::from_slice(&md.structure).ok();
    let (structure, whole) = match parsed {
        Some(st) if raw != Raw::Whole => (st, None),
        Some(st) => (st, Some(Bytes::from(blobs.read_blocking(&md.blob)?))),
        None => {
            let bytes = blobs.read_blocking(&md.blob)?;
            tracing::warn!(message = %md.id, "stored structure unreadable; re-parsing");
            (pillarbox_mime::parse(&bytes), Some(Bytes::from(bytes)))
        }
    };
    let header_len = usize::try_from(structure.root.body_start).unwrap_or(usize::MAX);
    let header = match &whole {
        Some(w) => w.slice(..header_len.min(w.len())),
        None => Bytes::from(blobs.read_range_blocking(&md.blob, 0, header_len)?),
    };
    let cost = md.structure.len() * 3 + header.len() + 128;
    Ok((
        CachedMessage {
            structure: Arc::new(structure),
            header,
            cost,
        },
        whole,
    ))
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
