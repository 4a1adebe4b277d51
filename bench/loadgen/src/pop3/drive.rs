//! `pop3 drive`: concurrent sessions, one per benchmark user, each doing what a mail
//! client that downloads and deletes does: USER/PASS, STAT, LIST, UIDL, then RETR and
//! DELE of every message, and QUIT (so the server commits the deletions).
//!
//! When every session runs at once, they all log in first and start retrieving together
//! (a barrier), so the report can also give the rate of the retrieval phase alone,
//! without the password hashing that dominates logins.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Barrier;

use anyhow::{Context, Result};
use clap::Args;

use super::client::Client;
use super::user_address;
use crate::stats::Stats;

#[derive(Debug, Args)]
pub struct DriveArgs {
    /// Server address, host:port.
    #[arg(long)]
    pub addr: String,
    /// Sessions to run, one per user: user<first>..user<first+users-1>.
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// The first user's number.
    #[arg(long, default_value_t = 0)]
    pub first: usize,
    /// Sessions running at once.
    #[arg(long)]
    pub concurrency: Option<usize>,
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    #[arg(long, default_value = "benchpw")]
    pub password: String,
    /// Send each RETR and its DELE together (PIPELINING) instead of one at a time.
    #[arg(long)]
    pub pipeline: bool,
    /// Retrieve without deleting (so the same mailboxes can be driven again).
    #[arg(long, conflicts_with = "pipeline")]
    pub keep: bool,
}

pub async fn drive(a: DriveArgs) -> Result<()> {
    let a = Arc::new(a);
    let next = Arc::new(AtomicUsize::new(0));
    let workers = a.concurrency.unwrap_or(a.users).max(1);
    let sync = Arc::new(Sync {
        barrier: (workers >= a.users).then(|| Barrier::new(a.users)),
        released: OnceLock::new(),
    });
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (a, next, sync) = (a.clone(), next.clone(), sync.clone());
        tasks.spawn(async move {
            let mut stats = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= a.users {
                    return stats;
                }
                match session(&a, a.first + i, &sync).await {
                    Ok(s) => stats.merge(s),
                    Err(e) => {
                        eprintln!("user{i}: {e:#}");
                        stats.errors += 1;
                    }
                }
            }
        });
    }
    let mut total = Stats::default();
    while let Some(r) = tasks.join_next().await {
        total.merge(r?);
    }
    let end = Instant::now();
    let messages = total.messages;
    let mut report = total.report(end - start);
    if let Some(released) = sync.released.get() {
        let secs = (end - *released).as_secs_f64().max(1e-9);
        report["retrieval_seconds"] = secs.into();
        report["retrieval_messages_per_sec"] = (messages as f64 / secs).into();
    }
    println!("{report}");
    Ok(())
}

/// Holds every session after its login until all have logged in.
struct Sync {
    barrier: Option<Barrier>,
    released: OnceLock<Instant>,
}

impl Sync {
    async fn wait(&self) {
        if let Some(b) = &self.barrier {
            b.wait().await;
            let _ = self.released.set(Instant::now());
        }
    }
}

async fn login(a: &DriveArgs, i: usize) -> Result<Client> {
    let mut c = Client::connect(&a.addr).await?;
    c.cmd(&format!("USER {}", user_address(i, &a.domain)))
        .await?;
    c.cmd(&format!("PASS {}", a.password)).await?;
    Ok(c)
}

async fn session(a: &DriveArgs, i: usize, sync: &Sync) -> Result<Stats> {
    let mut s = Stats::default();
    let t0 = Instant::now();
    let logged_in = login(a, i).await;
    s.logins.push(t0.elapsed());
    // A failed login still reaches the barrier, or the others would wait forever.
    sync.wait().await;
    let mut c = logged_in?;
    let stat = c.cmd("STAT").await?;
    let count: u32 = stat
        .split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("bad STAT reply {stat:?}"))?;
    c.cmd("LIST").await?;
    c.body().await?;
    c.cmd("UIDL").await?;
    c.body().await?;
    for n in 1..=count {
        let t0 = Instant::now();
        if a.pipeline {
            c.send(&format!("RETR {n}\r\nDELE {n}\r\n")).await?;
            c.status().await?;
            s.octets += c.body().await?;
            c.status().await?;
        } else {
            c.cmd(&format!("RETR {n}")).await?;
            s.octets += c.body().await?;
            if !a.keep {
                c.cmd(&format!("DELE {n}")).await?;
            }
        }
        s.latencies.push(t0.elapsed());
        s.messages += 1;
    }
    let t0 = Instant::now();
    c.cmd("QUIT").await?;
    s.quits.push(t0.elapsed());
    s.sessions += 1;
    Ok(s)
}
