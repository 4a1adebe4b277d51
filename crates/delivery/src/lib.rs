//! The one pipeline into local mailboxes and the outbound queue.
//!
//! Every way mail enters Pillarbox (SMTP, submission, `sendmail`, collection, the HTTP
//! API) ends in [`DeliveryPipeline::deliver`]: the message is already a durable blob;
//! the pipeline parses its structure once, resolves each recipient (accounts, aliases,
//! catch-all, remote addresses), and hands the store one transaction that appends to
//! every local INBOX (quota checked per account) and queues every remote recipient.
//! It returns only after that transaction is durable, with an outcome per recipient.
//!
//! Delivery status notifications (RFC 3464, `dsn`) are built here and sent through the
//! same pipeline with the null sender ([`DeliveryPipeline::send_notice`]): by the queue
//! for remote failures, delays and successes, by SMTP for a local recipient that fails
//! after the message was accepted for others.
//!
//! This crate speaks no protocol and contains no SQL.

pub mod dkim;
pub mod dsn;

use pillarbox_directory::{Directory, Resolution};
use pillarbox_store::{
    AccountId, CollectedMark, LocalTarget, NewMessage, NewQueuedMessage, QueuedRecipient,
    StoreError, StoredBlob,
};

/// One envelope recipient with its DSN parameters (RFC 3461).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub orcpt: Option<String>,
    pub notify: Option<String>,
    /// The resolution made when the recipient was accepted (SMTP RCPT), so the
    /// pipeline does not look it up again; `None` to resolve at delivery.
    pub resolved: Option<Resolution>,
}

impl Recipient {
    /// A recipient without DSN parameters.
    pub fn plain(address: &str) -> Recipient {
        Recipient {
            address: address.to_string(),
            orcpt: None,
            notify: None,
            resolved: None,
        }
    }
}

/// The envelope of one message.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// Reverse path; empty for the null sender `<>`.
    pub sender: String,
    pub recipients: Vec<Recipient>,
    /// DSN ENVID.
    pub envid: Option<String>,
    /// DSN RET (FULL or HDRS).
    pub ret: Option<String>,
    /// The account that submitted it (submission, sendmail), if any.
    pub submitted_by: Option<AccountId>,
    /// Where it came from, for logs and the queue listing.
    pub source: String,
    /// Deliver into this mailbox instead of INBOX (collection into a folder).
    pub mailbox: Option<String>,
    /// Send remote recipients through this route, whatever the routing rules say
    /// (collection forwarding to a downstream server).
    pub route: Option<String>,
    /// Check quotas (false for system mail such as bounces).
    pub enforce_quota: bool,
    /// The message's trace id (monitoring): its steps are recorded against it.
    pub trace: Option<String>,
    /// Sign it with the DKIM keys of its `From` domain, if that domain has keys (mail
    /// we send: submission, `sendmail`, notices, alerts; never mail received on the MX).
    pub sign: bool,
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientOutcome {
    /// Stored in the mailbox(es) of these accounts.
    Delivered(Vec<AccountId>),
    /// Written to the outbound queue (remote address, or an alias pointing outside).
    Queued,
    /// Delivered to some targets and queued for others.
    DeliveredAndQueued(Vec<AccountId>),
    /// The address does not exist here.
    Unknown,
    /// The account's mailbox is full.
    OverQuota,
}

impl RecipientOutcome {
    /// True when the message is durably somewhere for this recipient.
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            RecipientOutcome::Delivered(_)
                | RecipientOutcome::Queued
                | RecipientOutcome::DeliveredAndQueued(_)
        )
    }
}

/// Why delivery as a whole failed (nothing was stored).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    /// The sender domain's DKIM keys do not open: the message is not sent unsigned.
    #[error("{0}")]
    Dkim(String),
}

/// The delivery pipeline. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryPipeline {
    directory: Directory,
    dkim: dkim::Dkim,
    /// Send unsigned when a domain's keys do not open (`[dkim] on_key_error`).
    unsigned_on_key_error: bool,
}

