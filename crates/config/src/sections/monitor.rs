//! `[monitor]`: what monitoring records and keeps, how often it writes, the alert
//! thresholds and where alerts go, and the token that guards `/metrics`.

use serde::Deserialize;

use crate::types::Seconds;

/// `[monitor]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorSection {
    /// Record events, traces, statistics and sessions at all (off: only the process's
    /// log lines, as before).
    pub enabled: bool,
    /// Record the event log.
    pub events: bool,
    /// Record message traces.
    pub traces: bool,
    /// How long events, traces and webhook posts are kept.
    pub retention: Seconds,
    /// How long counters are kept by minute, by hour and by day.
    pub stats_minutes: Seconds,
    pub stats_hours: Seconds,
    pub stats_days: Seconds,
    /// How often recorded data is written (events and steps in batches; counters).
    pub flush_interval: Seconds,
    /// The first pause before a failed webhook post is tried again (it doubles each
    /// time, up to an hour; posts are given up after 24 hours).
    pub webhook_retry: Seconds,
    /// Bearer token `/metrics` asks for (none: open, on its own 127.0.0.1 listener).
    pub metrics_token: Option<String>,
    /// How often alert conditions are checked.
    pub alert_interval: Seconds,
    /// Where alerts are mailed (empty: postmaster@ the server's host name).
    pub alert_recipients: Vec<String>,
    /// An alert still raised is mailed again at most this often.
    pub alert_repeat: Seconds,
    /// Thresholds; 0 turns a condition off.
    pub alert_queue_size: u64,
    pub alert_queue_age: Seconds,
    /// Share of outbound attempts in the last hour that failed (deferred or bounced),
    /// in percent, over at least 20 attempts.
    pub alert_failure_percent: u64,
    /// Free space under the data directory, in percent.
    pub alert_disk_free_percent: u64,
    /// The certificate expires within this many days.
    pub alert_certificate_days: u64,
    /// A collection account failed this many runs in a row.
    pub alert_collection_failures: u64,
    /// Failed logins within five minutes.
    pub alert_login_failures: u64,
}

impl Default for MonitorSection {
    fn default() -> Self {
        MonitorSection {
            enabled: true,
            events: true,
            traces: true,
            retention: Seconds::secs(30 * 86400),
            stats_minutes: Seconds::secs(48 * 3600),
            stats_hours: Seconds::secs(90 * 86400),
            stats_days: Seconds::secs(3 * 365 * 86400),
            flush_interval: Seconds::secs(1),
            webhook_retry: Seconds::secs(5),
            metrics_token: None,
            alert_interval: Seconds::secs(30),
            alert_recipients: Vec::new(),
            alert_repeat: Seconds::secs(6 * 3600),
            alert_queue_size: 1000,
            alert_queue_age: Seconds::secs(6 * 3600),
            alert_failure_percent: 50,
            alert_disk_free_percent: 10,
            alert_certificate_days: 14,
            alert_collection_failures: 3,
            alert_login_failures: 100,
        }
    }
}

impl MonitorSection {
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, m: &str| Err((format!("monitor.{k}"), m.to_string()));
        if self.flush_interval.get().is_zero() {
            return bad("flush_interval", "expected at least 1s");
        }
        if self.webhook_retry.get().is_zero() {
            return bad("webhook_retry", "expected at least 1ms");
        }
        if self.alert_interval.get().is_zero() {
            return bad("alert_interval", "expected at least 1s");
        }
        if self.alert_failure_percent > 100 || self.alert_disk_free_percent > 100 {
            return bad(
                if self.alert_failure_percent > 100 {
                    "alert_failure_percent"
                } else {
                    "alert_disk_free_percent"
                },
                "expected a percentage from 0 to 100",
            );
        }
        for (i, r) in self.alert_recipients.iter().enumerate() {
            if r.rsplit_once('@')
                .is_none_or(|(l, d)| l.is_empty() || d.is_empty())
            {
                return Err((
                    format!("monitor.alert_recipients.{i}"),
                    format!("{r:?} is not an address such as postmaster@example.com"),
                ));
            }
        }
        if self
            .metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return bad(
                "metrics_token",
                "expected a token of at least 16 characters",
            );
        }
        Ok(())
    }
}
