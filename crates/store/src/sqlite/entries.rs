//! SQL for mailbox entries: listing, changes since a MODSEQ, status counts, flag
//! changes, expunge, copy and move. Every change bumps the mailbox's HIGHESTMODSEQ and
//! gives the changed entries that MODSEQ (RFC 7162).

use rusqlite::{Connection, params};

use crate::error::{Result, StoreError};
use crate::rules::merge_keywords;
use crate::types::{
    AppendMessage, Entry, FlagChange, FlagOp, FlagOutcome, MailboxId, MailboxStatus, MessageData,
    MessageId, flags,
};

const ENTRY_COLUMNS: &str =
    "e.uid, e.message_id, e.flags, e.keywords, e.modseq, e.internal_date, m.size, e.saved_at";

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        uid: r.get::<_, i64>(0)? as u32,
        message: MessageId(r.get(1)?),
        flags: r.get::<_, i64>(2)? as u32,
        keywords: r.get(3)?,
        modseq: r.get::<_, i64>(4)? as u64,
        internal_date: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        saved_at: r.get(7)?,
    })
}

pub(crate) fn list(c: &Connection, mailbox: MailboxId) -> Result<Vec<Entry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = ?1 ORDER BY e.uid"
    );
    let rows = c
        .prepare_cached(&sql)?
        .query_map([mailbox.0], entry_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Entries changed (or added) after `modseq`, and UIDs expunged after it.
pub(crate) fn changes_since(
    c: &Connection,
    mailbox: MailboxId,
    modseq: u64,
) -> Result<(Vec<Entry>, Vec<u32>)> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = ?1 AND e.modseq > ?2 ORDER BY e.uid"
    );
    let changed = c
        .prepare_cached(&sql)?
        .query_map(params![mailbox.0, modseq as i64], entry_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let expunged = c
        .prepare_cached(
            "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
        )?
        .query_map(params![mailbox.0, modseq as i64], |r| {
            r.get::<_, i64>(0).map(|u| u as u32)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((changed, expunged))
}

pub(crate) fn status(c: &Connection, mailbox: MailboxId) -> Result<MailboxStatus> {
    let mb = super::mailboxes::get_by_id(c, mailbox)?.ok_or(StoreError::NotFound("mailbox"))?;
    let recent_from: i64 = c.query_row(
        "SELECT first_recent_uid FROM mailboxes WHERE id = ?1",
        [mailbox.0],
        |r| r.get(0),
    )?;
    let (messages, unseen, deleted, size, recent, deleted_size): (i64, i64, i64, i64, i64, i64) = c
        .prepare_cached(
            "SELECT COUNT(*), \
                    COALESCE(SUM(CASE WHEN e.flags & ?2 = 0 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN e.flags & ?3 != 0 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(m.size), 0), \
                    COALESCE(SUM(CASE WHEN e.uid >= ?4 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN e.flags & ?3 != 0 THEN m.size ELSE 0 END), 0) \
             FROM mailbox_entries e JOIN messages m ON m.id = e.message_id WHERE e.mailbox_id = ?1",
        )?
        .query_row(
            params![mailbox.0, flags::SEEN, flags::DELETED, recent_from],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )?;
    Ok(MailboxStatus {
        messages: messages as u32,
        unseen: unseen as u32,
        deleted: deleted as u32,
        size: size as u64,
        deleted_size: deleted_size.max(0) as u64,
        recent: recent as u32,
        uidnext: mb.uidnext,
        uidvalidity: mb.uidvalidity,
        highestmodseq: mb.highestmodseq,
    })
}

/// Takes the `\Recent` marks of the UIDs below `up_to` (RFC 3501 §2.3.2: a message is
/// recent in one session only): returns the mark as it was (`first`) and moves it to
/// `up_to` (never backwards, never past UIDNEXT). The caller's recent UIDs are
/// `first..up_to`, empty when `first >= up_to` (another session claimed them). Runs in
/// the write transaction, so two claims never return overlapping ranges.
pub(crate) fn claim_recent(c: &Connection, mailbox: MailboxId, up_to: u32) -> Result<u32> {
    let first: i64 = c
        .prepare_cached("SELECT first_recent_uid FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("mailbox"),
            e => e.into(),
        })?;
    c.prepare_cached(
        "UPDATE mailboxes SET first_recent_uid = MIN(?2, uidnext) \
         WHERE id = ?1 AND first_recent_uid < MIN(?2, uidnext)",
    )?
    .execute(params![mailbox.0, i64::from(up_to)])?;
    Ok(u32::try_from(first).unwrap_or(u32::MAX))
}

pub(crate) fn message_data(c: &Connection, ids: &[MessageId]) -> Result<Vec<MessageData>> {
    let mut st =
        c.prepare_cached("SELECT id, blob_hash, size, structure FROM messages WHERE id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = st.query_row([id.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        });
        match row {
            Ok((id, hash, size, structure)) => out.push(MessageData {
                id: MessageId(id),
                blob: crate::BlobHash::parse(&hash)?,
                size: size as u64,
                structure,
            }),
            // Expunged meanwhile: the caller sees fewer results.
            Err(rusqlite::Error::QueryReturnedNoRows) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn next_modseq(c: &Connection, mailbox: MailboxId) -> Result<u64> {
    let m: i64 = c
        .prepare_cached("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?1 RETURNING highestmodseq")?
        .query_row([mailbox.0], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("mailbox"),
            e => e.into(),
        })?;
    Ok(m as u64)
}

fn account_of(c: &Connection, mailbox: MailboxId) -> Result<i64> {
    c.prepare_cached("SELECT account_id FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("mailbox"),
            e => e.into(),
        })
}

/// Appends messages (MULTIAPPEND is all or nothing), checking the quota when asked.
pub(crate) fn append(
    c: &Connection,
    mailbox: MailboxId,
    msgs: &[AppendMessage],
    enforce_quota: bool,
) -> Result<Vec<(u32, u64)>> {
    let account = account_of(c, mailbox)?;
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
fn append_one(c: &Connection, mailbox: MailboxId, m: &AppendMessage) -> Result<(u32, u64)> {
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
    c: &Connection,
    mailbox: MailboxId,
    msgs: &[(AppendMessage, Option<u32>)],
) -> Result<Vec<u32>> {
    let mut out = Vec::with_capacity(msgs.len());
    for (m, uid) in msgs {
        if let Some(uid) = uid {
            c.prepare_cached("UPDATE mailboxes SET uidnext = MAX(uidnext, ?2) WHERE id = ?1")?
                .execute(params![mailbox.0, i64::from(*uid)])?;
        }
        out.push(append_one(c, mailbox, m)?.0);
    }
    Ok(out)
}

/// See `Store::import_uid_state`.
pub(crate) fn import_uid_state(
    c: &Connection,
    mailbox: MailboxId,
    uidvalidity: Option<u32>,
    uidnext: u32,
) -> Result<()> {
    let (current, next): (i64, i64) = c
        .query_row(
            "SELECT uidvalidity, uidnext FROM mailboxes WHERE id = ?1",
            [mailbox.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("mailbox"),
            e => e.into(),
        })?;
    if let Some(v) = uidvalidity
        && i64::from(v) != current
    {
        if next != 1 || v == 0 {
            return Err(StoreError::Conflict(format!(
                "the mailbox already holds messages under UIDVALIDITY {current}"
            )));
        }
        c.execute(
            "UPDATE mailboxes SET uidvalidity = ?2 WHERE id = ?1",
            params![mailbox.0, i64::from(v)],
        )?;
    }
    c.execute(
        "UPDATE mailboxes SET uidnext = MAX(uidnext, ?2) WHERE id = ?1",
        params![mailbox.0, i64::from(uidnext)],
    )?;
    Ok(())
}

fn uid_entries(c: &Connection, mailbox: MailboxId, uids: &[u32]) -> Result<Vec<Entry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
         WHERE e.mailbox_id = ?1 AND e.uid IN (SELECT value FROM json_each(?2)) ORDER BY e.uid"
    );
    let rows = c
        .prepare_cached(&sql)?
        .query_map(params![mailbox.0, json_ids(uids.iter())], entry_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn store_flags(
    c: &Connection,
    mailbox: MailboxId,
    uids: &[u32],
    change: &FlagChange,
) -> Result<FlagOutcome> {
    let mut outcome = FlagOutcome::default();
    let mut modseq = None;
    let mut upd = c.prepare_cached(
        "UPDATE mailbox_entries SET flags = ?3, keywords = ?4, modseq = ?5 WHERE mailbox_id = ?1 AND uid = ?2",
    )?;
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
        upd.execute(params![mailbox.0, e.uid, new_flags, new_kw, m as i64])?;
        e.flags = new_flags;
        e.keywords = new_kw;
        e.modseq = m;
        outcome.changed.push(e);
    }
    Ok(outcome)
}

/// Removes entries: those flagged \Deleted (optionally only among `within`), or exactly
/// `uids` when `only_deleted` is false (POP3 DELE). Returns the expunged UIDs.
pub(crate) fn expunge(
    c: &Connection,
    mailbox: MailboxId,
    within: Option<&[u32]>,
    only_deleted: bool,
) -> Result<Vec<u32>> {
    let candidates: Vec<Entry> = match within {
        Some(uids) => uid_entries(c, mailbox, uids)?,
        None => list(c, mailbox)?,
    };
    let doomed: Vec<Entry> = candidates
        .into_iter()
        .filter(|e| !only_deleted || e.flags & flags::DELETED != 0)
        .collect();
    remove_entries(c, mailbox, &doomed)?;
    Ok(doomed.into_iter().map(|e| e.uid).collect())
}

/// A JSON array of numbers, for `json_each` in set-based statements.
fn json_ids<T: std::fmt::Display>(ids: impl Iterator<Item = T>) -> String {
    let mut out = String::from("[");
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out.push(']');
    out
}

/// Removes `doomed` with set-based statements (a POP3 QUIT or an IMAP EXPUNGE may take
/// thousands of entries): entries, tombstones, message references, blob references.
fn remove_entries(c: &Connection, mailbox: MailboxId, doomed: &[Entry]) -> Result<()> {
    if doomed.is_empty() {
        return Ok(());
    }
    let modseq = next_modseq(c, mailbox)?;
    let account = account_of(c, mailbox)?;
    let uids = json_ids(doomed.iter().map(|e| e.uid));
    c.prepare_cached(
        "DELETE FROM mailbox_entries WHERE mailbox_id = ?1 AND uid IN (SELECT value FROM json_each(?2))",
    )?
    .execute(params![mailbox.0, uids])?;
    c.prepare_cached(
        "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) SELECT ?1, value, ?3 FROM json_each(?2)",
    )?
    .execute(params![mailbox.0, uids, modseq as i64])?;
    let freed: i64 = doomed.iter().map(|e| e.size as i64).sum();
    c.prepare_cached("UPDATE accounts SET used_bytes = MAX(used_bytes - ?2, 0) WHERE id = ?1")?
        .execute(params![account, freed])?;
    let mut per_message: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for e in doomed {
        *per_message.entry(e.message.0).or_insert(0) += 1;
    }
    super::messages::release_many(c, &per_message)
}

/// Copies entries to `dst` (sharing the message) and returns (source UID, new UID) pairs.
pub(crate) fn copy_entries(
    c: &Connection,
    src: MailboxId,
    uids: &[u32],
    dst: MailboxId,
    enforce_quota: bool,
) -> Result<Vec<(u32, u32)>> {
    let entries = uid_entries(c, src, uids)?;
    let same_account = account_of(c, src)? == account_of(c, dst)?;
    if enforce_quota && !same_account {
        return Err(StoreError::Conflict(
            "copies between accounts are not supported".into(),
        ));
    }
    if enforce_quota {
        let (quota, used) = super::messages::quota_of(c, account_of(c, dst)?)?;
        let adding: u64 = entries.iter().map(|e| e.size).sum();
        if quota > 0 && used.saturating_add(adding) > quota {
            return Err(StoreError::OverQuota);
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut inc = c.prepare_cached("UPDATE messages SET refcount = refcount + 1 WHERE id = ?1")?;
    for e in entries {
        inc.execute([e.message.0])?;
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
    c: &Connection,
    src: MailboxId,
    uids: &[u32],
    dst: MailboxId,
) -> Result<Vec<(u32, u32)>> {
    let pairs = copy_entries(c, src, uids, dst, false)?;
    let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    let entries = uid_entries(c, src, &moved)?;
    remove_entries(c, src, &entries)?;
    Ok(pairs)
}

/// UID, blob and size of every entry of a mailbox, in one read (POP3's maildrop).
pub(crate) fn entry_blobs(
    c: &Connection,
    mailbox: MailboxId,
) -> Result<Vec<(u32, crate::BlobHash, u64)>> {
    let rows = c
        .prepare_cached(
            "SELECT e.uid, m.blob_hash, m.size FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             WHERE e.mailbox_id = ?1 ORDER BY e.uid",
        )?
        .query_map([mailbox.0], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(uid, h, size)| Ok((uid as u32, crate::BlobHash::parse(&h)?, size.max(0) as u64)))
        .collect()
}