impl DeliveryPipeline {
    /// A pipeline over `directory` (and its store).
    pub fn new(directory: Directory) -> DeliveryPipeline {
        DeliveryPipeline {
            directory,
            dkim: dkim::Dkim::default(),
            unsigned_on_key_error: false,
        }
    }

    /// What to do when a domain's DKIM keys do not open: send unsigned (`true`) or
    /// defer (the default).
    pub fn with_unsigned_on_key_error(mut self, unsigned: bool) -> DeliveryPipeline {
        self.unsigned_on_key_error = unsigned;
        self
    }

    /// The directory, for protocols that also need to resolve or authenticate.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Delivers `blob` (whose content is `raw`) to the envelope's recipients in one
    /// durable transaction. Returns one outcome per envelope recipient, in order.
    pub async fn deliver(
        &self,
        blob: StoredBlob,
        raw: &[u8],
        envelope: &Envelope,
    ) -> Result<Vec<RecipientOutcome>, DeliveryError> {
        if envelope.sign
            && let Some(signed) = self.dkim_sign(raw).await?
        {
            let blob = self.directory.store().blobs().put(signed.clone()).await?;
            return self.deliver_marked(blob, &signed, envelope, None).await;
        }
        self.deliver_marked(blob, raw, envelope, None).await
    }

    /// `raw` with `DKIM-Signature` fields in front when the domain of its `From` has
    /// keys (`None` when it has none or the message has no `From` domain).
    async fn dkim_sign(&self, raw: &[u8]) -> Result<Option<Vec<u8>>, DeliveryError> {
        let header_end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(raw.len(), |p| p + 4);
        let header = pillarbox_mime::parse(&raw[..header_end]);
        let Some(domain) = header
            .envelope
            .from
            .first()
            .and_then(|a| a.host.as_deref())
            .map(str::to_ascii_lowercase)
        else {
            return Ok(None);
        };
        let fields = match self.dkim.sign(self.directory.store(), &domain, raw).await {
            Ok(f) => f,
            Err(e) if self.unsigned_on_key_error => {
                tracing::warn!(domain = %domain, error = %e, "DKIM keys do not open; sent unsigned ([dkim] on_key_error)");
                return Ok(None);
            }
            Err(e) => {
                tracing::error!(domain = %domain, error = %e, "DKIM keys do not open; mail from the domain waits");
                return Err(DeliveryError::Dkim(e));
            }
        };
        if fields.is_empty() {
            return Ok(None);
        }
        let mut signed = fields;
        signed.extend_from_slice(raw);
        Ok(Some(signed))
    }

    /// [`DeliveryPipeline::deliver`] for a collected message: `mark` (the remote key)
    /// is recorded in the same transaction. Nothing is stored when the key was recorded
    /// before (`StoreError::AlreadyCollected`) or when the message went nowhere (the
    /// refusal, e.g. `StoreError::OverQuota`, comes back as the error).
    pub async fn deliver_collected(
        &self,
        blob: StoredBlob,
        raw: &[u8],
        envelope: &Envelope,
        mark: CollectedMark,
    ) -> Result<Vec<RecipientOutcome>, DeliveryError> {
        self.deliver_marked(blob, raw, envelope, Some(mark)).await
    }

