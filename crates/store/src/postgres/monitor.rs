//! SQL for monitoring (PostgreSQL twin of `sqlite/monitor.rs`). Webhook posts are
//! leased with `FOR UPDATE SKIP LOCKED`, so each goes out from one node.

use postgres::Row;

use super::Tx;
use crate::api::monitor::{
    Alert, Event, EventFilter, OutboxItem, OutboxResult, SessionInfo, StatDelta, StatValue,
    TraceStep, Webhook,
};
use crate::error::{Result, StoreError};
use crate::types::AccountId;

pub(crate) fn events_append(c: &mut Tx<'_>, events: &[Event]) -> Result<()> {
    for e in events {
        c.execute(
            "INSERT INTO events (at_ms, kind, severity, node, account, domain, trace, queue_id, \
             session, ip, text, eid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &e.at_ms,
                &e.kind,
                &e.severity,
                &e.node,
                &e.account,
                &e.domain,
                &e.trace,
                &e.queue_id,
                &e.session,
                &e.ip,
                &e.text,
                &e.eid,
            ],
        )?;
    }
    Ok(())
}

fn event_row(r: &Row) -> Event {
    Event {
        id: r.get(0),
        at_ms: r.get(1),
        kind: r.get(2),
        severity: r.get(3),
        node: r.get(4),
        account: r.get(5),
        domain: r.get(6),
        trace: r.get(7),
        queue_id: r.get(8),
        session: r.get(9),
        ip: r.get(10),
        text: r.get(11),
        eid: r.get(12),
    }
}

pub(crate) fn events_query(c: &mut Tx<'_>, f: &EventFilter) -> Result<Vec<Event>> {
    let text = f
        .text
        .as_deref()
        .map(crate::sqlite::monitor::contains_pattern);
    let rows = c.query(
        "SELECT * FROM (SELECT id, at_ms, kind, severity, node, account::TEXT, domain::TEXT, trace, \
         queue_id, session, ip, text, eid FROM events \
         WHERE ($1::BIGINT IS NULL OR at_ms >= $1) AND ($2::BIGINT IS NULL OR at_ms <= $2) \
           AND ($3::BIGINT IS NULL OR id > $3) \
           AND (cardinality($4::TEXT[]) = 0 OR EXISTS (SELECT 1 FROM unnest($4::TEXT[]) k \
                WHERE events.kind = k OR (right(k, 1) = '.' AND left(events.kind, length(k)) = k))) \
           AND (cardinality($5::TEXT[]) = 0 OR severity = ANY($5)) \
           AND ($6::CITEXT IS NULL OR account = $6) AND ($7::TEXT IS NULL OR ip = $7) \
           AND ($8::TEXT IS NULL OR text ILIKE $8 ESCAPE '\\') \
         ORDER BY id DESC LIMIT $9) e ORDER BY id",
        &[
            &f.since_ms,
            &f.until_ms,
            &f.after_id,
            &f.kinds,
            &f.severities,
            &f.account,
            &f.ip,
            &text,
            &f.limit,
        ],
    )?;
    Ok(rows.iter().map(event_row).collect())
}

pub(crate) fn trace_append(c: &mut Tx<'_>, steps: &[TraceStep]) -> Result<()> {
    for s in steps {
        c.execute(
            "INSERT INTO trace_steps (trace, at_ms, step, node, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&s.trace, &s.at_ms, &s.step, &s.node, &s.detail],
        )?;
        for k in &s.keys {
            c.execute(
                "INSERT INTO trace_keys (key, trace, at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[k, &s.trace, &s.at_ms],
            )?;
        }
    }
    Ok(())
}

