//! SQL for monitoring: the event log, traces, counters, published sessions and kill
//! requests, alerts, webhooks and their outbox.

use rusqlite::{Connection, OptionalExtension, params};

use crate::api::monitor::{
    Alert, Event, EventFilter, OutboxItem, OutboxResult, SessionInfo, StatDelta, StatValue,
    TraceStep, Webhook,
};
use crate::error::{Result, StoreError};
use crate::types::AccountId;

pub(crate) fn events_append(c: &Connection, events: &[Event]) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO events (at_ms, kind, severity, node, account, domain, trace, queue_id, \
         session, ip, text, eid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for e in events {
        st.execute(params![
            e.at_ms, e.kind, e.severity, e.node, e.account, e.domain, e.trace, e.queue_id,
            e.session, e.ip, e.text, e.eid
        ])?;
    }
    Ok(())
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        kind: r.get(2)?,
        severity: r.get(3)?,
        node: r.get(4)?,
        account: r.get(5)?,
        domain: r.get(6)?,
        trace: r.get(7)?,
        queue_id: r.get(8)?,
        session: r.get(9)?,
        ip: r.get(10)?,
        text: r.get(11)?,
        eid: r.get(12)?,
    })
}

/// A LIKE pattern matching `text` anywhere, with its wildcards escaped.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