    async fn deliver_marked(
        &self,
        blob: StoredBlob,
        raw: &[u8],
        envelope: &Envelope,
        mark: Option<CollectedMark>,
    ) -> Result<Vec<RecipientOutcome>, DeliveryError> {
        let parsed = pillarbox_mime::parse(raw);
        let structure = serde_json::to_vec(&parsed).unwrap_or_else(|_| b"{}".to_vec());
        let received_at = now();
        let trace = envelope
            .trace
            .clone()
            .unwrap_or_else(pillarbox_monitor::new_trace_id);

        // Resolve every recipient; one target per account even when several
        // recipients (or aliases) lead to it.
        let mut plans: Vec<Plan> = Vec::with_capacity(envelope.recipients.len());
        let mut targets: Vec<AccountId> = Vec::new();
        let mut addresses: Vec<String> = Vec::new();
        let mut remote: Vec<QueuedRecipient> = Vec::new();
        for r in &envelope.recipients {
            let resolution = match &r.resolved {
                Some(res) => res.clone(),
                None => self.directory.resolve(&r.address).await?,
            };
            let plan = match resolution {
                Resolution::NotLocal => {
                    push_remote(&mut remote, r, &r.address);
                    Plan::Remote
                }
                Resolution::Unknown => Plan::Unknown,
                Resolution::Deliver { local, remote: fwd } => {
                    let ids: Vec<AccountId> = local.iter().map(|a| a.id).collect();
                    for a in &local {
                        if !targets.contains(&a.id) {
                            targets.push(a.id);
                            addresses.push(a.address());
                        }
                    }
                    for f in &fwd {
                        push_remote(&mut remote, r, f);
                    }
                    Plan::Local {
                        accounts: ids,
                        forwarded: !fwd.is_empty(),
                    }
                }
            };
            plans.push(plan);
        }

        let local: Vec<LocalTarget> = targets
            .iter()
            .map(|id| LocalTarget {
                account: *id,
                mailbox: envelope.mailbox.clone(),
                flags: 0,
                keywords: String::new(),
                enforce_quota: envelope.enforce_quota,
            })
            .collect();
        let queue = (!remote.is_empty()).then(|| NewQueuedMessage {
            sender: envelope.sender.clone(),
            envid: envelope.envid.clone(),
            ret: envelope.ret.clone(),
            account: envelope.submitted_by,
            source: envelope.source.clone(),
            route: envelope.route.clone(),
            trace: Some(trace.clone()),
            recipients: remote,
        });
        let message = NewMessage {
            blob,
            structure,
            received_at,
        };
        let store = self.directory.store();
        let started = std::time::Instant::now();
        let stored = match mark {
            None => store.deliver(message, local, queue).await?,
            Some(mark) => store.deliver_collected(message, local, queue, mark).await?,
        };
        self.directory
            .monitor()
            .observe("store.deliver", started.elapsed());

        let mut refused: Vec<AccountId> = Vec::new();
        for (id, result) in targets.iter().zip(&stored.local) {
            if let Err(e) = result {
                tracing::warn!(account = %id, error = %e, "local delivery refused");
                refused.push(*id);
            }
        }
        self.record(
            &trace,
            envelope,
            &parsed.envelope,
            &addresses,
            &stored,
            raw.len(),
        );
        let outcomes = plans
            .into_iter()
            .map(|p| match p {
                Plan::Remote => RecipientOutcome::Queued,
                Plan::Unknown => RecipientOutcome::Unknown,
                Plan::Local {
                    accounts,
                    forwarded,
                } => {
                    let ok: Vec<AccountId> = accounts
                        .iter()
                        .copied()
                        .filter(|a| !refused.contains(a))
                        .collect();
                    match (ok.is_empty(), forwarded) {
                        (true, true) => RecipientOutcome::Queued,
                        (true, false) => RecipientOutcome::OverQuota,
                        (false, true) => RecipientOutcome::DeliveredAndQueued(ok),
                        (false, false) => RecipientOutcome::Delivered(ok),
                    }
                }
            })
            .collect();
        Ok(outcomes)
    }
}

