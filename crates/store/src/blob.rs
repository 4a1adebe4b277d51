//! Content-addressed blobs.
//!
//! A blob is named by the SHA-256 of its content. Small blobs (up to the inline limit)
//! are stored in the database by the transaction that first references them. Larger
//! ones live, on the embedded engine, in files at `blobs/<h[0..2]>/<h>`: written to a
//! temporary file, fsync'd, renamed into place and the directory fsync'd, so a blob is
//! either complete and durable at its name or absent; on PostgreSQL, in chunked rows
//! committed before anything references them (nodes share no disk). Reference counts
//! live in the database (see `sqlite::blobs`, `postgres::blobs`); this module never
//! writes SQL itself and never deletes a file that was written recently, which is what
//! keeps garbage collection safe against a write in flight.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// The hex SHA-256 naming a blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(String);

impl BlobHash {
    /// Wraps a hex digest read back from the database; refuses anything else.
    pub fn parse(s: &str) -> Result<BlobHash> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(BlobHash(s.to_string()))
        } else {
            Err(StoreError::Corrupt(format!("not a blob hash: {s:?}")))
        }
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A blob ready to be referenced: either a durable file, or (small blobs) its content,
/// which the store writes in the same transaction as the rows that reference it. Hand it
/// to a store operation; until then nothing refers to it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub hash: BlobHash,
    pub size: u64,
    /// The content of a small blob, stored in the database rather than as a file.
    pub inline: Option<std::sync::Arc<[u8]>>,
}

impl std::fmt::Debug for StoredBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredBlob")
            .field("hash", &self.hash)
            .field("size", &self.size)
            .field("inline", &self.inline.is_some())
            .finish()
    }
}

/// Name prefix of temporary files written beside their final name.
const TMP_PREFIX: &str = ".tmp-";

/// Blobs kept in memory before a streaming write spills to a temporary file.
const SPILL_AT: usize = 1024 * 1024;

/// Where blobs live: small ones in the database (read through `inline`), the others as
/// files under `root`.
#[derive(Clone)]
pub struct BlobStore {
    root: PathBuf,
    /// Blobs up to this size are kept in the database; 0 keeps every blob in a file.
    inline_max: usize,
    /// The database holding inline blobs (and, on PostgreSQL, every blob); absent for
    /// a bare file store.
    meta: Option<Meta>,
}

/// The database a blob store reads (and on PostgreSQL writes) through.
#[derive(Clone)]
pub(crate) enum Meta {
    Sqlite(crate::sqlite::Readers),
    Postgres(crate::postgres::Db),
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("root", &self.root)
            .field("inline_max", &self.inline_max)
            .finish()
    }
}

impl BlobStore {
    /// Opens (creating if needed) the blob directory under `root`.
    pub fn open(root: &Path) -> Result<BlobStore> {
        fs::create_dir_all(root.join("tmp"))?;
        for i in 0..=255u8 {
            let d = root.join(format!("{i:02x}"));
            if !d.is_dir() {
                fs::create_dir(&d)?;
            }
        }
        sync_dir(root)?;
        Ok(BlobStore {
            root: root.to_path_buf(),
            inline_max: 0,
            meta: None,
        })
    }

    /// Keeps blobs up to `max` octets in the database `meta` (and on PostgreSQL the
    /// larger ones too).
    pub(crate) fn with_inline(mut self, max: usize, meta: Meta) -> BlobStore {
        self.inline_max = max;
        self.meta = Some(meta);
        self
    }

    /// The PostgreSQL database holding every blob, if that is the engine.
    fn shared_db(&self) -> Option<&crate::postgres::Db> {
        match &self.meta {
            Some(Meta::Postgres(db)) => Some(db),
            _ => None,
        }
    }

