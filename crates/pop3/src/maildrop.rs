//! The maildrop as a POP3 session sees it (RFC 1939 §3, §5, §6): the account's INBOX
//! frozen at login into numbered messages with their exact wire sizes and unique ids,
//! the session's deletion marks, and the in-process lock that gives one session at a
//! time exclusive access to an account's maildrop.
//!
//! This module reads the store but never writes it (the UPDATE state in `cmd::quit`
//! does, through `Store::expunge_uids`), and never touches the network.
//!
//! Unique ids (RFC 1939 §7 UIDL) are `format!("{uidvalidity:08x}{uid:08x}")`: sixteen
//! lowercase hex digits naming the same message IMAP names by UIDVALIDITY and UID, so
//! they are stable across sessions and change only if IMAP's do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pillarbox_store::{AccountId, BlobHash, BlobStore, MailboxId, Slot, Store, StoreError};
use tokio::time::Instant;

use crate::proto::WireSize;

/// One message of the snapshot.
#[derive(Debug, Clone)]
pub struct MaildropMessage {
    pub uid: u32,
    pub blob: BlobHash,
    /// Octets RETR sends before dot-stuffing (see `proto::body`).
    pub size: u64,
}

/// Why a message number cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRefusal {
    /// Outside 1..=count.
    NoSuchMessage { count: usize },
    /// Marked deleted in this session.
    Deleted,
}

/// The session's view of the maildrop: numbers fixed at login, deletion marks.
#[derive(Debug)]
pub struct Maildrop {
    mailbox: MailboxId,
    uidvalidity: u32,
    messages: Vec<MaildropMessage>,
    deleted: Vec<bool>,
    /// Sent whole by RETR in this session (for the EXPIRE policy).
    retrieved: Vec<bool>,
    deleted_count: usize,
    deleted_octets: u64,
    total_octets: u64,
}

