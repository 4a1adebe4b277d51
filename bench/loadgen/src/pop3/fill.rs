//! `pop3 fill`: the same mailboxes for both servers. Pillarbox's are filled through the
//! delivery pipeline in its data directory (server stopped, or running: the store is
//! opened as a tool); Dovecot's are Maildir files (LF line endings, with the `S=` and
//! `W=` sizes in their names as Dovecot's own delivery writes them) and a passwd-file
//! holding the very argon2id hashes Pillarbox stored, so both servers pay the same for
//! each login.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use pillarbox_config::{AuthSection, IpRanges};
use pillarbox_delivery::{DeliveryPipeline, Envelope, Recipient};
use pillarbox_directory::Directory;
use pillarbox_store::{Role, ServiceFlags, Store, StoreOptions};

use super::user_address;

#[derive(Debug, Args)]
pub struct FillArgs {
    /// Pillarbox data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Also write Dovecot's mail (`DIR/mail/<user>/Maildir`) and `DIR/passwd`.
    #[arg(long)]
    pub dovecot: Option<PathBuf>,
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// Messages per user.
    #[arg(long, default_value_t = 200)]
    pub messages: usize,
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    #[arg(long, default_value = "benchpw")]
    pub password: String,
    /// Keep blobs up to this size in the database (the server's `store.inline_blob_max`;
    /// the store's default when absent).
    #[arg(long)]
    pub inline_blob_max: Option<usize>,
    /// Fill a PostgreSQL store (`postgres://...`) instead of the data directory's
    /// embedded one (the data directory then only holds the secrets key).
    #[arg(long)]
    pub postgres: Option<String>,
    /// Message sizes in octets, used in turn.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1500,3000,6000,12000,25000"
    )]
    pub sizes: Vec<usize>,
}

pub async fn fill(a: FillArgs) -> Result<()> {
    let mut options = StoreOptions::default();
    if let Some(max) = a.inline_blob_max {
        options.inline_blob_max = max;
    }
    if let Some(url) = &a.postgres {
        options.engine = pillarbox_store::EngineOptions::Postgres {
            url: url.clone(),
            pool_size: 8,
            tls_ca_file: None,
            tls_verify: false,
        };
    }
    let store =
        Store::open_with(&a.data_dir, Role::Tool, options).context("open the data directory")?;
    if store.domain_get(&a.domain).await?.is_none() {
        store.domain_create(&a.domain).await?;
    }
    let directory = Directory::new(store.clone(), IpRanges::default(), &AuthSection::default());
    let pipeline = Arc::new(DeliveryPipeline::new(directory.clone()));
    let mut passwd = String::new();
    let mut jobs = tokio::task::JoinSet::new();
    let mut octets = 0u64;
    for u in 0..a.users {
        let address = user_address(u, &a.domain);
        let account = match store.account_get(&address).await? {
            Some(acc) => acc,
            None => {
                directory
                    .add_account(&address, &a.password, ServiceFlags::default())
                    .await?
            }
        };
        passwd.push_str(&format!(
            "{address}:{{ARGON2ID}}{}\n",
            account.password_hash
        ));
        let maildir = a
            .dovecot
            .as_ref()
            .map(|d| d.join("mail").join(&address).join("Maildir"));
        if let Some(m) = &maildir {
            for sub in ["new", "cur", "tmp"] {
                std::fs::create_dir_all(m.join(sub))?;
            }
        }
        for i in 0..a.messages {
            let size = a.sizes[(u + i) % a.sizes.len().max(1)];
            let raw = message(&address, u, i, size);
            octets += raw.len() as u64;
            if let Some(m) = &maildir {
                write_maildir(m, u, i, &raw)?;
            }
            while jobs.len() >= 64 {
                if let Some(r) = jobs.join_next().await {
                    r??;
                }
            }
            let (pipeline, store, address) = (pipeline.clone(), store.clone(), address.clone());
            jobs.spawn(async move {
                let blob = store.blobs().put(raw.clone()).await?;
                let envelope = Envelope {
                    sender: "sender@remote.example".into(),
                    recipients: vec![Recipient::plain(&address)],
                    source: "loadgen".into(),
                    ..Default::default()
                };
                let out = pipeline.deliver(blob, &raw, &envelope).await?;
                anyhow::ensure!(out[0].accepted(), "not delivered to {address}: {out:?}");
                Ok(())
            });
        }
    }
    while let Some(r) = jobs.join_next().await {
        r??;
    }
    if let Some(d) = &a.dovecot {
        std::fs::write(d.join("passwd"), passwd)?;
    }
    println!(
        "{}",
        serde_json::json!({"users": a.users, "messages": a.users * a.messages, "octets": octets})
    );
    Ok(())
}

/// A plausible text message of about `size` octets, CRLF lines, with the odd line that
/// starts with a dot (so RETR has to stuff it).
fn message(to: &str, user: usize, i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <sender@remote.example>\r\n\
         From: Sender <sender@remote.example>\r\n\
         To: <{to}>\r\n\
         Subject: benchmark message {i} for user {user}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\
         Message-ID: <bench.{user}.{i}@remote.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n"
    )
    .into_bytes();
    let mut line = 0usize;
    while m.len() < size {
        if line % 40 == 39 {
            m.extend_from_slice(b".");
        }
        let _ = write!(
            m,
            "Line {line:05} of message {i}: the quick brown fox jumps over the lazy dog.\r\n"
        );
        line += 1;
    }
    m
}

/// Writes `raw` as Dovecot's Maildir delivery would: LF line endings, the file size
/// (`S=`) and the CRLF size (`W=`) in the name.
fn write_maildir(maildir: &std::path::Path, user: usize, i: usize, raw: &[u8]) -> Result<()> {
    let lf: Vec<u8> = raw
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(&b"\n"[..]);
    let name = format!(
        "1772445600.M{i}P{user}.bench,S={},W={}",
        lf.len(),
        raw.len()
    );
    std::fs::write(maildir.join("new").join(name), lf)?;
    Ok(())
}
