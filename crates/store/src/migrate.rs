//! Moving an embedded installation into PostgreSQL (`pillarbox store migrate`): every
//! table copied row for row with its ids, so what clients depend on stays as it was
//! (UIDVALIDITY, UIDs, MODSEQs, flags and keywords, the queue with its retry state,
//! collection keys, sealed secrets, which need the same key file), blob files moved
//! into chunked rows, identity sequences moved past the copied ids, and the row
//! counts compared at the end. It refuses a database that already holds data, and a
//! data directory a running server holds. Leases are not carried over: the nodes take
//! the work up afresh.

use std::path::Path;

use postgres::types::ToSql;
use rusqlite::types::Value;

use crate::blob::{BlobHash, BlobStore};
use crate::error::{Result, StoreError};
use crate::postgres::{Db, PgOptions, Tx};
use crate::seal::Sealer;
use crate::{EngineOptions, StoreOptions};

/// How a column's SQLite values become PostgreSQL ones.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bool,
    Bytes,
    /// Not carried over (leases): left NULL.
    Null,
}

use Kind::*;

/// The tables in the order their references need, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    ("counters", &[("name", Text), ("value", Int)]),
    (
        "domains",
        &[("id", Int), ("name", Text), ("created_at", Int)],
    ),
    (
        "accounts",
        &[
            ("id", Int),
            ("domain_id", Int),
            ("local_part", Text),
            ("password_hash", Text),
            ("display_name", Text),
            ("quota_bytes", Int),
            ("used_bytes", Int),
            ("pop_enabled", Bool),
            ("pop_lan_only", Bool),
            ("imap_enabled", Bool),
            ("imap_lan_only", Bool),
            ("multipop_enabled", Bool),
            ("connector_enabled", Bool),
            ("smarthost_username", Text),
            ("smarthost_password", Text),
            ("disabled", Bool),
            ("created_at", Int),
            ("sieve_generation", Int),
        ],
    ),
    (
        "aliases",
        &[
            ("id", Int),
            ("domain_id", Int),
            ("local_part", Text),
            ("target", Text),
        ],
    ),
    (
        "mailboxes",
        &[
            ("id", Int),
            ("account_id", Int),
            ("name", Text),
            ("uidvalidity", Int),
            ("uidnext", Int),
            ("highestmodseq", Int),
            ("special_use", Text),
            ("first_recent_uid", Int),
        ],
    ),
    ("subscriptions", &[("account_id", Int), ("name", Text)]),
    (
        "blobs",
        &[
            ("hash", Text),
            ("size", Int),
            ("refcount", Int),
            ("zero_since", Int),
        ],
    ),
    ("blob_data", &[("hash", Text), ("data", Bytes)]),
    (
        "messages",
        &[
            ("id", Int),
            ("blob_hash", Text),
            ("size", Int),
            ("received_at", Int),
            ("structure", Bytes),
            ("refcount", Int),
        ],
    ),
    (
        "mailbox_entries",
        &[
            ("mailbox_id", Int),
            ("uid", Int),
            ("message_id", Int),
            ("flags", Int),
            ("keywords", Text),
            ("modseq", Int),
            ("internal_date", Int),
            ("saved_at", Int),
        ],
    ),
    (
        "expunged",
        &[("mailbox_id", Int), ("uid", Int), ("modseq", Int)],
    ),
    (
        "queue_messages",
        &[
            ("id", Int),
            ("blob_hash", Text),
            ("size", Int),
            ("sender", Text),
            ("envid", Text),
            ("ret", Text),
            ("account_id", Int),
            ("source", Text),
            ("route", Text),
            ("held", Bool),
            ("created_at", Int),
            ("trace", Text),
        ],
    ),
    (
        "queue_recipients",
        &[
            ("id", Int),
            ("queue_id", Int),
            ("recipient", Text),
            ("domain", Text),
            ("orcpt", Text),
            ("notify", Text),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt", Int),
            ("last_attempt", Int),
            ("last_error", Text),
            ("lease_until", Null),
            ("lease_owner", Null),
            ("delay_warned", Bool),
            ("finished_at", Int),
        ],
    ),
    (
        "collection_accounts",
        &[
            ("id", Int),
            ("account_id", Int),
            ("name", Text),
            ("remote_address", Text),
            ("remote_username", Text),
            ("remote_secret", Text),
            ("secrets", Text),
            ("settings", Text),
            ("enabled", Bool),
            ("lease_until", Null),
            ("lease_owner", Null),
            ("last_run_at", Int),
            ("last_result", Text),
            ("last_success_at", Int),
            ("created_at", Int),
        ],
    ),
    (
        "collection_seen",
        &[
            ("collection_id", Int),
            ("remote_key", Text),
            ("collected_at", Int),
        ],
    ),
    (
        "pop3_retrieved",
        &[("mailbox_id", Int), ("uid", Int), ("retrieved_at", Int)],
    ),
    (
        "settings",
        &[("name", Text), ("value", Text), ("updated_at", Int)],
    ),
    (
        "sieve_scripts",
        &[
            ("account_id", Int),
            ("name", Text),
            ("content", Text),
            ("active", Bool),
            ("updated_at", Int),
        ],
    ),
    (
        "sieve_memory",
        &[("account_id", Int), ("key", Text), ("expires_at", Int)],
    ),
    (
        "quarantine",
        &[
            ("id", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("blob_hash", Text),
            ("size", Int),
            ("sender", Text),
            ("recipients", Text),
            ("account_id", Int),
            ("reason", Text),
            ("verdict", Text),
            ("source", Text),
        ],
    ),
    (
        "metadata",
        &[
            ("account_id", Int),
            ("mailbox_id", Int),
            ("name", Text),
            ("value", Bytes),
        ],
    ),
    (
        "greylist",
        &[
            ("key", Text),
            ("first_seen", Int),
            ("last_seen", Int),
            ("passes", Int),
        ],
    ),
    (
        "events",
        &[
            ("id", Int),
            ("at_ms", Int),
            ("kind", Text),
            ("severity", Text),
            ("node", Text),
            ("account", Text),
            ("domain", Text),
            ("trace", Text),
            ("queue_id", Int),
            ("session", Text),
            ("ip", Text),
            ("text", Text),
            ("eid", Text),
        ],
    ),
    (
        "trace_steps",
        &[
            ("id", Int),
            ("trace", Text),
            ("at_ms", Int),
            ("step", Text),
            ("node", Text),
            ("detail", Text),
        ],
    ),
    (
        "trace_keys",
        &[("key", Text), ("trace", Text), ("at_ms", Int)],
    ),
    (
        "stats",
        &[
            ("granularity", Text),
            ("bucket", Int),
            ("name", Text),
            ("domain", Text),
            ("value", Int),
        ],
    ),
    (
        "alerts",
        &[
            ("name", Text),
            ("active", Bool),
            ("detail", Text),
            ("raised_ms", Int),
            ("cleared_ms", Int),
            ("notified_ms", Int),
            ("acked", Bool),
        ],
    ),
    (
        "webhooks",
        &[
            ("id", Int),
            ("account_id", Int),
            ("url", Text),
            ("secret", Text),
            ("events", Text),
            ("enabled", Bool),
            ("created_at", Int),
        ],
    ),
    (
        "webhook_outbox",
        &[
            ("id", Int),
            ("webhook_id", Int),
            ("event", Text),
            ("payload", Text),
            ("created_ms", Int),
            ("status", Text),
            ("attempts", Int),
            ("next_ms", Int),
            ("last_error", Text),
            ("done_ms", Int),
            ("lease_until", Null),
            ("lease_owner", Null),
        ],
    ),
];

