//! The collector service inside `pillarbox serve`: every tick it reads the accounts,
//! starts a run for each enabled account that is due (its interval elapsed, inside one
//! of its time windows if it has any), at most `max_concurrent_accounts` at once and
//! never two runs of one account (in this process; the store's lease covers other
//! processes). On shutdown it starts nothing new and waits for the runs in progress.
//!
//! `is_due` is the pure decision; the rest only schedules. Never runs a disabled
//! account, never runs an account twice at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use pillarbox_config::CollectSection;
use pillarbox_config::window::{SendWindow, is_open, parse_offset};
use pillarbox_store::CollectionId;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::account::Schedule;
use crate::registry::{self, RemoteAccount};
use crate::run::{Quiet, Runner};

/// Whether an account last run at `last_run` (seconds since the epoch) is due at `now`.
pub fn is_due(now: i64, last_run: Option<i64>, schedule: &Schedule) -> bool {
    let elapsed = match last_run {
        None => true,
        Some(t) => now.saturating_sub(t) >= schedule.interval_secs as i64,
    };
    if !elapsed {
        return false;
    }
    if schedule.windows.is_empty() {
        return true;
    }
    let windows: Vec<SendWindow> = schedule
        .windows
        .iter()
        .filter_map(|w| SendWindow::parse(w).ok())
        .collect();
    let offset = parse_offset(&schedule.timezone).unwrap_or(0);
    is_open(&windows, offset, now)
}

/// The collector service.
#[derive(Debug)]
pub struct Collector {
    runner: Runner,
    config: CollectSection,
    running: Arc<Mutex<HashSet<CollectionId>>>,
}

impl Collector {
    pub fn new(runner: Runner, config: CollectSection) -> Collector {
        Collector {
            runner,
            config,
            running: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Runs the service until `shutdown` is cancelled and the runs in progress ended.
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.serve(shutdown))
    }

    async fn serve(self, shutdown: CancellationToken) {
        // Runs this node started before it stopped (or crashed) are over.
        match self
            .runner
            .pipeline
            .directory()
            .store()
            .collection_clear_leases()
            .await
        {
            Ok(n) if n > 0 => tracing::info!(
                accounts = n,
                "collect: took back run leases of a previous run"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "collect: cannot take back run leases"),
        }
        let slots = Arc::new(Semaphore::new(self.config.max_concurrent_accounts));
        let mut runs: JoinSet<()> = JoinSet::new();
        let mut tick = tokio::time::interval(self.config.tick.get());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            while runs.try_join_next().is_some() {}
            let accounts = match registry::list(self.runner.pipeline.directory(), None).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "collect: cannot read the accounts");
                    continue;
                }
            };
            let now = crate::now();
            for account in accounts {
                if !account.enabled || !is_due(now, account.last_run_at, &account.settings.schedule)
                {
                    continue;
                }
                let Some(guard) = RunningGuard::take(&self.running, account.id) else {
                    continue;
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    break;
                };
                let runner = self.runner.clone();
                runs.spawn(async move {
                    let _permit = permit;
                    let _guard = guard;
                    run_logged(&runner, &account).await;
                });
            }
        }
        while runs.join_next().await.is_some() {}
    }
}

async fn run_logged(runner: &Runner, account: &RemoteAccount) {
    use tracing::Instrument;
    let span = tracing::info_span!("collect", account = %account.name);
    runner.run(account, &Quiet).instrument(span).await;
}

/// Marks an account as running in this process until dropped.
struct RunningGuard {
    set: Arc<Mutex<HashSet<CollectionId>>>,
    id: CollectionId,
}

impl RunningGuard {
    fn take(set: &Arc<Mutex<HashSet<CollectionId>>>, id: CollectionId) -> Option<RunningGuard> {
        let mut s = set.lock().ok()?;
        s.insert(id).then(|| RunningGuard {
            set: set.clone(),
            id,
        })
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(interval: u64, windows: &[&str], tz: &str) -> Schedule {
        Schedule {
            interval_secs: interval,
            windows: windows.iter().map(|w| w.to_string()).collect(),
            timezone: tz.into(),
        }
    }

    #[test]
    fn due_table() {
        // 2026-11-23 was a Monday; 10:00 UTC.
        let monday_10 = 1_795_428_000;
        let cases = [
            (
                "never run",
                None,
                schedule(600, &[], "+00:00"),
                monday_10,
                true,
            ),
            (
                "interval not over",
                Some(monday_10 - 599),
                schedule(600, &[], "+00:00"),
                monday_10,
                false,
            ),
            (
                "interval over",
                Some(monday_10 - 600),
                schedule(600, &[], "+00:00"),
                monday_10,
                true,
            ),
            (
                "inside window",
                None,
                schedule(60, &["Mon-Fri 08:00-18:00"], "+00:00"),
                monday_10,
                true,
            ),
            (
                "outside window",
                None,
                schedule(60, &["Mon-Fri 12:00-18:00"], "+00:00"),
                monday_10,
                false,
            ),
            (
                "window in +03:00",
                None,
                schedule(60, &["Mon 12:30-13:30"], "+03:00"),
                monday_10,
                true,
            ),
            (
                "weekend only",
                None,
                schedule(60, &["Sat,Sun 00:00-24:00"], "+00:00"),
                monday_10,
                false,
            ),
        ];
        for (name, last, sched, now, expect) in cases {
            assert_eq!(is_due(now, last, &sched), expect, "{name}");
        }
    }

    #[test]
    fn one_run_per_account_in_this_process() {
        let set = Arc::new(Mutex::new(HashSet::new()));
        let g = RunningGuard::take(&set, CollectionId(1)).unwrap();
        assert!(RunningGuard::take(&set, CollectionId(1)).is_none());
        assert!(RunningGuard::take(&set, CollectionId(2)).is_some());
        drop(g);
        assert!(RunningGuard::take(&set, CollectionId(1)).is_some());
    }
}
