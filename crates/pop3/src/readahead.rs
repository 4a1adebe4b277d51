//! Read-ahead for sequential retrieval. Clients fetch messages in order (RETR 1, RETR 2,
//! ...), and each read of a blob costs a hop to a blocking thread that is dearer than
//! the read of a small message itself. So when a session retrieves message n+1 right
//! after n, the next small messages are read in the same blocking call and kept, within
//! a small per-session budget, for the commands that follow.
//!
//! Owns only those buffers; reads blobs only through the store's `BlobStore`, never
//! writes, never touches the network.

use std::collections::VecDeque;

use pillarbox_store::{BlobHash, BlobStore, StoreError};

use crate::maildrop::Maildrop;

/// Messages up to this wire size are read whole (and may be read ahead).
pub const SMALL: u64 = 64 * 1024;
/// Octets one session may hold read ahead.
const BUDGET: u64 = 256 * 1024;
/// Messages read in one blocking call, at most.
const MAX_BATCH: usize = 32;

/// A session's messages read ahead of their RETR or TOP.
#[derive(Debug, Default)]
pub struct ReadAhead {
    ready: VecDeque<(u32, Vec<u8>)>,
    last: Option<u32>,
}

impl ReadAhead {
    /// The content of small message `msg` (see [`SMALL`]), from the read-ahead or read
    /// now, together with the messages after it when the client is going in order.
    pub async fn small_message(
        &mut self,
        blobs: &BlobStore,
        maildrop: &Maildrop,
        msg: u32,
    ) -> Result<Vec<u8>, StoreError> {
        let sequential = self.last.is_some_and(|l| l.checked_add(1) == Some(msg));
        self.last = Some(msg);
        while self.ready.front().is_some_and(|(n, _)| *n < msg) {
            self.ready.pop_front();
        }
        if let Some((n, _)) = self.ready.front()
            && *n == msg
            && let Some((_, data)) = self.ready.pop_front()
        {
            return Ok(data);
        }
        self.ready.clear();
        let mut plan: Vec<(u32, BlobHash, u64)> = Vec::new();
        if let Ok(m) = maildrop.get(msg) {
            plan.push((msg, m.blob.clone(), m.size));
        }
        if sequential {
            let mut budget = BUDGET;
            for (n, m) in maildrop
                .live()
                .skip_while(|(n, _)| *n as u64 <= u64::from(msg))
            {
                if plan.len() >= MAX_BATCH || m.size > SMALL || m.size > budget {
                    break;
                }
                budget -= m.size;
                plan.push((n as u32, m.blob.clone(), m.size));
            }
        }
        let blobs = blobs.clone();
        let mut read = tokio::task::spawn_blocking(move || {
            plan.into_iter()
                .map(|(n, hash, size)| {
                    let len = usize::try_from(size)
                        .unwrap_or(usize::MAX)
                        .saturating_add(1);
                    (n, blobs.read_range_blocking(&hash, 0, len))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| StoreError::Closed)?
        .into_iter();
        let first = match read.next() {
            Some((_, r)) => r?,
            None => return Err(StoreError::NotFound("message")),
        };
        // Read-ahead failures are not errors: the command that needs one reads it again.
        self.ready
            .extend(read.filter_map(|(n, r)| r.ok().map(|d| (n, d))));
        Ok(first)
    }

    /// Messages held (tests).
    pub fn held(&self) -> usize {
        self.ready.len()
    }
}
