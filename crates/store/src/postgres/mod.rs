//! The scale-out engine: PostgreSQL, shared by every Pillarbox node of a cluster. It
//! mirrors `sqlite/` table for table and function for function; what differs is how
//! concurrency is kept safe. SQLite has one writer; here many nodes write at once, so
//! every read-modify-write takes the row lock it depends on (`FOR UPDATE`, or an
//! `UPDATE ... RETURNING` that bumps a counter), queue items are leased with
//! `FOR UPDATE SKIP LOCKED`, and a transaction that loses a deadlock or a serialisation
//! race is run again from the start (jobs are `FnMut`).
//!
//! Jobs run on blocking threads with the synchronous `postgres` client (the same
//! protocol code as tokio-postgres, driven by a small runtime of its own), so each SQL
//! function here has the shape of its SQLite twin: plain code over a transaction.
//! Every prepared statement is cached per connection.
//!
//! All SQL of the PostgreSQL engine lives in this module tree and nowhere else.

pub(crate) mod accounts;
pub(crate) mod blobs;
pub(crate) mod collect;
mod db;
pub(crate) mod delivery;
pub(crate) mod domains;
pub(crate) mod entries;
pub(crate) mod imap;
pub(crate) mod listen;
pub(crate) mod mailboxes;
pub(crate) mod messages;
pub(crate) mod metadata;
pub(crate) mod migrations;
pub(crate) mod monitor;
pub(crate) use migrations::run as migrations_run;
pub(crate) mod nodes;
pub(crate) mod pop3;
pub(crate) mod queue;
pub(crate) mod scan;
pub(crate) mod settings;
pub(crate) mod sieve;
mod tls;

pub(crate) use db::{Db, PgOptions, Tx, redact};

/// Current time in seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    crate::sqlite::now()
}
