//! One module per command family. Each takes the parsed arguments and the loaded
//! configuration and calls the library crates.

mod account;
mod alias;
mod collect;
mod domain;
mod queue;
pub mod sendmail;
mod serve;
mod test_connection;

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pillarbox_config::Config;
use pillarbox_directory::Directory;
use pillarbox_store::{Role, Store};

use crate::args::{Cli, Command, ConfigCommand};

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            let config = Config::load(&file)?;
            println!(
                "{}: configuration is valid (data directory {}, host name {})",
                file.display(),
                config.server.data_dir.display(),
                config.server.hostname
            );
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
        Command::Alias { command } => {
            alias::run(command, &tool_directory(cli.config.as_deref())?).await
        }
        Command::Collect { command } => {
            let config = load_config(cli.config.as_deref())?;
            collect::run(command, &config).await
        }
        Command::TestConnection(args) => {
            let config = load_config(cli.config.as_deref())?;
            test_connection::run(args, &config).await
        }
    }
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
    let store = open_store(config, Role::Tool).with_context(|| {
        format!(
            "cannot open the data directory {}",
            config.server.data_dir.display()
        )
    })?;
    Ok(Directory::new(
        store,
        config.network.lan.clone(),
        &config.auth,
    ))
}

/// Opens the store with the configured options.
pub fn open_store(config: &Config, role: Role) -> pillarbox_store::Result<Store> {
    let options = pillarbox_store::StoreOptions {
        inline_blob_max: usize::try_from(config.store.inline_blob_max.0).unwrap_or(usize::MAX),
        secrets_key: config.store.secrets_key_file.clone(),
    };
    Store::open_with(&config.server.data_dir, role, options)
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