impl Maildrop {
    /// Takes the snapshot of `account`'s INBOX (RFC 1939 §4: messages are numbered at
    /// the start of the TRANSACTION state). Sizes come from `sizes`, computed from the
    /// blobs for messages it has not seen yet.
    pub async fn load(
        store: &Store,
        account: AccountId,
        sizes: &WireSizeCache,
    ) -> Result<Maildrop, StoreError> {
        let inbox = store
            .mailbox_get(account, "INBOX")
            .await?
            .ok_or(StoreError::NotFound("INBOX"))?;
        let entries = store.entry_blobs(inbox.id).await?;
        let mut messages = Vec::with_capacity(entries.len());
        let mut unknown = Vec::new();
        for (uid, blob, stored) in entries {
            let size = match sizes.get(&blob) {
                Some(s) => s,
                None => {
                    unknown.push(messages.len());
                    stored
                }
            };
            messages.push(MaildropMessage { uid, blob, size });
        }
        if !unknown.is_empty() {
            let blobs = store.blobs().clone();
            let todo: Vec<(BlobHash, u64)> = unknown
                .iter()
                .map(|&i| (messages[i].blob.clone(), messages[i].size))
                .collect();
            let measured = tokio::task::spawn_blocking(move || {
                todo.iter()
                    .map(|(h, stored)| measure(&blobs, h, *stored))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|_| StoreError::Closed)?;
            for (&i, m) in unknown.iter().zip(measured) {
                match m {
                    Ok(size) => {
                        sizes.insert(&messages[i].blob, size);
                        messages[i].size = size;
                    }
                    // RETR will report the message unavailable; LIST keeps the stored size.
                    Err(e) => {
                        tracing::warn!(blob = %messages[i].blob, error = %e, "cannot measure message")
                    }
                }
            }
        }
        let total_octets = messages.iter().map(|m| m.size).sum();
        Ok(Maildrop {
            mailbox: inbox.id,
            uidvalidity: inbox.uidvalidity,
            deleted: vec![false; messages.len()],
            retrieved: vec![false; messages.len()],
            messages,
            deleted_count: 0,
            deleted_octets: 0,
            total_octets,
        })
    }

    /// A snapshot from known parts (tests).
    pub fn from_parts(
        mailbox: MailboxId,
        uidvalidity: u32,
        messages: Vec<MaildropMessage>,
    ) -> Maildrop {
        let total_octets = messages.iter().map(|m| m.size).sum();
        Maildrop {
            mailbox,
            uidvalidity,
            deleted: vec![false; messages.len()],
            retrieved: vec![false; messages.len()],
            messages,
            deleted_count: 0,
            deleted_octets: 0,
            total_octets,
        }
    }

    /// The INBOX this snapshot is of.
    pub fn mailbox(&self) -> MailboxId {
        self.mailbox
    }

    /// Messages in the snapshot, deleted ones included (the highest message number).
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when the snapshot holds no message at all.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// RFC 1939 §5 STAT: messages and octets not marked deleted.
    pub fn stat(&self) -> (usize, u64) {
        (
            self.messages.len() - self.deleted_count,
            self.total_octets - self.deleted_octets,
        )
    }

    /// The message numbered `msg` (1-based), unless it is out of range or deleted.
    pub fn get(&self, msg: u32) -> Result<&MaildropMessage, MessageRefusal> {
        let i = self.index(msg)?;
        if self.deleted[i] {
            return Err(MessageRefusal::Deleted);
        }
        Ok(&self.messages[i])
    }

    /// Messages not marked deleted, with their numbers.
    pub fn live(&self) -> impl Iterator<Item = (usize, &MaildropMessage)> {
        self.messages
            .iter()
            .zip(&self.deleted)
            .enumerate()
            .filter(|(_, (_, d))| !**d)
            .map(|(i, (m, _))| (i + 1, m))
    }

    /// The unique id of a message (see the module comment).
    pub fn unique_id(&self, m: &MaildropMessage) -> String {
        format!("{:08x}{:08x}", self.uidvalidity, m.uid)
    }

    /// RFC 1939 §5 DELE: marks `msg` deleted.
    pub fn mark_deleted(&mut self, msg: u32) -> Result<(), MessageRefusal> {
        let i = self.index(msg)?;
        if self.deleted[i] {
            return Err(MessageRefusal::Deleted);
        }
        self.deleted[i] = true;
        self.deleted_count += 1;
        self.deleted_octets += self.messages[i].size;
        Ok(())
    }

    /// RFC 1939 §5 RSET: unmarks every message.
    pub fn reset(&mut self) {
        self.deleted.iter_mut().for_each(|d| *d = false);
        self.deleted_count = 0;
        self.deleted_octets = 0;
    }

    /// RETR sent `msg` whole.
    pub fn mark_retrieved(&mut self, msg: u32) {
        if let Ok(i) = self.index(msg) {
            self.retrieved[i] = true;
        }
    }

    /// UIDs of the messages retrieved in this session and not marked deleted.
    pub fn retrieved_kept_uids(&self) -> Vec<u32> {
        self.messages
            .iter()
            .zip(self.retrieved.iter().zip(&self.deleted))
            .filter(|(_, (r, d))| **r && !**d)
            .map(|(m, _)| m.uid)
            .collect()
    }

    /// UIDs of the messages marked deleted, for the UPDATE state.
    pub fn deleted_uids(&self) -> Vec<u32> {
        self.messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| **d)
            .map(|(m, _)| m.uid)
            .collect()
    }

    fn index(&self, msg: u32) -> Result<usize, MessageRefusal> {
        let i = (msg as usize).wrapping_sub(1);
        if i < self.messages.len() {
            Ok(i)
        } else {
            Err(MessageRefusal::NoSuchMessage {
                count: self.messages.len(),
            })
        }
    }
}

/// Reads a blob through the store, piece by piece, to count its wire size. The first
/// piece is sized by the stored size, so a typical message takes one read.
fn measure(blobs: &BlobStore, hash: &BlobHash, stored: u64) -> Result<u64, StoreError> {
    const PIECE: usize = 256 * 1024;
    let mut w = WireSize::default();
    let mut offset = 0u64;
    let mut len = usize::try_from(stored)
        .unwrap_or(PIECE)
        .saturating_add(1)
        .min(PIECE);
    loop {
        let piece = blobs.read_range_blocking(hash, offset, len)?;
        w.feed(&piece);
        offset += piece.len() as u64;
        if piece.len() < len {
            return Ok(w.total());
        }
        len = PIECE;
    }
}

