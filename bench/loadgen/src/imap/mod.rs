//! The IMAP load. Accounts come from `pop3 fill --messages 0` (the same argon2id hashes
//! in Pillarbox's store and in Dovecot's passwd-file); then
//! - `fill` APPENDs the same messages to every user's INBOX over IMAP, so each server
//!   stores them through its own path;
//! - `drive` runs concurrent sessions doing a mail client's mix (LOGIN, SELECT, FETCH of
//!   flags and headers, FETCH of whole messages, STORE, SEARCH, APPEND, EXPUNGE,
//!   LOGOUT) for a fixed time and reports operations per second;
//! - `idle` holds many sessions in IDLE so the script can measure memory per idle
//!   connection.

mod client;
mod drive;
mod fill;
mod idle;

use std::io::Write;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ImapCommand {
    /// APPEND messages to every user's INBOX.
    Fill(fill::FillArgs),
    /// Run the session mix for a while and print the figures as JSON.
    Drive(drive::DriveArgs),
    /// Hold many sessions in IDLE; prints `{"ready": n}` once they all idle.
    Idle(idle::IdleArgs),
}

pub async fn run(c: ImapCommand) -> anyhow::Result<()> {
    match c {
        ImapCommand::Fill(a) => fill::fill(a).await,
        ImapCommand::Drive(a) => drive::drive(a).await,
        ImapCommand::Idle(a) => idle::idle(a).await,
    }
}

/// The login of benchmark user `i`.
pub fn user_address(i: usize, domain: &str) -> String {
    format!("user{i}@{domain}")
}

/// A plausible text message of about `size` octets, CRLF lines.
pub fn message(user: usize, i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {s} <sender{s}@remote.example>\r\n\
         To: <user{user}@bench.test>\r\n\
         Subject: benchmark message {i} for user {user}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\
         Message-ID: <imap.{user}.{i}.{size}@remote.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n",
        s = i % 17
    )
    .into_bytes();
    let mut line = 0usize;
    while m.len() < size {
        let _ = write!(
            m,
            "Line {line:05} of message {i}: the quick brown fox jumps over the lazy dog.\r\n"
        );
        line += 1;
    }
    m
}

/// A small deterministic generator (xorshift), so both servers see the same choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
