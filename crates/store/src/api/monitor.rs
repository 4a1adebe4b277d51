//! What monitoring keeps in the store: the event log, message traces and the keys they
//! are found by, statistics counters, the live sessions each node publishes and the
//! requests to end one, alerts, and webhooks with their durable outbox. The records are
//! plain data; `pillarbox-monitor` decides what to record and when.

use crate::Store;
use crate::error::Result;
use crate::seal::Column;
use crate::types::AccountId;

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// Assigned by the store (0 before); orders the log.
    pub id: i64,
    /// The event's own id, also in the log line that reported it.
    pub eid: String,
    pub at_ms: i64,
    /// The event's type, e.g. `login.failed`.
    pub kind: String,
    /// `info`, `notice`, `warning` or `error`.
    pub severity: String,
    /// The node that recorded it.
    pub node: String,
    pub account: Option<String>,
    pub domain: Option<String>,
    pub trace: Option<String>,
    pub queue_id: Option<i64>,
    pub session: Option<String>,
    pub ip: Option<String>,
    /// What happened, for a person.
    pub text: String,
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Only events after this id (following the log).
    pub after_id: Option<i64>,
    /// Any of these kinds (a kind ending in `.` matches every kind it prefixes).
    pub kinds: Vec<String>,
    /// Any of these severities.
    pub severities: Vec<String>,
    pub account: Option<String>,
    pub ip: Option<String>,
    /// Text the event's text contains (case-insensitive).
    pub text: Option<String>,
    /// Most events returned (the newest ones, in order).
    pub limit: i64,
}

/// One step of a message's trace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceStep {
    pub trace: String,
    pub at_ms: i64,
    /// e.g. `received`, `delivered`, `queued`, `attempt`, `dsn`, `collected`.
    pub step: String,
    pub node: String,
    /// What happened, as JSON.
    pub detail: String,
    /// What the trace can be found by from this step on (Message-ID, addresses, queue
    /// id); not returned when reading.
    #[serde(skip)]
    pub keys: Vec<String>,
}

/// An amount to add to a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatDelta {
    /// `m`, `h` or `d`.
    pub granularity: &'static str,
    /// The bucket's start, seconds since the epoch.
    pub bucket: i64,
    pub name: String,
    /// "" for the total.
    pub domain: String,
    pub delta: i64,
}

/// A counter's value in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatValue {
    pub bucket: i64,
    pub name: String,
    pub domain: String,
    pub value: i64,
}

/// An open session as a node publishes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionInfo {
    pub node: String,
    pub id: i64,
    pub protocol: String,
    pub listener: String,
    pub ip: String,
    pub user: Option<String>,
    pub tls: Option<String>,
    pub started_ms: i64,
    pub last_command: String,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub mailbox: Option<String>,
}

/// An alert's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    pub name: String,
    pub active: bool,
    pub detail: String,
    pub raised_ms: Option<i64>,
    pub cleared_ms: Option<i64>,
    pub notified_ms: Option<i64>,
    pub acked: bool,
}

/// A webhook subscription.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Webhook {
    pub id: i64,
    /// The account it belongs to; None: server-wide (the administrator's).
    pub account: Option<AccountId>,
    pub url: String,
    /// The key its posts are signed with.
    #[serde(skip)]
    pub secret: String,
    /// The events it receives (`message.new`, `alert.`, ...).
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// One post of a webhook, pending or done.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub webhook: i64,
    pub event: String,
    pub payload: String,
    pub created_ms: i64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_ms: i64,
    pub last_error: Option<String>,
    pub done_ms: Option<i64>,
}

/// What an attempt to post an outbox item did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxResult {
    Delivered,
    /// Try again at `next_ms`.
    Retry {
        next_ms: i64,
        error: String,
    },
    /// Given up.
    Failed {
        error: String,
    },
}

impl Store {
    /// Appends events to the log (one transaction).
    pub async fn events_append(&self, events: Vec<Event>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        db_write!(self, |t, sql| sql::monitor::events_append(t, &events))
    }

    /// Events matching `filter`, oldest first.
    pub async fn events_query(&self, filter: EventFilter) -> Result<Vec<Event>> {
        db_read!(self, |c, sql| sql::monitor::events_query(c, &filter))
    }

