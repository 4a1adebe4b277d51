//! `pillarbox queue list|show|retry|delete|hold|release|flush`: the outbound queue,
//! per recipient: status, attempts, next attempt, last error from the remote. Works
//! beside a running server; changes reach it through the store's change log.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use pillarbox_store::{QueueId, QueueListing, Store};

use crate::args::QueueCommand;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// "in 5m", "3h ago".
fn relative(t: i64, now: i64) -> String {
    let d = t - now;
    let a = d.unsigned_abs();
    let text = if a < 60 {
        format!("{a}s")
    } else if a < 3600 {
        format!("{}m", a / 60)
    } else if a < 86_400 {
        format!("{}h{:02}m", a / 3600, (a % 3600) / 60)
    } else {
        format!("{}d{}h", a / 86_400, (a % 86_400) / 3600)
    };
    if d > 0 {
        format!("in {text}")
    } else if d == 0 {
        "now".into()
    } else {
        format!("{text} ago")
    }
}

fn print_listing(m: &QueueListing, now: i64, detailed: bool) {
    let sender = if m.sender.is_empty() { "<>" } else { &m.sender };
    println!(
        "{:>6}  {:>8}  {:<10}  {}{}",
        m.id,
        m.size,
        relative(m.created_at, now),
        sender,
        if m.held { "  (held)" } else { "" }
    );
    if detailed {
        println!(
            "        source: {}{}",
            m.source,
            m.route
                .as_deref()
                .map(|r| format!(", route {r}"))
                .unwrap_or_default()
        );
    }
    for r in &m.recipients {
        let next = if r.status == "queued" {
            relative(r.next_attempt, now)
        } else {
            "-".into()
        };
        println!(
            "        {:<30} {:<9} attempts {:<3} next {:<10} {}",
            r.address,
            r.status,
            r.attempts,
            next,
            r.last_error.as_deref().unwrap_or("")
        );
    }
}

fn id_or_all(id: Option<i64>, all: bool) -> Result<Option<QueueId>> {
    match (id, all) {
        (Some(i), false) => Ok(Some(QueueId(i))),
        (None, true) => Ok(None),
        _ => bail!("give a message ID or --all"),
    }
}

pub async fn run(cmd: QueueCommand, store: &Store) -> Result<()> {
    let now = now();
    match cmd {
        QueueCommand::List { json } => {
            let list = store.queue_list(None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("queue is empty");
            } else {
                println!("{:>6}  {:>8}  {:<10}  sender", "id", "size", "queued");
                for m in &list {
                    print_listing(m, now, false);
                }
                let rcpts: usize = list.iter().map(|m| m.recipients.len()).sum();
                println!("{} message(s), {rcpts} recipient(s)", list.len());
            }
        }
        QueueCommand::Show { id, json } => {
            let list = store.queue_list(Some(QueueId(id))).await?;
            let m = list
                .first()
                .ok_or_else(|| anyhow!("no queued message {id}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(m)?);
            } else {
                print_listing(m, now, true);
            }
        }
        QueueCommand::Retry { id, all } => {
            let n = store.queue_retry_now(id_or_all(id, all)?, now).await?;
            println!("{n} recipient(s) scheduled for delivery now");
        }
        QueueCommand::Delete { id } => {
            store.queue_delete(QueueId(id)).await?;
            println!("message {id} deleted from the queue");
        }
        QueueCommand::Hold { id, all } => match id_or_all(id, all)? {
            Some(one) => {
                store.queue_set_held(Some(one), true).await?;
                println!("message {one} held");
            }
            None => {
                store.queue_hold_all(true).await?;
                println!(
                    "queue held: nothing is sent (new mail waits too) until `queue release --all`"
                );
            }
        },
        QueueCommand::Release { id, all } => match id_or_all(id, all)? {
            Some(one) => {
                store.queue_set_held(Some(one), false).await?;
                println!("message {one} released");
            }
            None => {
                store.queue_hold_all(false).await?;
                let n = store.queue_set_held(None, false).await?;
                println!("queue released ({n} held message(s) released too)");
            }
        },
        QueueCommand::Flush { timeout } => flush(store, now, timeout).await?,
    }
    Ok(())
}

/// Makes everything due now and shows progress until the queue has drained of
/// deliverable work (or `timeout` seconds pass).
async fn flush(store: &Store, now: i64, timeout: u64) -> Result<()> {
    let n = store.queue_retry_now(None, now).await?;
    if n == 0 {
        println!("queue is empty");
        return Ok(());
    }
    if !server_running(store).await {
        println!(
            "{n} recipient(s) scheduled; the server is not running, they go out when it starts"
        );
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} recipients handled ({elapsed}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let list = store.queue_list(None).await?;
        // Not yet attempted since the flush began.
        let pending = list
            .iter()
            .flat_map(|m| &m.recipients)
            .filter(|r| r.status == "queued" && r.last_attempt.is_none_or(|t| t < now))
            .count();
        bar.set_position((n.saturating_sub(pending)) as u64);
        if pending == 0 || std::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bar.finish_and_clear();
    let left = store.queue_list(None).await?;
    let deferred: usize = left
        .iter()
        .flat_map(|m| &m.recipients)
        .filter(|r| r.status == "queued")
        .count();
    println!(
        "flush done: {} recipient(s) handled, {deferred} still queued (deferred)",
        n.saturating_sub(deferred)
    );
    Ok(())
}

/// True when a server holds the data directory.
async fn server_running(store: &Store) -> bool {
    store.server_running().await.unwrap_or(false)
}