/// Tables whose ids come from an identity sequence.
const IDENTITIES: &[&str] = &[
    "domains",
    "accounts",
    "aliases",
    "mailboxes",
    "messages",
    "queue_messages",
    "queue_recipients",
    "collection_accounts",
    "events",
    "trace_steps",
    "webhooks",
    "webhook_outbox",
    "quarantine",
];

/// Rows copied per transaction.
const BATCH: usize = 1000;

/// Where a migration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStep {
    /// The table (or `blob files`) being copied.
    pub what: String,
    pub done: u64,
    pub total: u64,
}

/// What a migration copied: each table with its row count (equal on both sides).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub tables: Vec<(String, u64)>,
    /// Blobs moved from files into the database.
    pub blob_files: u64,
}

/// Copies the embedded store in `data_dir` into the PostgreSQL database `to` names.
/// `progress` hears of every batch. Blocking; runs its own threads for the database.
pub fn migrate_to_postgres(
    data_dir: &Path,
    source: &StoreOptions,
    to: &EngineOptions,
    mut progress: impl FnMut(&MigrationStep) + Send,
) -> Result<MigrationReport> {
    let EngineOptions::Postgres {
        url,
        pool_size,
        tls_ca_file,
        tls_verify,
    } = to
    else {
        return Err(StoreError::Conflict("the target must be PostgreSQL".into()));
    };
    let lock = std::fs::File::create(data_dir.join("server.lock"))?;
    if lock.try_lock().is_err() {
        return Err(StoreError::Locked(data_dir.display().to_string()));
    }
    let db_path = data_dir.join("pillarbox.db");
    if !db_path.is_file() {
        return Err(StoreError::NotFound("embedded database (pillarbox.db)"));
    }
    let key = source
        .secrets_key
        .clone()
        .unwrap_or_else(|| data_dir.join("secrets.key"));
    let sealer = Sealer::load_or_create(&key)?;
    // Brings the source to the newest schema first (the copy expects its columns).
    drop(crate::sqlite::open(&db_path, 1, &sealer)?);
    let src = rusqlite::Connection::open_with_flags(
        &db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let blobs = BlobStore::open(&data_dir.join("blobs"))?;
    let pg = PgOptions {
        url: url.clone(),
        pool_size: *pool_size,
        tls_ca_file: tls_ca_file.clone(),
        tls_verify: *tls_verify,
    };
    let fingerprint = sealer.fingerprint().to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            let db = Db::connect(&pg)?;
            db.write_blocking(crate::postgres::migrations_run)?;
            refuse_non_empty(&db)?;
            let mut report = MigrationReport::default();
            for (table, columns) in TABLES {
                let n = copy_table(&src, &db, table, columns, &mut progress)?;
                report.tables.push((table.to_string(), n));
            }
            report.blob_files = copy_blob_files(&src, &db, &blobs, &mut progress)?;
            db.write_blocking(|t| {
                for table in IDENTITIES {
                    t.execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                             GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                        ),
                        &[],
                    )?;
                }
                crate::postgres::settings::init(
                    t,
                    "secrets_key_fingerprint",
                    &fingerprint,
                    crate::postgres::now(),
                )?;
                Ok(())
            })?;
            verify(&src, &db, &report)?;
            Ok(report)
        })
        .join()
        .unwrap_or_else(|_| Err(StoreError::Corrupt("the migration panicked".into())))
    })
}

