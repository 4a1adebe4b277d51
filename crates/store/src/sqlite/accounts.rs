//! SQL for accounts and aliases, and address resolution.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, StoreError};
use crate::rules::split_address;
use crate::types::{Account, AccountId, AccountUpdate, Alias, DomainId, ServiceFlags};

const COLUMNS: &str = "a.id, a.domain_id, a.local_part, d.name, a.password_hash, a.display_name, \
    a.quota_bytes, a.used_bytes, a.pop_enabled, a.pop_lan_only, a.imap_enabled, a.imap_lan_only, \
    a.multipop_enabled, a.connector_enabled, a.smarthost_username, a.smarthost_password, \
    a.disabled, a.created_at, a.sieve_generation";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(r.get(0)?),
        domain_id: DomainId(r.get(1)?),
        local_part: r.get(2)?,
        domain: r.get(3)?,
        password_hash: r.get(4)?,
        display_name: r.get(5)?,
        quota_bytes: r.get::<_, i64>(6)? as u64,
        used_bytes: r.get::<_, i64>(7)?.max(0) as u64,
        services: ServiceFlags {
            pop: r.get(8)?,
            pop_lan_only: r.get(9)?,
            imap: r.get(10)?,
            imap_lan_only: r.get(11)?,
            multipop: r.get(12)?,
            connector: r.get(13)?,
        },
        smarthost_username: r.get(14)?,
        smarthost_password: r.get(15)?,
        disabled: r.get(16)?,
        created_at: r.get(17)?,
        sieve_generation: r.get(18)?,
    })
}

pub(crate) fn create(
    c: &Connection,
    address: &str,
    password_hash: &str,
    services: ServiceFlags,
) -> Result<Account> {
    let (local, domain) = split_address(address)?;
    let d = super::domains::get(c, domain)?.ok_or_else(|| {
        StoreError::Conflict(format!("{domain} is not a local domain; add it first"))
    })?;
    if get(c, address)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "account {address} already exists"
        )));
    }
    c.execute(
        "INSERT INTO accounts (domain_id, local_part, password_hash, pop_enabled, pop_lan_only, \
         imap_enabled, imap_lan_only, multipop_enabled, connector_enabled, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            d.id.0,
            local,
            password_hash,
            services.pop,
            services.pop_lan_only,
            services.imap,
            services.imap_lan_only,
            services.multipop,
            services.connector,
            super::now()
        ],
    )?;
    let id = AccountId(c.last_insert_rowid());
    super::mailboxes::create_defaults(c, id)?;
    get_by_id(c, id)?.ok_or(StoreError::NotFound("account"))
}

pub(crate) fn get(c: &Connection, address: &str) -> Result<Option<Account>> {
    let Ok((local, domain)) = split_address(address) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id \
         WHERE a.local_part = ?1 AND d.name = ?2"
    );
    Ok(c.prepare_cached(&sql)?
        .query_row(params![local, domain], row)
        .optional()?)
}

pub(crate) fn get_by_id(c: &Connection, id: AccountId) -> Result<Option<Account>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.id = ?1"
    );
    Ok(c.prepare_cached(&sql)?.query_row([id.0], row).optional()?)
}

pub(crate) fn list(c: &Connection, domain: Option<&str>) -> Result<Vec<Account>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id \
         WHERE ?1 IS NULL OR d.name = ?1 ORDER BY d.name, a.local_part"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map([domain], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn update(c: &Connection, id: AccountId, u: &AccountUpdate) -> Result<Account> {
    let cur = get_by_id(c, id)?.ok_or(StoreError::NotFound("account"))?;
    let s = u.services.unwrap_or(cur.services);
    c.execute(
        "UPDATE accounts SET password_hash = ?2, display_name = ?3, quota_bytes = ?4, \
         pop_enabled = ?5, pop_lan_only = ?6, imap_enabled = ?7, imap_lan_only = ?8, \
         multipop_enabled = ?9, connector_enabled = ?10, smarthost_username = ?11, \
         smarthost_password = ?12, disabled = ?13 WHERE id = ?1",
        params![
            id.0,
            u.password_hash.as_ref().unwrap_or(&cur.password_hash),
            u.display_name.as_ref().unwrap_or(&cur.display_name),
            u.quota_bytes.unwrap_or(cur.quota_bytes) as i64,
            s.pop,
            s.pop_lan_only,
            s.imap,
            s.imap_lan_only,
            s.multipop,
            s.connector,
            u.smarthost_username
                .as_ref()
                .unwrap_or(&cur.smarthost_username),
            u.smarthost_password
                .as_ref()
                .unwrap_or(&cur.smarthost_password),
            u.disabled.unwrap_or(cur.disabled),
        ],
    )?;
    get_by_id(c, id)?.ok_or(StoreError::NotFound("account"))
}

