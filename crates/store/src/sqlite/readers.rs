//! The pool of read connections. WAL lets readers see the last committed state while the
//! writer works; a reader never blocks the writer and never sees uncommitted data.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::error::{Result, StoreError};

/// A fixed set of read-only connections shared by all async readers.
#[derive(Clone)]
pub(crate) struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    path: std::path::PathBuf,
    max_idle: usize,
}

impl Readers {
    pub(crate) fn open(path: &Path, count: usize) -> Result<Readers> {
        let count = count.max(1);
        let mut conns = Vec::with_capacity(count);
        for _ in 0..count {
            let c = super::connect(path)?;
            c.pragma_update(None, "query_only", true)?;
            conns.push(c);
        }
        Ok(Readers {
            idle: Arc::new(Mutex::new(conns)),
            permits: Arc::new(Semaphore::new(count)),
            path: path.to_path_buf(),
            max_idle: count * 2,
        })
    }

    /// A connection: a pooled one, or a fresh one when every pooled connection is in
    /// use (blocking readers do not take permits, so the pool may run dry).
    fn take(&self) -> Result<Connection> {
        let pooled = self.idle.lock().ok().and_then(|mut p| p.pop());
        match pooled {
            Some(c) => Ok(c),
            None => {
                let c = super::connect(&self.path)?;
                c.pragma_update(None, "query_only", true)?;
                Ok(c)
            }
        }
    }

    /// Returns a connection to the pool, keeping at most `max_idle`.
    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.idle.lock()
            && pool.len() < self.max_idle
        {
            pool.push(conn);
        }
    }

    fn run<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.take()?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&conn)));
        self.give_back(conn);
        result.unwrap_or(Err(StoreError::Corrupt("a read panicked".into())))
    }

    /// Runs `f` from a thread that may block (blocking-pool threads, tools).
    pub(crate) fn read_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        self.run(f)
    }

    /// Runs `f` on a pooled connection in the blocking thread pool; at most as many
    /// async readers run at once as the pool holds connections.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.run(f)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}
