//! SQL for mailboxes (PostgreSQL twin of `sqlite/mailboxes.rs`).

use postgres::Row;

use super::Tx;
use crate::error::{Result, StoreError};
use crate::types::{AccountId, DEFAULT_MAILBOXES, Mailbox, MailboxId};

pub(crate) const COLUMNS: &str = "id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, \
     EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name)";

pub(crate) fn row(r: &Row) -> Mailbox {
    Mailbox {
        id: MailboxId(r.get(0)),
        account_id: AccountId(r.get(1)),
        name: r.get(2),
        uidvalidity: r.get::<_, i64>(3) as u32,
        uidnext: r.get::<_, i64>(4) as u32,
        highestmodseq: r.get::<_, i64>(5) as u64,
        special_use: r.get(6),
        subscribed: r.get(7),
    }
}

/// A UIDVALIDITY that no mailbox ever had: the current time, or one more than the
/// last, taken atomically from the shared counter.
fn next_uidvalidity(c: &mut Tx<'_>) -> Result<u32> {
    let now = super::now() & 0xFFFF_FFFF;
    let v: i64 = c
        .query_one(
            "INSERT INTO counters (name, value) VALUES ('uidvalidity', $1) \
             ON CONFLICT (name) DO UPDATE SET value = CASE \
                WHEN GREATEST(counters.value + 1, $1) > 4294967295 THEN 1 \
                ELSE GREATEST(counters.value + 1, $1) END \
             RETURNING value",
            &[&now],
        )?
        .get(0);
    Ok(v as u32)
}

pub(crate) fn create(
    c: &mut Tx<'_>,
    account: AccountId,
    name: &str,
    special_use: Option<&str>,
) -> Result<Mailbox> {
    if get(c, account, name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "mailbox {name} already exists"
        )));
    }
    let uidvalidity = i64::from(next_uidvalidity(c)?);
    let id: i64 = c
        .query_opt(
            "INSERT INTO mailboxes (account_id, name, uidvalidity, special_use) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, name) DO NOTHING RETURNING id",
            &[&account.0, &name, &uidvalidity, &special_use],
        )?
        .ok_or_else(|| StoreError::Conflict(format!("mailbox {name} already exists")))?
        .get(0);
    get_by_id(c, MailboxId(id))?.ok_or(StoreError::NotFound("mailbox"))
}

pub(crate) fn create_defaults(c: &mut Tx<'_>, account: AccountId) -> Result<()> {
    create(c, account, "INBOX", None)?;
    subscribe(c, account, "INBOX", true)?;
    for (name, special) in DEFAULT_MAILBOXES {
        create(c, account, name, Some(special))?;
        subscribe(c, account, name, true)?;
    }
    Ok(())
}

pub(crate) fn subscribe(c: &mut Tx<'_>, account: AccountId, name: &str, on: bool) -> Result<()> {
    if on {
        c.execute(
            "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&account.0, &name],
        )?;
    } else {
        c.execute(
            "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2",
            &[&account.0, &name],
        )?;
    }
    Ok(())
}

pub(crate) fn subscriptions(c: &mut Tx<'_>, account: AccountId) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name COLLATE \"C\"",
        &[&account.0],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Renames `old` to `new` and every `old/...` to `new/...`. INBOX is special
/// (RFC 9051 §6.3.6): its messages move to a new mailbox and INBOX stays, empty.
pub(crate) fn rename(c: &mut Tx<'_>, account: AccountId, old: &str, new: &str) -> Result<()> {
    let src = get(c, account, old)?.ok_or(StoreError::NotFound("mailbox"))?;
    if get(c, account, new)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "mailbox {new} already exists"
        )));
    }
    if old == "INBOX" {
        let dst = create(c, account, new, None)?;
        let uids: Vec<u32> = c
            .query(
                "SELECT uid FROM mailbox_entries WHERE mailbox_id = $1 ORDER BY uid",
                &[&src.id.0],
            )?
            .iter()
            .map(|r| r.get::<_, i64>(0) as u32)
            .collect();
        super::entries::move_entries(c, src.id, &uids, dst.id)?;
        return Ok(());
    }
    let children: Vec<(i64, String)> = c
        .query(
            "SELECT id, name FROM mailboxes WHERE account_id = $1 AND left(name, $3::INT) = $2 \
             FOR UPDATE",
            &[
                &account.0,
                &format!("{old}/"),
                &(old.chars().count() as i32 + 1),
            ],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
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
            "UPDATE mailboxes SET name = $2 WHERE id = $1",
            &[&id, &target],
        )?;
    }
    Ok(())
}

pub(crate) fn get(c: &mut Tx<'_>, account: AccountId, name: &str) -> Result<Option<Mailbox>> {
    let sql = format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = $2");
    Ok(c.query_opt(&sql, &[&account.0, &name])?.map(|r| row(&r)))
}

pub(crate) fn get_by_id(c: &mut Tx<'_>, id: MailboxId) -> Result<Option<Mailbox>> {
    let sql = format!("SELECT {COLUMNS} FROM mailboxes WHERE id = $1");
    Ok(c.query_opt(&sql, &[&id.0])?.map(|r| row(&r)))
}

pub(crate) fn list(c: &mut Tx<'_>, account: AccountId) -> Result<Vec<Mailbox>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM mailboxes WHERE account_id = $1 ORDER BY name COLLATE \"C\""
    );
    Ok(c.query(&sql, &[&account.0])?.iter().map(row).collect())
}

/// Deletes a mailbox with all its entries, releasing messages no other entry shows.
pub(crate) fn delete_with_entries(c: &mut Tx<'_>, id: MailboxId) -> Result<()> {
    let account: i64 = c
        .query_opt(
            "SELECT account_id FROM mailboxes WHERE id = $1 FOR UPDATE",
            &[&id.0],
        )?
        .ok_or(StoreError::NotFound("mailbox"))?
        .get(0);
    let entries: Vec<(i64, i64)> = c
        .query(
            "SELECT e.message_id, m.size FROM mailbox_entries e JOIN messages m ON m.id = e.message_id \
             WHERE e.mailbox_id = $1",
            &[&id.0],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let freed: i64 = entries.iter().map(|e| e.1).sum();
    c.execute(
        "DELETE FROM mailbox_entries WHERE mailbox_id = $1",
        &[&id.0],
    )?;
    c.execute("DELETE FROM expunged WHERE mailbox_id = $1", &[&id.0])?;
    c.execute("DELETE FROM pop3_retrieved WHERE mailbox_id = $1", &[&id.0])?;
    c.execute("DELETE FROM metadata WHERE mailbox_id = $1", &[&id.0])?;
    c.execute("DELETE FROM mailboxes WHERE id = $1", &[&id.0])?;
    c.execute(
        "UPDATE accounts SET used_bytes = GREATEST(used_bytes - $2, 0) WHERE id = $1",
        &[&account, &freed],
    )?;
    let mut counts: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for (message, _) in entries {
        *counts.entry(message).or_insert(0) += 1;
    }
    super::messages::release_many(c, &counts)
}

/// Deletes a mailbox by name (never INBOX).
pub(crate) fn delete(c: &mut Tx<'_>, account: AccountId, name: &str) -> Result<()> {
    if name == "INBOX" {
        return Err(StoreError::Conflict("INBOX cannot be deleted".into()));
    }
    let mb = get(c, account, name)?.ok_or(StoreError::NotFound("mailbox"))?;
    delete_with_entries(c, mb.id)
}
