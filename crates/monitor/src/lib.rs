//! The monitoring plane: what happened (the event log), what happened to each message
//! (its trace, from its first byte to its last delivery attempt), who is connected now
//! (live sessions), how much (counters by minute, hour and day, and Prometheus
//! metrics), what needs attention (alerts), and who is told (webhooks).
//!
//! [`Monitor`] is the handle every service records through. Recording never waits on
//! the store: events, trace steps and webhook posts go into a bounded channel that a
//! writer task drains in batches (one transaction per batch); when the channel is full
//! a record is dropped and counted, so a slow or full monitoring store never slows or
//! blocks mail. Counters are kept in memory and added to the store on every flush.
//! This crate contains no SQL (the store has the tables) and speaks no mail protocol.

pub mod alerts;
mod counters;
mod event;
pub mod metrics;
mod sessions;
mod trace;
pub mod webhooks;
mod writer;

pub use counters::Counters;
pub use event::{EventKind, NewEvent, Severity};
pub use sessions::{Counted, SessionGuard, SessionHandle, Sessions};
pub use trace::new_trace_id;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pillarbox_config::MonitorSection;
use pillarbox_store::{AccountId, Store};
use tokio::sync::mpsc;

/// One thing to write.
#[derive(Debug)]
pub(crate) enum Record {
    Event(pillarbox_store::Event),
    Step(pillarbox_store::TraceStep),
    /// A webhook event: (event name, the account it concerns, JSON payload).
    Hook(String, Option<AccountId>, serde_json::Value),
}

/// Records waiting for the writer before new ones are dropped.
const BACKLOG: usize = 65_536;

/// The handle services record through. Cheap to clone; a disabled one records nothing.
#[derive(Clone)]
pub struct Monitor {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("enabled", &self.inner.is_some())
            .finish()
    }
}

struct Inner {
    tx: mpsc::Sender<Record>,
    node: String,
    settings: MonitorSection,
    counters: Counters,
    sessions: Sessions,
    dropped: AtomicU64,
}

impl Monitor {
    /// A monitor that records nothing (tools, tests, `[monitor] enabled = false`).
    pub fn disabled() -> Monitor {
        Monitor { inner: None }
    }

    /// A monitor writing to `store`, and the writer task's future, which the caller
    /// spawns (it ends when every handle is gone, after a last flush).
    pub fn new(
        store: Store,
        settings: MonitorSection,
    ) -> (Monitor, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::channel(BACKLOG);
        let node = store.node_name().to_string();
        let inner = Arc::new(Inner {
            tx,
            node,
            counters: Counters::default(),
            sessions: Sessions::default(),
            dropped: AtomicU64::new(0),
            settings: settings.clone(),
        });
        let counters = inner.counters.clone();
        let task = writer::run(store, rx, counters, settings);
        (Monitor { inner: Some(inner) }, task)
    }

    /// True when something is recorded.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    fn send(&self, inner: &Inner, r: Record) {
        if inner.tx.try_send(r).is_err() {
            inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records an event (and logs it, with its id, through `tracing`).
    pub fn event(&self, e: NewEvent) {
        let Some(inner) = &self.inner else {
            e.log(None);
            return;
        };
        let event = e.into_event(&inner.node);
        NewEvent::log_stored(&event);
        if inner.settings.events {
            self.send(inner, Record::Event(event));
        }
    }

    /// Records an event already logged (an `ERROR` line of the process's log, turned
    /// into an `error` event): not logged a second time.
    pub fn event_logged(&self, e: NewEvent) {
        let Some(inner) = &self.inner else { return };
        if inner.settings.events {
            let event = e.into_event(&inner.node);
            self.send(inner, Record::Event(event));
        }
    }

    /// Records a step of the message traced as `trace`; `detail` says what happened,
    /// `keys` what the trace may be found by from now on (Message-ID, addresses).
    pub fn step(&self, trace: &str, step: &str, detail: serde_json::Value, keys: Vec<String>) {
        let Some(inner) = &self.inner else { return };
        if !inner.settings.traces {
            return;
        }
        self.send(
            inner,
            Record::Step(pillarbox_store::TraceStep {
                trace: trace.to_string(),
                at_ms: now_ms(),
                step: step.to_string(),
                node: inner.node.clone(),
                detail: detail.to_string(),
                keys,
            }),
        );
    }

    /// Adds `n` to counter `name`, in total and for `domain` when given.
    pub fn count(&self, name: &str, domain: Option<&str>, n: u64) {
        if let Some(inner) = &self.inner {
            inner.counters.add(name, domain, n);
        }
    }

    /// Records how long something took (`/metrics` reports sum and count).
    pub fn observe(&self, name: &str, took: std::time::Duration) {
        if let Some(inner) = &self.inner {
            inner.counters.observe(name, took.as_secs_f64());
        }
    }

    /// Queues a webhook event for every subscription that wants it (server-wide ones,
    /// and those of `account`).
    pub fn hook(&self, event: &str, account: Option<AccountId>, payload: serde_json::Value) {
        if let Some(inner) = &self.inner {
            self.send(inner, Record::Hook(event.to_string(), account, payload));
        }
    }

    /// The registry of open sessions (one that registers nothing when disabled).
    pub fn sessions(&self) -> Option<&Sessions> {
        self.inner.as_ref().map(|i| &i.sessions)
    }

    /// The in-memory counters since start (for `/metrics`).
    pub fn counters(&self) -> Option<&Counters> {
        self.inner.as_ref().map(|i| &i.counters)
    }

    /// Records dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.dropped.load(Ordering::Relaxed))
    }

    /// The node name records are written under.
    pub fn node(&self) -> &str {
        self.inner.as_ref().map_or("", |i| i.node.as_str())
    }
}

/// The space left to unprivileged writers and the size of the file system holding
/// `path`, in bytes (`None` if it cannot be read).
pub fn disk_space(path: &std::path::Path) -> Option<(u64, u64)> {
    let st = rustix::fs::statvfs(path).ok()?;
    (st.f_blocks > 0).then(|| {
        (
            st.f_bavail.saturating_mul(st.f_frsize),
            st.f_blocks.saturating_mul(st.f_frsize),
        )
    })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