fn refuse_non_empty(db: &Db) -> Result<()> {
    let used: i64 = db.read_blocking(|t| {
        let mut n = 0i64;
        for (table, _) in TABLES {
            n += t
                .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])?
                .get::<_, i64>(0);
        }
        Ok(n)
    })?;
    if used > 0 {
        return Err(StoreError::Conflict(format!(
            "the database {} already holds data ({used} rows); migrate into an empty database",
            db.url()
        )));
    }
    Ok(())
}

/// One SQLite value as the PostgreSQL parameter its column takes.
fn convert(v: Value, kind: Kind) -> Result<Box<dyn ToSql + Sync>> {
    Ok(match (kind, v) {
        (Int, Value::Null) => Box::new(None::<i64>),
        (Int, Value::Integer(i)) => Box::new(Some(i)),
        (Bool, Value::Null) => Box::new(None::<bool>),
        (Bool, Value::Integer(i)) => Box::new(Some(i != 0)),
        (Text, Value::Null) => Box::new(None::<String>),
        (Text, Value::Text(s)) => Box::new(Some(s)),
        (Bytes, Value::Null) => Box::new(None::<Vec<u8>>),
        (Bytes, Value::Blob(b)) => Box::new(Some(b)),
        (Bytes, Value::Text(s)) => Box::new(Some(s.into_bytes())),
        (_, v) => {
            return Err(StoreError::Corrupt(format!(
                "unexpected value {v:?} in the embedded database"
            )));
        }
    })
}