/// Wire sizes of blobs already measured, shared by every session of the process. A
/// blob's content never changes (it is named by its hash), so entries never go stale;
/// the table is cleared when it reaches its cap.
#[derive(Debug)]
pub struct WireSizeCache {
    map: Mutex<HashMap<u128, u64>>,
    cap: usize,
}

impl WireSizeCache {
    /// A cache of at most `cap` entries (about 32 octets each).
    pub fn new(cap: usize) -> WireSizeCache {
        WireSizeCache {
            map: Mutex::new(HashMap::new()),
            cap,
        }
    }

    fn key(blob: &BlobHash) -> u128 {
        // A 128-bit prefix of a SHA-256 is unique enough for a cache key.
        let hex = blob.as_str();
        u128::from_str_radix(hex.get(..32).unwrap_or(hex), 16).unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u128, u64>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The known size of `blob`.
    pub fn get(&self, blob: &BlobHash) -> Option<u64> {
        self.lock().get(&Self::key(blob)).copied()
    }

    /// Records the size of `blob`.
    pub fn insert(&self, blob: &BlobHash, size: u64) {
        let mut map = self.lock();
        if map.len() >= self.cap {
            map.clear();
        }
        map.insert(Self::key(blob), size);
    }
}

/// Why a maildrop lock was not granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockRefusal {
    /// RFC 2449 §8.1.1: another session holds it.
    InUse,
    /// RFC 2449 §8.1.2: the last login was less than the LOGIN-DELAY ago.
    LoginDelay { wait: Duration },
    /// The store could not be asked whether another node holds it.
    Unavailable,
}

#[derive(Debug, Default)]
struct LockTable {
    held: HashSet<AccountId>,
    last_login: HashMap<AccountId, Instant>,
}

/// The in-process registry of locked maildrops, shared by every POP3 listener.
#[derive(Debug, Clone, Default)]
pub struct MaildropLocks {
    table: Arc<Mutex<LockTable>>,
}

impl MaildropLocks {
    /// An empty registry.
    pub fn new() -> MaildropLocks {
        MaildropLocks::default()
    }

    fn lock(&self) -> MutexGuard<'_, LockTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks `account`'s maildrop for one session (RFC 1939 §4), enforcing
    /// `login_delay` between successful logins when one is configured.
    pub fn acquire(
        &self,
        account: AccountId,
        login_delay: Option<Duration>,
    ) -> Result<MaildropLock, LockRefusal> {
        let now = Instant::now();
        let mut t = self.lock();
        if t.held.contains(&account) {
            return Err(LockRefusal::InUse);
        }
        if let (Some(delay), Some(last)) = (login_delay, t.last_login.get(&account)) {
            let since = now.saturating_duration_since(*last);
            if since < delay {
                return Err(LockRefusal::LoginDelay {
                    wait: delay - since,
                });
            }
        }
        t.held.insert(account);
        if login_delay.is_some() {
            t.last_login.insert(account, now);
        }
        Ok(MaildropLock {
            table: self.table.clone(),
            account,
            cluster: None,
        })
    }

    /// True while some session holds `account`'s maildrop.
    pub fn is_locked(&self, account: AccountId) -> bool {
        self.lock().held.contains(&account)
    }
}

/// Exclusive access to one maildrop; released when dropped, whatever ends the session
/// (QUIT, a dropped connection, a timeout, shutdown, or a panic unwinding the task).
#[derive(Debug)]
pub struct MaildropLock {
    table: Arc<Mutex<LockTable>>,
    account: AccountId,
    /// The store's lock, which keeps sessions on other nodes out.
    cluster: Option<(Store, Slot)>,
}

impl MaildropLock {
    /// Extends the lock to every node sharing `store` (RFC 2449 §8.1.1 `[IN-USE]`
    /// when a session on another node holds the maildrop).
    pub async fn across_nodes(mut self, store: &Store) -> Result<MaildropLock, LockRefusal> {
        match store
            .lock_slot(&format!("pop3:{}", self.account.0), 1)
            .await
        {
            Ok(Some(slot)) => {
                self.cluster = Some((store.clone(), slot));
                Ok(self)
            }
            Ok(None) => Err(LockRefusal::InUse),
            Err(e) => {
                tracing::error!(error = %e, "cannot lock the maildrop in the store");
                Err(LockRefusal::Unavailable)
            }
        }
    }
}

