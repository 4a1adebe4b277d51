//! Settings kept in the store rather than the configuration file: what every node of
//! a cluster must share (on the embedded engine there is one node, and the table is
//! here so both engines keep the same data).

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// A stored setting.
pub(crate) fn get(c: &Connection, name: &str) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT value FROM settings WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?,
    )
}

/// Sets a setting only if it has no value yet; returns the value that holds.
pub(crate) fn init(c: &Connection, name: &str, value: &str, now: i64) -> Result<String> {
    c.execute(
        "INSERT INTO settings (name, value, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![name, value, now],
    )?;
    Ok(
        c.query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

/// Sets a setting, replacing its value.
pub(crate) fn put(c: &Connection, name: &str, value: &str, now: i64) -> Result<()> {
    c.execute(
        "INSERT INTO settings (name, value, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![name, value, now],
    )?;
    Ok(())
}

/// Removes a setting; true if it existed.
pub(crate) fn delete(c: &Connection, name: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM settings WHERE name = ?1", [name])? > 0)
}
