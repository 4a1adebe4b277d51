//! Export of an account's mailboxes: to a Maildir++ tree (with `dovecot-uidlist` and
//! `dovecot-keywords`, so Dovecot, or an import back here, keeps UIDs and keywords) or
//! to mboxrd files (Thunderbird's layout: `Name` and `Name.sbd/Child`).

use std::path::{Path, PathBuf};

use pillarbox_store::{Account, Mailbox, Store};

use crate::{Progress, Report, TransferError, io_err, maildir, mbox};

/// Messages read per store round trip.
const CHUNK: usize = 100;

async fn mailboxes(
    store: &Store,
    account: &Account,
    only: Option<&str>,
) -> Result<Vec<Mailbox>, TransferError> {
    let all = store.mailbox_list(account.id).await?;
    match only {
        None => Ok(all),
        Some(name) => {
            let m = all
                .into_iter()
                .find(|m| m.name == name)
                .ok_or_else(|| TransferError::Invalid(format!("no mailbox {name:?}")))?;
            Ok(vec![m])
        }
    }
}

/// One exported message: its UID, flags, keywords, date and bytes.
struct Outgoing {
    uid: u32,
    flags: u32,
    keywords: String,
    date: i64,
    data: Vec<u8>,
}

/// The messages of `mailbox`, `CHUNK` at a time, handed to `each`.
async fn for_each_message(
    store: &Store,
    mailbox: &Mailbox,
    progress: &dyn Progress,
    mut each: impl FnMut(Outgoing) -> Result<(), TransferError>,
) -> Result<u64, TransferError> {
    let entries = store.entries(mailbox.id).await?;
    let blobs: std::collections::HashMap<u32, pillarbox_store::BlobHash> = store
        .entry_blobs(mailbox.id)
        .await?
        .into_iter()
        .map(|(uid, h, _)| (uid, h))
        .collect();
    progress.mailbox(&mailbox.name, entries.len() as u64);
    let mut n = 0;
    for chunk in entries.chunks(CHUNK) {
        let hashes: Vec<_> = chunk.iter().map(|e| blobs.get(&e.uid).cloned()).collect();
        let wanted: Vec<_> = hashes.iter().flatten().cloned().collect();
        let mut contents = store.blob_contents(wanted).await?.into_iter();
        for (e, h) in chunk.iter().zip(hashes) {
            progress.advance();
            let data = match h {
                Some(_) => contents.next().flatten(),
                None => None,
            };
            let Some(data) = data else {
                return Err(TransferError::Invalid(format!(
                    "{} UID {}: its content is missing from the store",
                    mailbox.name, e.uid
                )));
            };
            each(Outgoing {
                uid: e.uid,
                flags: e.flags,
                keywords: e.keywords.clone(),
                date: e.internal_date,
                data,
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// Exports to a Maildir++ tree at `root` (INBOX at the root, `.Folder` for the
/// others). Files already there (same UID) are left alone, so a second run adds only
/// what is new.
pub async fn maildir(
    store: &Store,
    account: &Account,
    only: Option<&str>,
    root: &Path,
    progress: &dyn Progress,
) -> Result<Report, TransferError> {
    let mut report = Report::default();
    for m in mailboxes(store, account, only).await? {
        let dir = match maildir::folder_dir(&m.name) {
            Some(d) if only.is_none() => root.join(d),
            _ => root.to_path_buf(),
        };
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| io_err(&dir, &e))?;
        }
        // Base name → file name of what an earlier export wrote.
        let existing: std::collections::HashMap<String, String> =
            std::fs::read_dir(dir.join("cur"))
                .map_err(|e| io_err(&dir, &e))?
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .map(|f| (maildir::base_name(&f).to_string(), f))
                .collect();
        let mut letters = std::fs::read_to_string(dir.join("dovecot-keywords"))
            .map(|t| maildir::parse_keywords(&t))
            .unwrap_or_default();
        let mut files: Vec<(u32, String)> = Vec::new();
        let mut skipped = 0u64;
        let host = "pillarbox";
        let n = for_each_message(store, &m, progress, |msg| {
            let base = format!("{}.P{}Q{}.{host}", msg.date, msg.uid, m.uidvalidity);
            if let Some(name) = existing.get(&base) {
                files.push((msg.uid, name.clone()));
                skipped += 1;
                return Ok(());
            }
            let kws: Vec<&str> = msg.keywords.split(' ').filter(|k| !k.is_empty()).collect();
            let name = format!("{base}{}", maildir::info_for(msg.flags, &kws, &mut letters));
            write_file(&dir, &name, &mbox::to_lf(&msg.data), msg.date)?;
            files.push((msg.uid, name));
            Ok(())
        })
        .await?;
        write_atomic(
            &dir.join("dovecot-uidlist"),
            maildir::write_uidlist(m.uidvalidity, m.uidnext, &files).as_bytes(),
        )?;
        write_atomic(
            &dir.join("dovecot-keywords"),
            maildir::write_keywords(&letters).as_bytes(),
        )?;
        report.transferred += n - skipped;
        report.skipped += skipped;
        report
            .mailboxes
            .push((m.name.clone(), n - skipped, skipped));
    }
    Ok(report)
}

/// Writes a message file through `tmp/`, with its date as modification time.
fn write_file(dir: &Path, name: &str, data: &[u8], date: i64) -> Result<(), TransferError> {
    let tmp = dir.join("tmp").join(name);
    let f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, &e))?;
    use std::io::Write;
    let mut w = std::io::BufWriter::new(f);
    w.write_all(data).map_err(|e| io_err(&tmp, &e))?;
    let f = w.into_inner().map_err(|e| io_err(&tmp, e.error()))?;
    f.sync_all().map_err(|e| io_err(&tmp, &e))?;
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(date.max(0) as u64);
    let _ = f.set_modified(when);
    let dest = dir.join("cur").join(name);
    std::fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, &e))
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), TransferError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).map_err(|e| io_err(&tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, &e))
}

