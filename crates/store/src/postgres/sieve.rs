//! SQL for Sieve scripts and their memory (PostgreSQL twin of `sqlite/sieve.rs`).

use postgres::Row;

use super::Tx;
use crate::api::{SieveForDelivery, SieveScript};
use crate::error::{Result, StoreError};
use crate::types::AccountId;

const COLUMNS: &str = "name, content, active, updated_at";

fn row(r: &Row) -> SieveScript {
    SieveScript {
        name: r.get(0),
        content: r.get(1),
        active: r.get(2),
        updated_at: r.get(3),
    }
}

/// Records on the account that its active script changed (`active`) or that it has
/// none.
fn set_generation(c: &mut Tx<'_>, account: AccountId, active: bool) -> Result<()> {
    if active {
        c.execute(
            "UPDATE accounts SET sieve_generation = GREATEST(sieve_generation + 1, $2) WHERE id = $1",
            &[&account.0, &crate::rules::next_sieve_generation()],
        )?;
    } else {
        c.execute(
            "UPDATE accounts SET sieve_generation = 0 WHERE id = $1",
            &[&account.0],
        )?;
    }
    Ok(())
}

pub(crate) fn list(c: &mut Tx<'_>, account: AccountId) -> Result<Vec<SieveScript>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sieve_scripts WHERE account_id = $1 ORDER BY name COLLATE \"C\""
    );
    Ok(c.query(&sql, &[&account.0])?.iter().map(row).collect())
}

pub(crate) fn get(c: &mut Tx<'_>, account: AccountId, name: &str) -> Result<Option<SieveScript>> {
    let sql = format!("SELECT {COLUMNS} FROM sieve_scripts WHERE account_id = $1 AND name = $2");
    Ok(c.query_opt(&sql, &[&account.0, &name])?.as_ref().map(row))
}

pub(crate) fn put(
    c: &mut Tx<'_>,
    account: AccountId,
    name: &str,
    content: &str,
    now: i64,
) -> Result<()> {
    // The account row first, as every writer of the account locks it.
    c.query_opt(
        "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
        &[&account.0],
    )?;
    c.execute(
        "INSERT INTO sieve_scripts (account_id, name, content, active, updated_at) \
         VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT (account_id, name) \
         DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
        &[&account.0, &name, &content, &now],
    )?;
    if get(c, account, name)?.is_some_and(|s| s.active) {
        set_generation(c, account, true)?;
    }
    Ok(())
}

pub(crate) fn delete(c: &mut Tx<'_>, account: AccountId, name: &str) -> Result<()> {
    let active: Option<bool> = c
        .query_opt(
            "SELECT active FROM sieve_scripts WHERE account_id = $1 AND name = $2 FOR UPDATE",
            &[&account.0, &name],
        )?
        .map(|r| r.get(0));
    match active {
        None => Err(StoreError::NotFound("script")),
        Some(true) => Err(StoreError::Conflict(format!(
            "{name:?} is the active script; deactivate it first"
        ))),
        Some(false) => {
            c.execute(
                "DELETE FROM sieve_scripts WHERE account_id = $1 AND name = $2",
                &[&account.0, &name],
            )?;
            Ok(())
        }
    }
}

pub(crate) fn rename(
    c: &mut Tx<'_>,
    account: AccountId,
    old: &str,
    new: &str,
    now: i64,
) -> Result<()> {
    // The account row first, as every writer of the account locks it.
    c.query_opt(
        "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
        &[&account.0],
    )?;
    if old != new && get(c, account, new)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "a script named {new:?} exists"
        )));
    }
    let n = c.execute(
        "UPDATE sieve_scripts SET name = $3, updated_at = $4 WHERE account_id = $1 AND name = $2",
        &[&account.0, &old, &new, &now],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("script"));
    }
    if get(c, account, new)?.is_some_and(|s| s.active) {
        set_generation(c, account, true)?;
    }
    Ok(())
}

pub(crate) fn activate(c: &mut Tx<'_>, account: AccountId, name: Option<&str>) -> Result<()> {
    // The account row first, as every writer locks it: two nodes activating scripts
    // of one account queue here instead of racing on the one-active index.
    c.query_opt(
        "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
        &[&account.0],
    )?;
    if let Some(name) = name
        && get(c, account, name)?.is_none()
    {
        return Err(StoreError::NotFound("script"));
    }
    c.execute(
        "UPDATE sieve_scripts SET active = FALSE WHERE account_id = $1 AND active",
        &[&account.0],
    )?;
    if let Some(name) = name {
        c.execute(
            "UPDATE sieve_scripts SET active = TRUE WHERE account_id = $1 AND name = $2",
            &[&account.0, &name],
        )?;
    }
    set_generation(c, account, name.is_some())
}

pub(crate) fn for_delivery(c: &mut Tx<'_>, accounts: &[AccountId]) -> Result<SieveForDelivery> {
    let ids: Vec<i64> = accounts.iter().map(|a| a.0).collect();
    let sql = format!(
        "SELECT account_id, {COLUMNS} FROM sieve_scripts WHERE account_id = ANY($1) AND active"
    );
    let personal = c
        .query(&sql, &[&ids])?
        .iter()
        .map(|r| {
            let s = SieveScript {
                name: r.get(1),
                content: r.get(2),
                active: r.get(3),
                updated_at: r.get(4),
            };
            (AccountId(r.get(0)), s)
        })
        .collect();
    let server = c
        .query(
            "SELECT name, value FROM settings WHERE name >= 'sieve:' AND name < 'sieve;' \
             ORDER BY name COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(SieveForDelivery { personal, server })
}

pub(crate) fn memory_has(
    c: &mut Tx<'_>,
    account: AccountId,
    keys: &[String],
    now: i64,
) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT key FROM sieve_memory WHERE account_id = $1 AND key = ANY($2) AND expires_at > $3",
        &[&account.0, &keys, &now],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

pub(crate) fn memory_put(
    c: &mut Tx<'_>,
    account: AccountId,
    entries: &[(String, i64)],
    now: i64,
) -> Result<()> {
    for (k, exp) in entries {
        c.execute(
            "INSERT INTO sieve_memory (account_id, key, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, key) DO UPDATE SET expires_at = excluded.expires_at",
            &[&account.0, k, exp],
        )?;
    }
    c.execute(
        "DELETE FROM sieve_memory WHERE account_id = $1 AND expires_at <= $2",
        &[&account.0, &now],
    )?;
    Ok(())
}

/// Removes an account's scripts and memory (account deletion).
pub(crate) fn delete_account(c: &mut Tx<'_>, account: AccountId) -> Result<()> {
    c.execute(
        "DELETE FROM sieve_scripts WHERE account_id = $1",
        &[&account.0],
    )?;
    c.execute(
        "DELETE FROM sieve_memory WHERE account_id = $1",
        &[&account.0],
    )?;
    Ok(())
}