pub(crate) fn trace_find(c: &mut Tx<'_>, key: &str, since_ms: i64) -> Result<Vec<String>> {
    Ok(c
        .query(
            "SELECT trace FROM (SELECT trace, MAX(at_ms) AS at FROM trace_keys \
             WHERE key = $1::TEXT::CITEXT AND at_ms >= $2 GROUP BY trace \
             UNION SELECT trace, MAX(at_ms) FROM trace_steps WHERE trace = $1::TEXT GROUP BY trace) t \
             ORDER BY at DESC LIMIT 100",
            &[&key, &since_ms],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub(crate) fn trace_steps(c: &mut Tx<'_>, trace: &str) -> Result<Vec<TraceStep>> {
    Ok(c.query(
        "SELECT trace, at_ms, step, node, detail FROM trace_steps WHERE trace = $1 ORDER BY id",
        &[&trace],
    )?
    .iter()
    .map(|r| TraceStep {
        trace: r.get(0),
        at_ms: r.get(1),
        step: r.get(2),
        node: r.get(3),
        detail: r.get(4),
        keys: Vec::new(),
    })
    .collect())
}

pub(crate) fn stats_add(c: &mut Tx<'_>, deltas: &[StatDelta]) -> Result<()> {
    // Sorted, so two nodes adding to the same counters lock them in one order.
    let mut sorted: Vec<&StatDelta> = deltas.iter().collect();
    sorted.sort_by(|a, b| {
        (a.granularity, a.bucket, &a.name, &a.domain).cmp(&(
            b.granularity,
            b.bucket,
            &b.name,
            &b.domain,
        ))
    });
    for d in sorted {
        c.execute(
            "INSERT INTO stats (granularity, bucket, name, domain, value) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (granularity, bucket, name, domain) DO UPDATE SET value = stats.value + EXCLUDED.value",
            &[&d.granularity, &d.bucket, &d.name, &d.domain, &d.delta],
        )?;
    }
    Ok(())
}

pub(crate) fn stats_query(
    c: &mut Tx<'_>,
    granularity: &str,
    since: i64,
    domain: &str,
) -> Result<Vec<StatValue>> {
    Ok(c.query(
        "SELECT bucket, name, domain, value FROM stats \
             WHERE granularity = $1 AND bucket >= $2 AND domain = $3 ORDER BY bucket, name",
        &[&granularity, &since, &domain],
    )?
    .iter()
    .map(|r| StatValue {
        bucket: r.get(0),
        name: r.get(1),
        domain: r.get(2),
        value: r.get(3),
    })
    .collect())
}

pub(crate) fn purge(c: &mut Tx<'_>, before_ms: i64, stats: &[(&'static str, i64)]) -> Result<u64> {
    let mut n = 0;
    n += c.execute("DELETE FROM events WHERE at_ms < $1", &[&before_ms])?;
    n += c.execute("DELETE FROM trace_steps WHERE at_ms < $1", &[&before_ms])?;
    n += c.execute("DELETE FROM trace_keys WHERE at_ms < $1", &[&before_ms])?;
    n += c.execute(
        "DELETE FROM webhook_outbox WHERE status != 'pending' AND done_ms < $1",
        &[&before_ms],
    )?;
    n += c.execute(
        "DELETE FROM session_kills WHERE created_ms < $1",
        &[&(super::now() * 1000 - 3_600_000)],
    )?;
    for (g, cutoff) in stats {
        n += c.execute(
            "DELETE FROM stats WHERE granularity = $1 AND bucket < $2",
            &[g, cutoff],
        )?;
    }
    Ok(n)
}

pub(crate) fn sessions_publish(
    c: &mut Tx<'_>,
    node: &str,
    sessions: &[SessionInfo],
    now_ms: i64,
) -> Result<()> {
    c.execute("DELETE FROM live_sessions WHERE node = $1", &[&node])?;
    for s in sessions {
        c.execute(
            "INSERT INTO live_sessions (node, id, protocol, listener, ip, username, tls, started_ms, \
             last_command, bytes_in, bytes_out, mailbox, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &node,
                &s.id,
                &s.protocol,
                &s.listener,
                &s.ip,
                &s.user,
                &s.tls,
                &s.started_ms,
                &s.last_command,
                &s.bytes_in,
                &s.bytes_out,
                &s.mailbox,
                &now_ms,
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn sessions_list(c: &mut Tx<'_>, since_ms: i64) -> Result<Vec<SessionInfo>> {
    Ok(c
        .query(
            "SELECT node, id, protocol, listener, ip, username, tls, started_ms, last_command, \
             bytes_in, bytes_out, mailbox FROM live_sessions WHERE updated_ms >= $1 ORDER BY node, id",
            &[&since_ms],
        )?
        .iter()
        .map(|r| SessionInfo {
            node: r.get(0),
            id: r.get(1),
            protocol: r.get(2),
            listener: r.get(3),
            ip: r.get(4),
            user: r.get(5),
            tls: r.get(6),
            started_ms: r.get(7),
            last_command: r.get(8),
            bytes_in: r.get(9),
            bytes_out: r.get(10),
            mailbox: r.get(11),
        })
        .collect())
}

pub(crate) fn session_kill(c: &mut Tx<'_>, target: &str, now_ms: i64) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO session_kills (target, created_ms) VALUES ($1, $2) RETURNING id",
        &[&target, &now_ms],
    )?
    .get(0))
}

pub(crate) fn session_kills_since(
    c: &mut Tx<'_>,
    after: i64,
    since_ms: i64,
) -> Result<Vec<(i64, String)>> {
    Ok(c.query(
        "SELECT id, target FROM session_kills WHERE id > $1 AND created_ms >= $2 ORDER BY id",
        &[&after, &since_ms],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

pub(crate) fn alerts_list(c: &mut Tx<'_>) -> Result<Vec<Alert>> {
    Ok(c.query(
        "SELECT name, active, detail, raised_ms, cleared_ms, notified_ms, acked FROM alerts \
             ORDER BY name COLLATE \"C\"",
        &[],
    )?
    .iter()
    .map(|r| Alert {
        name: r.get(0),
        active: r.get(1),
        detail: r.get(2),
        raised_ms: r.get(3),
        cleared_ms: r.get(4),
        notified_ms: r.get(5),
        acked: r.get(6),
    })
    .collect())
}

pub(crate) fn alert_put(c: &mut Tx<'_>, a: &Alert) -> Result<()> {
    c.execute(
        "INSERT INTO alerts (name, active, detail, raised_ms, cleared_ms, notified_ms, acked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET active = $2, \
         detail = $3, raised_ms = $4, cleared_ms = $5, notified_ms = $6, acked = $7",
        &[
            &a.name,
            &a.active,
            &a.detail,
            &a.raised_ms,
            &a.cleared_ms,
            &a.notified_ms,
            &a.acked,
        ],
    )?;
    Ok(())
}

pub(crate) fn alert_ack(c: &mut Tx<'_>, name: &str) -> Result<bool> {
    Ok(c.execute("UPDATE alerts SET acked = TRUE WHERE name = $1", &[&name])? == 1)
}

fn webhook_row(r: &Row) -> Result<Webhook> {
    let events: String = r.get(4);
    Ok(Webhook {
        id: r.get(0),
        account: r.get::<_, Option<i64>>(1).map(AccountId),
        url: r.get(2),
        secret: r.get(3),
        events: serde_json::from_str(&events).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        enabled: r.get(5),
        created_at: r.get(6),
    })
}

pub(crate) fn webhook_create(
    c: &mut Tx<'_>,
    account: Option<AccountId>,
    url: &str,
    secret: &str,
    events: &[String],
    now: i64,
) -> Result<Webhook> {
    let ev = serde_json::to_string(events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let r = c.query_one(
        "INSERT INTO webhooks (account_id, url, secret, events, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, account_id, url, secret, events, enabled, created_at",
        &[&account.map(|a| a.0), &url, &secret, &ev, &now],
    )?;
    webhook_row(&r)
}

pub(crate) fn webhook_list(c: &mut Tx<'_>, account: Option<AccountId>) -> Result<Vec<Webhook>> {
    c.query(
        "SELECT id, account_id, url, secret, events, enabled, created_at FROM webhooks \
         WHERE $1::BIGINT IS NULL OR account_id = $1 ORDER BY id",
        &[&account.map(|a| a.0)],
    )?
    .iter()
    .map(webhook_row)
    .collect()
}

pub(crate) fn webhook_delete(c: &mut Tx<'_>, id: i64) -> Result<()> {
    c.execute(
        "DELETE FROM webhook_outbox WHERE webhook_id = $1 AND status = 'pending'",
        &[&id],
    )?;
    if c.execute("DELETE FROM webhooks WHERE id = $1", &[&id])? == 0 {
        return Err(StoreError::NotFound("webhook"));
    }
    Ok(())
}

pub(crate) fn outbox_enqueue(
    c: &mut Tx<'_>,
    posts: &[(i64, String, String)],
    now_ms: i64,
) -> Result<()> {
    for (w, event, payload) in posts {
        c.execute(
            "INSERT INTO webhook_outbox (webhook_id, event, payload, created_ms, next_ms) \
             VALUES ($1, $2, $3, $4, $4)",
            &[w, event, payload, &now_ms],
        )?;
    }
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, webhook_id, event, payload, created_ms, status, attempts, \
    next_ms, last_error, done_ms";

fn outbox_row(r: &Row) -> OutboxItem {
    OutboxItem {
        id: r.get(0),
        webhook: r.get(1),
        event: r.get(2),
        payload: r.get(3),
        created_ms: r.get(4),
        status: r.get(5),
        attempts: r.get(6),
        next_ms: r.get(7),
        last_error: r.get(8),
        done_ms: r.get(9),
    }
}

pub(crate) fn outbox_lease(
    c: &mut Tx<'_>,
    now_ms: i64,
    until_ms: i64,
    owner: &str,
) -> Result<Vec<OutboxItem>> {
    let sql = format!(
        "WITH heads AS (SELECT o.id FROM webhook_outbox o WHERE o.status = 'pending' \
             AND o.id = (SELECT MIN(id) FROM webhook_outbox p WHERE p.webhook_id = o.webhook_id \
                         AND p.status = 'pending') \
             AND o.next_ms <= $1 AND (o.lease_until IS NULL OR o.lease_until <= $1) \
             ORDER BY o.id LIMIT 100 FOR UPDATE SKIP LOCKED) \
         UPDATE webhook_outbox w SET lease_until = $2, lease_owner = $3 FROM heads \
         WHERE w.id = heads.id RETURNING {}",
        OUTBOX_COLUMNS
            .split(", ")
            .map(|c| format!("w.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut items: Vec<OutboxItem> = c
        .query(&sql, &[&now_ms, &until_ms, &owner])?
        .iter()
        .map(outbox_row)
        .collect();
    items.sort_by_key(|i| i.id);
    Ok(items)
}

pub(crate) fn outbox_record(
    c: &mut Tx<'_>,
    id: i64,
    result: &OutboxResult,
    now_ms: i64,
) -> Result<()> {
    let (status, next, error, done): (&str, Option<i64>, Option<&str>, Option<i64>) = match result {
        OutboxResult::Delivered => ("delivered", None, None, Some(now_ms)),
        OutboxResult::Retry { next_ms, error } => {
            ("pending", Some(*next_ms), Some(error.as_str()), None)
        }
        OutboxResult::Failed { error } => ("failed", None, Some(error.as_str()), Some(now_ms)),
    };
    c.execute(
        "UPDATE webhook_outbox SET status = $2, attempts = attempts + 1, \
         next_ms = COALESCE($3, next_ms), last_error = COALESCE($4, last_error), done_ms = $5, \
         lease_until = NULL, lease_owner = NULL WHERE id = $1",
        &[&id, &status, &next, &error, &done],
    )?;
    Ok(())
}

pub(crate) fn outbox_history(c: &mut Tx<'_>, webhook: i64, limit: i64) -> Result<Vec<OutboxItem>> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} FROM webhook_outbox WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2"
    );
    Ok(c.query(&sql, &[&webhook, &limit])?
        .iter()
        .map(outbox_row)
        .collect())
}

pub(crate) fn outbox_next_due(c: &mut Tx<'_>) -> Result<Option<i64>> {
    Ok(c.query_one(
        "SELECT MIN(GREATEST(o.next_ms, COALESCE(o.lease_until, 0))) FROM webhook_outbox o \
         WHERE o.status = 'pending' AND o.id = (SELECT MIN(id) FROM webhook_outbox p \
         WHERE p.webhook_id = o.webhook_id AND p.status = 'pending')",
        &[],
    )?
    .get(0))
}
