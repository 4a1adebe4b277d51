//! Connections to PostgreSQL: a bounded pool of synchronous clients, each with its own
//! cache of prepared statements, and the two ways to run a job: `read` (a read-only
//! REPEATABLE READ transaction, so every query of the job sees one snapshot) and
//! `write` (a READ COMMITTED transaction, run again from the start when PostgreSQL
//! reports a deadlock or a serialisation failure).
//!
//! A lost connection is dropped and replaced on the next job; while the database
//! cannot be reached, jobs fail at once with [`StoreError::Unavailable`] naming the
//! (password-redacted) URL, and everything resumes by itself when it returns. A
//! connection lost while COMMIT was in flight is reported as unavailable too: the
//! caller never takes an unconfirmed commit for a success.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, Row, Statement};
use tokio::sync::Semaphore;

use super::tls::MakeRustls;
use crate::error::{Result, StoreError};

/// How the PostgreSQL engine connects.
#[derive(Debug, Clone)]
pub(crate) struct PgOptions {
    /// `postgres://user:password@host:port/database?sslmode=...` (or key=value form).
    pub url: String,
    /// Most connections this node opens.
    pub pool_size: usize,
    /// Extra CA certificate (PEM) trusted for the database's TLS certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// Verify the database's certificate and name (on by default).
    pub tls_verify: bool,
}

/// A job's transaction: the statements it runs are prepared once per connection.
pub(crate) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    stmts: &'a mut HashMap<String, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl Tx<'_> {
    fn stmt(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Every row of `sql`.
    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let st = self.stmt(sql)?;
        Ok(self.tx.query(&st, params)?)
    }

    /// The one row of `sql`; an error when there is none.
    pub(crate) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row> {
        let st = self.stmt(sql)?;
        Ok(self.tx.query_one(&st, params)?)
    }

    /// The row of `sql`, if any.
    pub(crate) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let st = self.stmt(sql)?;
        Ok(self.tx.query_opt(&st, params)?)
    }

    /// Runs `sql`; returns the number of rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64> {
        let st = self.stmt(sql)?;
        Ok(self.tx.execute(&st, params)?)
    }

    /// Runs statements without parameters (DDL, migrations), uncached.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.tx.batch_execute(sql)?)
    }
}

/// One pooled connection.
struct Conn {
    client: Client,
    stmts: HashMap<String, Statement>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Read,
    Write,
}

/// Why a job's attempt failed, and what to do about it.
struct Failure {
    error: StoreError,
    /// Running the job again from the start may succeed (deadlock, serialisation).
    retry: bool,
    /// The connection is still usable.
    keep: bool,
}

/// Attempts a write job gets when it keeps losing deadlocks or races.
const MAX_ATTEMPTS: u32 = 8;

/// The PostgreSQL connection pool. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Db {
    shared: Arc<Shared>,
}

