//! Storing collected messages while the next ones are still being read: each message
//! (code page applied, a `Received:` line added) becomes a blob and goes through the
//! delivery pipeline with its remote key, as a task; up to `in_flight` of them wait
//! for their commit at once, so the store's writer groups them into few transactions.
//!
//! The caller learns which keys are durable only from [`Deliverer::submit`] and
//! [`Deliverer::drain`]; it must not delete or flag a remote message before that.

use std::sync::Arc;

use pillarbox_delivery::{DeliveryError, DeliveryPipeline, Envelope, Recipient, RecipientOutcome};
use pillarbox_directory::Resolution;
use pillarbox_store::{CollectedMark, CollectionId, StoreError};
use tokio::task::JoinSet;

use pillarbox_scan::policy::Fate;

use crate::account::{Destination, Protocol};
use crate::codepage::CodePage;
use crate::forward;

/// What the delivery of one collected message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Stored (or queued) now, with its key.
    Stored,
    /// Its key was recorded before: it is stored already.
    AlreadyCollected,
    /// Refused; nothing stored (over quota, disk full, ...).
    Failed(String),
}

/// The result of one submitted message: the caller's tag, its size, the outcome.
pub(crate) type Done<T> = (T, u64, Delivered);

/// What every message of one run shares.
#[derive(Debug)]
pub(crate) struct DeliverySettings {
    pub pipeline: DeliveryPipeline,
    pub collection: CollectionId,
    pub name: String,
    pub owner_address: String,
    pub remote_address: String,
    pub hostname: String,
    pub protocol: Protocol,
    pub server: String,
    pub code_page: Option<CodePage>,
    pub destination: Destination,
    /// Scanners for collected mail (`[scan] listeners` has `collect`).
    pub scanners: Option<Arc<pillarbox_scan::policy::Scanners>>,
    /// The owner of the collection account.
    pub owner: pillarbox_store::AccountId,
}

/// The messages of a run on their way into the store.
pub(crate) struct Deliverer<T> {
    settings: Arc<DeliverySettings>,
    tasks: JoinSet<Done<T>>,
    max: usize,
}

impl<T: Send + 'static> Deliverer<T> {
    pub fn new(settings: DeliverySettings, in_flight: usize) -> Deliverer<T> {
        Deliverer {
            settings: Arc::new(settings),
            tasks: JoinSet::new(),
            max: in_flight.max(1),
        }
    }

    /// Starts storing `raw` under `key`; when `in_flight` messages are already on their
    /// way, first waits for one. Returns the messages that finished meanwhile.
    pub async fn submit(&mut self, tag: T, key: String, raw: Vec<u8>) -> Vec<Done<T>> {
        let mut done = Vec::new();
        while self.tasks.len() >= self.max {
            if let Some(d) = self.join_one().await {
                done.push(d);
            }
        }
        while let Some(r) = self.tasks.try_join_next() {
            done.extend(joined(r));
        }
        let settings = self.settings.clone();
        self.tasks
            .spawn(async move { deliver_one(&settings, tag, key, raw).await });
        done
    }

    /// Waits for every message still on its way.
    pub async fn drain(&mut self) -> Vec<Done<T>> {
        let mut done = Vec::new();
        while !self.tasks.is_empty() {
            if let Some(d) = self.join_one().await {
                done.push(d);
            }
        }
        done
    }

    async fn join_one(&mut self) -> Option<Done<T>> {
        match self.tasks.join_next().await {
            Some(r) => joined(r),
            None => None,
        }
    }
}

fn joined<T>(r: Result<Done<T>, tokio::task::JoinError>) -> Option<Done<T>> {
    match r {
        Ok(d) => Some(d),
        Err(e) => {
            // A panicking task stored nothing (its transaction was never committed);
            // its message stays on the server for the next run.
            tracing::error!(error = %e, "collect: a delivery task failed");
            None
        }
    }
}

async fn deliver_one<T>(s: &DeliverySettings, tag: T, key: String, raw: Vec<u8>) -> Done<T> {
    let size = raw.len() as u64;
    let outcome = store_message(s, key, raw).await;
    (tag, size, outcome)
}

