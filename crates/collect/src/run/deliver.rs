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
