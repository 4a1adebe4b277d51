//! SQL for local domains (PostgreSQL twin of `sqlite/domains.rs`).

use postgres::Row;

use super::Tx;
use crate::error::{Result, StoreError};
use crate::types::{Domain, DomainId};

fn row(r: &Row) -> Domain {
    Domain {
        id: DomainId(r.get(0)),
        name: r.get(1),
        created_at: r.get(2),
    }
}

pub(crate) fn create(c: &mut Tx<'_>, name: &str) -> Result<Domain> {
    let now = super::now();
    let created = c.query_opt(
        "INSERT INTO domains (name, created_at) VALUES ($1, $2) \
         ON CONFLICT (name) DO NOTHING RETURNING id, name, created_at",
        &[&name, &now],
    )?;
    created
        .map(|r| row(&r))
        .ok_or_else(|| StoreError::Conflict(format!("domain {name} already exists")))
}

pub(crate) fn get(c: &mut Tx<'_>, name: &str) -> Result<Option<Domain>> {
    Ok(c.query_opt(
        "SELECT id, name, created_at FROM domains WHERE name = $1",
        &[&name],
    )?
    .map(|r| row(&r)))
}

pub(crate) fn list(c: &mut Tx<'_>) -> Result<Vec<Domain>> {
    Ok(c.query(
        "SELECT id, name, created_at FROM domains ORDER BY name",
        &[],
    )?
    .iter()
    .map(row)
    .collect())
}

pub(crate) fn delete(c: &mut Tx<'_>, name: &str) -> Result<()> {
    // Locks the domain row: an account created meanwhile waits, then finds it gone.
    let d = c
        .query_opt(
            "SELECT id FROM domains WHERE name = $1 FOR UPDATE",
            &[&name],
        )?
        .ok_or(StoreError::NotFound("domain"))?;
    let id: i64 = d.get(0);
    let accounts: i64 = c
        .query_one("SELECT COUNT(*) FROM accounts WHERE domain_id = $1", &[&id])?
        .get(0);
    if accounts > 0 {
        return Err(StoreError::Conflict(format!(
            "domain {name} still has {accounts} account(s); remove them first"
        )));
    }
    c.execute("DELETE FROM aliases WHERE domain_id = $1", &[&id])?;
    c.execute("DELETE FROM domains WHERE id = $1", &[&id])?;
    Ok(())
}
