//! SQL for mailbox entries (PostgreSQL twin of `sqlite/entries.rs`): listing, changes
//! since a MODSEQ, status counts, flag changes, expunge, copy and move.
//!
//! Lock order, so concurrent writers on several nodes queue instead of deadlocking:
//! the owning accounts (by id), then the mailboxes (by id), then their entries. Every
//! write to entries starts with [`lock`].

use postgres::Row;

use super::Tx;
use crate::error::{Result, StoreError};
use crate::rules::merge_keywords;
use crate::types::{
    AppendMessage, Entry, FlagChange, FlagOp, FlagOutcome, MailboxId, MailboxStatus, MessageData,
    MessageId, flags,
};

const ENTRY_COLUMNS: &str =
    "e.uid, e.message_id, e.flags, e.keywords, e.modseq, e.internal_date, m.size, e.saved_at";

fn entry_row(r: &Row) -> Entry {
    Entry {
        uid: r.get::<_, i64>(0) as u32,
        message: MessageId(r.get(1)),
        flags: r.get::<_, i64>(2) as u32,
        keywords: r.get(3),
        modseq: r.get::<_, i64>(4) as u64,
        internal_date: r.get(5),
        size: r.get::<_, i64>(6).max(0) as u64,
        saved_at: r.get(7),
    }
}

/// Locks the accounts owning `mailboxes`, then the mailboxes, in id order; returns
/// each mailbox's owner. A mailbox that does not exist is `NotFound`.
pub(crate) fn lock(c: &mut Tx<'_>, mailboxes: &[MailboxId]) -> Result<Vec<(MailboxId, i64)>> {
    let ids: Vec<i64> = mailboxes.iter().map(|m| m.0).collect();
    c.query(
        "SELECT id FROM accounts WHERE id IN (SELECT account_id FROM mailboxes WHERE id = ANY($1)) \
         ORDER BY id FOR UPDATE",
        &[&ids],
    )?;
    let owners: Vec<(MailboxId, i64)> = c
        .query(
            "SELECT id, account_id FROM mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&ids],
        )?
        .iter()
        .map(|r| (MailboxId(r.get(0)), r.get(1)))
        .collect();
    if mailboxes.iter().any(|m| !owners.iter().any(|o| o.0 == *m)) {
        return Err(StoreError::NotFound("mailbox"));
    }
    Ok(owners)
}

fn owner(owners: &[(MailboxId, i64)], mailbox: MailboxId) -> i64 {
    owners
        .iter()
        .find(|o| o.0 == mailbox)
        .map(|o| o.1)
        .unwrap_or_default()
}

pub(crate) fn list(c: &mut Tx<'_>, mailbox: MailboxId) -> Result<Vec<Entry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = $1 ORDER BY e.uid"
    );
    Ok(c.query(&sql, &[&mailbox.0])?
        .iter()
        .map(entry_row)
        .collect())
}

/// Entries changed (or added) after `modseq`, and UIDs expunged after it.
pub(crate) fn changes_since(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    modseq: u64,
) -> Result<(Vec<Entry>, Vec<u32>)> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = $1 AND e.modseq > $2 ORDER BY e.uid"
    );
    let since = modseq as i64;
    let changed = c
        .query(&sql, &[&mailbox.0, &since])?
        .iter()
        .map(entry_row)
        .collect();
    let expunged = c
        .query(
            "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
            &[&mailbox.0, &since],
        )?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u32)
        .collect();
    Ok((changed, expunged))
}