pub(crate) fn events_query(c: &Connection, f: &EventFilter) -> Result<Vec<Event>> {
    let kinds = serde_json::to_string(&f.kinds).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sevs =
        serde_json::to_string(&f.severities).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let text = f.text.as_deref().map(contains_pattern);
    let mut st = c.prepare_cached(
        "SELECT * FROM (SELECT id, at_ms, kind, severity, node, account, domain, trace, queue_id, \
         session, ip, text, eid FROM events \
         WHERE (?1 IS NULL OR at_ms >= ?1) AND (?2 IS NULL OR at_ms <= ?2) \
           AND (?3 IS NULL OR id > ?3) \
           AND (json_array_length(?4) = 0 OR EXISTS (SELECT 1 FROM json_each(?4) k \
                WHERE events.kind = k.value OR (substr(k.value, -1) = '.' \
                      AND substr(events.kind, 1, length(k.value)) = k.value))) \
           AND (json_array_length(?5) = 0 OR severity IN (SELECT value FROM json_each(?5))) \
           AND (?6 IS NULL OR account = ?6 COLLATE NOCASE) AND (?7 IS NULL OR ip = ?7) \
           AND (?8 IS NULL OR text LIKE ?8 ESCAPE '\\') \
         ORDER BY id DESC LIMIT ?9) ORDER BY id",
    )?;
    let rows = st
        .query_map(
            params![
                f.since_ms, f.until_ms, f.after_id, kinds, sevs, f.account, f.ip, text, f.limit
            ],
            event_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn trace_append(c: &Connection, steps: &[TraceStep]) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO trace_steps (trace, at_ms, step, node, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut key = c.prepare_cached(
        "INSERT INTO trace_keys (key, trace, at_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?;
    for s in steps {
        st.execute(params![s.trace, s.at_ms, s.step, s.node, s.detail])?;
        for k in &s.keys {
            key.execute(params![k, s.trace, s.at_ms])?;
        }
    }
    Ok(())
}

pub(crate) fn trace_find(c: &Connection, key: &str, since_ms: i64) -> Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT trace FROM (SELECT trace, MAX(at_ms) AS at FROM trace_keys \
         WHERE key = ?1 AND at_ms >= ?2 GROUP BY trace \
         UNION SELECT trace, MAX(at_ms) FROM trace_steps WHERE trace = ?1 GROUP BY trace) \
         ORDER BY at DESC LIMIT 100",
    )?;
    let rows = st
        .query_map(params![key, since_ms], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn trace_steps(c: &Connection, trace: &str) -> Result<Vec<TraceStep>> {
    let mut st = c.prepare_cached(
        "SELECT trace, at_ms, step, node, detail FROM trace_steps WHERE trace = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([trace], |r| {
            Ok(TraceStep {
                trace: r.get(0)?,
                at_ms: r.get(1)?,
                step: r.get(2)?,
                node: r.get(3)?,
                detail: r.get(4)?,
                keys: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn stats_add(c: &Connection, deltas: &[StatDelta]) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO stats (granularity, bucket, name, domain, value) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (granularity, bucket, name, domain) DO UPDATE SET value = value + excluded.value",
    )?;
    for d in deltas {
        st.execute(params![d.granularity, d.bucket, d.name, d.domain, d.delta])?;
    }
    Ok(())
}

pub(crate) fn stats_query(
    c: &Connection,
    granularity: &str,
    since: i64,
    domain: &str,
) -> Result<Vec<StatValue>> {
    let mut st = c.prepare_cached(
        "SELECT bucket, name, domain, value FROM stats \
         WHERE granularity = ?1 AND bucket >= ?2 AND domain = ?3 ORDER BY bucket, name",
    )?;
    let rows = st
        .query_map(params![granularity, since, domain], |r| {
            Ok(StatValue {
                bucket: r.get(0)?,
                name: r.get(1)?,
                domain: r.get(2)?,
                value: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn purge(c: &Connection, before_ms: i64, stats: &[(&'static str, i64)]) -> Result<u64> {
    let mut n = 0;
    n += c.execute("DELETE FROM events WHERE at_ms < ?1", [before_ms])?;
    n += c.execute("DELETE FROM trace_steps WHERE at_ms < ?1", [before_ms])?;
    n += c.execute("DELETE FROM trace_keys WHERE at_ms < ?1", [before_ms])?;
    n += c.execute(
        "DELETE FROM webhook_outbox WHERE status != 'pending' AND done_ms < ?1",
        [before_ms],
    )?;
    n += c.execute(
        "DELETE FROM session_kills WHERE created_ms < ?1",
        [super::now() * 1000 - 3_600_000],
    )?;
    for (g, cutoff) in stats {
        n += c.execute(
            "DELETE FROM stats WHERE granularity = ?1 AND bucket < ?2",
            params![g, cutoff],
        )?;
    }
    Ok(n as u64)
}

pub(crate) fn sessions_publish(
    c: &Connection,
    node: &str,
    sessions: &[SessionInfo],
    now_ms: i64,
) -> Result<()> {
    c.execute("DELETE FROM live_sessions WHERE node = ?1", [node])?;
    let mut st = c.prepare_cached(
        "INSERT INTO live_sessions (node, id, protocol, listener, ip, username, tls, started_ms, \
         last_command, bytes_in, bytes_out, mailbox, updated_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for s in sessions {
        st.execute(params![
            node,
            s.id,
            s.protocol,
            s.listener,
            s.ip,
            s.user,
            s.tls,
            s.started_ms,
            s.last_command,
            s.bytes_in,
            s.bytes_out,
            s.mailbox,
            now_ms
        ])?;
    }
    Ok(())
}

pub(crate) fn sessions_list(c: &Connection, since_ms: i64) -> Result<Vec<SessionInfo>> {
    let mut st = c.prepare_cached(
        "SELECT node, id, protocol, listener, ip, username, tls, started_ms, last_command, \
         bytes_in, bytes_out, mailbox FROM live_sessions WHERE updated_ms >= ?1 ORDER BY node, id",
    )?;
    let rows = st
        .query_map([since_ms], |r| {
            Ok(SessionInfo {
                node: r.get(0)?,
                id: r.get(1)?,
                protocol: r.get(2)?,
                listener: r.get(3)?,
                ip: r.get(4)?,
                user: r.get(5)?,
                tls: r.get(6)?,
                started_ms: r.get(7)?,
                last_command: r.get(8)?,
                bytes_in: r.get(9)?,
                bytes_out: r.get(10)?,
                mailbox: r.get(11)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn session_kill(c: &Connection, target: &str, now_ms: i64) -> Result<i64> {
    Ok(c.query_row(
        "INSERT INTO session_kills (target, created_ms) VALUES (?1, ?2) RETURNING id",
        params![target, now_ms],
        |r| r.get(0),
    )?)
}

pub(crate) fn session_kills_since(
    c: &Connection,
    after: i64,
    since_ms: i64,
) -> Result<Vec<(i64, String)>> {
    let mut st = c.prepare_cached(
        "SELECT id, target FROM session_kills WHERE id > ?1 AND created_ms >= ?2 ORDER BY id",
    )?;
    let rows = st
        .query_map(params![after, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn alerts_list(c: &Connection) -> Result<Vec<Alert>> {
    let mut st = c.prepare_cached(
        "SELECT name, active, detail, raised_ms, cleared_ms, notified_ms, acked FROM alerts ORDER BY name",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(Alert {
                name: r.get(0)?,
                active: r.get(1)?,
                detail: r.get(2)?,
                raised_ms: r.get(3)?,
                cleared_ms: r.get(4)?,
                notified_ms: r.get(5)?,
                acked: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn alert_put(c: &Connection, a: &Alert) -> Result<()> {
    c.execute(
        "INSERT INTO alerts (name, active, detail, raised_ms, cleared_ms, notified_ms, acked) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET active = ?2, \
         detail = ?3, raised_ms = ?4, cleared_ms = ?5, notified_ms = ?6, acked = ?7",
        params![
            a.name,
            a.active,
            a.detail,
            a.raised_ms,
            a.cleared_ms,
            a.notified_ms,
            a.acked
        ],
    )?;
    Ok(())
}

pub(crate) fn alert_ack(c: &Connection, name: &str) -> Result<bool> {
    Ok(c.execute("UPDATE alerts SET acked = 1 WHERE name = ?1", [name])? == 1)
}

fn webhook_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Webhook, String)> {
    Ok((
        Webhook {
            id: r.get(0)?,
            account: r.get::<_, Option<i64>>(1)?.map(AccountId),
            url: r.get(2)?,
            secret: r.get(3)?,
            events: Vec::new(),
            enabled: r.get(5)?,
            created_at: r.get(6)?,
        },
        r.get(4)?,
    ))
}

fn with_events((mut w, events): (Webhook, String)) -> Result<Webhook> {
    w.events = serde_json::from_str(&events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(w)
}

pub(crate) fn webhook_create(
    c: &Connection,
    account: Option<AccountId>,
    url: &str,
    secret: &str,
    events: &[String],
    now: i64,
) -> Result<Webhook> {
    let ev = serde_json::to_string(events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id: i64 = c.query_row(
        "INSERT INTO webhooks (account_id, url, secret, events, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![account.map(|a| a.0), url, secret, ev, now],
        |r| r.get(0),
    )?;
    let row = c.query_row(
        "SELECT id, account_id, url, secret, events, enabled, created_at FROM webhooks WHERE id = ?1",
        [id],
        webhook_row,
    )?;
    with_events(row)
}

pub(crate) fn webhook_list(c: &Connection, account: Option<AccountId>) -> Result<Vec<Webhook>> {
    let mut st = c.prepare_cached(
        "SELECT id, account_id, url, secret, events, enabled, created_at FROM webhooks \
         WHERE ?1 IS NULL OR account_id = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([account.map(|a| a.0)], webhook_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(with_events).collect()
}

pub(crate) fn webhook_delete(c: &Connection, id: i64) -> Result<()> {
    c.execute(
        "DELETE FROM webhook_outbox WHERE webhook_id = ?1 AND status = 'pending'",
        [id],
    )?;
    if c.execute("DELETE FROM webhooks WHERE id = ?1", [id])? == 0 {
        return Err(StoreError::NotFound("webhook"));
    }
    Ok(())
}

pub(crate) fn outbox_enqueue(
    c: &Connection,
    posts: &[(i64, String, String)],
    now_ms: i64,
) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO webhook_outbox (webhook_id, event, payload, created_ms, next_ms) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?;
    for (w, event, payload) in posts {
        st.execute(params![w, event, payload, now_ms])?;
    }
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, webhook_id, event, payload, created_ms, status, attempts, \
    next_ms, last_error, done_ms";

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        webhook: r.get(1)?,
        event: r.get(2)?,
        payload: r.get(3)?,
        created_ms: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        next_ms: r.get(7)?,
        last_error: r.get(8)?,
        done_ms: r.get(9)?,
    })
}

pub(crate) fn outbox_lease(
    c: &Connection,
    now_ms: i64,
    until_ms: i64,
    owner: &str,
) -> Result<Vec<OutboxItem>> {
    // The head of each webhook's queue: its oldest pending post.
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} FROM webhook_outbox o WHERE o.status = 'pending' \
         AND o.id = (SELECT MIN(id) FROM webhook_outbox p WHERE p.webhook_id = o.webhook_id \
                     AND p.status = 'pending') \
         AND o.next_ms <= ?1 AND (o.lease_until IS NULL OR o.lease_until <= ?1) ORDER BY o.id LIMIT 100"
    );
    let items = c
        .prepare_cached(&sql)?
        .query_map([now_ms], outbox_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut lease = c.prepare_cached(
        "UPDATE webhook_outbox SET lease_until = ?2, lease_owner = ?3 WHERE id = ?1",
    )?;
    for i in &items {
        lease.execute(params![i.id, until_ms, owner])?;
    }
    Ok(items)
}

pub(crate) fn outbox_record(
    c: &Connection,
    id: i64,
    result: &OutboxResult,
    now_ms: i64,
) -> Result<()> {
    let (status, next, error, done) = match result {
        OutboxResult::Delivered => ("delivered", None, None, Some(now_ms)),
        OutboxResult::Retry { next_ms, error } => {
            ("pending", Some(*next_ms), Some(error.as_str()), None)
        }
        OutboxResult::Failed { error } => ("failed", None, Some(error.as_str()), Some(now_ms)),
    };
    c.execute(
        "UPDATE webhook_outbox SET status = ?2, attempts = attempts + 1, \
         next_ms = COALESCE(?3, next_ms), last_error = COALESCE(?4, last_error), done_ms = ?5, \
         lease_until = NULL, lease_owner = NULL WHERE id = ?1",
        params![id, status, next, error, done],
    )?;
    Ok(())
}

pub(crate) fn outbox_history(c: &Connection, webhook: i64, limit: i64) -> Result<Vec<OutboxItem>> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} FROM webhook_outbox WHERE webhook_id = ?1 ORDER BY id DESC LIMIT ?2"
    );
    let rows = c
        .prepare_cached(&sql)?
        .query_map(params![webhook, limit], outbox_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn outbox_next_due(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT MIN(MAX(o.next_ms, COALESCE(o.lease_until, 0))) FROM webhook_outbox o \
         WHERE o.status = 'pending' AND o.id = (SELECT MIN(id) FROM webhook_outbox p \
         WHERE p.webhook_id = o.webhook_id AND p.status = 'pending')",
        [],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}
