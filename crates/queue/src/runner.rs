//! The scheduler: wakes when the next recipient is due (or the store announces new
//! work, or a delivery finishes), leases due recipients, groups them by route and
//! destination, runs one delivery task per group within the concurrency limits, and
//! records each message's results with their notices as soon as they are known.

use std::sync::Arc;
use std::time::Duration;

use pillarbox_config::window::{self, SendWindow};
use pillarbox_store::{QueueItem, RecipientResult, StoreError};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::deliver::{self, Attempt};
use crate::dsn::{Action, DsnKind, DsnRecipient, status_of};
use crate::notices::{self, Notice};
use crate::route::Route;
use crate::schedule::{wants_failure_notice, wants_success_notice};
use crate::{Inner, QueueError};

/// How long a lease lasts without renewal: a node that dies lets its recipients go to
/// the others after at most this long (a live node renews its leases every
/// [`RENEW_EVERY`]).
const LEASE_SECS: i64 = 300;
/// How often the runner renews the leases of its delivery tasks.
const RENEW_EVERY: i64 = 60;
/// Recipients leased in one round.
const ROUND: i64 = 1000;
/// The longest the scheduler sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The state of the scheduler shared with its delivery tasks.
pub(crate) struct Scheduler {
    pub slots: Arc<Semaphore>,
    pub done: Notify,
    pub tasks: TaskTracker,
    pub windows: Vec<SendWindow>,
    pub offset: i32,
}

impl Scheduler {
    pub fn new(config: &pillarbox_config::QueueSection) -> Result<Scheduler, QueueError> {
        let windows = config
            .send_windows
            .iter()
            .map(|w| SendWindow::parse(w))
            .collect::<Result<Vec<_>, _>>()
            .map_err(QueueError::Config)?;
        let offset = window::parse_offset(&config.timezone).map_err(QueueError::Config)?;
        Ok(Scheduler {
            slots: Arc::new(Semaphore::new(config.max_deliveries.max(1))),
            done: Notify::new(),
            tasks: TaskTracker::new(),
            windows,
            offset,
        })
    }
}

/// The key of a delivery group: the route, the destination, and whose credentials.
fn group_key(route: &Route, item: &QueueItem) -> String {
    let dest = if route.is_direct() {
        item.domain.to_ascii_lowercase()
    } else {
        format!(
            "{}:{}",
            route.config.host.as_deref().unwrap_or(""),
            route.port()
        )
    };
    let who = match route.config.credentials {
        pillarbox_config::CredentialSource::Route => String::new(),
        _ => item.sender.to_ascii_lowercase(),
    };
    format!("{}|{dest}|{who}", route.name())
}

