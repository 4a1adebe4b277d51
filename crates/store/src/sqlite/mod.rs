//! The embedded engine: SQLite in WAL mode. One writer thread owns the only write
//! connection and commits every job waiting in its queue as one transaction (group
//! commit: one fsync for many callers); a pool of read connections serves readers, which
//! WAL lets run while the writer commits.
//!
//! All SQL of the SQLite engine lives in this module tree and nowhere else.

pub(crate) mod accounts;
pub(crate) mod blobs;
mod changes;
pub(crate) mod collect;
pub(crate) mod delivery;
pub(crate) mod domains;
pub(crate) mod entries;
pub(crate) mod imap;
pub(crate) mod mailboxes;
pub(crate) mod messages;
pub(crate) mod metadata;
pub(crate) mod migrations;
pub(crate) mod monitor;
pub(crate) mod pop3;
pub(crate) mod queue;
mod readers;
pub(crate) mod scan;
pub(crate) mod settings;
pub(crate) mod sieve;
mod writer;

use std::path::Path;

use rusqlite::Connection;

use crate::error::Result;
use crate::seal::{Column, Sealer};

pub(crate) use changes::{change_log_append, spawn_change_poller};
pub(crate) use readers::Readers;
pub(crate) use writer::Writer;

/// Opens a connection with the pragmas every Pillarbox connection uses.
pub(crate) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk when it returns; acknowledgements depend on it.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// Opens the database at `path`, runs pending migrations, and returns the writer and
/// the reader pool.
pub(crate) fn open(path: &Path, readers: usize, sealer: &Sealer) -> Result<(Writer, Readers)> {
    let mut conn = connect(path)?;
    migrations::run(&mut conn)?;
    seal_plaintext_secrets(&mut conn, sealer)?;
    // Commits never pay for checkpoints: a separate thread copies the WAL back into the
    // database (PASSIVE: it never blocks the writer or readers).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    let writer = Writer::start(conn)?;
    start_checkpointer(path, writer.commit_counter())?;
    let readers = Readers::open(path, readers)?;
    Ok((writer, readers))
}

/// Seals secrets stored in plaintext (by a version before sealing), in one transaction,
/// once per database: every later write goes through the sealer, so a marker in
/// `counters` says the pass is done and later opens skip it.
fn seal_plaintext_secrets(conn: &mut Connection, sealer: &Sealer) -> Result<()> {
    let done: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM counters WHERE name = 'secrets_sealed')",
        [],
        |r| r.get(0),
    )?;
    if done {
        return Ok(());
    }
    // The plaintext a row held is zeroed, not left in the page's free space.
    conn.pragma_update(None, "secure_delete", "ON")?;
    let t = conn.transaction()?;
    let mut sealed = 0;
    for column in Column::ALL {
        let (table, name) = column.location();
        let plain: Vec<(i64, String)> = {
            let mut st = t.prepare(&format!(
                "SELECT id, {name} FROM {table} WHERE {name} IS NOT NULL AND {name} NOT LIKE 'sealed:%'"
            ))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (id, value) in plain {
            t.execute(
                &format!("UPDATE {table} SET {name} = ?2 WHERE id = ?1"),
                rusqlite::params![id, sealer.seal(column, &value)?],
            )?;
            sealed += 1;
        }
    }
    t.execute(
        "INSERT OR IGNORE INTO counters (name, value) VALUES ('secrets_sealed', 1)",
        [],
    )?;
    t.commit()?;
    conn.pragma_update(None, "secure_delete", "OFF")?;
    if sealed > 0 {
        tracing::info!(sealed, "store: sealed secrets stored in plaintext");
    }
    Ok(())
}

/// Checkpoints the WAL in the background whenever the writer has committed since the
/// last pass (at most every 200 ms), and stops when the writer is gone.
fn start_checkpointer(
    path: &Path,
    commits: std::sync::Weak<std::sync::atomic::AtomicU64>,
) -> Result<()> {
    let conn = connect(path)?;
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            let count = |c: &std::sync::Weak<std::sync::atomic::AtomicU64>| {
                c.upgrade()
                    .map(|n| n.load(std::sync::atomic::Ordering::Relaxed))
            };
            let mut seen = count(&commits).unwrap_or(0);
            loop {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let Some(now) = count(&commits) else {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                    return;
                };
                if now == seen {
                    continue;
                }
                seen = now;
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "store: checkpoint failed");
                }
            }
        })?;
    Ok(())
}

/// Current time in seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
