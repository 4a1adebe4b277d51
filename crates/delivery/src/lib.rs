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
}

/// The delivery pipeline. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryPipeline {
    directory: Directory,
}

impl DeliveryPipeline {
    /// A pipeline over `directory` (and its store).
    pub fn new(directory: Directory) -> DeliveryPipeline {
        DeliveryPipeline { directory }
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
        self.deliver_marked(blob, raw, envelope, None).await
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
        let structure =
            serde_json::to_vec(&pillarbox_mime::parse(raw)).unwrap_or_else(|_| b"{}".to_vec());
        let received_at = now();

        // Resolve every recipient; one target per account even when several
        // recipients (or aliases) lead to it.
        let mut plans: Vec<Plan> = Vec::with_capacity(envelope.recipients.len());
        let mut targets: Vec<AccountId> = Vec::new();
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
                    for id in &ids {
                        if !targets.contains(id) {
                            targets.push(*id);
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
            recipients: remote,
        });
        let message = NewMessage {
            blob,
            structure,
            received_at,
        };
        let store = self.directory.store();
        let stored = match mark {
            None => store.deliver(message, local, queue).await?,
            Some(mark) => store.deliver_collected(message, local, queue, mark).await?,
        };

        let mut refused: Vec<AccountId> = Vec::new();
        for (id, result) in targets.iter().zip(&stored.local) {
            if let Err(e) = result {
                tracing::warn!(account = %id, error = %e, "local delivery refused");
                refused.push(*id);
            }
        }
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
