//! SQL for the change log written by tool processes and polled by the server, and the
//! poller that republishes what it finds.

use rusqlite::{Connection, params};

use crate::changes::Change;
use crate::error::Result;
use crate::types::{AccountId, MailboxId};

pub(crate) fn change_log_head(c: &Connection) -> Result<i64> {
    Ok(
        c.query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| {
            r.get(0)
        })?,
    )
}

pub(crate) fn change_log_since(c: &Connection, since: i64) -> Result<Vec<(i64, Change)>> {
    let mut st = c.prepare_cached(
        "SELECT seq, account_id, mailbox_id, kind FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT 10000",
    )?;
    let rows = st
        .query_map([since], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, account, mailbox, kind)| {
            let change = match (kind.as_str(), account, mailbox) {
                ("mailbox", Some(a), Some(m)) => Change::Mailbox {
                    account: AccountId(a),
                    mailbox: MailboxId(m),
                },
                ("mailbox_list", Some(a), _) => Change::MailboxList {
                    account: AccountId(a),
                },
                ("queue", _, _) => Change::Queue,
                ("resync", _, _) => Change::Resync,
                _ => return None,
            };
            Some((seq, change))
        })
        .collect())
}

pub(crate) fn change_log_append(c: &Connection, changes: &[Change]) -> Result<()> {
    let now = super::now();
    let mut ins = c.prepare_cached(
        "INSERT INTO change_log (account_id, mailbox_id, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for ch in changes {
        let (a, m, k) = match ch {
            Change::Mailbox { account, mailbox } => (Some(account.0), Some(mailbox.0), "mailbox"),
            Change::MailboxList { account } => (Some(account.0), None, "mailbox_list"),
            Change::Queue => (None, None, "queue"),
            Change::Resync => (None, None, "resync"),
        };
        ins.execute(params![a, m, k, now])?;
    }
    // Keep the log short: the server polls several times a second.
    c.execute("DELETE FROM change_log WHERE created_at < ?1", [now - 3600])?;
    Ok(())
}

/// Starts the task that announces changes made by other processes (the server).
pub(crate) fn spawn_change_poller(
    readers: super::Readers,
    feed: std::sync::Arc<crate::ChangeFeed>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = match readers.read(change_log_head).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "store: change poller cannot start");
                return;
            }
        };
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let since = last;
            match readers.read(move |c| change_log_since(c, since)).await {
                Ok(rows) => {
                    for (seq, change) in rows {
                        last = last.max(seq);
                        feed.publish(change);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "store: change poll failed"),
            }
        }
    })
}