/// Runs the scheduler until `shutdown`.
pub(crate) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    match inner.store.queue_clear_leases().await {
        Ok(n) if n > 0 => {
            tracing::info!(recipients = n, "queue: took back leases of a previous run")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "queue: cannot clear leases"),
    }
    let mut changes = inner.store.changes().subscribe();
    tracing::info!("queue runner started");
    let mut renewed = inner.clock.now();
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let now = inner.clock.now();
        if now - renewed >= RENEW_EVERY {
            renewed = now;
            if let Err(e) = inner.store.queue_renew_leases(now + LEASE_SECS).await {
                tracing::warn!(error = %e, "queue: cannot renew leases");
            }
        }
        let wait = match next_wait(&inner, now).await {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "queue: store error; retrying shortly");
                Duration::from_secs(5)
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            _ = inner.scheduler.done.notified() => {}
            r = changes.recv() => {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = r {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
    inner.scheduler.tasks.close();
    inner.scheduler.tasks.wait().await;
    tracing::info!("queue runner stopped");
}

/// Dispatches what is due and says how long to wait before looking again.
async fn next_wait(inner: &Arc<Inner>, now: i64) -> Result<Duration, StoreError> {
    let s = &inner.scheduler;
    if inner.store.queue_is_held().await? {
        // `queue hold --all`: wait for the release (announced as a queue change).
        return Ok(MAX_SLEEP);
    }
    if !inner.config.send_immediately && !window::is_open(&s.windows, s.offset, now) {
        let open = window::next_open(&s.windows, s.offset, now).unwrap_or(now + 3600);
        return Ok(Duration::from_secs((open - now).max(1) as u64).min(MAX_SLEEP));
    }
    let (spawned, saturated) = dispatch(inner, now).await?;
    if spawned > 0 && !saturated {
        // Something was due; look again at once in case more is.
        return Ok(Duration::ZERO);
    }
    let next = inner.store.queue_next_due().await?;
    Ok(match next {
        Some(t) if t > now => Duration::from_secs((t - now) as u64).min(MAX_SLEEP),
        // Due but not dispatchable (destinations busy): wait for a task to finish.
        Some(_) => MAX_SLEEP,
        None => MAX_SLEEP,
    })
}

/// Leases due recipients and starts delivery tasks. Returns the number of groups
/// started and whether some had to wait for a busy destination.
async fn dispatch(inner: &Arc<Inner>, now: i64) -> Result<(usize, bool), StoreError> {
    let items = inner
        .store
        .queue_lease_due(now, now + LEASE_SECS, ROUND)
        .await?;
    if items.is_empty() {
        return Ok((0, false));
    }
    let mut groups: Vec<(String, Route, Vec<QueueItem>)> = Vec::new();
    for item in items {
        let route = inner
            .routes
            .select(item.route.as_deref(), &item.sender, &item.domain)
            .clone();
        let key = group_key(&route, &item);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.2.push(item),
            None => groups.push((key, route, vec![item])),
        }
    }
    let mut started = 0;
    let mut released = Vec::new();
    for (key, route, items) in groups {
        let limit = if route.config.max_connections > 0 {
            route.config.max_connections
        } else {
            inner.config.max_connections_per_destination.max(1)
        };
        let per_conn = inner.config.max_messages_per_connection.max(1);
        // Split the group over as many connections as the destination allows.
        let chunks = split_by_message(items, per_conn);
        for chunk in chunks {
            // One slot per connection to the destination, counted across every node.
            let Some(slot) = inner
                .store
                .lock_slot(&format!("queue:{key}"), limit)
                .await?
            else {
                released.extend(
                    chunk
                        .into_iter()
                        .map(|i| (i.recipient_id, RecipientResult::Released)),
                );
                continue;
            };
            started += 1;
            let (inner2, route2) = (inner.clone(), route.clone());
            inner.scheduler.tasks.spawn(async move {
                let permit = inner2.scheduler.slots.clone().acquire_owned().await;
                run_group(&inner2, &route2, chunk).await;
                drop(permit);
                if let Err(e) = inner2.store.unlock_slot(slot).await {
                    tracing::warn!(error = %e, "queue: cannot give back a connection slot");
                }
                inner2.scheduler.done.notify_one();
            });
        }
    }
    let saturated = !released.is_empty();
    if saturated {
        inner.store.queue_record(now, released).await?;
    }
    Ok((started, saturated))
}

/// Splits items into chunks of at most `per_conn` messages, keeping a message's
/// recipients together.
fn split_by_message(items: Vec<QueueItem>, per_conn: usize) -> Vec<Vec<QueueItem>> {
    let mut chunks: Vec<Vec<QueueItem>> = Vec::new();
    let mut messages_in_last = 0;
    let mut last_queue_id = None;
    for item in items {
        let new_message = last_queue_id != Some(item.queue_id);
        if chunks.is_empty() || (new_message && messages_in_last >= per_conn) {
            chunks.push(Vec::new());
            messages_in_last = 0;
        }
        if new_message {
            messages_in_last += 1;
            last_queue_id = Some(item.queue_id);
        }
        if let Some(c) = chunks.last_mut() {
            c.push(item);
        }
    }
    chunks
}

/// Delivers one group, recording each message's outcome with its notices as soon as
/// the remote has answered for it, while the connection goes on with the next message:
/// a crash repeats only the messages in flight, not the whole batch.
async fn run_group(inner: &Arc<Inner>, route: &Route, items: Vec<QueueItem>) {
    // One recorder per group takes whatever messages finished since its last commit
    // and records them together: one write per commit instead of one per message.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Vec<QueueItem>, Vec<Attempt>)>();
    let recorder = {
        let inner = inner.clone();
        tokio::spawn(async move {
            while let Some((mut done, mut attempts)) = rx.recv().await {
                while let Ok((more, more_attempts)) = rx.try_recv() {
                    done.extend(more);
                    attempts.extend(more_attempts);
                }
                settle(&inner, &done, attempts).await;
            }
        })
    };
    let mut record = |done: &[QueueItem], attempts: Vec<Attempt>| {
        // The recorder lives until the sender is dropped below.
        let _ = tx.send((done.to_vec(), attempts));
    };
    deliver::deliver_group(inner, route, &items, &mut record).await;
    drop(tx);
    if let Err(e) = recorder.await {
        tracing::error!(error = %e, "queue: recording delivery results failed; they will be retried");
    }
}

