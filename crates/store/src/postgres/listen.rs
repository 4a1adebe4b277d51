//! The change feed across nodes: every write that changes a mailbox or the queue sends
//! `NOTIFY pillarbox_changes` inside its own transaction (PostgreSQL delivers it only
//! if and after the transaction commits), and each node keeps one connection that
//! LISTENs and republishes what other nodes announced on its local feed. A node's own
//! changes are published locally at once and skipped when they come back.
//!
//! When the listening connection is lost, the node reconnects (with a pause that grows
//! to 5 s), and then publishes `Change::Resync`: anything may have changed meanwhile,
//! so every session re-reads its state. No change is ever missed, only coalesced.

use std::sync::Weak;
use std::time::Duration;

use super::Tx;
use super::db::{Db, cause_of};
use crate::changes::{Change, ChangeFeed};
use crate::error::{Result, StoreError};
use crate::types::{AccountId, MailboxId};

/// The channel every node listens on.
const CHANNEL: &str = "pillarbox_changes";
/// PostgreSQL refuses payloads of 8000 octets and more.
const MAX_PAYLOAD: usize = 7000;

fn encode(change: &Change) -> String {
    match change {
        Change::Mailbox { account, mailbox } => format!("m:{}:{}", account.0, mailbox.0),
        Change::MailboxList { account } => format!("l:{}", account.0),
        Change::Queue => "q".into(),
        Change::Resync => "r".into(),
    }
}

fn decode(s: &str) -> Option<Change> {
    let mut parts = s.split(':');
    let change = match parts.next()? {
        "m" => Change::Mailbox {
            account: AccountId(parts.next()?.parse().ok()?),
            mailbox: MailboxId(parts.next()?.parse().ok()?),
        },
        "l" => Change::MailboxList {
            account: AccountId(parts.next()?.parse().ok()?),
        },
        "q" => Change::Queue,
        "r" => Change::Resync,
        _ => return None,
    };
    Some(change)
}

/// Payloads announcing `changes` from the process `incarnation`:
/// `<incarnation>;<change>,<change>,...`, split to stay under PostgreSQL's limit.
pub(crate) fn payloads(incarnation: u64, changes: &[Change]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = format!("{incarnation:016x};");
    let empty = current.len();
    let mut seen = std::collections::HashSet::new();
    for c in changes {
        if !seen.insert(*c) {
            continue;
        }
        let e = encode(c);
        if current.len() + e.len() + 1 > MAX_PAYLOAD {
            out.push(std::mem::replace(
                &mut current,
                format!("{incarnation:016x};"),
            ));
        }
        if current.len() > empty {
            current.push(',');
        }
        current.push_str(&e);
    }
    if current.len() > empty {
        out.push(current);
    }
    out
}

/// The changes a payload announces, unless it came from `own` (this process).
pub(crate) fn parse(payload: &str, own: u64) -> Vec<Change> {
    let Some((from, list)) = payload.split_once(';') else {
        return Vec::new();
    };
    if u64::from_str_radix(from, 16).ok() == Some(own) {
        return Vec::new();
    }
    list.split(',').filter_map(decode).collect()
}

/// Sends `changes` inside the job's transaction: delivered when it commits.
pub(crate) fn notify(c: &mut Tx<'_>, incarnation: u64, changes: &[Change]) -> Result<()> {
    for p in payloads(incarnation, changes) {
        c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &p])?;
    }
    Ok(())
}

