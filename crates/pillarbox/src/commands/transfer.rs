//! `pillarbox import …` and `pillarbox export …`: Maildir and mbox in and out of an
//! account, with a progress bar and a summary.

use anyhow::{Result, anyhow, bail};
use pillarbox_directory::Directory;
use pillarbox_transfer::{Progress, Report};

use crate::args::{ExportCommand, ImportCommand, TransferArgs};

/// The progress bar of a transfer: one bar, its length growing as mailboxes come.
pub(crate) struct Bar(pub(crate) indicatif::ProgressBar);

impl Bar {
    pub(crate) fn new(quiet: bool) -> Bar {
        let bar = indicatif::ProgressBar::new(0);
        if quiet {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>16} [{bar:30}] {pos}/{len} messages, {per_sec}, {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn mailbox(&self, mailbox: &str, total: u64) {
        self.0.set_prefix(mailbox.to_string());
        self.0.inc_length(total);
    }
    fn advance(&self) {
        self.0.inc(1);
    }
}

pub(crate) fn summary(verb: &str, r: &Report, seconds: f64) {
    for (name, done, skipped) in &r.mailboxes {
        if *skipped > 0 {
            println!("  {name}: {done} {verb}, {skipped} already there");
        } else {
            println!("  {name}: {done} {verb}");
        }
    }
    let rate = if seconds > 0.0 {
        r.transferred as f64 / seconds
    } else {
        0.0
    };
    println!(
        "{} messages {verb} in {} mailboxes ({:.0}/s), {} already there, {} broken{}",
        r.transferred,
        r.mailboxes.len(),
        rate,
        r.skipped,
        r.broken.len(),
        if r.uids_kept > 0 {
            format!(", {} UIDs kept", r.uids_kept)
        } else {
            String::new()
        }
    );
    for b in &r.broken {
        eprintln!("broken: {b}");
    }
}

async fn account(dir: &Directory, a: &TransferArgs) -> Result<pillarbox_store::Account> {
    dir.store()
        .account_get(&a.account)
        .await?
        .ok_or_else(|| anyhow!("no account {}", a.account))
}

pub async fn import(cmd: ImportCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    let started = std::time::Instant::now();
    let (a, report) = match cmd {
        ImportCommand::Maildir(a) => {
            let acc = account(dir, &a).await?;
            let bar = Bar::new(a.quiet);
            let r = pillarbox_transfer::import::maildir(
                store,
                &acc,
                &a.path,
                a.mailbox.as_deref(),
                &bar,
            )
            .await;
            bar.0.finish_and_clear();
            (a, r?)
        }
        ImportCommand::Mbox(a) => {
            let acc = account(dir, &a).await?;
            let bar = Bar::new(a.quiet);
            let r = pillarbox_transfer::import::mbox(
                store,
                &acc,
                &a.path,
                a.mailbox.as_deref(),
                a.mboxrd,
                &bar,
            )
            .await;
            bar.0.finish_and_clear();
            (a, r?)
        }
    };
    println!("imported into {} from {}:", a.account, a.path.display());
    summary("imported", &report, started.elapsed().as_secs_f64());
    if report.transferred == 0 && report.skipped == 0 && !report.broken.is_empty() {
        bail!("nothing could be imported");
    }
    Ok(())
}

pub async fn export(cmd: ExportCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    let started = std::time::Instant::now();
    let (a, report) = match cmd {
        ExportCommand::Maildir(a) => {
            let acc = account(dir, &a).await?;
            let bar = Bar::new(a.quiet);
            let r = pillarbox_transfer::export::maildir(
                store,
                &acc,
                a.mailbox.as_deref(),
                &a.path,
                &bar,
            )
            .await;
            bar.0.finish_and_clear();
            (a, r?)
        }
        ExportCommand::Mbox(a) => {
            let acc = account(dir, &a).await?;
            let bar = Bar::new(a.quiet);
            let r = pillarbox_transfer::export::mbox(
                store,
                &acc,
                a.mailbox.as_deref(),
                &a.path,
                a.mboxrd,
                &bar,
            )
            .await;
            bar.0.finish_and_clear();
            (a, r?)
        }
    };
    println!("exported {} to {}:", a.account, a.path.display());
    summary("exported", &report, started.elapsed().as_secs_f64());
    Ok(())
}

fn blob_bar(quiet: bool, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if quiet {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} message files, {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(what.to_string());
    bar
}

fn embedded_only(config: &pillarbox_config::Config, verb: &str) -> Result<()> {
    if config.store.engine == pillarbox_config::StoreEngine::Postgres {
        bail!(
            "the store is PostgreSQL, where messages live in the database: {verb} it with \
             PostgreSQL's own tools (pg_dump / pg_restore, or continuous archiving)"
        );
    }
    Ok(())
}

pub async fn backup(
    config: &pillarbox_config::Config,
    path: &std::path::Path,
    quiet: bool,
) -> Result<()> {
    embedded_only(config, "back")?;
    let data = config.server.data_dir.clone();
    let target = path.to_path_buf();
    let bar = blob_bar(quiet, "backup");
    let b = bar.clone();
    let started = std::time::Instant::now();
    let report = tokio::task::spawn_blocking(move || {
        pillarbox_store::backup::backup(&data, &target, &|done, total| {
            b.set_length(total);
            b.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    println!(
        "backed up {} into {} in {:.1}s: database {} bytes, {} message files copied ({} bytes), {} already there",
        config.server.data_dir.display(),
        path.display(),
        started.elapsed().as_secs_f64(),
        report.database_bytes,
        report.blobs_copied,
        report.bytes_copied,
        report.blobs_present
    );
    eprintln!(
        "note: the secrets key ({}) is not in the backup; keep a copy of it apart: without it, \
         stored smart-host and collection passwords must be entered again",
        config
            .store
            .secrets_key_file
            .clone()
            .unwrap_or_else(|| config.server.data_dir.join("secrets.key"))
            .display()
    );
    Ok(())
}

pub async fn restore(
    config: &pillarbox_config::Config,
    path: &std::path::Path,
    quiet: bool,
) -> Result<()> {
    embedded_only(config, "restore")?;
    let data = config.server.data_dir.clone();
    let source = path.to_path_buf();
    let bar = blob_bar(quiet, "restore");
    let b = bar.clone();
    let report = tokio::task::spawn_blocking(move || {
        pillarbox_store::backup::restore(&source, &data, &|done, total| {
            b.set_length(total);
            b.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    println!(
        "restored {} into {}: database {} bytes, {} message files",
        path.display(),
        config.server.data_dir.display(),
        report.database_bytes,
        report.blobs_copied + report.blobs_present
    );
    Ok(())
}
