//! SQL for IMAP METADATA annotations (RFC 5464), see `api/metadata.rs`.

use rusqlite::{Connection, params};

use crate::api::MetadataSet;
use crate::error::{Result, StoreError};
use crate::types::{AccountId, MailboxId};

/// Checks that `mailbox` belongs to `account` (`None`: any owner).
fn owned(c: &Connection, account: Option<AccountId>, mailbox: MailboxId) -> Result<()> {
    let owner: Option<i64> = c
        .prepare_cached("SELECT account_id FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    match (owner, account) {
        (Some(o), Some(a)) if o == a.0 => Ok(()),
        (Some(_), None) => Ok(()),
        _ => Err(StoreError::NotFound("mailbox")),
    }
}

pub(crate) fn list(
    c: &Connection,
    account: AccountId,
    mailbox: Option<MailboxId>,
) -> Result<Vec<(String, Vec<u8>)>> {
    if let Some(m) = mailbox {
        owned(c, Some(account), m)?;
    }
    let rows = c
        .prepare_cached(
            "SELECT name, value FROM metadata \
             WHERE (account_id = ?1 OR (account_id IS NULL AND ?2 IS NULL)) \
             AND COALESCE(mailbox_id, 0) = COALESCE(?2, 0) ORDER BY name",
        )?
        .query_map(params![account.0, mailbox.map(|m| m.0)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn set(
    c: &Connection,
    account: Option<AccountId>,
    mailbox: Option<MailboxId>,
    changes: &[(String, Option<Vec<u8>>)],
    max_entries: usize,
) -> Result<MetadataSet> {
    if let Some(m) = mailbox {
        owned(c, account, m)?;
    }
    let (a, m) = (account.map(|a| a.0), mailbox.map(|m| m.0));
    let names: Vec<String> = c
        .prepare_cached(
            "SELECT name FROM metadata \
             WHERE COALESCE(account_id, 0) = COALESCE(?1, 0) AND COALESCE(mailbox_id, 0) = COALESCE(?2, 0)",
        )?
        .query_map(params![a, m], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if crate::rules::metadata_too_many(&names, changes, max_entries) {
        return Ok(MetadataSet::TooMany);
    }
    for (name, value) in changes {
        let name = name.to_ascii_lowercase();
        c.prepare_cached(
            "DELETE FROM metadata WHERE COALESCE(account_id, 0) = COALESCE(?1, 0) \
             AND COALESCE(mailbox_id, 0) = COALESCE(?2, 0) AND name = ?3",
        )?
        .execute(params![a, m, name])?;
        if let Some(v) = value {
            c.prepare_cached(
                "INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![a, m, name, v])?;
        }
    }
    Ok(MetadataSet::Done)
}