/// Records one message's attempts (retry, expiry, delivered) and sends its notices.
async fn settle(inner: &Inner, items: &[QueueItem], attempts: Vec<Attempt>) {
    let now = inner.clock.now();
    let mut results = Vec::with_capacity(items.len());
    let mut notices: Vec<Notice> = Vec::new();
    for (item, attempt) in items.iter().zip(attempts) {
        let template = Notice {
            kind: DsnKind::Failure,
            queue_id: item.queue_id,
            sender: item.sender.clone(),
            envid: item.envid.clone(),
            ret_hdrs: item
                .ret
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("HDRS")),
            arrival: item.created_at,
            blob: item.blob.clone(),
            recipients: Vec::new(),
            retry_until: None,
        };
        let dsn_rcpt = |action: Action, reply: &str, host: Option<&str>| DsnRecipient {
            address: item.recipient.clone(),
            orcpt: item.orcpt.clone(),
            action,
            status: status_of(reply),
            diagnostic: Some(reply.to_string()),
            remote_mta: host.map(str::to_string),
        };
        match attempt {
            Attempt::Delivered {
                reply,
                host,
                remote_dsn,
            } => {
                tracing::info!(queue_id = %item.queue_id, rcpt = %item.recipient, %host, %reply, "delivered");
                if wants_success_notice(item) && !remote_dsn {
                    let t = Notice {
                        kind: DsnKind::Success,
                        ..template
                    };
                    notices::add(
                        &mut notices,
                        t,
                        dsn_rcpt(Action::Relayed, &reply, Some(&host)),
                    );
                }
                results.push((
                    item.recipient_id,
                    RecipientResult::Delivered {
                        detail: format!("{host}: {reply}"),
                    },
                ));
            }
            Attempt::Permanent { error, host } => {
                tracing::info!(queue_id = %item.queue_id, rcpt = %item.recipient, %error, "delivery failed permanently");
                if wants_failure_notice(item) {
                    notices::add(
                        &mut notices,
                        template,
                        dsn_rcpt(Action::Failed, &error, host.as_deref()),
                    );
                }
                results.push((item.recipient_id, RecipientResult::Failed { error }));
            }
            Attempt::Temporary { error, host } => {
                let result = inner
                    .policy
                    .after_temporary_failure(item, now, error.clone());
                match &result {
                    RecipientResult::Expired { .. } => {
                        tracing::info!(queue_id = %item.queue_id, rcpt = %item.recipient, %error, "expired");
                        if wants_failure_notice(item) {
                            let why =
                                format!("giving up after {} attempts: {error}", item.attempts + 1);
                            let mut r = dsn_rcpt(Action::Failed, &error, host.as_deref());
                            r.diagnostic = Some(why);
                            if !r.status.starts_with('5') {
                                r.status = "4.4.7".into();
                            }
                            notices::add(&mut notices, template, r);
                        }
                    }
                    RecipientResult::Retry { next_attempt, .. } => {
                        tracing::info!(queue_id = %item.queue_id, rcpt = %item.recipient, %error, next_attempt, "deferred");
                        if inner.policy.delay_warning_due(item, now) {
                            let t = Notice {
                                kind: DsnKind::Delay,
                                retry_until: Some(item.created_at + inner.policy.expire_after),
                                ..template
                            };
                            notices::add(
                                &mut notices,
                                t,
                                dsn_rcpt(Action::Delayed, &error, host.as_deref()),
                            );
                            results.push((item.recipient_id, RecipientResult::DelayWarned));
                        }
                    }
                    _ => {}
                }
                results.push((item.recipient_id, result));
            }
        }
    }
    let monitor = inner.pipeline.directory().monitor();
    crate::record::attempts(monitor, items, &results);
    crate::record::notices(monitor, items, &notices);
    // Notices first: a crash before the results are recorded repeats the attempt (and
    // the notice) rather than losing the notice.
    notices::send(
        &inner.store,
        &inner.pipeline,
        &inner.hostname,
        &inner.bounce_from,
        notices,
        now,
    )
    .await;
    if let Err(e) = inner.store.queue_record(now, results).await {
        tracing::error!(error = %e, "queue: cannot record delivery results; they will be retried");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pillarbox_store::{BlobHash, QueueId};

    fn item(q: i64, r: i64) -> QueueItem {
        QueueItem {
            recipient_id: r,
            trace: None,
            queue_id: QueueId(q),
            recipient: format!("r{r}@x"),
            domain: "x".into(),
            orcpt: None,
            notify: None,
            attempts: 0,
            delay_warned: false,
            created_at: 0,
            sender: "s@y".into(),
            envid: None,
            ret: None,
            account: None,
            blob: BlobHash::parse(&"b".repeat(64)).unwrap(),
            size: 1,
            route: None,
        }
    }

    #[test]
    fn chunks_keep_a_messages_recipients_together() {
        let items = vec![item(1, 1), item(1, 2), item(2, 3), item(3, 4), item(3, 5)];
        let chunks = split_by_message(items, 2);
        let ids: Vec<Vec<i64>> = chunks
            .iter()
            .map(|c| c.iter().map(|i| i.recipient_id).collect())
            .collect();
        assert_eq!(ids, vec![vec![1, 2, 3], vec![4, 5]]);
    }
}
