//! SQL for local domains.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, StoreError};
use crate::types::{Domain, DomainId};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Domain> {
    Ok(Domain {
        id: DomainId(r.get(0)?),
        name: r.get(1)?,
        created_at: r.get(2)?,
    })
}

pub(crate) fn create(c: &Connection, name: &str) -> Result<Domain> {
    if get(c, name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "domain {name} already exists"
        )));
    }
    let now = super::now();
    c.execute(
        "INSERT INTO domains (name, created_at) VALUES (?1, ?2)",
        params![name, now],
    )?;
    Ok(Domain {
        id: DomainId(c.last_insert_rowid()),
        name: name.to_string(),
        created_at: now,
    })
}

pub(crate) fn get(c: &Connection, name: &str) -> Result<Option<Domain>> {
    Ok(c.query_row(
        "SELECT id, name, created_at FROM domains WHERE name = ?1",
        [name],
        row,
    )
    .optional()?)
}

pub(crate) fn list(c: &Connection) -> Result<Vec<Domain>> {
    let mut st = c.prepare_cached("SELECT id, name, created_at FROM domains ORDER BY name")?;
    let rows = st
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn delete(c: &Connection, name: &str) -> Result<()> {
    let d = get(c, name)?.ok_or(StoreError::NotFound("domain"))?;
    let accounts: i64 = c.query_row(
        "SELECT COUNT(*) FROM accounts WHERE domain_id = ?1",
        [d.id.0],
        |r| r.get(0),
    )?;
    if accounts > 0 {
        return Err(StoreError::Conflict(format!(
            "domain {name} still has {accounts} account(s); remove them first"
        )));
    }
    c.execute("DELETE FROM aliases WHERE domain_id = ?1", [d.id.0])?;
    c.execute("DELETE FROM domains WHERE id = ?1", [d.id.0])?;
    Ok(())
}
