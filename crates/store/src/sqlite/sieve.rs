//! SQL for Sieve scripts and their memory (see `api/sieve.rs`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::api::{SieveForDelivery, SieveScript};
use crate::error::{Result, StoreError};
use crate::types::AccountId;

const COLUMNS: &str = "name, content, active, updated_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SieveScript> {
    Ok(SieveScript {
        name: r.get(0)?,
        content: r.get(1)?,
        active: r.get::<_, i64>(2)? != 0,
        updated_at: r.get(3)?,
    })
}

/// Records on the account that its active script changed (`active`) or that it has
/// none.
fn set_generation(c: &Connection, account: AccountId, active: bool) -> Result<()> {
    if active {
        c.execute(
            "UPDATE accounts SET sieve_generation = MAX(sieve_generation + 1, ?2) WHERE id = ?1",
            params![account.0, crate::rules::next_sieve_generation()],
        )?;
    } else {
        c.execute(
            "UPDATE accounts SET sieve_generation = 0 WHERE id = ?1",
            [account.0],
        )?;
    }
    Ok(())
}

pub(crate) fn list(c: &Connection, account: AccountId) -> Result<Vec<SieveScript>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sieve_scripts WHERE account_id = ?1 ORDER BY name"
    ))?;
    let rows = st.query_map([account.0], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get(c: &Connection, account: AccountId, name: &str) -> Result<Option<SieveScript>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sieve_scripts WHERE account_id = ?1 AND name = ?2"
    ))?
    .query_row(params![account.0, name], row)
    .optional()?)
}

pub(crate) fn put(
    c: &Connection,
    account: AccountId,
    name: &str,
    content: &str,
    now: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO sieve_scripts (account_id, name, content, active, updated_at) \
         VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (account_id, name) \
         DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
        params![account.0, name, content, now],
    )?;
    if get(c, account, name)?.is_some_and(|s| s.active) {
        set_generation(c, account, true)?;
    }
    Ok(())
}

pub(crate) fn delete(c: &Connection, account: AccountId, name: &str) -> Result<()> {
    let active: Option<i64> = c
        .query_row(
            "SELECT active FROM sieve_scripts WHERE account_id = ?1 AND name = ?2",
            params![account.0, name],
            |r| r.get(0),
        )
        .optional()?;
    match active {
        None => Err(StoreError::NotFound("script")),
        Some(a) if a != 0 => Err(StoreError::Conflict(format!(
            "{name:?} is the active script; deactivate it first"
        ))),
        Some(_) => {
            c.execute(
                "DELETE FROM sieve_scripts WHERE account_id = ?1 AND name = ?2",
                params![account.0, name],
            )?;
            Ok(())
        }
    }
}

pub(crate) fn rename(
    c: &Connection,
    account: AccountId,
    old: &str,
    new: &str,
    now: i64,
) -> Result<()> {
    if old != new && get(c, account, new)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "a script named {new:?} exists"
        )));
    }
    let n = c.execute(
        "UPDATE sieve_scripts SET name = ?3, updated_at = ?4 WHERE account_id = ?1 AND name = ?2",
        params![account.0, old, new, now],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("script"));
    }
    if get(c, account, new)?.is_some_and(|s| s.active) {
        set_generation(c, account, true)?;
    }
    Ok(())
}

pub(crate) fn activate(c: &Connection, account: AccountId, name: Option<&str>) -> Result<()> {
    if let Some(name) = name
        && get(c, account, name)?.is_none()
    {
        return Err(StoreError::NotFound("script"));
    }
    c.execute(
        "UPDATE sieve_scripts SET active = 0 WHERE account_id = ?1 AND active = 1",
        [account.0],
    )?;
    if let Some(name) = name {
        c.execute(
            "UPDATE sieve_scripts SET active = 1 WHERE account_id = ?1 AND name = ?2",
            params![account.0, name],
        )?;
    }
    set_generation(c, account, name.is_some())
}

pub(crate) fn for_delivery(c: &Connection, accounts: &[AccountId]) -> Result<SieveForDelivery> {
    let mut out = SieveForDelivery::default();
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sieve_scripts WHERE account_id = ?1 AND active = 1"
    ))?;
    for a in accounts {
        if let Some(s) = st.query_row([a.0], row).optional()? {
            out.personal.push((*a, s));
        }
    }
    let mut st = c.prepare_cached(
        "SELECT name, value FROM settings WHERE name >= 'sieve:' AND name < 'sieve;' ORDER BY name",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    out.server = rows.collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

pub(crate) fn memory_has(
    c: &Connection,
    account: AccountId,
    keys: &[String],
    now: i64,
) -> Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT 1 FROM sieve_memory WHERE account_id = ?1 AND key = ?2 AND expires_at > ?3",
    )?;
    let mut found = Vec::new();
    for k in keys {
        if st.exists(params![account.0, k, now])? {
            found.push(k.clone());
        }
    }
    Ok(found)
}

pub(crate) fn memory_put(
    c: &Connection,
    account: AccountId,
    entries: &[(String, i64)],
    now: i64,
) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO sieve_memory (account_id, key, expires_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account_id, key) DO UPDATE SET expires_at = excluded.expires_at",
    )?;
    for (k, exp) in entries {
        st.execute(params![account.0, k, exp])?;
    }
    c.prepare_cached("DELETE FROM sieve_memory WHERE account_id = ?1 AND expires_at <= ?2")?
        .execute(params![account.0, now])?;
    Ok(())
}

/// Removes an account's scripts and memory (account deletion).
pub(crate) fn delete_account(c: &Connection, account: AccountId) -> Result<()> {
    c.execute(
        "DELETE FROM sieve_scripts WHERE account_id = ?1",
        [account.0],
    )?;
    c.execute(
        "DELETE FROM sieve_memory WHERE account_id = ?1",
        [account.0],
    )?;
    Ok(())
}