pub(crate) fn status(c: &mut Tx<'_>, mailbox: MailboxId) -> Result<MailboxStatus> {
    let mb = super::mailboxes::get_by_id(c, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let recent_from: i64 = c
        .query_one(
            "SELECT first_recent_uid FROM mailboxes WHERE id = $1",
            &[&mailbox.0],
        )?
        .get(0);
    let r = c.query_one(
        "SELECT COUNT(*), \
                COALESCE(SUM(CASE WHEN e.flags & $2 = 0 THEN 1 ELSE 0 END), 0)::BIGINT, \
                COALESCE(SUM(CASE WHEN e.flags & $3 != 0 THEN 1 ELSE 0 END), 0)::BIGINT, \
                COALESCE(SUM(m.size), 0)::BIGINT, \
                COALESCE(SUM(CASE WHEN e.uid >= $4 THEN 1 ELSE 0 END), 0)::BIGINT, \
                COALESCE(SUM(CASE WHEN e.flags & $3 != 0 THEN m.size ELSE 0 END), 0)::BIGINT \
         FROM mailbox_entries e JOIN messages m ON m.id = e.message_id WHERE e.mailbox_id = $1",
        &[
            &mailbox.0,
            &i64::from(flags::SEEN),
            &i64::from(flags::DELETED),
            &recent_from,
        ],
    )?;
    Ok(MailboxStatus {
        messages: r.get::<_, i64>(0) as u32,
        unseen: r.get::<_, i64>(1) as u32,
        deleted: r.get::<_, i64>(2) as u32,
        size: r.get::<_, i64>(3).max(0) as u64,
        recent: r.get::<_, i64>(4) as u32,
        deleted_size: r.get::<_, i64>(5).max(0) as u64,
        uidnext: mb.uidnext,
        uidvalidity: mb.uidvalidity,
        highestmodseq: mb.highestmodseq,
    })
}

/// Takes the `\Recent` marks of the UIDs below `up_to` (RFC 3501 §2.3.2: a message is
/// recent in one session only, on any node): returns the mark as it was (`first`) and
/// moves it to `up_to` (never backwards, never past UIDNEXT). The caller's recent UIDs
/// are `first..up_to`, empty when `first >= up_to`. The mailbox row's lock orders
/// concurrent claims.
pub(crate) fn claim_recent(c: &mut Tx<'_>, mailbox: MailboxId, up_to: u32) -> Result<u32> {
    let first: i64 = c
        .query_opt(
            "SELECT first_recent_uid FROM mailboxes WHERE id = $1 FOR UPDATE",
            &[&mailbox.0],
        )?
        .ok_or(StoreError::NotFound("mailbox"))?
        .get(0);
    c.execute(
        "UPDATE mailboxes SET first_recent_uid = LEAST($2, uidnext) \
         WHERE id = $1 AND first_recent_uid < LEAST($2, uidnext)",
        &[&mailbox.0, &i64::from(up_to)],
    )?;
    Ok(u32::try_from(first).unwrap_or(u32::MAX))
}

pub(crate) fn message_data(c: &mut Tx<'_>, ids: &[MessageId]) -> Result<Vec<MessageData>> {
    let wanted: Vec<i64> = ids.iter().map(|m| m.0).collect();
    let rows = c.query(
        "SELECT id, blob_hash, size, structure FROM messages WHERE id = ANY($1)",
        &[&wanted],
    )?;
    let mut found: std::collections::HashMap<i64, MessageData> =
        std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.get(0);
        found.insert(
            id,
            MessageData {
                id: MessageId(id),
                blob: crate::BlobHash::parse(r.get(1))?,
                size: r.get::<_, i64>(2).max(0) as u64,
                structure: r.get(3),
            },
        );
    }
    // In the order asked; expunged meanwhile: the caller sees fewer results.
    Ok(ids.iter().filter_map(|id| found.remove(&id.0)).collect())
}

fn next_modseq(c: &mut Tx<'_>, mailbox: MailboxId) -> Result<u64> {
    let m: i64 = c
        .query_opt(
            "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq",
            &[&mailbox.0],
        )?
        .ok_or(StoreError::NotFound("mailbox"))?
        .get(0);
    Ok(m as u64)
}

/// Appends messages (MULTIAPPEND is all or nothing), checking the quota when asked.
pub(crate) fn append(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    msgs: &[AppendMessage],
    enforce_quota: bool,
) -> Result<Vec<(u32, u64)>> {
    let owners = lock(c, &[mailbox])?;
    let account = owner(&owners, mailbox);
    if enforce_quota {
        let (quota, used) = super::messages::quota_of(c, account)?;
        let adding: u64 = msgs.iter().map(|m| m.message.blob.size).sum();
        if quota > 0 && used.saturating_add(adding) > quota {
            return Err(StoreError::OverQuota);
        }
    }
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        out.push(append_one(c, mailbox, m)?);
    }
    Ok(out)
}

/// Stores one message and appends its entry (next UID, next MODSEQ).
fn append_one(c: &mut Tx<'_>, mailbox: MailboxId, m: &AppendMessage) -> Result<(u32, u64)> {
    let id = super::messages::insert(
        c,
        &m.message.blob,
        &m.message.structure,
        m.message.received_at,
        1,
    )?;
    let date = m.internal_date.unwrap_or(m.message.received_at);
    let a = super::messages::append_entry(
        c,
        mailbox,
        id,
        m.message.blob.size,
        m.flags,
        &m.keywords,
        date,
    )?;
    Ok((a.uid, a.modseq))
}

