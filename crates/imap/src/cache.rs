//! A process-wide cache of what sessions read most about messages: the parsed structure
//! (ENVELOPE, BODYSTRUCTURE, section offsets, sort keys) and the top-level header
//! block. Entries are keyed by the blob that holds the message (its content hash): the
//! same key always means the same bytes, so nothing is ever invalidated (a message id,
//! by contrast, is reused once its message is deleted); the cache only forgets the
//! oldest entries when it exceeds its byte budget.
//!
//! The lock is held only to look up or insert an `Arc`: never across I/O or a socket
//! write.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pillarbox_mime::MessageStructure;

use crate::view::BlobKey;

/// What is kept about one message.
#[derive(Debug)]
pub(crate) struct CachedMessage {
    pub structure: Arc<MessageStructure>,
    /// The top-level header block, blank line included.
    pub header: Bytes,
    /// Approximate memory this entry costs.
    pub cost: usize,
}

struct State {
    map: HashMap<BlobKey, Arc<CachedMessage>>,
    order: VecDeque<BlobKey>,
    bytes: usize,
}

/// The cache.
pub(crate) struct MessageCache {
    state: Mutex<State>,
    budget: usize,
}

impl MessageCache {
    /// A cache that holds about `budget` bytes.
    pub(crate) fn new(budget: usize) -> MessageCache {
        MessageCache {
            state: Mutex::new(State {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            budget,
        }
    }

    /// The entries for `ids` that are cached.
    pub(crate) fn get_many(&self, ids: &[BlobKey]) -> HashMap<BlobKey, Arc<CachedMessage>> {
        let Ok(state) = self.state.lock() else {
            return HashMap::new();
        };
        ids.iter()
            .filter_map(|id| state.map.get(id).map(|e| (*id, e.clone())))
            .collect()
    }

    /// Adds entries, forgetting the oldest ones beyond the budget.
    pub(crate) fn insert_many(
        &self,
        entries: impl IntoIterator<Item = (BlobKey, Arc<CachedMessage>)>,
    ) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        for (id, e) in entries {
            if e.cost > self.budget {
                continue;
            }
            state.bytes += e.cost;
            if let Some(old) = state.map.insert(id, e) {
                state.bytes -= old.cost;
            } else {
                state.order.push_back(id);
            }
        }
        while state.bytes > self.budget {
            let Some(id) = state.order.pop_front() else {
                break;
            };
            if let Some(old) = state.map.remove(&id) {
                state.bytes -= old.cost;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cost: usize) -> Arc<CachedMessage> {
        Arc::new(CachedMessage {
            structure: Arc::new(pillarbox_mime::parse(b"Subject: x\r\n\r\n")),
            header: Bytes::from_static(b"Subject: x\r\n\r\n"),
            cost,
        })
    }

    #[test]
    fn oldest_entries_go_first_beyond_the_budget() {
        let c = MessageCache::new(100);
        c.insert_many([([1; 32], entry(40)), ([2; 32], entry(40))]);
        assert_eq!(c.get_many(&[[1; 32], [2; 32]]).len(), 2);
        c.insert_many([([3; 32], entry(40))]);
        let got = c.get_many(&[[1; 32], [2; 32], [3; 32]]);
        assert!(!got.contains_key(&[1; 32]));
        assert_eq!(got.len(), 2);
        c.insert_many([([4; 32], entry(1000))]);
        assert!(c.get_many(&[[4; 32]]).is_empty());
    }
}
