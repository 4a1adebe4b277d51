//! `pillarbox store`: moving an embedded installation into PostgreSQL (with a progress
//! bar per table and the row counts compared at the end), and the nodes of a cluster.

use anyhow::{Context, Result};
use pillarbox_config::Config;
use pillarbox_store::{EngineOptions, MigrationStep, Role};

use crate::args::StoreCommand;

pub async fn run(cmd: StoreCommand, config: &Config) -> Result<()> {
    match cmd {
        StoreCommand::Migrate {
            to,
            tls_ca_file,
            no_tls_verify,
        } => migrate(config, to, tls_ca_file, no_tls_verify).await,
        StoreCommand::Nodes { json } => {
            let store = super::open_store(config, Role::Tool)
                .with_context(|| format!("cannot open {}", super::store_location(config)))?;
            let nodes = store.nodes().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&nodes)?);
                return Ok(());
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            for n in nodes {
                println!(
                    "{:<24} started {}s ago, last seen {}s ago",
                    n.name,
                    (now - n.started_at).max(0),
                    (now - n.last_seen).max(0)
                );
            }
            Ok(())
        }
    }
}

async fn migrate(
    config: &Config,
    to: String,
    tls_ca_file: Option<std::path::PathBuf>,
    no_tls_verify: bool,
) -> Result<()> {
    if config.store.engine != pillarbox_config::StoreEngine::Sqlite {
        anyhow::bail!(
            "store migrate copies an embedded installation; this configuration already uses PostgreSQL"
        );
    }
    let data_dir = config.server.data_dir.clone();
    let source = super::store_options(&config.store);
    let target = EngineOptions::Postgres {
        url: to.clone(),
        pool_size: 4,
        tls_ca_file,
        tls_verify: !no_tls_verify,
    };
    let shown = pillarbox_store::redact_url(&to);
    println!("copying {} into {shown}", data_dir.display());
    let report = tokio::task::spawn_blocking(move || {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:<20} {bar:40} {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let mut current = String::new();
        let report = pillarbox_store::migrate_to_postgres(
            &data_dir,
            &source,
            &target,
            |s: &MigrationStep| {
                if s.what != current {
                    current = s.what.clone();
                    bar.set_message(current.clone());
                    bar.set_length(s.total);
                }
                bar.set_position(s.done);
            },
        );
        bar.finish_and_clear();
        report
    })
    .await?
    .with_context(|| format!("cannot migrate into {shown}"))?;
    for (table, rows) in &report.tables {
        println!("{table:<20} {rows} rows");
    }
    println!(
        "{:<20} {} moved into the database",
        "blob files", report.blob_files
    );
    println!(
        "verified: every table has the same number of rows on both sides. Now set \
         [store] engine = \"postgres\" and url, and give every node the secrets key {}.",
        config
            .store
            .secrets_key_file
            .clone()
            .unwrap_or_else(|| config.server.data_dir.join("secrets.key"))
            .display()
    );
    Ok(())
}
