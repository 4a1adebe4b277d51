//! The POP3 load: `fill` prepares identical mailboxes for Pillarbox (through the
//! delivery pipeline, in a stopped server's data directory) and for Dovecot (Maildir
//! files and a passwd-file with the same argon2id hashes); `drive` runs N concurrent
//! sessions that each log in, STAT, LIST, UIDL, RETR and DELE every message, and QUIT.

mod client;
mod drive;
mod fill;

pub use drive::DriveArgs;
pub use fill::FillArgs;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Pop3Command {
    /// Create accounts and messages for a run.
    Fill(FillArgs),
    /// Run the sessions and print the figures as JSON.
    Drive(DriveArgs),
}

pub async fn run(c: Pop3Command) -> anyhow::Result<()> {
    match c {
        Pop3Command::Fill(a) => fill::fill(a).await,
        Pop3Command::Drive(a) => drive::drive(a).await,
    }
}

/// The address of benchmark user `i`.
pub fn user_address(i: usize, domain: &str) -> String {
    format!("user{i}@{domain}")
}