/// The mbox file of a mailbox under `root` (`a/b` → `a.sbd/b`).
fn mbox_path(root: &Path, name: &str) -> PathBuf {
    let parts: Vec<&str> = name.split('/').collect();
    let mut p = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        let safe: String = part
            .chars()
            .map(|c| if c == '\0' || c == '\\' { '_' } else { c })
            .collect();
        let safe = if safe == "." || safe == ".." {
            format!("_{safe}")
        } else {
            safe
        };
        if i + 1 < parts.len() {
            p.push(format!("{safe}.sbd"));
        } else {
            p.push(safe);
        }
    }
    p
}

/// Exports to mbox (mboxo, or mboxrd with `rd`): with `only`, `path` is the file;
/// otherwise a directory with one file per mailbox. A file is written whole (to a
/// temporary name, then renamed).
pub async fn mbox(
    store: &Store,
    account: &Account,
    only: Option<&str>,
    path: &Path,
    rd: bool,
    progress: &dyn Progress,
) -> Result<Report, TransferError> {
    let mut report = Report::default();
    for m in mailboxes(store, account, only).await? {
        let file = if only.is_some() {
            path.to_path_buf()
        } else {
            mbox_path(path, &m.name)
        };
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err(parent, &e))?;
        }
        let mut out = Vec::new();
        let n = for_each_message(store, &m, progress, |msg| {
            let kws: Vec<&str> = msg.keywords.split(' ').filter(|k| !k.is_empty()).collect();
            let sender = return_path(&msg.data).unwrap_or_default();
            out.extend_from_slice(&mbox::write_entry(
                &sender, msg.date, msg.flags, &kws, &msg.data, rd,
            ));
            Ok(())
        })
        .await?;
        write_atomic(&file, &out)?;
        report.transferred += n;
        report.mailboxes.push((m.name.clone(), n, 0));
    }
    Ok(report)
}

/// The address in the message's `Return-Path:` field, if any.
fn return_path(data: &[u8]) -> Option<String> {
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        if line.len() > 12 && line[..12].eq_ignore_ascii_case(b"return-path:") {
            let v = String::from_utf8_lossy(&line[12..]);
            let v = v.trim().trim_start_matches('<').trim_end_matches('>');
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}
