//! Mailbox operations for IMAP, POP3 and collection: hierarchy, subscriptions, entries,
//! flags, expunge, copy and move. Every change is announced after its commit.

use crate::Store;
use crate::changes::Change;
use crate::error::Result;
use crate::sqlite;
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
        let mb = self
            .inner
            .writer
            .write(move |t| sqlite::mailboxes::create(t, account, &n, s.as_deref()))
            .await?;
        self.announce(vec![Change::MailboxList { account }]).await?;
        Ok(mb)
    }

    /// Deletes a mailbox and its entries (never INBOX).
    pub async fn mailbox_delete(&self, account: AccountId, name: &str) -> Result<()> {
        let n = name.to_string();
        self.inner
            .writer
            .write(move |t| sqlite::mailboxes::delete(t, account, &n))
            .await?;
        self.announce(vec![Change::MailboxList { account }]).await
    }

    /// Renames a mailbox and its children (RFC 9051 §6.3.6, INBOX included).
    pub async fn mailbox_rename(&self, account: AccountId, old: &str, new: &str) -> Result<()> {
        let (o, n) = (old.to_string(), new.to_string());
        self.inner
            .writer
            .write(move |t| sqlite::mailboxes::rename(t, account, &o, &n))
            .await?;
        let mut changes = vec![Change::MailboxList { account }];
        if old == "INBOX"
            && let Some(inbox) = self.mailbox_get(account, "INBOX").await?
        {
            changes.push(Change::Mailbox {
                account,
                mailbox: inbox.id,
            });
        }
        self.announce(changes).await
    }

    /// A mailbox by id.
    pub async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        self.inner
            .readers
            .read(move |c| sqlite::mailboxes::get_by_id(c, id))
            .await
    }

    /// Subscribes or unsubscribes a name (which need not exist).
    pub async fn mailbox_subscribe(&self, account: AccountId, name: &str, on: bool) -> Result<()> {
        let n = name.to_string();
        self.inner
            .writer
            .write(move |t| sqlite::mailboxes::subscribe(t, account, &n, on))
            .await
    }

    /// Subscribed names, sorted.
    pub async fn mailbox_subscriptions(&self, account: AccountId) -> Result<Vec<String>> {
        self.inner
            .readers
            .read(move |c| sqlite::mailboxes::subscriptions(c, account))
            .await
    }

    /// Every entry of a mailbox, by UID.
    pub async fn entries(&self, mailbox: MailboxId) -> Result<Vec<Entry>> {
        self.inner
            .readers
            .read(move |c| sqlite::entries::list(c, mailbox))
            .await
    }

    /// UID, blob and size of every entry, without the parsed structure (POP3).
    pub async fn entry_blobs(
        &self,
        mailbox: MailboxId,
    ) -> Result<Vec<(u32, crate::BlobHash, u64)>> {
        self.inner
            .readers
            .read(move |c| sqlite::entries::entry_blobs(c, mailbox))
            .await
    }

    /// Entries changed after `modseq` and UIDs expunged after it.
    pub async fn entries_changed_since(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> Result<(Vec<Entry>, Vec<u32>)> {
        self.inner
            .readers
            .read(move |c| sqlite::entries::changes_since(c, mailbox, modseq))
            .await
    }

    /// Counts for STATUS.
    pub async fn mailbox_status(&self, mailbox: MailboxId) -> Result<MailboxStatus> {
        self.inner
            .readers
            .read(move |c| sqlite::entries::status(c, mailbox))
            .await
    }

    /// Takes the \Recent marks (a read-write SELECT); returns the first recent UID.
    pub async fn claim_recent(&self, mailbox: MailboxId) -> Result<u32> {
        self.inner
            .writer
            .write(move |t| sqlite::entries::claim_recent(t, mailbox))
            .await
    }

    /// Blob, size and structure of messages (missing ones are skipped).
    pub async fn messages(&self, ids: Vec<MessageId>) -> Result<Vec<MessageData>> {
        self.inner
            .readers
            .read(move |c| sqlite::entries::message_data(c, &ids))
            .await
    }

    /// Appends messages to a mailbox, all or none; returns (UID, MODSEQ) of each.
    pub async fn append(
        &self,
        mailbox: MailboxId,
        messages: Vec<AppendMessage>,
        enforce_quota: bool,
    ) -> Result<Vec<(u32, u64)>> {
        let r = self
            .inner
            .writer
            .write(move |t| sqlite::entries::append(t, mailbox, &messages, enforce_quota))
            .await?;
        self.announce_mailbox(mailbox).await?;
        Ok(r)
    }

    /// Changes flags of the entries with `uids`.
    pub async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: Vec<u32>,
        change: FlagChange,
    ) -> Result<FlagOutcome> {
        let r = self
            .inner
            .writer
            .write(move |t| sqlite::entries::store_flags(t, mailbox, &uids, &change))
            .await?;
        if !r.changed.is_empty() {
            self.announce_mailbox(mailbox).await?;
        }
        Ok(r)
    }

    /// Expunges entries flagged \Deleted (all, or only those among `within`).
    pub async fn expunge_deleted(
        &self,
        mailbox: MailboxId,
        within: Option<Vec<u32>>,
    ) -> Result<Vec<u32>> {
        let r = self
            .inner
            .writer
            .write(move |t| sqlite::entries::expunge(t, mailbox, within.as_deref(), true))
            .await?;
        if !r.is_empty() {
            self.announce_mailbox(mailbox).await?;
        }
        Ok(r)
    }

    /// Expunges exactly `uids`, whatever their flags (POP3 UPDATE state).
    pub async fn expunge_uids(&self, mailbox: MailboxId, uids: Vec<u32>) -> Result<Vec<u32>> {
        let r = self
            .inner
            .writer
            .write(move |t| sqlite::entries::expunge(t, mailbox, Some(&uids), false))
            .await?;
        if !r.is_empty() {
            self.announce_mailbox(mailbox).await?;
        }
        Ok(r)
    }

    /// Records that POP3 retrieved `uids` of `mailbox` now and left them on the server
    /// (the EXPIRE policy counts from the first retrieval).
    pub async fn pop3_mark_retrieved(&self, mailbox: MailboxId, uids: Vec<u32>) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        self.inner
            .writer
            .write(move |t| sqlite::pop3::mark_retrieved(t, mailbox, &uids, sqlite::now()))
            .await
    }

    /// The EXPIRE policy: expunges every message POP3 retrieved at least `age` ago
    /// (IMAP sessions see the expunges). Returns how many were removed.
    pub async fn pop3_expire(&self, age: std::time::Duration) -> Result<usize> {
        let before = sqlite::now() - age.as_secs() as i64;
        let changed = self
            .inner
            .writer
            .write(move |t| sqlite::pop3::expire(t, before))
            .await?;
        let mut removed = 0;
        for (mailbox, uids) in changed {
            removed += uids.len();
            self.announce_mailbox(mailbox).await?;
        }
        Ok(removed)
    }

    /// Copies entries to another mailbox of the same account.
    pub async fn copy(
        &self,
        src: MailboxId,
        uids: Vec<u32>,
        dst: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let r = self
            .inner
            .writer
            .write(move |t| sqlite::entries::copy_entries(t, src, &uids, dst, true))
            .await?;
        if !r.is_empty() {
            self.announce_mailbox(dst).await?;
        }
        Ok(r)
    }

    /// Moves entries to another mailbox atomically.
    pub async fn move_entries(
        &self,
        src: MailboxId,
        uids: Vec<u32>,
        dst: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let r = self
            .inner
            .writer
            .write(move |t| sqlite::entries::move_entries(t, src, &uids, dst))
            .await?;
        if !r.is_empty() {
            self.announce_mailbox(dst).await?;
            self.announce_mailbox(src).await?;
        }
        Ok(r)
    }

    async fn announce_mailbox(&self, mailbox: MailboxId) -> Result<()> {
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
                let found = self
                    .inner
                    .readers
                    .read(move |c| sqlite::mailboxes::get_by_id(c, mailbox))
                    .await?
                    .map(|m| m.account_id);
                if let (Some(a), Ok(mut m)) = (found, self.inner.owners.lock()) {
                    m.insert(mailbox, a);
                }
                found
            }
        };
        match account {
            Some(account) => {
                self.announce(vec![Change::Mailbox { account, mailbox }])
                    .await
            }
            None => Ok(()),
        }
    }
}
