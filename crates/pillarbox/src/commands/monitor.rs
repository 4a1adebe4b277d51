//! The monitoring commands: `events` (with `--follow`), `trace`, `sessions list|kill`,
//! `stats`, `alerts list|ack`, `webhooks add|list|remove|history`. Text that came from
//! the network (HELO names, addresses, subjects) is printed with control characters
//! escaped, so it cannot steer the terminal.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use pillarbox_monitor::{EventKind, Severity};
use pillarbox_store::{Event, EventFilter, Store};

use crate::args::{AlertsCommand, EventsArgs, SessionsCommand, WebhooksCommand};

/// `s` with control characters shown as `\xNN`.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn now_ms() -> i64 {
    pillarbox_monitor::now_ms()
}

/// A point in time: `1h` (that long ago) or an RFC 3339 timestamp; in milliseconds.
fn when(flag: &str, s: &str) -> Result<i64> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now_ms() - d.as_millis() as i64);
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            anyhow!("{flag} {s:?}: expected a duration such as 2h or a time such as 2026-12-01T08:00:00Z")
        })?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Seconds since the epoch as `2026-12-03 09:12:44`, UTC.
pub(crate) fn format_time(secs: i64) -> String {
    let mut s = stamp(secs.saturating_mul(1000));
    s.truncate(19);
    s
}

/// Milliseconds since the epoch as `2026-12-03 09:12:44.123`, UTC.
fn stamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
    );
    t.format(&fmt).unwrap_or_default()
}

fn filter(a: &EventsArgs) -> Result<EventFilter> {
    for k in &a.kinds {
        let known = EventKind::ALL
            .iter()
            .any(|e| e.as_str() == k || (k.ends_with('.') && e.as_str().starts_with(k.as_str())));
        if !known {
            let names: Vec<&str> = EventKind::ALL.iter().map(|e| e.as_str()).collect();
            bail!(
                "--type {k:?}: no such event type (one of {}, or a prefix ending in '.')",
                names.join(", ")
            );
        }
    }
    for s in &a.severity {
        if Severity::parse(s).is_none() {
            bail!("--severity {s:?}: expected info, notice, warning or error");
        }
    }
    if a.limit < 1 {
        bail!("--limit: expected at least 1");
    }
    Ok(EventFilter {
        since_ms: a.since.as_deref().map(|s| when("--since", s)).transpose()?,
        until_ms: a.until.as_deref().map(|s| when("--until", s)).transpose()?,
        after_id: None,
        kinds: a.kinds.clone(),
        severities: a.severity.clone(),
        account: a.account.clone(),
        ip: a.ip.map(|i| i.to_string()),
        text: a.text.clone(),
        limit: a.limit,
    })
}

fn print_event(e: &Event, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(e)?);
        return Ok(());
    }
    let mut about = Vec::new();
    if let Some(a) = &e.account {
        about.push(format!("account={}", printable(a)));
    }
    if let Some(ip) = &e.ip {
        about.push(format!("ip={ip}"));
    }
    if let Some(t) = &e.trace {
        about.push(format!("trace={t}"));
    }
    if let Some(q) = e.queue_id {
        about.push(format!("queue={q}"));
    }
    if let Some(s) = &e.session {
        about.push(format!("session={}:{s}", e.node));
    }
    println!(
        "{} {:<7} {:<22} {} [{}] id={}",
        stamp(e.at_ms),
        e.severity,
        e.kind,
        printable(&e.text),
        about.join(" "),
        e.eid
    );
    Ok(())
}

pub async fn events(a: EventsArgs, store: &Store) -> Result<()> {
    let mut f = filter(&a)?;
    let mut last = 0;
    for e in store.events_query(f.clone()).await? {
        last = last.max(e.id);
        print_event(&e, a.json)?;
    }
    if !a.follow {
        return Ok(());
    }
    f.since_ms = None;
    f.limit = 1000;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        f.after_id = Some(last);
        for e in store.events_query(f.clone()).await? {
            last = last.max(e.id);
            print_event(&e, a.json)?;
        }
    }
}

pub async fn trace(key: &str, since: &str, json: bool, store: &Store) -> Result<()> {
    let since = when("--since", since)?;
    let key = if key.bytes().all(|b| b.is_ascii_digit()) {
        format!("queue:{key}")
    } else {
        key.to_string()
    };
    let traces = store.trace_find(&key, since).await?;
    if traces.is_empty() {
        bail!("no trace for {key:?} (a trace id, Message-ID, address or queue id)");
    }
    for t in traces {
        let steps = store.trace_steps(&t).await?;
        if json {
            println!("{}", serde_json::json!({ "trace": t, "steps": steps }));
            continue;
        }
        println!("trace {t}");
        for s in steps {
            println!(
                "  {} {:<10} {} ({})",
                stamp(s.at_ms),
                s.step,
                printable(&s.detail),
                s.node
            );
        }
    }
    Ok(())
}

