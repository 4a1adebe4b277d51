//! Mailbox operations for IMAP, POP3 and collection: hierarchy, subscriptions, entries,
//! flags, expunge, copy and move. Every change is announced after its commit.

use crate::Store;
use crate::changes::Change;
use crate::error::Result;
use crate::types::{
    AccountId, AppendMessage, Entry, FlagChange, FlagOutcome, Mailbox, MailboxId, MailboxStatus,
    MessageData, MessageId,
};

impl Store {
    /// Creates a mailbox (the caller creates missing parents first if it wants them).
    pub async fn mailbox_create(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> Result<Mailbox> {
        let (n, s) = (name.to_string(), special_use.map(str::to_string));
        db_write!(
            self,
            |t, sql| sql::mailboxes::create(t, account, &n, s.as_deref()),
            |_r| vec![Change::MailboxList { account }]
        )
    }

    /// Deletes a mailbox and its entries (never INBOX).
    pub async fn mailbox_delete(&self, account: AccountId, name: &str) -> Result<()> {
        let n = name.to_string();
        db_write!(
            self,
            |t, sql| sql::mailboxes::delete(t, account, &n),
            |_r| vec![Change::MailboxList { account }]
        )
    }

    /// Renames a mailbox and its children (RFC 9051 §6.3.6, INBOX included).
    pub async fn mailbox_rename(&self, account: AccountId, old: &str, new: &str) -> Result<()> {
        let (o, n) = (old.to_string(), new.to_string());
        // INBOX keeps its id: its messages move out, which sessions must see.
        let inbox = match old {
            "INBOX" => self.mailbox_get(account, "INBOX").await?.map(|m| m.id),
            _ => None,
        };
        db_write!(
            self,
            |t, sql| sql::mailboxes::rename(t, account, &o, &n),
            |_r| {
                let mut changes = vec![Change::MailboxList { account }];
                if let Some(mailbox) = inbox {
                    changes.push(Change::Mailbox { account, mailbox });
                }
                changes
            }
        )
    }

    /// A mailbox by id.
    pub async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        db_read!(self, |c, sql| sql::mailboxes::get_by_id(c, id))
    }

    /// Subscribes or unsubscribes a name (which need not exist).
    pub async fn mailbox_subscribe(&self, account: AccountId, name: &str, on: bool) -> Result<()> {
        let n = name.to_string();
        db_write!(self, |t, sql| sql::mailboxes::subscribe(t, account, &n, on))
    }

    /// Subscribed names, sorted.
    pub async fn mailbox_subscriptions(&self, account: AccountId) -> Result<Vec<String>> {
        db_read!(self, |c, sql| sql::mailboxes::subscriptions(c, account))
    }

    /// Every entry of a mailbox, by UID.
    pub async fn entries(&self, mailbox: MailboxId) -> Result<Vec<Entry>> {
        db_read!(self, |c, sql| sql::entries::list(c, mailbox))
    }

    /// UID, blob and size of every entry, without the parsed structure (POP3).
    pub async fn entry_blobs(
        &self,
        mailbox: MailboxId,
    ) -> Result<Vec<(u32, crate::BlobHash, u64)>> {
        db_read!(self, |c, sql| sql::entries::entry_blobs(c, mailbox))
    }

    /// Entries changed after `modseq` and UIDs expunged after it.
    pub async fn entries_changed_since(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> Result<(Vec<Entry>, Vec<u32>)> {
        db_read!(self, |c, sql| sql::entries::changes_since(
            c, mailbox, modseq
        ))
    }

    /// Counts for STATUS.
    pub async fn mailbox_status(&self, mailbox: MailboxId) -> Result<MailboxStatus> {
        db_read!(self, |c, sql| sql::entries::status(c, mailbox))
    }

    /// Takes the `\Recent` marks of every UID below `up_to` that no session has
    /// claimed yet (a read-write SELECT, or a session told of new mail, claims up to the
    /// UIDNEXT it has seen). Returns the first unclaimed UID as it was before: the
    /// caller's recent UIDs are `first..up_to` (none when `first >= up_to`). Atomic:
    /// two sessions never claim the same UID (RFC 3501 §2.3.2).
    pub async fn claim_recent(&self, mailbox: MailboxId, up_to: u32) -> Result<u32> {
        db_write!(self, |t, sql| sql::entries::claim_recent(t, mailbox, up_to))
    }

    /// Blob, size and structure of messages (missing ones are skipped).
    pub async fn messages(&self, ids: Vec<MessageId>) -> Result<Vec<MessageData>> {
        db_read!(self, |c, sql| sql::entries::message_data(c, &ids))
    }

    /// Appends messages to a mailbox, all or none; returns (UID, MODSEQ) of each.
    pub async fn append(
        &self,
        mailbox: MailboxId,
        messages: Vec<AppendMessage>,
        enforce_quota: bool,
    ) -> Result<Vec<(u32, u64)>> {
        let change = self.mailbox_change(mailbox).await?;
        db_write!(
            self,
            |t, sql| sql::entries::append(t, mailbox, &messages, enforce_quota),
            |_r| change.into_iter().collect()
        )
    }

    /// Import: appends messages keeping the UID each asks for when it is not below the
    /// mailbox's UIDNEXT (otherwise the next UID), without a quota check. Returns the
    /// UID each got.
    pub async fn import_append(
        &self,
        mailbox: MailboxId,
        messages: Vec<(AppendMessage, Option<u32>)>,
    ) -> Result<Vec<u32>> {
        let change = self.mailbox_change(mailbox).await?;
        db_write!(
            self,
            |t, sql| sql::entries::import_append(t, mailbox, &messages),
            |_r| change.into_iter().collect()
        )
    }

    /// Import: gives a mailbox that never held a message the UIDVALIDITY of its
    /// source (so clients that synced against the source keep their cache), and
    /// raises its UIDNEXT to at least `uidnext`. `Conflict` when the mailbox has held
    /// messages and `uidvalidity` differs from its own.
    pub async fn import_uid_state(
        &self,
        mailbox: MailboxId,
        uidvalidity: Option<u32>,
        uidnext: u32,
    ) -> Result<()> {
        let change = self.mailbox_change(mailbox).await?;
        db_write!(
            self,
            |t, sql| sql::entries::import_uid_state(t, mailbox, uidvalidity, uidnext),
            |_r| change.into_iter().collect()
        )
    }

    /// Changes flags of the entries with `uids`.
    pub async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: Vec<u32>,
        change: FlagChange,
    ) -> Result<FlagOutcome> {
        let announce = self.mailbox_change(mailbox).await?;
        db_write!(
            self,
            |t, sql| sql::entries::store_flags(t, mailbox, &uids, &change),
            |r| announce
                .filter(|_| !r.changed.is_empty())
                .into_iter()
                .collect()
        )
    }