/// See `Store::import_append`.
pub(crate) fn import_append(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    msgs: &[(AppendMessage, Option<u32>)],
) -> Result<Vec<u32>> {
    lock(c, &[mailbox])?;
    let mut out = Vec::with_capacity(msgs.len());
    for (m, uid) in msgs {
        if let Some(uid) = uid {
            c.execute(
                "UPDATE mailboxes SET uidnext = GREATEST(uidnext, $2) WHERE id = $1",
                &[&mailbox.0, &i64::from(*uid)],
            )?;
        }
        out.push(append_one(c, mailbox, m)?.0);
    }
    Ok(out)
}

/// See `Store::import_uid_state`.
pub(crate) fn import_uid_state(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    uidvalidity: Option<u32>,
    uidnext: u32,
) -> Result<()> {
    lock(c, &[mailbox])?;
    let Some(r) = c.query_opt(
        "SELECT uidvalidity, uidnext FROM mailboxes WHERE id = $1",
        &[&mailbox.0],
    )?
    else {
        return Err(StoreError::NotFound("mailbox"));
    };
    let (current, next): (i64, i64) = (r.get(0), r.get(1));
    if let Some(v) = uidvalidity
        && i64::from(v) != current
    {
        if next != 1 || v == 0 {
            return Err(StoreError::Conflict(format!(
                "the mailbox already holds messages under UIDVALIDITY {current}"
            )));
        }
        c.execute(
            "UPDATE mailboxes SET uidvalidity = $2 WHERE id = $1",
            &[&mailbox.0, &i64::from(v)],
        )?;
    }
    c.execute(
        "UPDATE mailboxes SET uidnext = GREATEST(uidnext, $2) WHERE id = $1",
        &[&mailbox.0, &i64::from(uidnext)],
    )?;
    Ok(())
}

fn uid_entries(c: &mut Tx<'_>, mailbox: MailboxId, uids: &[u32]) -> Result<Vec<Entry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = $1 AND e.uid = ANY($2) ORDER BY e.uid"
    );
    let uids: Vec<i64> = uids.iter().map(|&u| i64::from(u)).collect();
    Ok(c.query(&sql, &[&mailbox.0, &uids])?
        .iter()
        .map(entry_row)
        .collect())
}

pub(crate) fn store_flags(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    uids: &[u32],
    change: &FlagChange,
) -> Result<FlagOutcome> {
    lock(c, &[mailbox])?;
    let mut outcome = FlagOutcome::default();
    let mut modseq = None;
    let mut updates: (Vec<i64>, Vec<i64>, Vec<String>) = Default::default();
    for mut e in uid_entries(c, mailbox, uids)? {
        if let Some(since) = change.unchanged_since
            && e.modseq > since
        {
            outcome.modified.push(e.uid);
            continue;
        }
        let new_flags = match change.op {
            FlagOp::Add => e.flags | change.flags,
            FlagOp::Remove => e.flags & !change.flags,
            FlagOp::Replace => change.flags,
        };
        let new_kw = merge_keywords(&e.keywords, change.op, &change.keywords);
        if new_flags == e.flags && new_kw == e.keywords {
            continue;
        }
        let m = match modseq {
            Some(m) => m,
            None => {
                let m = next_modseq(c, mailbox)?;
                modseq = Some(m);
                m
            }
        };
        updates.0.push(i64::from(e.uid));
        updates.1.push(i64::from(new_flags));
        updates.2.push(new_kw.clone());
        e.flags = new_flags;
        e.keywords = new_kw;
        e.modseq = m;
        outcome.changed.push(e);
    }
    if let Some(m) = modseq {
        c.execute(
            "UPDATE mailbox_entries e SET flags = u.flags, keywords = u.keywords, modseq = $5 \
             FROM unnest($2::BIGINT[], $3::BIGINT[], $4::TEXT[]) AS u(uid, flags, keywords) \
             WHERE e.mailbox_id = $1 AND e.uid = u.uid",
            &[&mailbox.0, &updates.0, &updates.1, &updates.2, &(m as i64)],
        )?;
    }
    Ok(outcome)
}

/// Removes entries: those flagged \Deleted (optionally only among `within`), or exactly
/// `uids` when `only_deleted` is false (POP3 DELE). Returns the expunged UIDs.
pub(crate) fn expunge(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    within: Option<&[u32]>,
    only_deleted: bool,
) -> Result<Vec<u32>> {
    let owners = lock(c, &[mailbox])?;
    let candidates: Vec<Entry> = match within {
        Some(uids) => uid_entries(c, mailbox, uids)?,
        None => list(c, mailbox)?,
    };
    let doomed: Vec<Entry> = candidates
        .into_iter()
        .filter(|e| !only_deleted || e.flags & flags::DELETED != 0)
        .collect();
    remove_entries(c, mailbox, owner(&owners, mailbox), &doomed)?;
    Ok(doomed.into_iter().map(|e| e.uid).collect())
}