impl MaildropLock {
    /// Releases the lock now, the store's part included, before returning: a client
    /// that logs in again (on any node) right after QUIT finds the maildrop free.
    pub async fn release(mut self) {
        if let Some((store, slot)) = self.cluster.take()
            && let Err(e) = store.unlock_slot(slot).await
        {
            tracing::warn!(error = %e, "cannot release the maildrop lock");
        }
        // Drop removes the local entry.
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.held.remove(&self.account);
        if let Some((store, slot)) = self.cluster.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = store.unlock_slot(slot).await {
                    tracing::warn!(error = %e, "cannot release the maildrop lock");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: u8) -> BlobHash {
        BlobHash::parse(&format!("{n:02x}").repeat(32)).unwrap()
    }

    fn drop3() -> Maildrop {
        let msgs = (1..=3)
            .map(|i| MaildropMessage {
                uid: i * 10,
                blob: blob(i as u8),
                size: 100 * i as u64,
            })
            .collect();
        Maildrop::from_parts(MailboxId(7), 0x1234, msgs)
    }

    #[test]
    fn numbering_marks_and_reset() {
        let mut d = drop3();
        assert_eq!(d.stat(), (3, 600));
        assert_eq!(d.get(2).unwrap().uid, 20);
        assert_eq!(
            d.get(4).unwrap_err(),
            MessageRefusal::NoSuchMessage { count: 3 }
        );
        assert_eq!(
            d.get(0).unwrap_err(),
            MessageRefusal::NoSuchMessage { count: 3 }
        );
        d.mark_deleted(2).unwrap();
        assert_eq!(d.mark_deleted(2), Err(MessageRefusal::Deleted));
        assert_eq!(d.get(2).unwrap_err(), MessageRefusal::Deleted);
        assert_eq!(d.stat(), (2, 400));
        // Numbers never shift: message 3 is still 3.
        let live: Vec<usize> = d.live().map(|(n, _)| n).collect();
        assert_eq!(live, vec![1, 3]);
        assert_eq!(d.deleted_uids(), vec![20]);
        d.mark_retrieved(1);
        d.mark_retrieved(2);
        d.mark_retrieved(9);
        assert_eq!(d.retrieved_kept_uids(), vec![10], "20 is deleted");
        d.reset();
        assert_eq!(d.stat(), (3, 600));
        assert!(d.deleted_uids().is_empty());
    }

    #[test]
    fn unique_ids_come_from_uidvalidity_and_uid() {
        let d = drop3();
        assert_eq!(d.unique_id(d.get(1).unwrap()), "000012340000000a");
    }

    #[test]
    fn one_lock_per_account_released_on_drop() {
        let locks = MaildropLocks::new();
        let a = locks.acquire(AccountId(1), None).unwrap();
        assert_eq!(
            locks.acquire(AccountId(1), None).unwrap_err(),
            LockRefusal::InUse
        );
        let _b = locks.acquire(AccountId(2), None).unwrap();
        drop(a);
        assert!(!locks.is_locked(AccountId(1)));
        locks.acquire(AccountId(1), None).unwrap();
    }

    #[test]
    fn lock_is_released_when_a_task_panics() {
        let locks = MaildropLocks::new();
        let l2 = locks.clone();
        let r = std::thread::spawn(move || {
            let _held = l2.acquire(AccountId(5), None).unwrap();
            panic!("session bug");
        })
        .join();
        assert!(r.is_err());
        assert!(!locks.is_locked(AccountId(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn login_delay_between_logins() {
        let locks = MaildropLocks::new();
        let delay = Some(Duration::from_secs(60));
        drop(locks.acquire(AccountId(1), delay).unwrap());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(
            locks.acquire(AccountId(1), delay).unwrap_err(),
            LockRefusal::LoginDelay {
                wait: Duration::from_secs(40)
            }
        );
        tokio::time::advance(Duration::from_secs(40)).await;
        locks.acquire(AccountId(1), delay).unwrap();
    }

    #[test]
    fn size_cache_caps_its_table() {
        let c = WireSizeCache::new(2);
        c.insert(&blob(1), 10);
        c.insert(&blob(2), 20);
        assert_eq!(c.get(&blob(2)), Some(20));
        c.insert(&blob(3), 30);
        assert_eq!(c.get(&blob(1)), None);
        assert_eq!(c.get(&blob(3)), Some(30));
    }
}
