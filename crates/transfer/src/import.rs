//! Import into an account's mailboxes through the store's own append (one transaction
//! per batch), from a Maildir/Maildir++ tree or from mbox files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pillarbox_store::{Account, AppendMessage, Mailbox, NewMessage, Store};

use crate::maildir::{self, Uidlist};
use crate::{Progress, Report, TransferError, io_err, mbox};

/// Messages per transaction.
const BATCH: usize = 200;
/// The largest message imported (bigger ones are reported and skipped).
pub const MAX_MESSAGE: u64 = 256 * 1024 * 1024;

/// One message ready to go in.
pub(crate) struct Incoming {
    pub what: String,
    pub data: Vec<u8>,
    pub flags: u32,
    pub keywords: Vec<String>,
    pub date: Option<i64>,
    pub uid: Option<u32>,
}

/// The special use of a mailbox created by import, from its name.
fn special_use_of(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "sent" | "sent items" | "sent messages" => Some("\\Sent"),
        "drafts" => Some("\\Drafts"),
        "trash" | "deleted items" | "deleted messages" => Some("\\Trash"),
        "junk" | "spam" => Some("\\Junk"),
        "archive" | "archives" => Some("\\Archive"),
        _ => None,
    }
}

pub(crate) async fn mailbox(
    store: &Store,
    account: &Account,
    name: &str,
) -> Result<Mailbox, TransferError> {
    if let Some(m) = store.mailbox_get(account.id, name).await? {
        return Ok(m);
    }
    // Parents first (`a/b/c` needs `a` and `a/b`).
    let parts: Vec<&str> = name.split('/').collect();
    for i in 1..parts.len() {
        let parent = parts[..i].join("/");
        if store.mailbox_get(account.id, &parent).await?.is_none() {
            store.mailbox_create(account.id, &parent, None).await?;
        }
    }
    Ok(store
        .mailbox_create(account.id, name, special_use_of(name))
        .await?)
}

/// Whether `data` starts like a message: a header field (`Name: …`) first.
fn looks_like_message(data: &[u8]) -> bool {
    let first = data.split(|&b| b == b'\n').next().unwrap_or(b"");
    match first.iter().position(|&b| b == b':') {
        Some(i) if i > 0 => first[..i].iter().all(|&b| b > b' ' && b < 0x7f),
        _ => false,
    }
}

/// Stores `items` into `target`, skipping messages whose bytes are there already.
pub(crate) async fn put_all(
    store: &Store,
    target: &Mailbox,
    items: Vec<Incoming>,
    keep_uids: bool,
    progress: &dyn Progress,
    report: &mut Report,
) -> Result<(u64, u64), TransferError> {
    let mut present: HashSet<String> = store
        .entry_blobs(target.id)
        .await?
        .into_iter()
        .map(|(_, h, _)| h.as_str().to_string())
        .collect();
    let (mut done, mut skipped) = (0u64, 0u64);
    let mut batch: Vec<(AppendMessage, Option<u32>)> = Vec::with_capacity(BATCH);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for item in items {
        progress.advance();
        if item.data.len() as u64 > MAX_MESSAGE {
            report.broken.push(format!(
                "{}: {} bytes, over the {} MiB limit; skipped",
                item.what,
                item.data.len(),
                MAX_MESSAGE >> 20
            ));
            continue;
        }
        if !looks_like_message(&item.data) {
            report
                .broken
                .push(format!("{}: not a message (no header); skipped", item.what));
            continue;
        }
        let data = mbox::to_crlf(&item.data);
        let structure = serde_json::to_vec(&pillarbox_mime::parse(&data)).unwrap_or_default();
        let blob = store.blobs().put(data).await?;
        if !present.insert(blob.hash.as_str().to_string()) {
            skipped += 1;
            continue;
        }
        let date = item.date.unwrap_or(now);
        batch.push((
            AppendMessage {
                message: NewMessage {
                    blob,
                    structure,
                    received_at: date,
                },
                flags: item.flags,
                keywords: item.keywords.join(" "),
                internal_date: Some(date),
            },
            item.uid.filter(|_| keep_uids),
        ));
        if batch.len() >= BATCH {
            let wanted: Vec<Option<u32>> = batch.iter().map(|b| b.1).collect();
            let got = store
                .import_append(target.id, std::mem::take(&mut batch))
                .await?;
            report.uids_kept += kept(&wanted, &got);
            done += got.len() as u64;
        }
    }
    if !batch.is_empty() {
        let wanted: Vec<Option<u32>> = batch.iter().map(|b| b.1).collect();
        let got = store.import_append(target.id, batch).await?;
        report.uids_kept += kept(&wanted, &got);
        done += got.len() as u64;
    }
    Ok((done, skipped))
}

