//! `pillarbox-loadgen`: the client side of the benchmarks in `bench/`, written in Rust so
//! the client is not the bottleneck. One subcommand (and one module) per protocol; each
//! prints one JSON object with its figures on stdout.
//!
//! Never used by the server or the tests; it only talks to servers over sockets and,
//! to prepare a run, to a stopped server's data directory through the store.

mod imap;
mod pop3;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "pillarbox-loadgen", about = "Benchmark load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// POP3: fill mailboxes, or drive sessions against a server.
    #[command(subcommand)]
    Pop3(pop3::Pop3Command),
    /// IMAP: fill mailboxes, drive the session mix, or hold sessions in IDLE.
    #[command(subcommand)]
    Imap(imap::ImapCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Pop3(c) => pop3::run(c).await,
            Command::Imap(c) => imap::run(c).await,
        }
    })
}