    /// Content of an inline blob (blocking), if `hash` is one (embedded engine).
    fn inline_blocking(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>> {
        match &self.meta {
            Some(Meta::Sqlite(r)) => {
                let h = hash.clone();
                r.read_blocking(move |c| crate::sqlite::blobs::inline_data(c, &h))
            }
            _ => Ok(None),
        }
    }

    /// Where the blob with `hash` lives.
    pub fn path(&self, hash: &BlobHash) -> PathBuf {
        self.root.join(&hash.0[..2]).join(&hash.0)
    }

    /// True when the blob exists (as a file, or in the database).
    pub async fn exists(&self, hash: &BlobHash) -> bool {
        let (this, h) = (self.clone(), hash.clone());
        tokio::task::spawn_blocking(move || this.exists_blocking(&h))
            .await
            .unwrap_or(false)
    }

    fn exists_blocking(&self, hash: &BlobHash) -> bool {
        if let Some(db) = self.shared_db() {
            return db
                .read_blocking(|t| crate::postgres::blobs::exists(t, hash))
                .unwrap_or(false);
        }
        self.path(hash).is_file() || matches!(self.inline_blocking(hash), Ok(Some(_)))
    }

    /// Writes `data` durably and returns its name. Blocking: call from a blocking thread.
    pub fn put_blocking(&self, data: &[u8]) -> Result<StoredBlob> {
        let mut w = self.writer();
        w.buf.extend_from_slice(data);
        w.hasher.update(data);
        w.size = data.len() as u64;
        w.finish_blocking()
    }

    /// Writes `data` durably from async code.
    pub async fn put(&self, data: Vec<u8>) -> Result<StoredBlob> {
        if data.len() <= self.inline_max {
            return self.put_blocking(&data);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.put_blocking(&data))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Starts a streaming write.
    pub fn writer(&self) -> BlobWriter {
        BlobWriter {
            store: self.clone(),
            buf: Vec::new(),
            spill: None,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Reads a whole blob (blocking).
    pub fn read_blocking(&self, hash: &BlobHash) -> Result<Vec<u8>> {
        if self.shared_db().is_some() {
            return self.read_range_blocking(hash, 0, usize::MAX);
        }
        if let Some(data) = self.inline_blocking(hash)? {
            return Ok(data);
        }
        fs::read(self.path(hash)).map_err(|e| missing(e, hash))
    }

    /// Reads a whole blob.
    pub async fn read(&self, hash: &BlobHash) -> Result<Vec<u8>> {
        let this = self.clone();
        let h = hash.clone();
        tokio::task::spawn_blocking(move || this.read_blocking(&h))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Reads `len` octets from `offset` (fewer at the end of the blob).
    pub fn read_range_blocking(&self, hash: &BlobHash, offset: u64, len: usize) -> Result<Vec<u8>> {
        if let Some(db) = self.shared_db() {
            return db
                .read_blocking(|t| crate::postgres::blobs::read_range(t, hash, offset, len))?
                .ok_or_else(|| StoreError::Corrupt(format!("blob {hash} is missing")));
        }
        if let Some(data) = self.inline_blocking(hash)? {
            let start = (offset as usize).min(data.len());
            let end = start.saturating_add(len).min(data.len());
            return Ok(data[start..end].to_vec());
        }
        let mut f = File::open(self.path(hash)).map_err(|e| missing(e, hash))?;
        f.seek(SeekFrom::Start(offset))?;
        let mut out = Vec::with_capacity(len.min(16 * 1024 * 1024));
        f.take(len as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    /// Deletes the blob file if it is older than `grace` (a recent file may belong to a
    /// write in flight). Returns whether it was removed.
    pub(crate) fn remove_if_older(&self, hash: &BlobHash, grace: Duration) -> Result<bool> {
        let path = self.path(hash);
        match fs::metadata(&path) {
            Ok(m) if is_older(&m, grace) => {
                fs::remove_file(&path)?;
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob file name, for the orphan sweep; temporary files older than `grace`
    /// met on the way (interrupted writes) are removed and counted.
    pub(crate) fn list_files(
        &self,
        grace: Duration,
    ) -> Result<(Vec<(BlobHash, fs::Metadata)>, usize)> {
        let mut out = Vec::new();
        let mut stale = 0;
        for i in 0..=255u8 {
            let dir = self.root.join(format!("{i:02x}"));
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let (Some(name), Ok(meta)) = (name.to_str(), entry.metadata()) else {
                    continue;
                };
                if let Ok(hash) = BlobHash::parse(name) {
                    out.push((hash, meta));
                } else if name.starts_with(TMP_PREFIX)
                    && is_older(&meta, grace)
                    && fs::remove_file(entry.path()).is_ok()
                {
                    stale += 1;
                }
            }
        }
        Ok((out, stale))
    }

    /// Removes temporary files older than `grace`: the leftovers of writes that were
    /// interrupted (process killed) before their rename.
    pub fn clean_tmp(&self, grace: Duration) -> Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(self.root.join("tmp"))?.flatten() {
            if let Ok(meta) = entry.metadata()
                && is_older(&meta, grace)
                && fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn tmp_path_beside(&self, hash: &BlobHash) -> PathBuf {
        let nonce: u64 = rand::random();
        self.root
            .join(&hash.0[..2])
            .join(format!("{TMP_PREFIX}{}-{nonce:016x}", std::process::id()))
    }

    fn tmp_path(&self) -> PathBuf {
        let nonce: u64 = rand::random();
        self.root
            .join("tmp")
            .join(format!("{}-{nonce:016x}", std::process::id()))
    }
}

pub(crate) fn is_older(meta: &fs::Metadata, grace: Duration) -> bool {
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    age >= grace
}

fn missing(e: io::Error, hash: &BlobHash) -> StoreError {
    if e.kind() == io::ErrorKind::NotFound {
        StoreError::Corrupt(format!("blob {hash} is missing"))
    } else {
        StoreError::Io(e)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A blob being written piece by piece (SMTP DATA, IMAP APPEND literals). Small blobs stay
/// in memory; large ones spill to a temporary file. Nothing is visible until `finish`.
pub struct BlobWriter {
    store: BlobStore,
    buf: Vec<u8>,
    spill: Option<(File, PathBuf)>,
    hasher: Sha256,
    size: u64,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("size", &self.size)
            .finish()
    }
}

impl BlobWriter {
    /// Octets written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The content so far when it is still held in memory.
    pub fn in_memory(&self) -> Option<&[u8]> {
        self.spill.is_none().then_some(self.buf.as_slice())
    }

    /// Appends `data`. May write to disk (blocking) once the blob has grown large; from
    /// async code prefer [`BlobWriter::write`].
    pub fn write_blocking(&mut self, data: &[u8]) -> Result<()> {
        self.hasher.update(data);
        self.size += data.len() as u64;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= SPILL_AT {
            self.flush_spill()?;
        }
        Ok(())
    }

    /// Appends `data`; disk writes, when needed, happen on a blocking thread.
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.hasher.update(data);
        self.size += data.len() as u64;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= SPILL_AT {
            let mut spill = self.spill.take();
            let store = self.store.clone();
            let buf = std::mem::take(&mut self.buf);
            let spill = tokio::task::spawn_blocking(move || -> Result<(File, PathBuf)> {
                let (mut f, p) = match spill.take() {
                    Some(s) => s,
                    None => {
                        let p = store.tmp_path();
                        (File::create(&p)?, p)
                    }
                };
                f.write_all(&buf)?;
                Ok((f, p))
            })
            .await
            .map_err(|_| StoreError::Closed)??;
            self.spill = Some(spill);
        }
        Ok(())
    }

    fn flush_spill(&mut self) -> Result<()> {
        if self.spill.is_none() {
            let p = self.store.tmp_path();
            self.spill = Some((File::create(&p)?, p));
        }
        if let Some((f, _)) = self.spill.as_mut() {
            f.write_all(&self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }

    /// Makes the blob durable under its hash: fsync, rename, directory fsync (or, on
    /// PostgreSQL, its chunks committed).
    pub fn finish_blocking(mut self) -> Result<StoredBlob> {
        let hash = BlobHash(hex::encode(self.hasher.clone().finalize()));
        if self.spill.is_none() && self.buf.len() <= self.store.inline_max {
            // Small: no file; the referencing transaction stores the content.
            return Ok(StoredBlob {
                hash,
                size: self.size,
                inline: Some(std::mem::take(&mut self.buf).into()),
            });
        }
        if let Some(db) = self.store.shared_db().cloned() {
            let spill = self.spill.take();
            if let Some((f, _)) = &spill {
                f.sync_data().ok();
            }
            let path = spill.as_ref().map(|s| s.1.clone());
            let result = db.write_blocking(|t| store_chunks(t, &hash, path.as_deref(), &self.buf));
            if let Some((f, p)) = spill {
                drop(f);
                let _ = fs::remove_file(p);
            }
            result?;
            return Ok(StoredBlob {
                hash,
                size: self.size,
                inline: None,
            });
        }
        let (mut file, tmp) = match self.spill.take() {
            Some(s) => s,
            None => {
                // Created beside its final name: the rename stays inside one directory,
                // and concurrent writers spread over 256 directories instead of
                // contending for one.
                let p = self.store.tmp_path_beside(&hash);
                (File::create(&p)?, p)
            }
        };
        let result = (|| -> Result<StoredBlob> {
            file.write_all(&self.buf)?;
            file.sync_all()?;
            drop(file);
            let dest = self.store.path(&hash);
            fs::rename(&tmp, &dest)?;
            if let Some(dir) = dest.parent() {
                sync_dir(dir)?;
            }
            Ok(StoredBlob {
                hash: hash.clone(),
                size: self.size,
                inline: None,
            })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Makes the blob durable from async code (a small blob needs no disk at all).
    pub async fn finish(self) -> Result<StoredBlob> {
        if self.spill.is_none() && self.buf.len() <= self.store.inline_max {
            return self.finish_blocking();
        }
        tokio::task::spawn_blocking(move || self.finish_blocking())
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Abandons the write, removing any temporary file.
    pub fn discard(self) {
        drop(self);
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some((f, p)) = self.spill.take() {
            drop(f);
            let _ = fs::remove_file(p);
        }
    }
}

/// Stores the chunks of a large blob: the spilled file's content, then `tail`, cut in
/// rows of `postgres::blobs::CHUNK` octets (one in memory at a time). Content stored
/// already is only marked as just written.
pub(crate) fn store_chunks(
    t: &mut crate::postgres::Tx<'_>,
    hash: &BlobHash,
    spilled: Option<&Path>,
    tail: &[u8],
) -> Result<()> {
    use crate::postgres::blobs::{CHUNK, chunks_present, put_chunk};
    if chunks_present(t, hash)? {
        return Ok(());
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut seq = 0i64;
    let mut feed =
        |t: &mut crate::postgres::Tx<'_>, mut data: &[u8], seq: &mut i64| -> Result<()> {
            while !data.is_empty() {
                let take = (CHUNK - chunk.len()).min(data.len());
                chunk.extend_from_slice(&data[..take]);
                data = &data[take..];
                if chunk.len() == CHUNK {
                    put_chunk(t, hash, *seq, &chunk)?;
                    *seq += 1;
                    chunk.clear();
                }
            }
            Ok(())
        };
    if let Some(path) = spilled {
        let mut f = File::open(path)?;
        let mut piece = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut piece)?;
            if n == 0 {
                break;
            }
            feed(t, &piece[..n], &mut seq)?;
        }
    }
    feed(t, tail, &mut seq)?;
    if !chunk.is_empty() || seq == 0 {
        put_chunk(t, hash, seq, &chunk)?;
    }
    Ok(())
}
