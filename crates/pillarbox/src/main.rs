//! The `pillarbox` binary: command-line parsing and the wiring of `serve`. It owns no
//! mail logic; every command calls into the library crates. This is the only crate that
//! reads configuration files and installs the process-wide crypto provider.

mod args;
mod commands;
mod logging;
mod monitoring;
mod names;
mod scanning;
mod services;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Invoked through a link named `sendmail`: sendmail's own argument syntax.
    let argv: Vec<String> = std::env::args().collect();
    let invoked_as = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    let args = if invoked_as == "sendmail" {
        args::Cli {
            config: std::env::var_os("PILLARBOX_CONFIG").map(Into::into),
            command: args::Command::Sendmail {
                args: argv[1..].to_vec(),
            },
        }
    } else {
        args::Cli::parse()
    };
    pillarbox_net::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<commands::sendmail::SendmailError>() {
            Some(s) => {
                eprintln!("{s}");
                ExitCode::from(s.code)
            }
            None => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