async fn store_message(s: &DeliverySettings, key: String, raw: Vec<u8>) -> Delivered {
    let raw = match s.code_page.as_ref().and_then(|cp| cp.apply(&raw)) {
        Some(rewritten) => rewritten,
        None => raw,
    };
    let (recipient, envelope_rcpt, mailbox, route, sender) = match &s.destination {
        Destination::Folder { name } => (
            s.owner_address.clone(),
            Recipient::plain(&s.owner_address),
            Some(name.clone()),
            None,
            forward::sender(&raw),
        ),
        Destination::Forward { route, recipient } => {
            let to = forward::recipient(recipient, &s.remote_address, &raw);
            let mut r = Recipient::plain(&to);
            // Forwarded mail always leaves through the route, even for an address
            // that happens to be local here.
            r.resolved = Some(Resolution::NotLocal);
            (to, r, None, Some(route.clone()), forward::sender(&raw))
        }
    };
    let trace = pillarbox_monitor::new_trace_id();
    let mut message = trace_header(s, &recipient, &trace).into_bytes();
    message.extend_from_slice(&raw);
    drop(raw);
    let mut verdict = None;
    if let Some(scanners) = &s.scanners {
        let rcpts = [recipient.clone()];
        let cx = pillarbox_scan::policy::Context {
            listener: "collect",
            from: &sender,
            rcpts: &rcpts,
            queue_id: &trace,
            ..Default::default()
        };
        let outcome = scanners.scan(&cx, &message).await;
        let monitor = s.pipeline.directory().monitor();
        monitor.step(&trace, "scanned", outcome.summary.clone(), Vec::new());
        for f in &outcome.failures {
            tracing::error!(collection = %s.name, problem = %f, "collect: content scanning");
            monitor.event(
                pillarbox_monitor::NewEvent::new(
                    pillarbox_monitor::EventKind::ScannerFailed,
                    format!("collection {}: {f}", s.name),
                )
                .account(&s.owner_address)
                .trace(&trace),
            );
        }
        verdict = Some(pillarbox_delivery::ScanVerdict {
            spam_score: outcome.spam_score,
            infected: outcome.infected,
        });
        if let Some(m) = outcome.message {
            message = m;
        }
        let mark = CollectedMark {
            collection: s.collection,
            key: key.clone(),
            at: crate::now(),
        };
        match outcome.fate {
            Fate::Accept => {}
            Fate::TempFail { text } => {
                return Delivered::Failed(format!("not scanned, left on the server: {text}"));
            }
            Fate::Discard => return discard(s, &message, mark).await,
            Fate::Reject { text, .. } => {
                return quarantine(
                    s,
                    &sender,
                    &recipient,
                    message,
                    &text,
                    outcome.summary,
                    mark,
                    &trace,
                )
                .await;
            }
            Fate::Quarantine { reason } => {
                return quarantine(
                    s,
                    &sender,
                    &recipient,
                    message,
                    &reason,
                    outcome.summary,
                    mark,
                    &trace,
                )
                .await;
            }
        }
    }
    let blob = match s
        .pipeline
        .directory()
        .store()
        .blobs()
        .put(message.clone())
        .await
    {
        Ok(b) => b,
        Err(e) => return Delivered::Failed(format!("cannot store the message: {e}")),
    };
    let envelope = Envelope {
        sender,
        recipients: vec![envelope_rcpt],
        source: format!("collect {}", s.name),
        mailbox,
        route,
        enforce_quota: true,
        trace: Some(trace.clone()),
        scan: verdict,
        ..Envelope::default()
    };
    let monitor = s.pipeline.directory().monitor();
    monitor.step(
        &trace,
        "collected",
        serde_json::json!({
            "collection": s.name,
            "server": s.server,
            "protocol": s.protocol.to_string(),
            "remote_key": key,
            "owner": s.owner_address,
            "size": message.len(),
        }),
        vec![s.owner_address.clone()],
    );
    let mark = CollectedMark {
        collection: s.collection,
        key,
        at: crate::now(),
    };
    match s
        .pipeline
        .deliver_collected(blob, &message, &envelope, mark)
        .await
    {
        // A message a Sieve script refused was handled too: it is not collected again.
        Ok(outcomes)
            if outcomes
                .iter()
                .all(|o| o.accepted() || matches!(o, RecipientOutcome::Rejected(_))) =>
        {
            let domain = s.owner_address.rsplit_once('@').map(|(_, d)| d);
            monitor.count("collected", domain, 1);
            Delivered::Stored
        }
        Ok(outcomes) => Delivered::Failed(format!("not accepted: {outcomes:?}")),
        Err(DeliveryError::Store(StoreError::AlreadyCollected)) => Delivered::AlreadyCollected,
        Err(DeliveryError::Store(StoreError::OverQuota)) => {
            Delivered::Failed(format!("the mailbox of {} is full", s.owner_address))
        }
        Err(e) => Delivered::Failed(e.to_string()),
    }
}

/// A message a milter discarded: recorded as collected, stored nowhere.
async fn discard(s: &DeliverySettings, message: &[u8], mark: CollectedMark) -> Delivered {
    let store = s.pipeline.directory().store();
    let blob = match store.blobs().put(message.to_vec()).await {
        Ok(b) => b,
        Err(e) => return Delivered::Failed(format!("cannot store the message: {e}")),
    };
    let envelope = Envelope {
        source: format!("collect {}", s.name),
        ..Envelope::default()
    };
    match s
        .pipeline
        .deliver_collected(blob, message, &envelope, mark)
        .await
    {
        Ok(_) => Delivered::Stored,
        Err(DeliveryError::Store(StoreError::AlreadyCollected)) => Delivered::AlreadyCollected,
        Err(e) => Delivered::Failed(e.to_string()),
    }
}