impl DeliveryPipeline {
    /// Records what a delivery did: a trace step per mailbox and for the queue, the
    /// counters, an event per delivered copy, and the `message.new` webhook event.
    fn record(
        &self,
        trace: &str,
        envelope: &Envelope,
        header: &pillarbox_mime::Envelope,
        addresses: &[String],
        stored: &pillarbox_store::DeliveryOutcome,
        size: usize,
    ) {
        let m = self.directory.monitor();
        if !m.is_enabled() {
            return;
        }
        let message_id = header.message_id.clone().unwrap_or_default();
        let subject = header
            .subject
            .as_deref()
            .map(|s| pillarbox_mime::decode_encoded_words(s.as_bytes()))
            .unwrap_or_default();
        let mut keys: Vec<String> = envelope
            .recipients
            .iter()
            .map(|r| r.address.clone())
            .collect();
        if !message_id.is_empty() {
            keys.push(message_id.clone());
        }
        if !envelope.sender.is_empty() {
            keys.push(envelope.sender.clone());
        }
        for (address, result) in addresses.iter().zip(&stored.local) {
            let domain = address.rsplit_once('@').map(|(_, d)| d);
            match result {
                Ok(e) => {
                    let mailbox = envelope.mailbox.as_deref().unwrap_or("INBOX");
                    m.step(
                        trace,
                        "delivered",
                        serde_json::json!({ "account": address, "mailbox": mailbox, "uid": e.uid }),
                        std::mem::take(&mut keys),
                    );
                    m.count("delivered.local", domain, 1);
                    m.event(
                        pillarbox_monitor::NewEvent::new(
                            pillarbox_monitor::EventKind::MessageDelivered,
                            format!("delivered to {mailbox} of {address} (UID {})", e.uid),
                        )
                        .account(address)
                        .trace(trace),
                    );
                    m.hook(
                        "message.new",
                        Some(e.account),
                        serde_json::json!({
                            "account": address,
                            "mailbox": mailbox,
                            "uid": e.uid,
                            "from": envelope.sender,
                            "to": envelope.recipients.iter().map(|r| &r.address).collect::<Vec<_>>(),
                            "subject": subject,
                            "message_id": message_id,
                            "size": size,
                            "trace": trace,
                            "fetch": format!("imap://{address}/{mailbox};UID={}", e.uid),
                        }),
                    );
                }
                Err(err) => m.step(
                    trace,
                    "refused",
                    serde_json::json!({ "account": address, "error": err.to_string() }),
                    std::mem::take(&mut keys),
                ),
            }
        }
        if let Some(q) = stored.queued {
            keys.push(format!("queue:{}", q.0));
            m.step(
                trace,
                "queued",
                serde_json::json!({ "queue_id": q.0 }),
                keys,
            );
        }
        if stored.message.is_some() || stored.queued.is_some() {
            m.count("accepted", None, 1);
        }
    }

    /// Builds the notice `input` describes and delivers it to `input.to` (the original
    /// sender) with the null sender, so a notice never causes another. `source` says
    /// what it is about, for the logs.
    pub async fn send_notice(
        &self,
        input: &dsn::DsnInput<'_>,
        now: i64,
        source: String,
    ) -> Result<Vec<RecipientOutcome>, DeliveryError> {
        let boundary = format!("{:016x}.{now}", rand::random::<u64>());
        let bytes = dsn::build(input, now, &boundary);
        let blob = self.directory.store().blobs().put(bytes.clone()).await?;
        let envelope = Envelope {
            sender: String::new(),
            recipients: vec![Recipient::plain(input.to)],
            source,
            enforce_quota: false,
            sign: true,
            ..Default::default()
        };
        self.deliver(blob, &bytes, &envelope).await
    }
}

enum Plan {
    Remote,
    Unknown,
    Local {
        accounts: Vec<AccountId>,
        forwarded: bool,
    },
}

fn push_remote(remote: &mut Vec<QueuedRecipient>, r: &Recipient, address: &str) {
    if remote
        .iter()
        .any(|q| q.address.eq_ignore_ascii_case(address))
    {
        return;
    }
    remote.push(QueuedRecipient {
        address: address.to_string(),
        orcpt: r
            .orcpt
            .clone()
            .or_else(|| (address != r.address).then(|| format!("rfc822;{}", r.address))),
        notify: r.notify.clone(),
    });
}

/// Current time in seconds since the Unix epoch (arrival times, notices).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
