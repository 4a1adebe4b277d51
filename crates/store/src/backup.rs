//! Online backup and restore of the embedded store: a consistent snapshot of the
//! database (`VACUUM INTO` inside one read transaction, so a running server goes on
//! writing) and the blob files (content-addressed and never changed once written, so
//! a second backup into the same directory copies only the new ones). The secrets key
//! is not copied: it is kept apart from backups on purpose.
//!
//! Order matters for consistency: the snapshot first, then the blobs. Every blob a
//! snapshot row references was durable before that row was committed, and unused
//! blobs are only removed after a grace period, so the files copied after the
//! snapshot include every file it needs.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// What a backup or a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    pub database_bytes: u64,
    pub blobs_copied: u64,
    pub blobs_present: u64,
    pub bytes_copied: u64,
}

const DB: &str = "pillarbox.db";

/// Backs up the embedded store in `data_dir` into `target` (created if needed; an
/// earlier backup there is brought up to date). `progress(done, total)` is called as
/// blob files are copied.
pub fn backup(data_dir: &Path, target: &Path, progress: &dyn Fn(u64, u64)) -> Result<BackupReport> {
    let db = data_dir.join(DB);
    if !db.is_file() {
        return Err(StoreError::NotFound(
            "database (is this the embedded store's data directory?)",
        ));
    }
    std::fs::create_dir_all(target)?;
    let snapshot = target.join(format!("{DB}.partial"));
    let _ = std::fs::remove_file(&snapshot);
    {
        let c = rusqlite::Connection::open_with_flags(
            &db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(30))?;
        c.execute("VACUUM INTO ?1", [snapshot.to_string_lossy()])?;
    }
    sync_file(&snapshot)?;
    std::fs::rename(&snapshot, target.join(DB))?;
    sync_dir(target)?;
    let mut report = BackupReport {
        database_bytes: std::fs::metadata(target.join(DB))?.len(),
        ..Default::default()
    };
    copy_blobs(
        &data_dir.join("blobs"),
        &target.join("blobs"),
        &mut report,
        progress,
    )?;
    Ok(report)
}

/// Restores a backup made by [`backup`] into `data_dir`, which must not hold a
/// database yet.
pub fn restore(
    source: &Path,
    data_dir: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<BackupReport> {
    let db = source.join(DB);
    if !db.is_file() {
        return Err(StoreError::NotFound("backup (no pillarbox.db in it)"));
    }
    if data_dir.join(DB).exists() {
        return Err(StoreError::Conflict(format!(
            "{} already holds a database; restore only into an empty data directory",
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir)?;
    let mut report = BackupReport::default();
    // Blobs first: the database must never name a file that is not there yet.
    copy_blobs(
        &source.join("blobs"),
        &data_dir.join("blobs"),
        &mut report,
        progress,
    )?;
    let partial = data_dir.join(format!("{DB}.partial"));
    report.database_bytes = std::fs::copy(&db, &partial)?;
    sync_file(&partial)?;
    std::fs::rename(&partial, data_dir.join(DB))?;
    sync_dir(data_dir)?;
    Ok(report)
}

/// Copies the blob files of `from` missing in `to`.
fn copy_blobs(
    from: &Path,
    to: &Path,
    report: &mut BackupReport,
    progress: &dyn Fn(u64, u64),
) -> Result<()> {
    let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
    let Ok(shards) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for shard in shards.flatten() {
        let Ok(name) = shard.file_name().into_string() else {
            continue;
        };
        if name.len() != 2 || !shard.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(shard.path())?.flatten() {
            let Ok(fname) = f.file_name().into_string() else {
                continue;
            };
            // Temporaries of writes in progress are not blobs yet.
            if fname.starts_with('.') {
                continue;
            }
            files.push((f.path(), to.join(&name).join(&fname)));
        }
    }
    let total = files.len() as u64;
    for (i, (src, dst)) in files.into_iter().enumerate() {
        if dst.exists() {
            report.blobs_present += 1;
        } else {
            let dir = dst.parent().unwrap_or(to);
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(".partial-{}", std::process::id()));
            match std::fs::copy(&src, &tmp) {
                Ok(n) => report.bytes_copied += n,
                // Removed since it was listed: unused (GC), so not needed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
            sync_file(&tmp)?;
            std::fs::rename(&tmp, &dst)?;
            sync_dir(dir)?;
            report.blobs_copied += 1;
        }
        progress(i as u64 + 1, total);
    }
    Ok(())
}

fn sync_file(p: &Path) -> Result<()> {
    std::fs::File::open(p)?.sync_all()?;
    Ok(())
}

fn sync_dir(p: &Path) -> Result<()> {
    std::fs::File::open(p)?.sync_all()?;
    Ok(())
}
