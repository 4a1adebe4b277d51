//! `imap drive`: `concurrency` clients, client `k` logging in as user `k % users`, each
//! running sessions back to back until the time is up. A session is what a mail client
//! does on a visit: LOGIN, SELECT INBOX, `UID FETCH 1:* (FLAGS)`, then `rounds` rounds of
//! - `UID FETCH` of flags, size, date and the usual header fields of 20 messages,
//! - `UID FETCH BODY.PEEK[]` of 3 messages,
//! - 2 `UID STORE` flag changes,
//! - `UID SEARCH UNSEEN` and `UID SEARCH SUBJECT "..."`,
//! - APPEND of a new message, then `UID STORE +FLAGS (\Deleted)` and `UID EXPUNGE` of it,
//!
//! and LOGOUT. Every command is one operation; the report gives operations per second,
//! per-command counts and median latencies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;

use super::client::Client;
use super::{Rng, message, user_address};

#[derive(Debug, Args)]
pub struct DriveArgs {
    /// Server address, host:port.
    #[arg(long)]
    pub addr: String,
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// Clients running at once.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Rounds of the mix per session.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    #[arg(long, default_value = "bench.test")]
    pub domain: String,
    #[arg(long, default_value = "benchpw")]
    pub password: String,
}

/// Latencies per command kind.
#[derive(Default)]
struct Timings {
    by_kind: HashMap<&'static str, Vec<Duration>>,
    errors: u64,
    sessions: u64,
    octets: u64,
}

impl Timings {
    fn merge(&mut self, other: Timings) {
        for (k, v) in other.by_kind {
            self.by_kind.entry(k).or_default().extend(v);
        }
        self.errors += other.errors;
        self.sessions += other.sessions;
        self.octets += other.octets;
    }
}

/// One timed command.
async fn op(
    t: &mut Timings,
    kind: &'static str,
    c: &mut Client,
    command: &str,
) -> Result<super::client::Reply> {
    let start = Instant::now();
    let r = c.cmd(command).await?;
    t.by_kind.entry(kind).or_default().push(start.elapsed());
    t.octets += r.literal_octets;
    Ok(r)
}

fn uids_of(r: &super::client::Reply) -> Vec<u32> {
    r.untagged
        .iter()
        .filter_map(|l| {
            let i = l.find("UID ")?;
            l[i + 4..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

async fn session(
    a: &DriveArgs,
    user: usize,
    rng: &mut Rng,
    t: &mut Timings,
    deadline: Instant,
) -> Result<()> {
    let mut c = Client::connect(&a.addr).await?;
    op(
        t,
        "LOGIN",
        &mut c,
        &format!("LOGIN {} {}", user_address(user, &a.domain), a.password),
    )
    .await?;
    op(t, "SELECT", &mut c, "SELECT INBOX").await?;
    let uids = uids_of(&op(t, "FETCH flags 1:*", &mut c, "UID FETCH 1:* (FLAGS)").await?);
    let pick = |rng: &mut Rng| uids.get(rng.below(uids.len())).copied().unwrap_or(1);
    for round in 0..a.rounds {
        if Instant::now() >= deadline {
            break;
        }
        let start = uids
            .len()
            .saturating_sub(20)
            .min(rng.below(uids.len().max(1)));
        let (lo, hi) = (
            uids.get(start).copied().unwrap_or(1),
            uids.get((start + 19).min(uids.len().saturating_sub(1)))
                .copied()
                .unwrap_or(1),
        );
        op(t, "FETCH headers", &mut c, &format!(
            "UID FETCH {lo}:{hi} (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
        )).await?;
        for _ in 0..3 {
            op(
                t,
                "FETCH body",
                &mut c,
                &format!("UID FETCH {} BODY.PEEK[]", pick(rng)),
            )
            .await?;
        }
        for k in 0..2 {
            let sign = if (round + k) % 2 == 0 { '+' } else { '-' };
            op(
                t,
                "STORE",
                &mut c,
                &format!("UID STORE {} {sign}FLAGS (\\Seen)", pick(rng)),
            )
            .await?;
        }
        op(t, "SEARCH flags", &mut c, "UID SEARCH UNSEEN").await?;
        op(
            t,
            "SEARCH header",
            &mut c,
            &format!("UID SEARCH SUBJECT \"message {}\"", rng.below(200)),
        )
        .await?;
        let raw = message(user, 100_000 + round, 4000);
        let start = Instant::now();
        let r = c.append("INBOX", "", &raw).await?;
        t.by_kind.entry("APPEND").or_default().push(start.elapsed());
        if let Some(uid) = r.code_field("APPENDUID") {
            op(
                t,
                "STORE",
                &mut c,
                &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            )
            .await?;
            op(t, "EXPUNGE", &mut c, &format!("UID EXPUNGE {uid}")).await?;
        }
    }
    op(t, "LOGOUT", &mut c, "LOGOUT").await?;
    c.close().await;
    t.sessions += 1;
    Ok(())
}

pub async fn drive(a: DriveArgs) -> Result<()> {
    let a = Arc::new(a);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..a.concurrency.max(1) {
        let a = a.clone();
        tasks.spawn(async move {
            let mut t = Timings::default();
            let mut rng = Rng::new(k as u64 + 1);
            while Instant::now() < deadline {
                if let Err(e) = session(&a, k % a.users.max(1), &mut rng, &mut t, deadline).await {
                    t.errors += 1;
                    eprintln!("session error: {e:#}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            t
        });
    }
    let mut all = Timings::default();
    while let Some(r) = tasks.join_next().await {
        all.merge(r?);
    }
    let secs = start.elapsed().as_secs_f64();
    let ops: usize = all.by_kind.values().map(Vec::len).sum();
    let mut kinds = serde_json::Map::new();
    let mut names: Vec<_> = all.by_kind.keys().copied().collect();
    names.sort();
    for name in names {
        let v = all
            .by_kind
            .get_mut(name)
            .map(std::mem::take)
            .unwrap_or_default();
        let mut v = v;
        v.sort();
        let p50 = v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let p99 = v
            .get(v.len() * 99 / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        kinds.insert(
            name.to_string(),
            serde_json::json!({"count": v.len(), "p50_ms": p50, "p99_ms": p99}),
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "seconds": secs,
            "sessions": all.sessions,
            "operations": ops,
            "ops_per_sec": ops as f64 / secs,
            "mib_fetched": all.octets as f64 / 1048576.0,
            "errors": all.errors,
            "by_command": kinds,
        })
    );
    Ok(())
}
