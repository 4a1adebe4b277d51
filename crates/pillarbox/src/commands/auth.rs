//! `pillarbox auth`: the failed-login locks of a running server.
//!
//! `blocked` lists what is locked now (addresses, and accounts from an address) with
//! the time left; `unblock ADDRESS|ACCOUNT` lifts them. Both go through the store's
//! settings table (see `pillarbox_directory::lockouts`), which the server's nodes
//! write when they lock and read while a lock holds, so a running server lets the
//! client in again at its next attempt.

use anyhow::{Context, Result};
use clap::Subcommand;
use pillarbox_config::Config;
use pillarbox_directory::lockouts::{self, Lockout, UnblockTarget};
use pillarbox_store::Role;

/// `pillarbox auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// What failed logins have locked now: client addresses (every login from them)
    /// and accounts from an address, with the time each lock has left.
    Blocked {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lift the locks of a client address (its own and its accounts') or of an
    /// account (from every address).
    Unblock {
        /// A client IP address (an IPv6 address stands for its /64) or an account's
        /// login name.
        target: String,
    },
}

fn describe(l: &Lockout) -> String {
    match &l.key.account {
        Some(a) => format!("{a} from {}", l.key.source),
        None => format!("{} (every account)", l.key.source),
    }
}

fn time_left(l: &Lockout) -> String {
    let s = l.remaining().as_secs().max(1);
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Runs `pillarbox auth`.
pub async fn run(command: AuthCommand, config: &Config) -> Result<()> {
    let store = super::open_store(config, Role::Tool)
        .with_context(|| format!("cannot open {}", super::store_location(config)))?;
    match command {
        AuthCommand::Blocked { json } => {
            let list = lockouts::blocked(&store).await?;
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "address": l.key.source.to_string(),
                            "account": l.key.account,
                            "until": l.until,
                            "seconds_left": l.remaining().as_secs(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(items));
            } else if list.is_empty() {
                println!("nothing is blocked");
            } else {
                println!("{:<40} {:<40} TIME LEFT", "ADDRESS", "ACCOUNT");
                for l in &list {
                    println!(
                        "{:<40} {:<40} {}",
                        l.key.source.to_string(),
                        l.key.account.as_deref().unwrap_or("(every account)"),
                        time_left(l)
                    );
                }
            }
            Ok(())
        }
        AuthCommand::Unblock { target } => {
            let target = UnblockTarget::parse(&target);
            let lifted = lockouts::unblock(&store, &target, config.auth.lockout.get()).await?;
            if lifted.is_empty() {
                let what = match &target {
                    UnblockTarget::Address(ip) => ip.to_string(),
                    UnblockTarget::Account(a) => a.clone(),
                };
                println!("no lock listed for {what}; its failure counts were cleared anyway");
            }
            for l in &lifted {
                println!("unblocked {} ({} left)", describe(l), time_left(l));
            }
            Ok(())
        }
    }
}