/// Deletes an account with its mailboxes, entries and collection settings, releasing
/// the messages and blobs it held.
pub(crate) fn delete(c: &Connection, id: AccountId) -> Result<()> {
    let boxes: Vec<i64> = c
        .prepare("SELECT id FROM mailboxes WHERE account_id = ?1")?
        .query_map([id.0], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for mb in boxes {
        super::mailboxes::delete_with_entries(c, crate::types::MailboxId(mb))?;
    }
    c.execute(
        "DELETE FROM collection_seen WHERE collection_id IN (SELECT id FROM collection_accounts WHERE account_id = ?1)",
        [id.0],
    )?;
    c.execute(
        "DELETE FROM collection_accounts WHERE account_id = ?1",
        [id.0],
    )?;
    c.execute("DELETE FROM subscriptions WHERE account_id = ?1", [id.0])?;
    c.execute("DELETE FROM metadata WHERE account_id = ?1", [id.0])?;
    super::sieve::delete_account(c, id)?;
    let n = c.execute("DELETE FROM accounts WHERE id = ?1", [id.0])?;
    if n == 0 {
        return Err(StoreError::NotFound("account"));
    }
    Ok(())
}

fn alias_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alias> {
    Ok(Alias {
        id: r.get(0)?,
        local_part: r.get(1)?,
        domain: r.get(2)?,
        target: r.get(3)?,
    })
}

pub(crate) fn alias_create(c: &Connection, source: &str, target: &str) -> Result<Alias> {
    let (local, domain) = split_address(source)?;
    let d = super::domains::get(c, domain)?.ok_or_else(|| {
        StoreError::Conflict(format!("{domain} is not a local domain; add it first"))
    })?;
    split_address(target)?;
    if local != "*" && get(c, source)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "{source} is an account; an alias cannot shadow it"
        )));
    }
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM aliases WHERE domain_id = ?1 AND local_part = ?2 AND target = ?3)",
        params![d.id.0, local, target],
        |r| r.get(0),
    )?;
    if exists {
        return Err(StoreError::Conflict(format!(
            "alias {source} -> {target} already exists"
        )));
    }
    c.execute(
        "INSERT INTO aliases (domain_id, local_part, target) VALUES (?1, ?2, ?3)",
        params![d.id.0, local, target],
    )?;
    Ok(Alias {
        id: c.last_insert_rowid(),
        local_part: local.to_string(),
        domain: d.name,
        target: target.to_string(),
    })
}

pub(crate) fn alias_list(c: &Connection, domain: Option<&str>) -> Result<Vec<Alias>> {
    let mut st = c.prepare_cached(
        "SELECT x.id, x.local_part, d.name, x.target FROM aliases x JOIN domains d ON d.id = x.domain_id \
         WHERE ?1 IS NULL OR d.name = ?1 ORDER BY d.name, x.local_part, x.target",
    )?;
    let rows = st
        .query_map([domain], alias_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Targets of the alias `local@domain` (exact match only; no catch-all).
pub(crate) fn alias_targets(c: &Connection, local: &str, domain: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT x.target FROM aliases x JOIN domains d ON d.id = x.domain_id \
         WHERE d.name = ?2 AND x.local_part = ?1 ORDER BY x.target",
    )?;
    let rows = st
        .query_map(params![local, domain], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Removes `source -> target`, or every alias of `source` when `target` is None.
pub(crate) fn alias_delete(c: &Connection, source: &str, target: Option<&str>) -> Result<usize> {
    let (local, domain) = split_address(source)?;
    let n = c.execute(
        "DELETE FROM aliases WHERE domain_id = (SELECT id FROM domains WHERE name = ?1) \
         AND local_part = ?2 AND (?3 IS NULL OR target = ?3)",
        params![domain, local, target],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("alias"));
    }
    Ok(n)
}