fn kept(wanted: &[Option<u32>], got: &[u32]) -> u64 {
    wanted
        .iter()
        .zip(got)
        .filter(|(w, g)| **w == Some(**g))
        .count() as u64
}

/// The Maildir folders under `root`: (directory, mailbox name); directories that look
/// like folders but whose names do not decode are reported in `broken`.
fn maildir_folders(
    root: &Path,
    base: &str,
    broken: &mut Vec<String>,
) -> Result<Vec<(PathBuf, String)>, TransferError> {
    let mut out = vec![(root.to_path_buf(), base.to_string())];
    let rd = std::fs::read_dir(root).map_err(|e| io_err(root, &e))?;
    let mut subs = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        if !e.path().is_dir() {
            continue;
        }
        let Some(name) = name.to_str() else {
            broken.push(format!(
                "{}: a folder name that is not UTF-8; skipped",
                e.path().display()
            ));
            continue;
        };
        if name.starts_with('.')
            && name.len() > 1
            && name != ".."
            && maildir::folder_name(name).is_none()
        {
            broken.push(format!(
                "{}: a folder name that does not decode (modified UTF-7); skipped",
                e.path().display()
            ));
            continue;
        }
        if let Some(folder) = maildir::folder_name(name) {
            let full = if base.eq_ignore_ascii_case("INBOX") {
                folder
            } else {
                format!("{base}/{folder}")
            };
            subs.push((e.path(), full));
        }
    }
    subs.sort_by(|a, b| a.1.cmp(&b.1));
    out.extend(subs);
    Ok(out)
}

/// Imports a Maildir (and its Maildir++ folders) into `account`; the root goes to
/// `mailbox` (default INBOX), each `.Folder` to its name (under `mailbox` when one is
/// given).
pub async fn maildir(
    store: &Store,
    account: &Account,
    root: &Path,
    mailbox_name: Option<&str>,
    progress: &dyn Progress,
) -> Result<Report, TransferError> {
    if !root.join("cur").is_dir() && !root.join("new").is_dir() {
        return Err(TransferError::Invalid(format!(
            "{}: not a Maildir (no cur/ or new/ directory)",
            root.display()
        )));
    }
    let mut report = Report::default();
    let folders = maildir_folders(root, mailbox_name.unwrap_or("INBOX"), &mut report.broken)?;
    for (dir, name) in folders {
        let uidlist = std::fs::read_to_string(dir.join("dovecot-uidlist"))
            .map(|t| maildir::parse_uidlist(&t))
            .unwrap_or_default();
        let keywords = std::fs::read_to_string(dir.join("dovecot-keywords"))
            .map(|t| maildir::parse_keywords(&t))
            .unwrap_or_default();
        let mut files: Vec<(Option<u32>, String, PathBuf, bool)> = Vec::new();
        for sub in ["cur", "new"] {
            let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(fname) = e.file_name().into_string() else {
                    report.broken.push(format!(
                        "{}: a file name that is not UTF-8; skipped",
                        e.path().display()
                    ));
                    continue;
                };
                if fname.starts_with('.') || !e.path().is_file() {
                    continue;
                }
                let uid = uidlist.uids.get(maildir::base_name(&fname)).copied();
                files.push((uid, fname, e.path(), sub == "new"));
            }
        }
        // UID order (files the uidlist does not know come after, by name: the time).
        files.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
        progress.mailbox(&name, files.len() as u64);
        let target = mailbox(store, account, &name).await?;
        let keep_uids = prepare_uids(store, &target, &uidlist).await?;
        let mut items = Vec::with_capacity(files.len());
        for (uid, fname, path, new) in files {
            let data = match read_limited(&path) {
                Ok(d) => d,
                Err(why) => {
                    report.broken.push(why);
                    continue;
                }
            };
            let (flags, kws) = if new {
                (0, Vec::new())
            } else {
                maildir::flags_of(&fname, &keywords)
            };
            let date = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64);
            items.push(Incoming {
                what: path.display().to_string(),
                data,
                flags,
                keywords: kws,
                date,
                uid,
            });
        }
        let (done, skipped) =
            put_all(store, &target, items, keep_uids, progress, &mut report).await?;
        if keep_uids && let Some(next) = uidlist.next_uid {
            store.import_uid_state(target.id, None, next).await?;
        }
        report.transferred += done;
        report.skipped += skipped;
        report.mailboxes.push((name, done, skipped));
    }
    Ok(report)
}

