//! SQL for accounts and aliases (PostgreSQL twin of `sqlite/accounts.rs`).

use postgres::Row;

use super::Tx;
use crate::error::{Result, StoreError};
use crate::rules::split_address;
use crate::types::{Account, AccountId, AccountUpdate, Alias, DomainId, ServiceFlags};

const COLUMNS: &str = "a.id, a.domain_id, a.local_part, d.name, a.password_hash, a.display_name, \
    a.quota_bytes, a.used_bytes, a.pop_enabled, a.pop_lan_only, a.imap_enabled, a.imap_lan_only, \
    a.multipop_enabled, a.connector_enabled, a.smarthost_username, a.smarthost_password, \
    a.disabled, a.created_at, a.sieve_generation";

fn row(r: &Row) -> Account {
    Account {
        id: AccountId(r.get(0)),
        domain_id: DomainId(r.get(1)),
        local_part: r.get(2),
        domain: r.get(3),
        password_hash: r.get(4),
        display_name: r.get(5),
        quota_bytes: r.get::<_, i64>(6).max(0) as u64,
        used_bytes: r.get::<_, i64>(7).max(0) as u64,
        services: ServiceFlags {
            pop: r.get(8),
            pop_lan_only: r.get(9),
            imap: r.get(10),
            imap_lan_only: r.get(11),
            multipop: r.get(12),
            connector: r.get(13),
        },
        smarthost_username: r.get(14),
        smarthost_password: r.get(15),
        disabled: r.get(16),
        created_at: r.get(17),
        sieve_generation: r.get(18),
    }
}

pub(crate) fn create(
    c: &mut Tx<'_>,
    address: &str,
    password_hash: &str,
    services: ServiceFlags,
) -> Result<Account> {
    let (local, domain) = split_address(address)?;
    // The domain row is locked (shared) so it cannot be deleted under the new account.
    let d = c
        .query_opt(
            "SELECT id FROM domains WHERE name = $1 FOR SHARE",
            &[&domain],
        )?
        .ok_or_else(|| {
            StoreError::Conflict(format!("{domain} is not a local domain; add it first"))
        })?;
    let domain_id: i64 = d.get(0);
    let inserted = c.query_opt(
        "INSERT INTO accounts (domain_id, local_part, password_hash, pop_enabled, pop_lan_only, \
         imap_enabled, imap_lan_only, multipop_enabled, connector_enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (domain_id, local_part) DO NOTHING RETURNING id",
        &[
            &domain_id,
            &local,
            &password_hash,
            &services.pop,
            &services.pop_lan_only,
            &services.imap,
            &services.imap_lan_only,
            &services.multipop,
            &services.connector,
            &super::now(),
        ],
    )?;
    let id = AccountId(
        inserted
            .ok_or_else(|| StoreError::Conflict(format!("account {address} already exists")))?
            .get(0),
    );
    super::mailboxes::create_defaults(c, id)?;
    get_by_id(c, id)?.ok_or(StoreError::NotFound("account"))
}

pub(crate) fn get(c: &mut Tx<'_>, address: &str) -> Result<Option<Account>> {
    let Ok((local, domain)) = split_address(address) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id \
         WHERE a.local_part = $1 AND d.name = $2"
    );
    Ok(c.query_opt(&sql, &[&local, &domain])?.map(|r| row(&r)))
}

pub(crate) fn get_by_id(c: &mut Tx<'_>, id: AccountId) -> Result<Option<Account>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.id = $1"
    );
    Ok(c.query_opt(&sql, &[&id.0])?.map(|r| row(&r)))
}

pub(crate) fn list(c: &mut Tx<'_>, domain: Option<&str>) -> Result<Vec<Account>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id \
         WHERE $1::CITEXT IS NULL OR d.name = $1 ORDER BY d.name, a.local_part"
    );
    Ok(c.query(&sql, &[&domain])?.iter().map(row).collect())
}

pub(crate) fn update(c: &mut Tx<'_>, id: AccountId, u: &AccountUpdate) -> Result<Account> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id \
         WHERE a.id = $1 FOR UPDATE OF a"
    );
    let cur = c
        .query_opt(&sql, &[&id.0])?
        .map(|r| row(&r))
        .ok_or(StoreError::NotFound("account"))?;
    let s = u.services.unwrap_or(cur.services);
    c.execute(
        "UPDATE accounts SET password_hash = $2, display_name = $3, quota_bytes = $4, \
         pop_enabled = $5, pop_lan_only = $6, imap_enabled = $7, imap_lan_only = $8, \
         multipop_enabled = $9, connector_enabled = $10, smarthost_username = $11, \
         smarthost_password = $12, disabled = $13 WHERE id = $1",
        &[
            &id.0,
            u.password_hash.as_ref().unwrap_or(&cur.password_hash),
            u.display_name.as_ref().unwrap_or(&cur.display_name),
            &(u.quota_bytes.unwrap_or(cur.quota_bytes) as i64),
            &s.pop,
            &s.pop_lan_only,
            &s.imap,
            &s.imap_lan_only,
            &s.multipop,
            &s.connector,
            u.smarthost_username
                .as_ref()
                .unwrap_or(&cur.smarthost_username),
            u.smarthost_password
                .as_ref()
                .unwrap_or(&cur.smarthost_password),
            &u.disabled.unwrap_or(cur.disabled),
        ],
    )?;
    get_by_id(c, id)?.ok_or(StoreError::NotFound("account"))
}

