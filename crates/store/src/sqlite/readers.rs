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
        })
    }

    /// Runs `f` on a pooled connection from a thread that may block (blocking-pool
    /// threads, tools). Falls back to a short-lived connection when all are busy.
    pub(crate) fn read_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        let pooled = self.idle.lock().ok().and_then(|mut p| p.pop());
        match pooled {
            Some(conn) => {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&conn)));
                if let Ok(mut pool) = self.idle.lock() {
                    pool.push(conn);
                }
                result.unwrap_or(Err(StoreError::Corrupt("a read panicked".into())))
            }
            None => {
                let conn = super::connect(&self.path)?;
                f(&conn)
            }
        }
    }

    /// Runs `f` on a pooled connection in the blocking thread pool.
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
        let idle = self.idle.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = idle
                .lock()
                .map_err(|_| StoreError::Closed)?
                .pop()
                .ok_or(StoreError::Closed)?;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&conn)));
            if let Ok(mut pool) = idle.lock() {
                pool.push(conn);
            }
            result.unwrap_or(Err(StoreError::Corrupt("a read panicked".into())))
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}