    /// Expunges entries flagged \Deleted (all, or only those among `within`).
    pub async fn expunge_deleted(
        &self,
        mailbox: MailboxId,
        within: Option<Vec<u32>>,
    ) -> Result<Vec<u32>> {
        let announce = self.mailbox_change(mailbox).await?;
        db_write!(
            self,
            |t, sql| sql::entries::expunge(t, mailbox, within.as_deref(), true),
            |r| announce.filter(|_| !r.is_empty()).into_iter().collect()
        )
    }

    /// Expunges exactly `uids`, whatever their flags (POP3 UPDATE state).
    pub async fn expunge_uids(&self, mailbox: MailboxId, uids: Vec<u32>) -> Result<Vec<u32>> {
        let announce = self.mailbox_change(mailbox).await?;
        db_write!(
            self,
            |t, sql| sql::entries::expunge(t, mailbox, Some(&uids), false),
            |r| announce.filter(|_| !r.is_empty()).into_iter().collect()
        )
    }

    /// Records that POP3 retrieved `uids` of `mailbox` now and left them on the server
    /// (the EXPIRE policy counts from the first retrieval).
    pub async fn pop3_mark_retrieved(&self, mailbox: MailboxId, uids: Vec<u32>) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let now = crate::sqlite::now();
        db_write!(self, |t, sql| sql::pop3::mark_retrieved(
            t, mailbox, &uids, now
        ))
    }

    /// The EXPIRE policy: expunges every message POP3 retrieved at least `age` ago
    /// (IMAP sessions see the expunges). Returns how many were removed.
    pub async fn pop3_expire(&self, age: std::time::Duration) -> Result<usize> {
        let before = crate::sqlite::now() - age.as_secs() as i64;
        let changed = db_write!(self, |t, sql| sql::pop3::expire(t, before))?;
        let mut removed = 0;
        let mut changes = Vec::new();
        for (mailbox, uids) in changed {
            removed += uids.len();
            changes.extend(self.mailbox_change(mailbox).await?);
        }
        self.announce_late(changes).await?;
        Ok(removed)
    }

    /// Copies entries to another mailbox of the same account.
    pub async fn copy(
        &self,
        src: MailboxId,
        uids: Vec<u32>,
        dst: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let announce = self.mailbox_change(dst).await?;
        db_write!(
            self,
            |t, sql| sql::entries::copy_entries(t, src, &uids, dst, true),
            |r| announce.filter(|_| !r.is_empty()).into_iter().collect()
        )
    }

    /// Moves entries to another mailbox atomically.
    pub async fn move_entries(
        &self,
        src: MailboxId,
        uids: Vec<u32>,
        dst: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let both: Vec<Change> = [
            self.mailbox_change(dst).await?,
            self.mailbox_change(src).await?,
        ]
        .into_iter()
        .flatten()
        .collect();
        db_write!(
            self,
            |t, sql| sql::entries::move_entries(t, src, &uids, dst),
            |r| if r.is_empty() {
                Vec::new()
            } else {
                both.clone()
            }
        )
    }

    /// The change that announces `mailbox` (None when it does not exist).
    async fn mailbox_change(&self, mailbox: MailboxId) -> Result<Option<Change>> {
        // A mailbox never changes owner and ids are never reused: remember the owner.
        let cached = self
            .inner
            .owners
            .lock()
            .ok()
            .and_then(|m| m.get(&mailbox).copied());
        let account = match cached {
            Some(a) => Some(a),
            None => {
                let found = self.mailbox_by_id(mailbox).await?.map(|m| m.account_id);
                if let (Some(a), Ok(mut m)) = (found, self.inner.owners.lock()) {
                    m.insert(mailbox, a);
                }
                found
            }
        };
        Ok(account.map(|account| Change::Mailbox { account, mailbox }))
    }

    /// Announces changes known only after a write committed (SQLite: as usual; on
    /// PostgreSQL with a NOTIFY of its own, which costs no fsync).
    pub(crate) async fn announce_late(&self, changes: Vec<Change>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        match &self.inner.engine {
            crate::engine::Engine::Sqlite { .. } => self.announce(changes).await,
            crate::engine::Engine::Postgres { db } => {
                let incarnation = self.inner.incarnation;
                let sent = changes.clone();
                db.write(move |t| {
                    t.batch("SET LOCAL synchronous_commit TO OFF")?;
                    crate::postgres::listen::notify(t, incarnation, &sent)
                })
                .await?;
                self.publish(changes);
                Ok(())
            }
        }
    }
}