/// Holds a collected message in quarantine and tells its owner with a notice, which
/// is stored with the message's remote key (so the remote copy may go): the message
/// itself never reaches a mailbox.
#[allow(clippy::too_many_arguments)]
async fn quarantine(
    s: &DeliverySettings,
    sender: &str,
    recipient: &str,
    message: Vec<u8>,
    reason: &str,
    summary: serde_json::Value,
    mark: CollectedMark,
    trace: &str,
) -> Delivered {
    let store = s.pipeline.directory().store();
    let header = pillarbox_mime::parse(
        &message[..message
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(message.len(), |p| p + 4)],
    );
    let subject = header.envelope.subject.clone().unwrap_or_default();
    let from = header
        .envelope
        .from
        .first()
        .and_then(|a| Some(format!("{}@{}", a.mailbox.as_deref()?, a.host.as_deref()?)))
        .unwrap_or_else(|| sender.to_string());
    let blob = match store.blobs().put(message).await {
        Ok(b) => b,
        Err(e) => return Delivered::Failed(format!("cannot store the message: {e}")),
    };
    let days = s.scanners.as_ref().map_or(30, |sc| sc.quarantine_days());
    let q = pillarbox_store::NewQuarantined {
        blob,
        sender: sender.to_string(),
        recipients: vec![recipient.to_string()],
        account: Some(s.owner),
        reason: reason.to_string(),
        verdict: summary.to_string(),
        source: format!("collect {}", s.name),
        expires_at: crate::now() + i64::from(days) * 86400,
    };
    let id = match store.quarantine_put(q).await {
        Ok(id) => id,
        Err(e) => return Delivered::Failed(format!("cannot quarantine the message: {e}")),
    };
    let monitor = s.pipeline.directory().monitor();
    monitor.event(
        pillarbox_monitor::NewEvent::new(
            pillarbox_monitor::EventKind::MessageQuarantined,
            format!("collection {}: quarantined as {id}: {reason}", s.name),
        )
        .account(&s.owner_address)
        .trace(trace),
    );
    tracing::warn!(collection = %s.name, quarantine = id, reason, "collect: message quarantined");
    let notice = notice(s, id, reason, &from, &subject, trace);
    let blob = match store.blobs().put(notice.clone()).await {
        Ok(b) => b,
        Err(e) => return Delivered::Failed(format!("cannot store the notice: {e}")),
    };
    let envelope = Envelope {
        recipients: vec![Recipient::plain(&s.owner_address)],
        source: format!("quarantine notice, collect {}", s.name),
        enforce_quota: false,
        ..Envelope::default()
    };
    match s
        .pipeline
        .deliver_collected(blob, &notice, &envelope, mark)
        .await
    {
        Ok(_) => Delivered::Stored,
        Err(DeliveryError::Store(StoreError::AlreadyCollected)) => Delivered::AlreadyCollected,
        Err(e) => Delivered::Failed(e.to_string()),
    }
}

/// The notice telling the owner that a collected message was quarantined.
fn notice(
    s: &DeliverySettings,
    id: i64,
    reason: &str,
    from: &str,
    subject: &str,
    trace: &str,
) -> Vec<u8> {
    let host = clean(&s.hostname);
    let subject = clean(subject);
    let text = format!(
        "A message collected for you by \"{}\" from {} was not delivered to your\r\n\
         mailbox: {}.\r\n\r\n\
         It is held in quarantine as number {id}. Ask your administrator if you need\r\n\
         it released.\r\n\r\n\
         From: {}\r\n\
         Subject: {}\r\n",
        clean(&s.name),
        clean(&s.server),
        clean(reason),
        clean(from),
        subject,
    );
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n\
         To: <{}>\r\n\
         Subject: {}\r\n\
         Date: {}\r\n\
         Message-ID: <{trace}.quarantine@{host}>\r\n\
         Auto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         {text}",
        clean(&s.owner_address),
        pillarbox_mime::encode_unstructured(&format!("Quarantined: {subject}")),
        crate::rfc5322_now(),
    )
    .into_bytes()
}

/// `Received: from HOST by HOSTNAME with POP3 (Pillarbox collect NAME) for <rcpt>; date`.
fn trace_header(s: &DeliverySettings, recipient: &str, trace: &str) -> String {
    format!(
        "Received: from {} by {} with {} (Pillarbox collect {}) id {trace}\r\n\tfor <{}>; {}\r\n",
        clean(&s.server),
        clean(&s.hostname),
        s.protocol,
        clean(&s.name),
        clean(recipient),
        crate::rfc5322_now()
    )
}

/// Text safe inside a header line.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ';'))
        .collect()
}