pub async fn sessions(cmd: SessionsCommand, store: &Store) -> Result<()> {
    match cmd {
        SessionsCommand::List { json } => {
            let list = store.sessions_list(10_000).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            if list.is_empty() {
                println!("no open sessions");
            }
            for s in list {
                println!(
                    "{}:{:<6} {:<5} {:<12} {:<40} {:<28} {:<8} {:<12} in={} out={} since {}{}",
                    s.node,
                    s.id,
                    s.protocol,
                    s.listener,
                    s.ip,
                    printable(s.user.as_deref().unwrap_or("-")),
                    s.tls.as_deref().unwrap_or("plain"),
                    printable(&s.last_command),
                    s.bytes_in,
                    s.bytes_out,
                    stamp(s.started_ms),
                    s.mailbox
                        .map(|m| format!(" mailbox={}", printable(&m)))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        SessionsCommand::Kill { id, user, ip } => {
            let target = match (id, user, ip) {
                (Some(id), None, None) => {
                    if let Some((node, n)) = id.split_once(':') {
                        n.parse::<u64>().map_err(|_| {
                            anyhow!("{id:?}: expected a session id such as 17 or node-a:17")
                        })?;
                        format!("{node}:{n}")
                    } else {
                        id.parse::<u64>().map_err(|_| {
                            anyhow!("{id:?}: expected a session id such as 17 or node-a:17")
                        })?;
                        format!("id:{id}")
                    }
                }
                (None, Some(u), None) => format!("user:{u}"),
                (None, None, Some(ip)) => format!("ip:{ip}"),
                _ => bail!("give one of: a session id, --user ADDRESS, --ip ADDRESS"),
            };
            store.session_kill(&target).await?;
            println!("asked every node to end the sessions matching {target}");
            Ok(())
        }
    }
}

pub async fn stats(
    by: &str,
    since: Option<&str>,
    domain: Option<&str>,
    json: bool,
    store: &Store,
) -> Result<()> {
    let (g, width, default) = match by {
        "minute" => ("m", 60, "1h"),
        "hour" => ("h", 3600, "24h"),
        "day" => ("d", 86400, "30d"),
        other => bail!("--by {other:?}: expected minute, hour or day"),
    };
    let since = when("--since", since.unwrap_or(default))? / 1000;
    let since = since - since.rem_euclid(width);
    let values = store
        .stats_query(g, since, &domain.unwrap_or("").to_ascii_lowercase())
        .await?;
    let queued = store.queue_pending_count().await?;
    let oldest = store.queue_oldest().await?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "by": by, "since": since, "domain": domain, "counters": values,
                "queue": { "recipients": queued, "oldest": oldest },
            })
        );
        return Ok(());
    }
    let mut buckets: Vec<i64> = values.iter().map(|v| v.bucket).collect();
    buckets.dedup();
    for b in buckets {
        let line: Vec<String> = values
            .iter()
            .filter(|v| v.bucket == b)
            .map(|v| format!("{}={}", v.name, v.value))
            .collect();
        println!("{}  {}", &stamp(b * 1000)[..16], line.join(" "));
    }
    let age = oldest.map(|t| now_ms() / 1000 - t);
    println!(
        "queue now: {queued} recipient(s){}",
        age.map(|a| format!(", oldest waiting {}s", a.max(0)))
            .unwrap_or_default()
    );
    Ok(())
}

pub async fn alerts(cmd: AlertsCommand, store: &Store) -> Result<()> {
    match cmd {
        AlertsCommand::List { json } => {
            let list = store.alerts_list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            if list.is_empty() {
                println!("no alerts");
            }
            for a in list {
                let state = match (a.active, a.acked) {
                    (true, true) => "raised (acknowledged)",
                    (true, false) => "RAISED",
                    (false, _) => "cleared",
                };
                println!(
                    "{:<28} {:<22} since {}  {}",
                    a.name,
                    state,
                    stamp(if a.active { a.raised_ms } else { a.cleared_ms }.unwrap_or(0)),
                    printable(&a.detail)
                );
            }
            Ok(())
        }
        AlertsCommand::Ack { name } => {
            if !store.alert_ack(&name).await? {
                bail!("no alert named {name:?} (see pillarbox alerts list)");
            }
            println!("alert {name} acknowledged");
            Ok(())
        }
    }
}

pub async fn webhooks(cmd: WebhooksCommand, store: &Store) -> Result<()> {
    match cmd {
        WebhooksCommand::Add {
            url,
            events,
            account,
            secret_stdin,
        } => {
            let parsed = reqwest_url_ok(&url)?;
            let account = match account {
                Some(a) => Some(
                    store
                        .account_get(&a)
                        .await?
                        .ok_or_else(|| anyhow!("no account {a}"))?
                        .id,
                ),
                None => None,
            };
            let secret = if secret_stdin {
                super::read_password(true, false).context("cannot read the secret")?
            } else {
                format!("{:032x}", rand::random::<u128>())
            };
            let w = store
                .webhook_create(account, &parsed, &secret, events)
                .await?;
            println!("webhook {} posts to {}", w.id, w.url);
            if !secret_stdin {
                println!("signing secret: {secret}");
            }
            Ok(())
        }
        WebhooksCommand::List { json } => {
            let list = store.webhook_list(None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            for w in list {
                println!(
                    "{:<4} {:<50} {:<40} {}",
                    w.id,
                    w.url,
                    w.events.join(","),
                    w.account
                        .map(|a| format!("account {a}"))
                        .unwrap_or("server-wide".into())
                );
            }
            Ok(())
        }
        WebhooksCommand::Remove { id } => {
            store.webhook_delete(id).await?;
            println!("webhook {id} removed");
            Ok(())
        }
        WebhooksCommand::History { id, limit, json } => {
            let items = store.outbox_history(id, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
                return Ok(());
            }
            for i in items {
                println!(
                    "{:<6} {} {:<20} {:<10} attempts={} {}",
                    i.id,
                    stamp(i.created_ms),
                    i.event,
                    i.status,
                    i.attempts,
                    printable(i.last_error.as_deref().unwrap_or(""))
                );
            }
            Ok(())
        }
    }
}

/// The URL, if it is an absolute http or https URL.
fn reqwest_url_ok(url: &str) -> Result<String> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > 8
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        bail!("{url:?}: expected an http:// or https:// URL");
    }
    Ok(url.to_string())
}