/// Takes the source's UIDVALIDITY when the mailbox never held a message; true when
/// the source's UIDs can be kept.
async fn prepare_uids(
    store: &Store,
    target: &Mailbox,
    uidlist: &Uidlist,
) -> Result<bool, TransferError> {
    let Some(v) = uidlist.uidvalidity else {
        return Ok(false);
    };
    if target.uidvalidity == v {
        return Ok(true);
    }
    if target.uidnext == 1 {
        store.import_uid_state(target.id, Some(v), 1).await?;
        return Ok(true);
    }
    tracing::info!(mailbox = %target.name, "the mailbox already has messages: new UIDs are given");
    Ok(false)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}; skipped", path.display()))?
        .len();
    if len > MAX_MESSAGE {
        return Err(format!(
            "{}: {len} bytes, over the {} MiB limit; skipped",
            path.display(),
            MAX_MESSAGE >> 20
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}; skipped", path.display()))
}

/// The mbox files under `path`: a file is one mailbox (`mailbox`, default its file
/// name); a directory holds one file per mailbox, Thunderbird's `Name.sbd/`
/// directories holding the children of `Name`.
fn mbox_files(path: &Path, mailbox: Option<&str>) -> Result<Vec<(PathBuf, String)>, TransferError> {
    if path.is_file() {
        let name = mailbox.map(str::to_string).unwrap_or_else(|| {
            let stem = path.file_name().and_then(|n| n.to_str()).unwrap_or("INBOX");
            stem.trim_end_matches(".mbox").to_string()
        });
        return Ok(vec![(path.to_path_buf(), name)]);
    }
    let mut out = Vec::new();
    walk_mbox_dir(path, mailbox.unwrap_or(""), &mut out)?;
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn walk_mbox_dir(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(PathBuf, String)>,
) -> Result<(), TransferError> {
    let rd = std::fs::read_dir(dir).map_err(|e| io_err(dir, &e))?;
    for e in rd.flatten() {
        let Ok(fname) = e.file_name().into_string() else {
            continue;
        };
        if fname.starts_with('.') || fname.ends_with(".msf") || fname.ends_with(".dat") {
            continue;
        }
        let join = |n: &str| {
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("{prefix}/{n}")
            }
        };
        let p = e.path();
        if p.is_dir() {
            let base = fname.strip_suffix(".sbd").unwrap_or(&fname);
            walk_mbox_dir(&p, &join(base), out)?;
        } else if p.is_file() {
            out.push((p, join(fname.trim_end_matches(".mbox"))));
        }
    }
    Ok(())
}

/// Imports an mbox file, or a directory of them, into `account`; `rd`: the files are
/// mboxrd (otherwise mboxo, what mutt, Thunderbird and Python write).
pub async fn mbox(
    store: &Store,
    account: &Account,
    path: &Path,
    mailbox_name: Option<&str>,
    rd: bool,
    progress: &dyn Progress,
) -> Result<Report, TransferError> {
    let mut report = Report::default();
    for (file, name) in mbox_files(path, mailbox_name)? {
        let data = std::fs::read(&file).map_err(|e| io_err(&file, &e))?;
        let messages = mbox::split(&data, rd);
        let lead = messages.first().map_or(data.len(), |m| m.offset);
        if data[..lead].iter().any(|b| !b.is_ascii_whitespace()) {
            report.broken.push(format!(
                "{}: {lead} bytes before the first \"From \" line (not mbox?); skipped",
                file.display()
            ));
        }
        drop(data);
        if messages.is_empty() {
            continue;
        }
        progress.mailbox(&name, messages.len() as u64);
        let target = mailbox(store, account, &name).await?;
        let items = messages
            .into_iter()
            .map(|m| Incoming {
                what: format!("{} at byte {}", file.display(), m.offset),
                data: m.message,
                flags: m.flags,
                keywords: m.keywords,
                date: m.date,
                uid: None,
            })
            .collect();
        let (done, skipped) = put_all(store, &target, items, false, progress, &mut report).await?;
        report.transferred += done;
        report.skipped += skipped;
        report.mailboxes.push((name, done, skipped));
    }
    Ok(report)
}
