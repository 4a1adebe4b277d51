//! `pillarbox quarantine …` (messages content scanning held back) and `pillarbox spam
//! …` (accounts' Junk scores).

use anyhow::{Context, Result, anyhow, bail};
use pillarbox_config::Config;
use pillarbox_delivery::{DeliveryPipeline, Envelope, Recipient};
use pillarbox_directory::Directory;
use pillarbox_store::BlobHash;

use crate::args::{QuarantineCommand, SpamCommand};

pub async fn run(cmd: QuarantineCommand, config: &Config) -> Result<()> {
    let directory = super::with_srs(super::directory_for(config)?, config).await?;
    let store = directory.store().clone();
    match cmd {
        QuarantineCommand::List { limit, json } => {
            let list = store.quarantine_list(limit).await?;
            if json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|q| {
                        serde_json::json!({
                            "id": q.id,
                            "created_at": q.created_at,
                            "expires_at": q.expires_at,
                            "size": q.size,
                            "sender": q.sender,
                            "recipients": q.recipients,
                            "reason": q.reason,
                            "source": q.source,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            if list.is_empty() {
                println!("the quarantine is empty");
            }
            for q in list {
                println!(
                    "{:>6}  {}  {:>8}  <{}> -> {}  {}  ({})",
                    q.id,
                    crate::commands::monitor::format_time(q.created_at),
                    q.size,
                    q.sender,
                    q.recipients.join(", "),
                    q.reason,
                    q.source
                );
            }
        }
        QuarantineCommand::Show { id, raw } => {
            let q = store
                .quarantine_get(id)
                .await?
                .ok_or_else(|| anyhow!("no quarantined message {id}"))?;
            let content = read_blob(&store, &q.blob_hash).await?;
            if raw {
                use std::io::Write;
                std::io::stdout().write_all(&content)?;
                return Ok(());
            }
            println!("id:         {}", q.id);
            println!(
                "quarantined: {}",
                crate::commands::monitor::format_time(q.created_at)
            );
            println!(
                "expires:    {}",
                crate::commands::monitor::format_time(q.expires_at)
            );
            println!("from:       <{}>", q.sender);
            println!("to:         {}", q.recipients.join(", "));
            println!("reason:     {}", q.reason);
            println!("source:     {}", q.source);
            println!("verdict:    {}", q.verdict);
            println!();
            let end = content
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(content.len(), |p| p + 2);
            print!("{}", String::from_utf8_lossy(&content[..end]));
        }
        QuarantineCommand::Release { id } => {
            let q = store
                .quarantine_get(id)
                .await?
                .ok_or_else(|| anyhow!("no quarantined message {id}"))?;
            let content = read_blob(&store, &q.blob_hash).await?;
            let pipeline = pipeline(directory, config);
            // The blob is referenced again by the delivery before the quarantine
            // lets go of it.
            let blob = store.blobs().put(content.clone()).await?;
            let envelope = Envelope {
                sender: q.sender.clone(),
                recipients: q.recipients.iter().map(|r| Recipient::plain(r)).collect(),
                source: format!("quarantine release {id}"),
                enforce_quota: true,
                ..Default::default()
            };
            let outcomes = pipeline
                .deliver(blob, &content, &envelope)
                .await
                .map_err(|e| anyhow!("cannot deliver quarantined message {id}: {e}"))?;
            if !outcomes.iter().any(|o| o.accepted()) {
                bail!(
                    "quarantined message {id} was not accepted: {outcomes:?} (it stays in quarantine)"
                );
            }
            store.quarantine_delete(id).await?;
            println!(
                "released {id} to {} ({} of {} recipients accepted it)",
                q.recipients.join(", "),
                outcomes.iter().filter(|o| o.accepted()).count(),
                outcomes.len()
            );
        }
        QuarantineCommand::Delete { id } => {
            if !store.quarantine_delete(id).await? {
                bail!("no quarantined message {id}");
            }
            println!("deleted quarantined message {id}");
        }
    }
    Ok(())
}

pub async fn spam(cmd: SpamCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    match cmd {
        SpamCommand::Threshold {
            account,
            score,
            clear,
        } => {
            let a = store
                .account_get(&account)
                .await?
                .ok_or_else(|| anyhow!("no account {account}"))?;
            let name = pillarbox_delivery::junk_score_setting(&a.address());
            match (score, clear) {
                (Some(_), true) => bail!("give a score or --clear, not both"),
                (Some(s), false) => {
                    if !s.is_finite() {
                        bail!("the score must be a number");
                    }
                    store.setting_put(&name, &s.to_string()).await?;
                    println!("mail to {} scoring {s} or more goes to Junk", a.address());
                }
                (None, true) => {
                    store.setting_delete(&name).await?;
                    println!(
                        "{} uses its domain's or the server's Junk score",
                        a.address()
                    );
                }
                (None, false) => match store.setting(&name).await? {
                    Some(v) => println!("{v}"),
                    None => println!("not set (the domain's or the server's Junk score applies)"),
                },
            }
        }
    }
    Ok(())
}

/// The delivery pipeline a tool uses to release a message.
fn pipeline(directory: Directory, config: &Config) -> DeliveryPipeline {
    DeliveryPipeline::new(directory)
        .with_hostname(&config.server.hostname)
        .with_sieve(config.sieve.enabled, config.sieve.server_scripts_refresh.0)
        .with_spam_policy(crate::scanning::spam_policy(config))
}

async fn read_blob(store: &pillarbox_store::Store, hash: &str) -> Result<Vec<u8>> {
    let hash = BlobHash::parse(hash)?;
    store
        .blobs()
        .read(&hash)
        .await
        .context("cannot read the quarantined message")
}
