//! The writer task: drains recorded events, trace steps and webhook events in batches
//! (one store transaction per kind per flush), fans webhook events out to the
//! subscriptions that want them (into the durable outbox), adds the counters to their
//! minute, hour and day buckets, and removes what is older than the retention.

use std::time::Duration;

use pillarbox_config::MonitorSection;
use pillarbox_store::{AccountId, StatDelta, Store, Webhook};
use tokio::sync::mpsc;

use crate::{Counters, Record};

/// Records written in one batch at most.
const BATCH: usize = 2000;
/// How long the list of webhook subscriptions is reused.
const HOOKS_FRESH: Duration = Duration::from_secs(5);
/// How often old records are removed.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// True when `pattern` (an event name, a prefix ending in `.`, or `*`) covers `event`.
pub fn matches(pattern: &str, event: &str) -> bool {
    pattern == "*" || pattern == event || (pattern.ends_with('.') && event.starts_with(pattern))
}

/// The counters' deltas for the buckets `now` (seconds) falls in.
fn deltas(taken: &[(String, String, u64)], now: i64) -> Vec<StatDelta> {
    let mut out = Vec::with_capacity(taken.len() * 3);
    for (g, size) in [("m", 60), ("h", 3600), ("d", 86400)] {
        for (name, domain, v) in taken {
            out.push(StatDelta {
                granularity: g,
                bucket: now - now.rem_euclid(size),
                name: name.clone(),
                domain: domain.clone(),
                delta: *v as i64,
            });
        }
    }
    out
}

/// Runs until every [`crate::Monitor`] handle is gone, then flushes once more.
pub(crate) async fn run(
    store: Store,
    mut rx: mpsc::Receiver<Record>,
    counters: Counters,
    settings: MonitorSection,
) {
    let mut tick = tokio::time::interval(settings.flush_interval.get());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch: Vec<Record> = Vec::new();
    let mut hooks: Option<(tokio::time::Instant, Vec<Webhook>)> = None;
    let mut purged = tokio::time::Instant::now();
    let mut closed = false;
    loop {
        let room = BATCH.saturating_sub(batch.len());
        let ticked = tokio::select! {
            _ = tick.tick() => true,
            n = rx.recv_many(&mut batch, room), if !closed && room > 0 => {
                closed = n == 0;
                false
            }
        };
        if !(ticked || closed || batch.len() >= BATCH) {
            continue;
        }
        flush(&store, std::mem::take(&mut batch), &mut hooks).await;
        let taken = counters.take();
        if !taken.is_empty() {
            let now = crate::now_ms() / 1000;
            if let Err(e) = store.stats_add(deltas(&taken, now)).await {
                tracing::warn!(error = %e, "monitor: cannot add counters");
                counters.restore(taken);
            }
        }
        if purged.elapsed() >= PURGE_EVERY {
            purged = tokio::time::Instant::now();
            purge(&store, &settings).await;
        }
        if closed {
            return;
        }
    }
}

async fn flush(
    store: &Store,
    batch: Vec<Record>,
    hooks: &mut Option<(tokio::time::Instant, Vec<Webhook>)>,
) {
    if batch.is_empty() {
        return;
    }
    let mut events = Vec::new();
    let mut steps = Vec::new();
    let mut hook_events = Vec::new();
    for r in batch {
        match r {
            Record::Event(e) => events.push(e),
            Record::Step(s) => steps.push(s),
            Record::Hook(name, account, payload) => hook_events.push((name, account, payload)),
        }
    }
    if let Err(e) = store.events_append(events).await {
        tracing::warn!(error = %e, "monitor: cannot write events");
    }
    if let Err(e) = store.trace_append(steps).await {
        tracing::warn!(error = %e, "monitor: cannot write trace steps");
    }
    if hook_events.is_empty() {
        return;
    }
    let fresh = hooks
        .as_ref()
        .is_some_and(|(at, _)| at.elapsed() < HOOKS_FRESH);
    if !fresh {
        match store.webhook_list(None).await {
            Ok(list) => *hooks = Some((tokio::time::Instant::now(), list)),
            Err(e) => tracing::warn!(error = %e, "monitor: cannot read webhooks"),
        }
    }
    let Some((_, list)) = hooks.as_ref() else {
        return;
    };
    let posts = fan_out(list, &hook_events);
    if let Err(e) = store.outbox_enqueue(posts).await {
        tracing::warn!(error = %e, "monitor: cannot queue webhook posts");
    }
}

/// The posts `events` make: each to every enabled subscription that wants it (an
/// account's subscriptions only hear of that account).
fn fan_out(
    hooks: &[Webhook],
    events: &[(String, Option<AccountId>, serde_json::Value)],
) -> Vec<(i64, String, String)> {
    let mut posts = Vec::new();
    for (name, account, data) in events {
        for h in hooks.iter().filter(|h| h.enabled) {
            if h.account.is_some() && h.account != *account {
                continue;
            }
            if !h.events.iter().any(|p| matches(p, name)) {
                continue;
            }
            let body = serde_json::json!({
                "event": name,
                "at": crate::now_ms(),
                "webhook": h.id,
                "data": data,
            });
            posts.push((h.id, name.clone(), body.to_string()));
        }
    }
    posts
}

async fn purge(store: &Store, s: &MonitorSection) {
    let now = crate::now_ms();
    let secs = now / 1000;
    let cutoff = |d: Duration| secs - d.as_secs() as i64;
    let stats = vec![
        ("m", cutoff(s.stats_minutes.get())),
        ("h", cutoff(s.stats_hours.get())),
        ("d", cutoff(s.stats_days.get())),
    ];
    match store
        .monitor_purge(now - s.retention.get().as_millis() as i64, stats)
        .await
    {
        Ok(n) if n > 0 => tracing::info!(rows = n, "monitor: removed records past their retention"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "monitor: cannot remove old records"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_buckets() {
        assert!(matches("*", "alert.raised"));
        assert!(matches("alert.", "alert.raised"));
        assert!(matches("message.new", "message.new"));
        assert!(!matches("message.new", "message.newer"));
        assert!(!matches("alert", "alert.raised"));
        let d = deltas(&[("received".into(), "".into(), 3)], 90_061);
        let buckets: Vec<(&str, i64)> = d.iter().map(|x| (x.granularity, x.bucket)).collect();
        assert_eq!(buckets, vec![("m", 90_060), ("h", 90_000), ("d", 86_400)]);
    }

    #[test]
    fn account_subscriptions_hear_only_of_their_account() {
        let hook = |id, account| Webhook {
            id,
            account,
            url: "http://x".into(),
            secret: "k".into(),
            events: vec!["message.".into()],
            enabled: true,
            created_at: 0,
        };
        let hooks = [
            hook(1, None),
            hook(2, Some(AccountId(7))),
            hook(3, Some(AccountId(8))),
        ];
        let posts = fan_out(
            &hooks,
            &[
                (
                    "message.new".into(),
                    Some(AccountId(7)),
                    serde_json::json!({}),
                ),
                ("alert.raised".into(), None, serde_json::json!({})),
            ],
        );
        assert_eq!(posts.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2]);
    }
}