fn copy_table(
    src: &rusqlite::Connection,
    db: &Db,
    table: &str,
    columns: &[(&str, Kind)],
    progress: &mut impl FnMut(&MigrationStep),
) -> Result<u64> {
    let total: i64 = src.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
    // Columns not carried over stay NULL in the database.
    let columns: Vec<(&str, Kind)> = columns
        .iter()
        .copied()
        .filter(|c| !matches!(c.1, Null))
        .collect();
    let columns = columns.as_slice();
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let select = format!("SELECT {} FROM {table}", names.join(", "));
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    let mut step = MigrationStep {
        what: table.to_string(),
        done: 0,
        total: total.max(0) as u64,
    };
    progress(&step);
    let mut st = src.prepare(&select)?;
    let mut rows = st.query([])?;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
    while let Some(r) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        batch.push(values);
        if batch.len() == BATCH {
            db.write_blocking(|t| insert_rows(t, &insert, columns, &batch))?;
            step.done += batch.len() as u64;
            batch.clear();
            progress(&step);
        }
    }
    if !batch.is_empty() {
        db.write_blocking(|t| insert_rows(t, &insert, columns, &batch))?;
        step.done += batch.len() as u64;
        progress(&step);
    }
    Ok(step.done)
}

fn insert_rows(
    t: &mut Tx<'_>,
    insert: &str,
    columns: &[(&str, Kind)],
    rows: &[Vec<Value>],
) -> Result<()> {
    for row in rows {
        let params = row
            .iter()
            .zip(columns)
            .map(|(v, (_, kind))| convert(v.clone(), *kind))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        t.execute(insert, &refs)?;
    }
    Ok(())
}

/// Moves every blob kept as a file into chunked rows.
fn copy_blob_files(
    src: &rusqlite::Connection,
    db: &Db,
    blobs: &BlobStore,
    progress: &mut impl FnMut(&MigrationStep),
) -> Result<u64> {
    let hashes: Vec<String> = src
        .prepare("SELECT hash FROM blobs WHERE hash NOT IN (SELECT hash FROM blob_data)")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut step = MigrationStep {
        what: "blob files".into(),
        done: 0,
        total: hashes.len() as u64,
    };
    progress(&step);
    for h in hashes {
        let hash = BlobHash::parse(&h)?;
        let path = blobs.path(&hash);
        if !path.is_file() {
            // A row whose blob was never written (refcount 0 awaiting GC).
            step.done += 1;
            continue;
        }
        db.write_blocking(|t| crate::blob::store_chunks(t, &hash, Some(&path), &[]))?;
        step.done += 1;
        progress(&step);
    }
    Ok(step.done)
}

/// Compares the row count of every table on both sides.
fn verify(src: &rusqlite::Connection, db: &Db, report: &MigrationReport) -> Result<()> {
    for (table, copied) in &report.tables {
        let source: i64 =
            src.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        // The cluster's key fingerprint is the one row the migration adds.
        let only_copied = match table.as_str() {
            "settings" => " WHERE name <> 'secrets_key_fingerprint'",
            _ => "",
        };
        let target: i64 = db.read_blocking(|t| {
            Ok(
                t.query_one(&format!("SELECT COUNT(*) FROM {table}{only_copied}"), &[])?
                    .get(0),
            )
        })?;
        if source != target || target as u64 != *copied {
            return Err(StoreError::Corrupt(format!(
                "{table}: {source} rows in the embedded store but {target} in the database"
            )));
        }
    }
    Ok(())
}