/// Deletes an account with its mailboxes, entries and collection settings, releasing
/// the messages and blobs it held.
pub(crate) fn delete(c: &mut Tx<'_>, id: AccountId) -> Result<()> {
    if c.query_opt("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", &[&id.0])?
        .is_none()
    {
        return Err(StoreError::NotFound("account"));
    }
    let boxes: Vec<i64> = c
        .query("SELECT id FROM mailboxes WHERE account_id = $1", &[&id.0])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for mb in boxes {
        super::mailboxes::delete_with_entries(c, crate::types::MailboxId(mb))?;
    }
    c.execute(
        "DELETE FROM collection_seen WHERE collection_id IN \
         (SELECT id FROM collection_accounts WHERE account_id = $1)",
        &[&id.0],
    )?;
    c.execute(
        "DELETE FROM collection_accounts WHERE account_id = $1",
        &[&id.0],
    )?;
    c.execute("DELETE FROM subscriptions WHERE account_id = $1", &[&id.0])?;
    c.execute("DELETE FROM metadata WHERE account_id = $1", &[&id.0])?;
    super::sieve::delete_account(c, id)?;
    c.execute("DELETE FROM accounts WHERE id = $1", &[&id.0])?;
    Ok(())
}

fn alias_row(r: &Row) -> Alias {
    Alias {
        id: r.get(0),
        local_part: r.get(1),
        domain: r.get(2),
        target: r.get(3),
    }
}

pub(crate) fn alias_create(c: &mut Tx<'_>, source: &str, target: &str) -> Result<Alias> {
    let (local, domain) = split_address(source)?;
    let d = c
        .query_opt(
            "SELECT id, name FROM domains WHERE name = $1 FOR SHARE",
            &[&domain],
        )?
        .ok_or_else(|| {
            StoreError::Conflict(format!("{domain} is not a local domain; add it first"))
        })?;
    let (domain_id, domain_name): (i64, String) = (d.get(0), d.get(1));
    split_address(target)?;
    if local != "*" && get(c, source)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "{source} is an account; an alias cannot shadow it"
        )));
    }
    let inserted = c.query_opt(
        "INSERT INTO aliases (domain_id, local_part, target) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING RETURNING id",
        &[&domain_id, &local, &target],
    )?;
    let id: i64 = inserted
        .ok_or_else(|| StoreError::Conflict(format!("alias {source} -> {target} already exists")))?
        .get(0);
    Ok(Alias {
        id,
        local_part: local.to_string(),
        domain: domain_name,
        target: target.to_string(),
    })
}

pub(crate) fn alias_list(c: &mut Tx<'_>, domain: Option<&str>) -> Result<Vec<Alias>> {
    Ok(c.query(
        "SELECT x.id, x.local_part, d.name, x.target FROM aliases x JOIN domains d ON d.id = x.domain_id \
         WHERE $1::CITEXT IS NULL OR d.name = $1 ORDER BY d.name, x.local_part, x.target",
        &[&domain],
    )?
    .iter()
    .map(alias_row)
    .collect())
}

/// Targets of the alias `local@domain` (exact match only; no catch-all).
pub(crate) fn alias_targets(c: &mut Tx<'_>, local: &str, domain: &str) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT x.target FROM aliases x JOIN domains d ON d.id = x.domain_id \
         WHERE d.name = $2 AND x.local_part = $1 ORDER BY x.target",
        &[&local, &domain],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Removes `source -> target`, or every alias of `source` when `target` is None.
pub(crate) fn alias_delete(c: &mut Tx<'_>, source: &str, target: Option<&str>) -> Result<usize> {
    let (local, domain) = split_address(source)?;
    let n = c.execute(
        "DELETE FROM aliases WHERE domain_id = (SELECT id FROM domains WHERE name = $1) \
         AND local_part = $2 AND ($3::CITEXT IS NULL OR target = $3)",
        &[&domain, &local, &target],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("alias"));
    }
    Ok(n as usize)
}
