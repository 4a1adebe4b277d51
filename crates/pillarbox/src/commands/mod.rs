//! One module per command family. Each takes the parsed arguments and the loaded
//! configuration and calls the library crates.

mod account;
mod alias;
pub(crate) mod auth;
mod collect;
mod domain;
mod init;
mod monitor;
mod quarantine;
mod queue;
pub mod sendmail;
mod serve;
mod sieve;
mod store;
mod test_connection;
mod transfer;

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pillarbox_config::Config;
use pillarbox_directory::Directory;
use pillarbox_store::{Role, Store};

use crate::args::{Cli, Command, ConfigCommand};

/// Where the configuration comes from when `--config` (or `PILLARBOX_CONFIG`) is not
/// given: the system's file, then one in the current directory.
const CONFIG_PLACES: &[&str] = &["/etc/pillarbox/pillarbox.toml", "pillarbox.toml"];

/// Runs the parsed command.
pub async fn run(mut cli: Cli) -> Result<()> {
    let explicit = cli.config.is_some();
    if !explicit {
        cli.config = CONFIG_PLACES
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file());
    }
    // Only the server creates a data directory: a tool run without the server's
    // configuration must not quietly make (and then list) an empty one.
    let creates = matches!(
        cli.command,
        Command::Serve { .. }
            | Command::Config { .. }
            | Command::Restore { .. }
            | Command::Init(_)
            | Command::Completions { .. }
            | Command::Man { .. }
    );
    if !explicit && !creates {
        let config = load_config(cli.config.as_deref())?;
        if config.store.engine == pillarbox_config::StoreEngine::Sqlite
            && !config.server.data_dir.join("pillarbox.db").is_file()
        {
            bail!(
                "no Pillarbox data in {} (configuration: {}): point the command at the \
                 server's configuration with --config FILE or PILLARBOX_CONFIG=FILE, or start \
                 the server (`pillarbox serve`) to create it",
                config.server.data_dir.display(),
                cli.config
                    .as_deref()
                    .map_or("the built-in defaults".to_string(), |p| p
                        .display()
                        .to_string())
            );
        }
    }
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            let config = Config::load(&file)?;
            println!(
                "{}: configuration is valid (data directory {}, host name {})",
                file.display(),
                clean_path(&config.server.data_dir).display(),
                config.server.hostname
            );
            if !config.server.hostname.contains('.') {
                eprintln!(
                    "warning: server.hostname {:?} is not a fully-qualified name: it goes into \
                     the certificate, greetings, Received lines and Message-IDs; set the name \
                     the MX record points to, e.g. mail.example.com",
                    config.server.hostname
                );
            }
            Ok(())
        }
        Command::Init(args) => init::run(args, cli.config.as_deref()).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "pillarbox", &mut std::io::stdout());
            Ok(())
        }
        Command::Man { dir } => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
            println!("manual pages written to {}", dir.display());
            Ok(())
        }
        Command::Serve { log_format } => {
            let config = load_config(cli.config.as_deref())?;
            serve::run(config, log_format).await
        }
        Command::Sendmail { args } => sendmail::run(cli.config.as_deref(), &args).await,
        Command::Domain { command } => {
            let config = load_config(cli.config.as_deref())?;
            domain::run(command, &config, &directory_for(&config)?).await
        }
        Command::Account { command } => {
            account::run(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Queue { command } => {
            let config = load_config(cli.config.as_deref())?;
            let store = open_store(&config, Role::Tool)?;
            queue::run(command, &store).await
        }
        Command::Sieve { command } => {
            sieve::run(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Rules { command } => {
            sieve::rules(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Alias { command } => {
            alias::run(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Collect { command } => {
            let config = load_config(cli.config.as_deref())?;
            collect::run(command, &config).await
        }
        Command::Import { command } => {
            transfer::import(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Export { command } => {
            transfer::export(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Migrate {
            command:
                crate::args::MigrateCommand::Imap {
                    account,
                    from,
                    options,
                    quiet,
                },
        } => {
            let config = load_config(cli.config.as_deref())?;
            collect::migrate_imap(&account, from.as_deref(), options, quiet, &config).await
        }
        Command::Backup { path, quiet } => {
            let config = load_config(cli.config.as_deref())?;
            transfer::backup(&config, &path, quiet).await
        }
        Command::Restore { path, quiet } => {
            let config = load_config(cli.config.as_deref())?;
            transfer::restore(&config, &path, quiet).await
        }
        Command::Quarantine { command } => {
            let config = load_config(cli.config.as_deref())?;
            quarantine::run(command, &config).await
        }
        Command::Spam { command } => {
            quarantine::spam(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Events(a) => monitor::events(a, &open_tool_store(cli.config.as_deref())?).await,
        Command::Trace { key, since, json } => {
            monitor::trace(&key, &since, json, &open_tool_store(cli.config.as_deref())?).await
        }
        Command::Sessions { command } => {
            monitor::sessions(command, &open_tool_store(cli.config.as_deref())?).await
        }
        Command::Stats {
            by,
            since,
            domain,
            json,
        } => {
            let store = open_tool_store(cli.config.as_deref())?;
            monitor::stats(&by, since.as_deref(), domain.as_deref(), json, &store).await
        }
        Command::Alerts { command } => {
            monitor::alerts(command, &open_tool_store(cli.config.as_deref())?).await
        }
        Command::Webhooks { command } => {
            monitor::webhooks(command, &open_tool_store(cli.config.as_deref())?).await
        }
        Command::Store { command } => {
            let config = load_config(cli.config.as_deref())?;
            store::run(command, &config).await
        }
        Command::TestConnection(args) => {
            let config = load_config(cli.config.as_deref())?;
            test_connection::run(args, &config).await
        }
        Command::Auth { command } => {
            let config = load_config(cli.config.as_deref())?;
            auth::run(command, &config).await
        }
    }
}

/// `p` without `.` components (`/x/./data` → `/x/data`).
pub fn clean_path(p: &Path) -> std::path::PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// Loads the configuration file, or the defaults when none is given.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

/// Opens the store as a tool (beside a running server) and a directory over it.
fn tool_directory(config: Option<&Path>) -> Result<Directory> {
    directory_for(&load_config(config)?)
}

/// The directory over the store of `config`, opened as a tool.
fn directory_for(config: &Config) -> Result<Directory> {
    let store = open_store(config, Role::Tool)
        .with_context(|| format!("cannot open {}", store_location(config)))?;
    Ok(Directory::new(
        store,
        config.network.lan.clone(),
        &config.auth,
    ))
}

/// `directory` with the Sender Rewriting Scheme of `[srs]` when it is on; its key is
/// a secret kept in the store (made by the first process that needs it), so every
/// node and tool rewrites and reverses alike.
pub async fn with_srs(directory: Directory, config: &Config) -> Result<Directory> {
    if !config.srs.enabled {
        return Ok(directory);
    }
    let fresh: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let key = directory
        .store()
        .secret_setting_init("srs_key", &fresh)
        .await
        .context("cannot read the SRS key")?;
    let domain = if config.srs.domain.is_empty() {
        &config.server.hostname
    } else {
        &config.srs.domain
    };
    let srs = pillarbox_directory::srs::Srs::new(key.as_bytes(), domain, config.srs.max_age_days);
    Ok(directory.with_srs(srs))
}

/// What the configured store is, for messages: the data directory, or the database
/// (password hidden).
pub fn store_location(config: &Config) -> String {
    match (&config.store.engine, &config.store.url) {
        (pillarbox_config::StoreEngine::Postgres, Some(url)) => {
            format!("the database {}", pillarbox_store::redact_url(url))
        }
        _ => format!("the data directory {}", config.server.data_dir.display()),
    }
}

/// The store of the configuration at `path`, opened as a tool.
fn open_tool_store(path: Option<&Path>) -> Result<Store> {
    let config = load_config(path)?;
    open_store(&config, Role::Tool)
        .with_context(|| format!("cannot open {}", store_location(&config)))
}

/// Opens the store with the configured options.
pub fn open_store(config: &Config, role: Role) -> pillarbox_store::Result<Store> {
    Store::open_with(&config.server.data_dir, role, store_options(&config.store))
}

/// The store options the `[store]` section describes.
pub fn store_options(s: &pillarbox_config::StoreSection) -> pillarbox_store::StoreOptions {
    use pillarbox_config::StoreEngine;
    pillarbox_store::StoreOptions {
        inline_blob_max: usize::try_from(s.inline_blob_max.0).unwrap_or(usize::MAX),
        secrets_key: s.secrets_key_file.clone(),
        engine: match s.engine {
            StoreEngine::Sqlite => pillarbox_store::EngineOptions::Sqlite,
            StoreEngine::Postgres => pillarbox_store::EngineOptions::Postgres {
                url: s.url.clone().unwrap_or_default(),
                pool_size: s.pool_size,
                tls_ca_file: s.tls_ca_file.clone(),
                tls_verify: s.tls_verify,
            },
        },
        node_name: s.node_name.clone(),
    }
}

/// Reads a password: one line from standard input, or a prompt (asked twice when `confirm`).
pub fn read_password(from_stdin: bool, confirm: bool) -> Result<String> {
    let pw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let pw = rpassword::prompt_password("Password: ")
            .context("cannot read a password (use --password-stdin)")?;
        if confirm {
            let again = rpassword::prompt_password("Again: ")?;
            if pw != again {
                bail!("the passwords do not match");
            }
        }
        pw
    };
    if pw.is_empty() {
        bail!("the password is empty");
    }
    Ok(pw)
}
