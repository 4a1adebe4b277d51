//! `imap fill`: APPENDs `messages` messages (sizes used in turn) to each user's INBOX,
//! with LITERAL+, `concurrency` users at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;
use clap::Args;

use super::client::Client;
use super::{message, user_address};

#[derive(Debug, Args)]
pub struct FillArgs {
    /// Server address, host:port.
    #[arg(long)]
    pub addr: String,
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// Messages per user.
    #[arg(long, default_value_t = 200)]
    pub messages: usize,
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    #[arg(long, default_value = "benchpw")]
    pub password: String,
    /// Message sizes in octets, used in turn.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1500,3000,6000,12000,25000"
    )]
    pub sizes: Vec<usize>,
}

pub async fn fill(a: FillArgs) -> Result<()> {
    let a = Arc::new(a);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.concurrency.max(1) {
        let (a, next) = (a.clone(), next.clone());
        tasks.spawn(async move {
            let mut octets = 0u64;
            loop {
                let u = next.fetch_add(1, Ordering::Relaxed);
                if u >= a.users {
                    return Ok::<u64, anyhow::Error>(octets);
                }
                let mut c = Client::connect(&a.addr).await?;
                c.cmd(&format!(
                    "LOGIN {} {}",
                    user_address(u, &a.domain),
                    a.password
                ))
                .await?;
                for i in 0..a.messages {
                    let raw = message(u, i, a.sizes[i % a.sizes.len().max(1)]);
                    octets += raw.len() as u64;
                    let flags = if i % 3 == 0 { "\\Seen" } else { "" };
                    c.append("INBOX", flags, &raw).await?;
                }
                c.cmd("LOGOUT").await?;
                c.close().await;
            }
        });
    }
    let mut octets = 0;
    while let Some(r) = tasks.join_next().await {
        octets += r??;
    }
    println!(
        "{}",
        serde_json::json!({"users": a.users, "messages": a.users * a.messages, "octets": octets})
    );
    Ok(())
}
