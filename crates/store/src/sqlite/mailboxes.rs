//! SQL for mailboxes: creation with fresh UIDVALIDITY, listing, deletion.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, StoreError};
use crate::types::{AccountId, DEFAULT_MAILBOXES, Mailbox, MailboxId};

pub(crate) const COLUMNS: &str = "id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, \
     EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name)";

pub(crate) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Mailbox> {
    Ok(Mailbox {
        id: MailboxId(r.get(0)?),
        account_id: AccountId(r.get(1)?),
        name: r.get(2)?,
        uidvalidity: r.get::<_, i64>(3)? as u32,
        uidnext: r.get::<_, i64>(4)? as u32,
        highestmodseq: r.get::<_, i64>(5)? as u64,
        special_use: r.get(6)?,
        subscribed: r.get(7)?,
    })
}

/// A UIDVALIDITY that no mailbox ever had: the current time, or one more than the last.
fn next_uidvalidity(c: &Connection) -> Result<u32> {
    let last: i64 = c
        .query_row(
            "SELECT value FROM counters WHERE name = 'uidvalidity'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let now = super::now() & 0xFFFF_FFFF;
    let mut next = now.max(last + 1);
    if next > u32::MAX as i64 {
        next = 1;
    }
    c.execute(
        "INSERT INTO counters (name, value) VALUES ('uidvalidity', ?1) \
         ON CONFLICT (name) DO UPDATE SET value = ?1",
        [next],
    )?;
    Ok(next as u32)
}

pub(crate) fn create(
    c: &Connection,
    account: AccountId,
    name: &str,
    special_use: Option<&str>,
) -> Result<Mailbox> {
    if get(c, account, name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "mailbox {name} already exists"
        )));
    }
    let uidvalidity = next_uidvalidity(c)?;
    c.execute(
        "INSERT INTO mailboxes (account_id, name, uidvalidity, special_use) VALUES (?1, ?2, ?3, ?4)",
        params![account.0, name, uidvalidity, special_use],
    )?;

    get_by_id(c, MailboxId(c.last_insert_rowid()))?.ok_or(StoreError::NotFound("mailbox"))
}

pub(crate) fn create_defaults(c: &Connection, account: AccountId) -> Result<()> {
    create(c, account, "INBOX", None)?;
    subscribe(c, account, "INBOX", true)?;
    for (name, special) in DEFAULT_MAILBOXES {
        create(c, account, name, Some(special))?;
        subscribe(c, account, name, true)?;
    }
    Ok(())
}

pub(crate) fn subscribe(c: &Connection, account: AccountId, name: &str, on: bool) -> Result<()> {
    if on {
        c.execute(
            "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?1, ?2)",
            params![account.0, name],
        )?;
    } else {
        c.execute(
            "DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2",
            params![account.0, name],
        )?;
    }
    Ok(())
}

pub(crate) fn subscriptions(c: &Connection, account: AccountId) -> Result<Vec<String>> {
    let mut st =
        c.prepare_cached("SELECT name FROM subscriptions WHERE account_id = ?1 ORDER BY name")?;
    let rows = st
        .query_map([account.0], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Renames `old` to `new` and every `old/...` to `new/...`. INBOX is special
/// (RFC 9051 §6.3.6): its messages move to a new mailbox and INBOX stays, empty.
pub(crate) fn rename(c: &Connection, account: AccountId, old: &str, new: &str) -> Result<()> {
    let src = get(c, account, old)?.ok_or(StoreError::NotFound("mailbox"))?;
    if get(c, account, new)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "mailbox {new} already exists"
        )));
    }
    if old == "INBOX" {
        let dst = create(c, account, new, None)?;
        let uids: Vec<u32> = c
            .prepare_cached("SELECT uid FROM mailbox_entries WHERE mailbox_id = ?1 ORDER BY uid")?
            .query_map([src.id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        super::entries::move_entries(c, src.id, &uids, dst.id)?;
        return Ok(());
    }
    let children: Vec<(i64, String)> = c
        .prepare_cached(
            "SELECT id, name FROM mailboxes WHERE account_id = ?1 AND substr(name, 1, ?3) = ?2",
        )?
        .query_map(
            params![account.0, format!("{old}/"), old.len() as i64 + 1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut moves = vec![(src.id.0, new.to_string())];
    for (id, name) in children {
        moves.push((id, format!("{new}{}", &name[old.len()..])));
    }
    for (_, target) in &moves[1..] {
        if get(c, account, target)?.is_some() {
            return Err(StoreError::Conflict(format!(
                "mailbox {target} already exists"
            )));
        }
    }
    for (id, target) in moves {
        // A renamed mailbox keeps its UIDs, so its UIDVALIDITY stays too.
        c.execute(
            "UPDATE mailboxes SET name = ?2 WHERE id = ?1",
            params![id, target],
        )?;
    }
    Ok(())
}

pub(crate) fn get(c: &Connection, account: AccountId, name: &str) -> Result<Option<Mailbox>> {
    let sql = format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = ?1 AND name = ?2");
    Ok(c.prepare_cached(&sql)?
        .query_row(params![account.0, name], row)
        .optional()?)
}

pub(crate) fn get_by_id(c: &Connection, id: MailboxId) -> Result<Option<Mailbox>> {
    let sql = format!("SELECT {COLUMNS} FROM mailboxes WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([id.0], row).optional()?)
}

pub(crate) fn list(c: &Connection, account: AccountId) -> Result<Vec<Mailbox>> {
    let sql = format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = ?1 ORDER BY name");
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map([account.0], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Deletes a mailbox with all its entries, releasing messages no other entry shows.
pub(crate) fn delete_with_entries(c: &Connection, id: MailboxId) -> Result<()> {
    let entries: Vec<(i64, i64)> = c
        .prepare_cached(
            "SELECT e.message_id, m.size FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             WHERE e.mailbox_id = ?1",
        )?
        .query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let account: i64 = c.query_row(
        "SELECT account_id FROM mailboxes WHERE id = ?1",
        [id.0],
        |r| r.get(0),
    )?;
    let freed: i64 = entries.iter().map(|e| e.1).sum();
    c.execute("DELETE FROM mailbox_entries WHERE mailbox_id = ?1", [id.0])?;
    c.execute("DELETE FROM expunged WHERE mailbox_id = ?1", [id.0])?;
    c.execute("DELETE FROM metadata WHERE mailbox_id = ?1", [id.0])?;
    c.execute("DELETE FROM mailboxes WHERE id = ?1", [id.0])?;
    c.execute(
        "UPDATE accounts SET used_bytes = MAX(used_bytes - ?2, 0) WHERE id = ?1",
        params![account, freed],
    )?;
    let mut counts: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for (message, _) in entries {
        *counts.entry(message).or_insert(0) += 1;
    }
    super::messages::release_many(c, &counts)?;
    Ok(())
}

/// Deletes a mailbox by name (never INBOX).
pub(crate) fn delete(c: &Connection, account: AccountId, name: &str) -> Result<()> {
    if name == "INBOX" {
        return Err(StoreError::Conflict("INBOX cannot be deleted".into()));
    }
    let mb = get(c, account, name)?.ok_or(StoreError::NotFound("mailbox"))?;
    delete_with_entries(c, mb.id)
}
