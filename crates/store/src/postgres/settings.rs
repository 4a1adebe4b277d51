//! Settings every node reads from the store (PostgreSQL twin of `sqlite/settings.rs`):
//! the generated TLS certificate, the fingerprint of the secrets key.

use super::Tx;
use crate::error::Result;

/// A shared setting.
pub(crate) fn get(c: &mut Tx<'_>, name: &str) -> Result<Option<String>> {
    Ok(
        c.query_opt("SELECT value FROM settings WHERE name = $1", &[&name])?
            .map(|r| r.get(0)),
    )
}

/// Sets a shared setting only if it has no value yet; returns the value that holds
/// (the one given, or the one another node set first).
pub(crate) fn init(c: &mut Tx<'_>, name: &str, value: &str, now: i64) -> Result<String> {
    c.execute(
        "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&name, &value, &now],
    )?;
    Ok(
        c.query_one("SELECT value FROM settings WHERE name = $1", &[&name])?
            .get(0),
    )
}

/// Sets a shared setting, replacing its value.
pub(crate) fn put(c: &mut Tx<'_>, name: &str, value: &str, now: i64) -> Result<()> {
    c.execute(
        "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        &[&name, &value, &now],
    )?;
    Ok(())
}

/// Removes a shared setting; true if it existed.
pub(crate) fn delete(c: &mut Tx<'_>, name: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM settings WHERE name = $1", &[&name])? > 0)
}
