//! The `pillarbox` binary: command-line parsing and the wiring of `serve`. It owns no
//! mail logic; every command calls into the library crates. This is the only crate that
//! reads configuration files and installs the process-wide crypto provider.

mod args;
mod commands;
mod logging;
mod services;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    pillarbox_net::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