/// Connects the listening session (holding `node_lock`, the advisory lock that says
/// this node's name is in use, when given) and starts the thread that relays other
/// nodes' changes to `feed`; it stops when `feed` has no owner left.
pub(crate) fn start(
    db: Db,
    feed: Weak<ChangeFeed>,
    incarnation: u64,
    node_lock: Option<(i64, String)>,
) -> Result<()> {
    let key = node_lock.as_ref().map(|l| l.0);
    let (mut client, mut held) = connect(&db, key)?;
    // A node killed a moment ago may still hold it until the server notices.
    for _ in 0..50 {
        if held {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        (client, held) = connect(&db, key)?;
    }
    if !held && let Some((_, name)) = &node_lock {
        return Err(StoreError::Conflict(format!(
            "another Pillarbox node named {name:?} is running on this database; \
             give each node its own [cluster] node_name"
        )));
    }
    std::thread::Builder::new()
        .name("store-listen".into())
        .spawn(move || {
            listen(
                &db,
                &feed,
                incarnation,
                Some(client),
                node_lock.map(|l| l.0),
            )
        })?;
    Ok(())
}

/// A listening session, and whether it holds the node lock (when asked to take it).
fn connect(db: &Db, node_lock: Option<i64>) -> Result<(postgres::Client, bool)> {
    let (config, tls) = db.config();
    let mut client = config.connect(tls.clone()).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot reach the database at {}: {}",
            db.url(),
            cause_of(&e)
        ))
    })?;
    let held = match node_lock {
        Some(key) => client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])?
            .get(0),
        None => true,
    };
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok((client, held))
}

fn listen(
    db: &Db,
    feed: &Weak<ChangeFeed>,
    incarnation: u64,
    mut client: Option<postgres::Client>,
    node_lock: Option<i64>,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        if let Some(mut c) = client.take()
            && !relay(&mut c, feed, incarnation)
        {
            return;
        }
        if feed.strong_count() == 0 {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(5));
        match connect(db, node_lock) {
            Ok((c, held)) => {
                if !held {
                    // The old session may linger until the server notices it is gone.
                    tracing::warn!("store: this node's name lock is still held by a lost session");
                }
                tracing::info!(db = db.url(), "store: listening for changes again");
                pause = Duration::from_millis(100);
                client = Some(c);
                if let Some(f) = feed.upgrade() {
                    f.publish(Change::Resync);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "store: cannot listen for changes; retrying");
            }
        }
    }
}

/// Republishes notifications until the connection fails (true) or the store is gone
/// (false).
fn relay(client: &mut postgres::Client, feed: &Weak<ChangeFeed>, incarnation: u64) -> bool {
    use postgres::fallible_iterator::FallibleIterator;
    loop {
        let mut batch = Vec::new();
        {
            let mut notes = client.notifications();
            let mut it = notes.timeout_iter(Duration::from_millis(500));
            loop {
                match it.next() {
                    Ok(Some(n)) => batch.push(n.payload().to_string()),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %cause_of(&e), "store: change listener lost its connection");
                        return true;
                    }
                }
            }
        }
        let Some(f) = feed.upgrade() else {
            return false;
        };
        for p in batch {
            for c in parse(&p, incarnation) {
                f.publish(c);
            }
        }
        if client.is_closed() {
            return true;
        }
        // Wakes the connection so a dead server is noticed even when all is quiet.
        if client.simple_query("").is_err() {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_skip_own_changes() {
        let changes = vec![
            Change::Mailbox {
                account: AccountId(3),
                mailbox: MailboxId(17),
            },
            Change::Queue,
            Change::Queue,
            Change::MailboxList {
                account: AccountId(3),
            },
        ];
        let p = payloads(0xabc, &changes);
        assert_eq!(p, vec!["0000000000000abc;m:3:17,q,l:3".to_string()]);
        assert_eq!(parse(&p[0], 0xabc), Vec::new());
        assert_eq!(parse(&p[0], 1), vec![changes[0], Change::Queue, changes[3]]);
        assert!(parse("garbage", 1).is_empty());
        assert!(parse("1;x:1,m:a:b", 2).is_empty());
    }

    #[test]
    fn long_announcements_are_split() {
        let many: Vec<Change> = (0..2000)
            .map(|i| Change::Mailbox {
                account: AccountId(i),
                mailbox: MailboxId(1_000_000 + i),
            })
            .collect();
        let p = payloads(7, &many);
        assert!(p.len() > 1);
        assert!(p.iter().all(|x| x.len() < 8000));
        let back: Vec<Change> = p.iter().flat_map(|x| parse(x, 8)).collect();
        assert_eq!(back, many);
    }
}
