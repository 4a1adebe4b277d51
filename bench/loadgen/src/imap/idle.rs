//! `imap idle`: opens `connections` sessions (connection `k` logs in as user
//! `k % users`), each LOGIN, SELECT INBOX, IDLE, `setup` at a time; prints
//! `{"ready": n}` when all are idling, then holds them until standard input closes.

use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::client::Client;
use super::user_address;

#[derive(Debug, Args)]
pub struct IdleArgs {
    /// Server address, host:port.
    #[arg(long)]
    pub addr: String,
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Sessions being set up at once.
    #[arg(long, default_value_t = 32)]
    pub setup: usize,
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    #[arg(long, default_value = "benchpw")]
    pub password: String,
}

async fn open(a: &IdleArgs, k: usize) -> Result<Client> {
    let mut c = Client::connect(&a.addr).await?;
    c.cmd(&format!(
        "LOGIN {} {}",
        user_address(k % a.users.max(1), &a.domain),
        a.password
    ))
    .await?;
    c.cmd("SELECT INBOX").await?;
    c.send(b"i IDLE\r\n").await?;
    loop {
        let l = c.line().await?;
        if l.starts_with('+') {
            return Ok(c);
        }
    }
}

pub async fn idle(a: IdleArgs) -> Result<()> {
    let a = Arc::new(a);
    let gate = Arc::new(Semaphore::new(a.setup.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..a.connections {
        let (a, gate) = (a.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire().await?;
            open(&a, k).await
        });
    }
    let mut clients = Vec::with_capacity(a.connections);
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        match r? {
            Ok(c) => clients.push(c),
            Err(e) => {
                errors += 1;
                eprintln!("idle session error: {e:#}");
            }
        }
    }
    println!(
        "{}",
        serde_json::json!({"ready": clients.len(), "errors": errors})
    );
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    for mut c in clients {
        let _ = c.send(b"DONE\r\nz LOGOUT\r\n").await;
    }
    Ok(())
}