    /// Appends trace steps and their keys (one transaction).
    pub async fn trace_append(&self, steps: Vec<TraceStep>) -> Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        db_write!(self, |t, sql| sql::monitor::trace_append(t, &steps))
    }

    /// The traces a key (trace id, Message-ID, address, queue id) names, newest first.
    pub async fn trace_find(&self, key: &str, since_ms: i64) -> Result<Vec<String>> {
        let key = key.to_string();
        db_read!(self, |c, sql| sql::monitor::trace_find(c, &key, since_ms))
    }

    /// The steps of a trace, in order.
    pub async fn trace_steps(&self, trace: &str) -> Result<Vec<TraceStep>> {
        let trace = trace.to_string();
        db_read!(self, |c, sql| sql::monitor::trace_steps(c, &trace))
    }

    /// Adds to counters.
    pub async fn stats_add(&self, deltas: Vec<StatDelta>) -> Result<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        db_write!(self, |t, sql| sql::monitor::stats_add(t, &deltas))
    }

    /// Counters of `granularity` from `since` (bucket start, seconds), of one domain
    /// (or the totals, `""`), by bucket.
    pub async fn stats_query(
        &self,
        granularity: &'static str,
        since: i64,
        domain: &str,
    ) -> Result<Vec<StatValue>> {
        let domain = domain.to_string();
        db_read!(self, |c, sql| sql::monitor::stats_query(
            c,
            granularity,
            since,
            &domain
        ))
    }

    /// Removes what is older than the retention: events and traces before `before_ms`,
    /// counters of each granularity before its cutoff (seconds), webhook posts done
    /// before `before_ms`. Returns how many rows went.
    pub async fn monitor_purge(
        &self,
        before_ms: i64,
        stats: Vec<(&'static str, i64)>,
    ) -> Result<u64> {
        db_write!(self, |t, sql| sql::monitor::purge(t, before_ms, &stats))
    }

    /// Replaces the sessions `node` publishes.
    pub async fn sessions_publish(&self, node: &str, sessions: Vec<SessionInfo>) -> Result<()> {
        let node = node.to_string();
        let now = crate::cluster::now_ms();
        db_write!(self, |t, sql| sql::monitor::sessions_publish(
            t, &node, &sessions, now
        ))
    }

    /// The sessions every node published within `fresh_ms`, by node and id.
    pub async fn sessions_list(&self, fresh_ms: i64) -> Result<Vec<SessionInfo>> {
        let since = crate::cluster::now_ms() - fresh_ms;
        db_read!(self, |c, sql| sql::monitor::sessions_list(c, since))
    }

    /// Asks the nodes to end the sessions `target` names (`id:N`, `user:ADDRESS`,
    /// `ip:ADDRESS`); returns the request's id.
    pub async fn session_kill(&self, target: &str) -> Result<i64> {
        let target = target.to_string();
        let now = crate::cluster::now_ms();
        db_write!(self, |t, sql| sql::monitor::session_kill(t, &target, now))
    }

    /// Requests to end sessions made after request `after` (and within the last
    /// minute), oldest first.
    pub async fn session_kills_since(&self, after: i64) -> Result<Vec<(i64, String)>> {
        let since = crate::cluster::now_ms() - 60_000;
        db_read!(self, |c, sql| sql::monitor::session_kills_since(
            c, after, since
        ))
    }

    /// Every alert, by name.
    pub async fn alerts_list(&self) -> Result<Vec<Alert>> {
        db_read!(self, |c, sql| sql::monitor::alerts_list(c))
    }

    /// Stores an alert's state.
    pub async fn alert_put(&self, alert: Alert) -> Result<()> {
        db_write!(self, |t, sql| sql::monitor::alert_put(t, &alert))
    }

    /// Acknowledges an alert (no more repeats while it stays raised).
    pub async fn alert_ack(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        db_write!(self, |t, sql| sql::monitor::alert_ack(t, &name))
    }

    /// Adds a webhook; its secret is sealed like other secrets.
    pub async fn webhook_create(
        &self,
        account: Option<AccountId>,
        url: &str,
        secret: &str,
        events: Vec<String>,
    ) -> Result<Webhook> {
        let sealed = self.inner.sealer.seal(Column::WebhookSecret, secret)?;
        let url = url.to_string();
        let now = crate::sqlite::now();
        let created = db_write!(self, |t, sql| sql::monitor::webhook_create(
            t, account, &url, &sealed, &events, now
        ))?;
        self.unseal_webhook(created)
    }

    /// Webhooks, all or one account's (None: all, server-wide included).
    pub async fn webhook_list(&self, account: Option<AccountId>) -> Result<Vec<Webhook>> {
        let all = db_read!(self, |c, sql| sql::monitor::webhook_list(c, account))?;
        all.into_iter().map(|w| self.unseal_webhook(w)).collect()
    }

    /// Removes a webhook and its pending posts.
    pub async fn webhook_delete(&self, id: i64) -> Result<()> {
        db_write!(self, |t, sql| sql::monitor::webhook_delete(t, id))
    }

    fn unseal_webhook(&self, mut w: Webhook) -> Result<Webhook> {
        w.secret = self.inner.sealer.open(Column::WebhookSecret, &w.secret)?;
        Ok(w)
    }

    /// Queues posts: (webhook id, event, JSON payload).
    pub async fn outbox_enqueue(&self, posts: Vec<(i64, String, String)>) -> Result<()> {
        if posts.is_empty() {
            return Ok(());
        }
        let now = crate::cluster::now_ms();
        db_write!(self, |t, sql| sql::monitor::outbox_enqueue(t, &posts, now))
    }

    /// Leases, for this node until `until_ms`, the oldest pending post of each webhook
    /// that is due (posts of one webhook go out in order, one at a time).
    pub async fn outbox_lease(&self, now_ms: i64, until_ms: i64) -> Result<Vec<OutboxItem>> {
        let owner = self.inner.node.clone();
        db_write!(self, |t, sql| sql::monitor::outbox_lease(
            t, now_ms, until_ms, &owner
        ))
    }

    /// Records what an attempt did.
    pub async fn outbox_record(&self, id: i64, result: OutboxResult) -> Result<()> {
        let now = crate::cluster::now_ms();
        db_write!(self, |t, sql| sql::monitor::outbox_record(
            t, id, &result, now
        ))
    }

    /// The posts of a webhook, newest first.
    pub async fn outbox_history(&self, webhook: i64, limit: i64) -> Result<Vec<OutboxItem>> {
        db_read!(self, |c, sql| sql::monitor::outbox_history(
            c, webhook, limit
        ))
    }

    /// When the next pending post is due, if any.
    pub async fn outbox_next_due(&self) -> Result<Option<i64>> {
        db_read!(self, |c, sql| sql::monitor::outbox_next_due(c))
    }
}
