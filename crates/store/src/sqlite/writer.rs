//! The single writer: a thread that owns the write connection and batches jobs.
//!
//! A job runs inside a savepoint of the batch's transaction; a job that fails is rolled
//! back to its savepoint without disturbing the others. Each job's result is handed back
//! only after the batch's COMMIT returned, so no caller ever sees a success that is not
//! on disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};

/// Called once the batch holding the job has committed (Ok) or failed (Err).
type Completion = Box<dyn FnOnce(Result<()>) + Send>;
/// A unit of work run inside the batch transaction: says whether its changes are to be
/// kept, and how to report once the batch is settled.
type Job = Box<dyn FnOnce(&Transaction<'_>) -> (bool, Completion) + Send>;

/// Most jobs in one transaction; bounds latency of the first job in a batch.
const MAX_BATCH: usize = 512;

/// Handle to the writer thread.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, rx, &counter))?;
        Ok(Writer { jobs: tx, commits })
    }

    /// A handle on the commit counter that does not keep the writer alive: it stops
    /// upgrading once the store and the writer thread are gone.
    pub(crate) fn commit_counter(&self) -> std::sync::Weak<AtomicU64> {
        Arc::downgrade(&self.commits)
    }

    /// Transactions committed so far by this writer (each one fsync).
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `f` in the next batch and returns its result once that batch is durable.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        self.submit(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    fn submit<T, F, R>(&self, f: F, reply: R) -> Result<()>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        R: FnOnce(Result<T>) + Send + 'static,
    {
        let job: Job = Box::new(move |txn| {
            let outcome = f(txn);
            let keep = outcome.is_ok();
            let completion: Completion = Box::new(move |commit: Result<()>| {
                reply(match (outcome, commit) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                })
            });
            (keep, completion)
        });
        self.jobs.send(job).map_err(|_| StoreError::Closed)
    }
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Job>, commits: &AtomicU64) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
        commits.fetch_add(1, Ordering::Relaxed);
    }
}

fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    let txn = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(t) => t,
        Err(e) => {
            // Dropping the jobs drops their reply channels: callers see `Closed`.
            tracing::error!(error = %e, jobs = batch.len(), "store: cannot begin transaction");
            return;
        }
    };
    let completions: Vec<Completion> = batch
        .into_iter()
        .map(|job| run_in_savepoint(&txn, job))
        .collect();
    match txn.commit() {
        Ok(()) => completions.into_iter().for_each(|c| c(Ok(()))),
        Err(e) => {
            let full = StoreError::from(e);
            let disk_full = full.is_disk_full();
            let msg = full.to_string();
            tracing::error!(error = %msg, "store: commit failed");
            for c in completions {
                c(Err(if disk_full {
                    StoreError::DiskFull
                } else {
                    StoreError::Commit(msg.clone())
                }));
            }
        }
    }
}

/// Runs one job inside a savepoint, rolling its changes back when it failed or panicked.
fn run_in_savepoint(txn: &Transaction<'_>, job: Job) -> Completion {
    if let Err(e) = txn.execute_batch("SAVEPOINT job") {
        let msg = e.to_string();
        return Box::new(move |_| tracing::error!(error = %msg, "store: savepoint failed"));
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(txn))) {
        Ok((true, completion)) => {
            let _ = txn.execute_batch("RELEASE job");
            completion
        }
        Ok((false, completion)) => {
            let _ = txn.execute_batch("ROLLBACK TO job; RELEASE job");
            completion
        }
        Err(_) => {
            let _ = txn.execute_batch("ROLLBACK TO job; RELEASE job");
            Box::new(|_| tracing::error!("store: a write job panicked"))
        }
    }
}