struct Shared {
    config: postgres::Config,
    tls: MakeRustls,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    redacted: String,
    commits: AtomicU64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing a connection blocks on the driver's own runtime, which must not run
        // on a thread of another one (the store is often dropped by an async task).
        let idle = self.idle.get_mut().map(std::mem::take).unwrap_or_default();
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("store-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl Db {
    /// Prepares the pool and checks that the database answers (blocking; call from a
    /// thread that is not running async tasks).
    pub(crate) fn connect(options: &PgOptions) -> Result<Db> {
        let redacted = redact(&options.url);
        let mut config: postgres::Config = options.url.parse().map_err(|e| {
            StoreError::Unavailable(format!("the database URL {redacted} is not valid: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(60));
        let tls = MakeRustls::new(options.tls_ca_file.as_deref(), options.tls_verify)?;
        let db = Db {
            shared: Arc::new(Shared {
                config,
                tls,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(options.pool_size.max(2))),
                redacted,
                commits: AtomicU64::new(0),
            }),
        };
        let conn = db.open_conn()?;
        db.give_back(conn);
        Ok(db)
    }

    /// The URL with its password replaced, for messages.
    pub(crate) fn url(&self) -> &str {
        &self.shared.redacted
    }

    /// A new connection to the same database for long-lived use (LISTEN), with the
    /// same settings and TLS as the pool's.
    pub(crate) fn config(&self) -> (&postgres::Config, &MakeRustls) {
        (&self.shared.config, &self.shared.tls)
    }

    /// Write transactions committed by this pool.
    pub(crate) fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    fn open_conn(&self) -> Result<Conn> {
        let client = self
            .shared
            .config
            .connect(self.shared.tls.clone())
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot reach the database at {}: {}",
                    self.shared.redacted,
                    cause_of(&e)
                ))
            })?;
        Ok(Conn {
            client,
            stmts: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn> {
        loop {
            let pooled = self.shared.idle.lock().ok().and_then(|mut p| p.pop());
            match pooled {
                Some(c) if c.client.is_closed() => continue,
                Some(c) => return Ok(c),
                None => return self.open_conn(),
            }
        }
    }

    fn give_back(&self, conn: Conn) {
        if let Ok(mut pool) = self.shared.idle.lock() {
            pool.push(conn);
        }
    }

    /// Runs `f` in a read-only snapshot on a pooled connection, from async code.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.spawn(Mode::Read, f).await
    }

    /// Runs `f` in a write transaction and returns once it has committed, from async
    /// code. `f` may run more than once (deadlock or serialisation failure).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.spawn(Mode::Write, f).await
    }

    /// [`Db::read`] from a blocking thread.
    pub(crate) fn read_blocking<T>(&self, f: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let _permit = futures::executor::block_on(self.shared.permits.acquire())
            .map_err(|_| StoreError::Closed)?;
        self.run(Mode::Read, f)
    }

    /// [`Db::write`] from a blocking thread.
    pub(crate) fn write_blocking<T>(&self, f: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let _permit = futures::executor::block_on(self.shared.permits.acquire())
            .map_err(|_| StoreError::Closed)?;
        self.run(Mode::Write, f)
    }

    async fn spawn<T, F>(&self, mode: Mode, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        let permit = self
            .shared
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.run(mode, f)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    fn run<T>(&self, mode: Mode, mut f: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.take()?;
            match attempt_once(&mut conn, mode, &mut f) {
                Ok(v) => {
                    self.give_back(conn);
                    if mode == Mode::Write {
                        self.shared.commits.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(v);
                }
                Err(failure) => {
                    if failure.keep {
                        self.give_back(conn);
                    }
                    if failure.retry && attempt < MAX_ATTEMPTS {
                        if attempt > 2 {
                            std::thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
                        }
                        continue;
                    }
                    return Err(self.describe(failure.error));
                }
            }
        }
    }

    /// Turns a lost connection into `Unavailable` naming the database.
    fn describe(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Postgres(pe) if connection_lost(&pe) => StoreError::Unavailable(format!(
                "lost the database at {}: {}",
                self.shared.redacted,
                cause_of(&pe)
            )),
            StoreError::Postgres(pe) if pe.code() == Some(&SqlState::DISK_FULL) => {
                StoreError::DiskFull
            }
            e => e,
        }
    }
}

/// One attempt of a job on `conn`.
fn attempt_once<T>(
    conn: &mut Conn,
    mode: Mode,
    f: &mut impl FnMut(&mut Tx<'_>) -> Result<T>,
) -> std::result::Result<T, Failure> {
    let Conn { client, stmts } = conn;
    let begun = match mode {
        Mode::Read => client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start(),
        Mode::Write => client.transaction(),
    };
    let tx = begun.map_err(|e| classify(StoreError::Postgres(e), false))?;
    let mut tx = Tx { tx, stmts };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut tx)));
    match outcome {
        Ok(Ok(v)) => match tx.tx.commit() {
            Ok(()) => Ok(v),
            // The server may or may not have committed: report, never retry.
            Err(e) => Err(Failure {
                keep: !connection_lost(&e),
                retry: matches!(
                    e.code(),
                    Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                        | Some(&SqlState::T_R_DEADLOCK_DETECTED)
                ),
                error: StoreError::Postgres(e),
            }),
        },
        Ok(Err(e)) => {
            let rolled_back = tx.tx.rollback().is_ok();
            // A stale plan cache or a lost connection is dropped with its connection.
            let mut failure = classify(e, true);
            failure.keep &= rolled_back;
            Err(failure)
        }
        Err(_) => Err(Failure {
            error: StoreError::Corrupt("a store job panicked".into()),
            retry: false,
            keep: false,
        }),
    }
}

/// Sorts a job's error: retry deadlocks, serialisation failures, stale plans, and a
/// connection lost before COMMIT was sent (nothing of the job was committed then).
fn classify(e: StoreError, before_commit: bool) -> Failure {
    let StoreError::Postgres(pe) = &e else {
        return Failure {
            error: e,
            retry: false,
            keep: true,
        };
    };
    if connection_lost(pe) {
        return Failure {
            retry: before_commit,
            keep: false,
            error: e,
        };
    }
    let code = pe.code();
    let retry = matches!(
        code,
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    );
    // "cached plan must not change result type": the schema changed under the cache.
    let stale = code == Some(&SqlState::FEATURE_NOT_SUPPORTED);
    Failure {
        retry: retry || stale,
        keep: !stale,
        error: e,
    }
}

/// True when the error means the connection is gone (or the server is going away).
pub(crate) fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(c) => {
            c.code().starts_with("08")
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        }
        // No SQLSTATE: lost when the socket failed (not a conversion or a bad query).
        None => {
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                if s.is::<std::io::Error>() {
                    return true;
                }
                source = s.source();
            }
            false
        }
    }
}

/// The innermost cause of a driver error, which says what went wrong ("connection
/// refused", "password authentication failed ...").
pub(crate) fn cause_of(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    msg
}

/// `url` with its password replaced by `***` (URL and key=value forms).
pub(crate) fn redact(url: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .map(|r| ("postgres://", r))
        .or_else(|| {
            url.strip_prefix("postgresql://")
                .map(|r| ("postgresql://", r))
        })
    {
        let (scheme, rest) = rest;
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => authority.to_string(),
            },
            None => authority.to_string(),
        };
        let tail = redact_query(tail);
        return format!("{scheme}{authority}{tail}");
    }
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let query = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://pillar:s3cret@db.example:5432/mail?sslmode=require"),
            "postgres://pillar:***@db.example:5432/mail?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://pillar@db/mail?password=x&sslmode=disable"),
            "postgresql://pillar@db/mail?password=***&sslmode=disable"
        );
        assert_eq!(
            redact("host=db user=pillar password=s3cret dbname=mail"),
            "host=db user=pillar password=*** dbname=mail"
        );
        assert_eq!(redact("postgres://db/mail"), "postgres://db/mail");
    }
}
