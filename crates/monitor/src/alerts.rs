//! Alerts: conditions checked every `[monitor] alert_interval` against their thresholds
//! (queue size and age, the share of failed outbound attempts, free disk under the
//! data directory, the certificate's expiry, a collection account failing run after
//! run, a burst of failed logins, a restart after a crash). A condition that starts
//! raises its alert once (an event, a `alert.raised` webhook event, and mail to the
//! alert recipients through Pillarbox's own queue); while it lasts, the mail is sent
//! again at most every `alert_repeat` unless acknowledged; when it ends the alert
//! clears (event, webhook, mail). In a cluster one node checks at a time (a lock).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use pillarbox_config::MonitorSection;
use pillarbox_store::{Alert, EventFilter, Store};
use tokio_util::sync::CancellationToken;

use crate::{EventKind, Monitor, NewEvent};

/// Sends one alert mail: (subject, text).
pub type Mailer =
    Arc<dyn Fn(String, String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What the alerts know beyond the store.
#[derive(Clone)]
pub struct AlertInputs {
    pub data_dir: PathBuf,
    /// The server certificate's expiry (seconds since the epoch; 0: unknown).
    pub certificate_not_after: Arc<AtomicI64>,
    /// When the server started after it had not stopped cleanly (ms), if it did.
    pub unclean_restart_ms: Option<i64>,
}

/// The conditions as they are now: (alert name, what is wrong when it is).
pub async fn conditions(
    store: &Store,
    s: &MonitorSection,
    inputs: &AlertInputs,
) -> Vec<(String, Option<String>)> {
    let now = crate::now_ms();
    let mut out = Vec::new();
    if s.alert_queue_size > 0 {
        let n = store.queue_pending_count().await.unwrap_or(0);
        out.push((
            "queue.size".to_string(),
            (n as u64 > s.alert_queue_size).then(|| {
                format!(
                    "{n} recipients are waiting in the queue (threshold {})",
                    s.alert_queue_size
                )
            }),
        ));
    }
    if !s.alert_queue_age.get().is_zero() {
        let oldest = store.queue_oldest().await.unwrap_or(None);
        let age = oldest.map(|t| now / 1000 - t).unwrap_or(0);
        out.push((
            "queue.age".to_string(),
            (oldest.is_some() && age as u64 > s.alert_queue_age.get().as_secs())
                .then(|| format!("the oldest queued message has waited {} minutes", age / 60)),
        ));
    }
    let minutes = |since_s: i64| async move {
        store
            .stats_query("m", since_s, "")
            .await
            .unwrap_or_default()
    };
    if s.alert_failure_percent > 0 {
        let last_hour = minutes(now / 1000 - 3600).await;
        let sum = |n: &str| -> i64 {
            last_hour
                .iter()
                .filter(|v| v.name == n)
                .map(|v| v.value)
                .sum()
        };
        let failed = sum("deferred") + sum("bounced");
        let total = failed + sum("relayed");
        out.push((
            "delivery.failures".to_string(),
            (total >= 20 && failed * 100 >= total * s.alert_failure_percent as i64)
                .then(|| format!("{failed} of the last hour's {total} outbound attempts failed")),
        ));
    }
    if s.alert_disk_free_percent > 0
        && let Some((avail, size)) = crate::disk_space(&inputs.data_dir)
    {
        let free = avail as u128 * 100 / size as u128;
        out.push((
            "disk.free".to_string(),
            (free < u128::from(s.alert_disk_free_percent))
                .then(|| format!("{free}% free under {}", inputs.data_dir.display())),
        ));
    }
    let not_after = inputs.certificate_not_after.load(Ordering::Relaxed);
    if s.alert_certificate_days > 0 && not_after > 0 {
        let left = not_after - now / 1000;
        out.push((
            "tls.certificate".to_string(),
            (left < s.alert_certificate_days as i64 * 86400).then(|| {
                format!(
                    "the server certificate expires in {} days",
                    left.max(0) / 86400
                )
            }),
        ));
    }
    if s.alert_collection_failures > 0 {
        for c in store.collection_list(None).await.unwrap_or_default() {
            let runs = store
                .events_query(EventFilter {
                    kinds: vec!["collection.run".into(), "collection.failed".into()],
                    text: Some(format!("collection {}:", c.name)),
                    limit: s.alert_collection_failures as i64,
                    ..Default::default()
                })
                .await
                .unwrap_or_default();
            let failing = runs.len() as u64 == s.alert_collection_failures
                && runs.iter().all(|e| e.kind == "collection.failed");
            out.push((
                format!("collection.{}", c.name),
                failing.then(|| {
                    format!(
                        "collection account {} failed its last {} runs: {}",
                        c.name,
                        runs.len(),
                        runs.last().map(|e| e.text.as_str()).unwrap_or("")
                    )
                }),
            ));
        }
    }
    if s.alert_login_failures > 0 {
        let recent = minutes(now / 1000 - 300).await;
        let failed: i64 = recent
            .iter()
            .filter(|v| v.name.starts_with("login.failed."))
            .map(|v| v.value)
            .sum();
        out.push((
            "login.failures".to_string(),
            (failed as u64 >= s.alert_login_failures)
                .then(|| format!("{failed} failed logins in the last five minutes")),
        ));
    }
    if let Some(at) = inputs.unclean_restart_ms {
        out.push((
            "server.unclean_restart".to_string(),
            (now - at < 3_600_000)
                .then(|| "the server started again after it had not stopped cleanly (crash, kill -9 or power loss)".to_string()),
        ));
    }
    out
}

/// Applies the conditions to the stored alerts; returns the mails to send.
pub fn transitions(
    stored: &[Alert],
    now: Vec<(String, Option<String>)>,
    at_ms: i64,
    repeat: Duration,
) -> Vec<(Alert, &'static str)> {
    let mut out = Vec::new();
    for (name, problem) in now {
        let before = stored.iter().find(|a| a.name == name);
        let active = before.is_some_and(|a| a.active);
        match (problem, active) {
            (Some(detail), false) => out.push((
                Alert {
                    name,
                    active: true,
                    detail,
                    raised_ms: Some(at_ms),
                    cleared_ms: None,
                    notified_ms: Some(at_ms),
                    acked: false,
                },
                "raised",
            )),
            (Some(detail), true) => {
                let Some(b) = before else { continue };
                let due = b
                    .notified_ms
                    .is_none_or(|n| at_ms - n >= repeat.as_millis() as i64);
                if !b.acked && due {
                    out.push((
                        Alert {
                            detail,
                            notified_ms: Some(at_ms),
                            ..b.clone()
                        },
                        "still raised",
                    ));
                }
            }
            (None, true) => {
                let Some(b) = before else { continue };
                out.push((
                    Alert {
                        active: false,
                        cleared_ms: Some(at_ms),
                        ..b.clone()
                    },
                    "cleared",
                ));
            }
            (None, false) => {}
        }
    }
    out
}

/// Checks the conditions until `shutdown`, on the one node holding the alerts lock.
pub async fn run(
    store: Store,
    monitor: Monitor,
    settings: MonitorSection,
    inputs: AlertInputs,
    mailer: Mailer,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(settings.alert_interval.get());
    let mut held = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if held.is_none() {
            held = store.lock_slot("monitor:alerts", 1).await.ok().flatten();
            if held.is_none() {
                continue;
            }
        }
        let stored = store.alerts_list().await.unwrap_or_default();
        let now = conditions(&store, &settings, &inputs).await;
        let at = crate::now_ms();
        for (alert, what) in transitions(&stored, now, at, settings.alert_repeat.get()) {
            if let Err(e) = store.alert_put(alert.clone()).await {
                tracing::warn!(error = %e, "monitor: cannot store an alert");
                continue;
            }
            let (kind, hook) = if what == "cleared" {
                (EventKind::AlertCleared, "alert.cleared")
            } else {
                (EventKind::AlertRaised, "alert.raised")
            };
            if what != "still raised" {
                monitor.event(NewEvent::new(
                    kind,
                    format!("alert {} {what}: {}", alert.name, alert.detail),
                ));
                monitor.hook(
                    hook,
                    None,
                    serde_json::json!({ "alert": alert.name, "detail": alert.detail, "state": what }),
                );
            }
            let subject = format!("[Pillarbox alert] {} {what}", alert.name);
            let text = format!(
                "Alert {} {what} on {}.\n\n{}\n\nAcknowledge it with: pillarbox alerts ack {}\n",
                alert.name,
                monitor.node(),
                alert.detail,
                alert.name
            );
            mailer(subject, text).await;
        }
    }
    if let Some(slot) = held {
        let _ = store.unlock_slot(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_once_repeated_unless_acknowledged_then_cleared() {
        let repeat = Duration::from_secs(60);
        let bad = || vec![("queue.size".to_string(), Some("120 waiting".to_string()))];
        let t = transitions(&[], bad(), 1000, repeat);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].1, "raised");
        let stored = vec![t[0].0.clone()];
        assert!(
            transitions(&stored, bad(), 30_000, repeat).is_empty(),
            "not again so soon"
        );
        let t2 = transitions(&stored, bad(), 61_000, repeat);
        assert_eq!(t2[0].1, "still raised");
        let acked = vec![Alert {
            acked: true,
            ..stored[0].clone()
        }];
        assert!(
            transitions(&acked, bad(), 200_000, repeat).is_empty(),
            "acknowledged"
        );
        let t3 = transitions(
            &acked,
            vec![("queue.size".to_string(), None)],
            300_000,
            repeat,
        );
        assert_eq!(t3[0].1, "cleared");
        assert!(!t3[0].0.active);
        assert!(
            transitions(
                &[t3[0].0.clone()],
                vec![("queue.size".into(), None)],
                400_000,
                repeat
            )
            .is_empty()
        );
    }
}
