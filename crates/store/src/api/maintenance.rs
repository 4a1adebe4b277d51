//! Garbage collection of unreferenced blobs.

use std::time::Duration;

use crate::Store;
use crate::blob::{BlobHash, is_older};
use crate::engine::Engine;
use crate::error::Result;

/// What a garbage collection run removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs whose last reference went away.
    pub unreferenced: usize,
    /// Blob files without any row (a crash between rename and commit).
    pub orphans: usize,
    /// Temporary files of interrupted writes.
    pub temporaries: usize,
}

impl Store {
    /// Removes blobs unused for longer than `grace`, orphan blobs (files, or chunks on
    /// PostgreSQL, that no row references: a crash between the blob's write and the
    /// commit that would have referenced it) and stale temporary files, all older than
    /// `grace`. Anything younger is kept: it may belong to a write whose transaction
    /// has not committed yet.
    pub async fn collect_garbage(&self, grace: Duration) -> Result<GcReport> {
        let cutoff = crate::sqlite::now() - grace.as_secs() as i64;
        let mut report = GcReport::default();
        match &self.inner.engine {
            Engine::Sqlite { writer, readers } => {
                loop {
                    let batch = writer
                        .write(move |t| crate::sqlite::blobs::take_unused(t, cutoff, 1000))
                        .await?;
                    if batch.is_empty() {
                        break;
                    }
                    for (hash, inline) in &batch {
                        if *inline || self.inner.blobs.remove_if_older(hash, grace)? {
                            report.unreferenced += 1;
                        }
                    }
                }
                let (files, stale_tmp) = self.inner.blobs.list_files(grace)?;
                let candidates: Vec<BlobHash> = files
                    .into_iter()
                    .filter(|(_, meta)| is_older(meta, grace))
                    .map(|(h, _)| h)
                    .collect();
                let orphans: Vec<BlobHash> = readers
                    .read(move |c| {
                        let mut orphans = Vec::new();
                        for h in candidates {
                            if !crate::sqlite::blobs::known(c, &h)? {
                                orphans.push(h);
                            }
                        }
                        Ok(orphans)
                    })
                    .await?;
                for h in &orphans {
                    // Re-checked at removal: a write that just renamed over it has a fresh mtime.
                    if self.inner.blobs.remove_if_older(h, grace)? {
                        report.orphans += 1;
                    }
                }
                report.temporaries = self.inner.blobs.clean_tmp(grace)? + stale_tmp;
            }
            Engine::Postgres { db } => {
                loop {
                    let batch = db
                        .write(move |t| crate::postgres::blobs::take_unused(t, cutoff, 1000))
                        .await?;
                    if batch.is_empty() {
                        break;
                    }
                    report.unreferenced += batch.len();
                }
                report.orphans = db
                    .write(move |t| crate::postgres::blobs::remove_orphan_chunks(t, cutoff))
                    .await?;
                report.temporaries = self.inner.blobs.clean_tmp(grace)?;
            }
        }
        Ok(report)
    }

    /// Reference count of a blob, or None when the store has no row for it.
    pub async fn blob_refcount(&self, hash: &BlobHash) -> Result<Option<i64>> {
        let h = hash.clone();
        db_read!(self, |c, sql| sql::blobs::refcount(c, &h))
    }
}
