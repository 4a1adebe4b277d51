//! SQL for IMAP METADATA annotations (PostgreSQL twin of `sqlite/metadata.rs`).

use super::Tx;
use crate::api::MetadataSet;
use crate::error::{Result, StoreError};
use crate::types::{AccountId, MailboxId};

/// Checks that `mailbox` belongs to `account` (`None`: any owner).
fn owned(c: &mut Tx<'_>, account: Option<AccountId>, mailbox: MailboxId) -> Result<()> {
    let owner: Option<i64> = c
        .query_opt(
            "SELECT account_id FROM mailboxes WHERE id = $1",
            &[&mailbox.0],
        )?
        .map(|r| r.get(0));
    match (owner, account) {
        (Some(o), Some(a)) if o == a.0 => Ok(()),
        (Some(_), None) => Ok(()),
        _ => Err(StoreError::NotFound("mailbox")),
    }
}

pub(crate) fn list(
    c: &mut Tx<'_>,
    account: AccountId,
    mailbox: Option<MailboxId>,
) -> Result<Vec<(String, Vec<u8>)>> {
    if let Some(m) = mailbox {
        owned(c, Some(account), m)?;
    }
    let rows = c
        .query(
            "SELECT name, value FROM metadata \
             WHERE (account_id = $1 OR (account_id IS NULL AND $2::BIGINT IS NULL)) \
             AND COALESCE(mailbox_id, 0) = COALESCE($2::BIGINT, 0) ORDER BY name",
            &[&account.0, &mailbox.map(|m| m.0)],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(rows)
}

pub(crate) fn set(
    c: &mut Tx<'_>,
    account: Option<AccountId>,
    mailbox: Option<MailboxId>,
    changes: &[(String, Option<Vec<u8>>)],
    max_entries: usize,
) -> Result<MetadataSet> {
    // Rows locked in the store's order: the account, then the mailbox.
    if let Some(a) = account {
        c.query_opt("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", &[&a.0])?;
    }
    if let Some(m) = mailbox {
        c.query_opt("SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE", &[&m.0])?;
        owned(c, account, m)?;
    }
    let (a, m) = (account.map(|a| a.0), mailbox.map(|m| m.0));
    let names: Vec<String> = c
        .query(
            "SELECT name FROM metadata WHERE COALESCE(account_id, 0) = COALESCE($1::BIGINT, 0) \
             AND COALESCE(mailbox_id, 0) = COALESCE($2::BIGINT, 0)",
            &[&a, &m],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if crate::rules::metadata_too_many(&names, changes, max_entries) {
        return Ok(MetadataSet::TooMany);
    }
    for (name, value) in changes {
        let name = name.to_ascii_lowercase();
        c.execute(
            "DELETE FROM metadata WHERE COALESCE(account_id, 0) = COALESCE($1::BIGINT, 0) \
             AND COALESCE(mailbox_id, 0) = COALESCE($2::BIGINT, 0) AND name = $3",
            &[&a, &m, &name],
        )?;
        if let Some(v) = value {
            c.execute(
                "INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES ($1, $2, $3, $4)",
                &[&a, &m, &name, v],
            )?;
        }
    }
    Ok(MetadataSet::Done)
}