/// Removes `doomed` with set-based statements: entries, tombstones, message references,
/// blob references. The caller holds the locks (see [`lock`]).
fn remove_entries(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    account: i64,
    doomed: &[Entry],
) -> Result<()> {
    if doomed.is_empty() {
        return Ok(());
    }
    let modseq = next_modseq(c, mailbox)? as i64;
    let uids: Vec<i64> = doomed.iter().map(|e| i64::from(e.uid)).collect();
    c.execute(
        "DELETE FROM mailbox_entries WHERE mailbox_id = $1 AND uid = ANY($2)",
        &[&mailbox.0, &uids],
    )?;
    c.execute(
        "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $3 FROM unnest($2::BIGINT[]) AS u \
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
        &[&mailbox.0, &uids, &modseq],
    )?;
    let freed: i64 = doomed.iter().map(|e| e.size as i64).sum();
    c.execute(
        "UPDATE accounts SET used_bytes = GREATEST(used_bytes - $2, 0) WHERE id = $1",
        &[&account, &freed],
    )?;
    let mut per_message: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for e in doomed {
        *per_message.entry(e.message.0).or_insert(0) += 1;
    }
    super::messages::release_many(c, &per_message)
}

/// Copies entries to `dst` (sharing the message) and returns (source UID, new UID) pairs.
pub(crate) fn copy_entries(
    c: &mut Tx<'_>,
    src: MailboxId,
    uids: &[u32],
    dst: MailboxId,
    enforce_quota: bool,
) -> Result<Vec<(u32, u32)>> {
    let owners = lock(c, &[src, dst])?;
    copy_locked(c, &owners, src, uids, dst, enforce_quota)
}

fn copy_locked(
    c: &mut Tx<'_>,
    owners: &[(MailboxId, i64)],
    src: MailboxId,
    uids: &[u32],
    dst: MailboxId,
    enforce_quota: bool,
) -> Result<Vec<(u32, u32)>> {
    let entries = uid_entries(c, src, uids)?;
    let same_account = owner(owners, src) == owner(owners, dst);
    if enforce_quota && !same_account {
        return Err(StoreError::Conflict(
            "copies between accounts are not supported".into(),
        ));
    }
    if enforce_quota {
        let (quota, used) = super::messages::quota_of(c, owner(owners, dst))?;
        let adding: u64 = entries.iter().map(|e| e.size).sum();
        if quota > 0 && used.saturating_add(adding) > quota {
            return Err(StoreError::OverQuota);
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        c.execute(
            "UPDATE messages SET refcount = refcount + 1 WHERE id = $1",
            &[&e.message.0],
        )?;
        // \Recent is not copied; the other flags are (RFC 9051 §6.4.7).
        let a = super::messages::append_entry(
            c,
            dst,
            e.message,
            e.size,
            e.flags,
            &e.keywords,
            e.internal_date,
        )?;
        out.push((e.uid, a.uid));
    }
    Ok(out)
}

/// Moves entries: copy then expunge from the source, atomically (RFC 6851).
pub(crate) fn move_entries(
    c: &mut Tx<'_>,
    src: MailboxId,
    uids: &[u32],
    dst: MailboxId,
) -> Result<Vec<(u32, u32)>> {
    let owners = lock(c, &[src, dst])?;
    let pairs = copy_locked(c, &owners, src, uids, dst, false)?;
    let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    let entries = uid_entries(c, src, &moved)?;
    remove_entries(c, src, owner(&owners, src), &entries)?;
    Ok(pairs)
}

/// UID, blob and size of every entry of a mailbox, in one read (POP3's maildrop).
pub(crate) fn entry_blobs(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
) -> Result<Vec<(u32, crate::BlobHash, u64)>> {
    c.query(
        "SELECT e.uid, m.blob_hash, m.size FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = $1 ORDER BY e.uid",
        &[&mailbox.0],
    )?
    .iter()
    .map(|r| {
        Ok((
            r.get::<_, i64>(0) as u32,
            crate::BlobHash::parse(r.get(1))?,
            r.get::<_, i64>(2).max(0) as u64,
        ))
    })
    .collect()
}
