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
mod sieve;

use std::collections::HashMap;

use pillarbox_directory::{Directory, Resolution};
use pillarbox_store::{
    AccountId, CollectedMark, LocalTarget, NewMessage, NewQueuedMessage, QueuedRecipient,
    SieveForDelivery, SieveScript, StoreError, StoredBlob,
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
    /// What the content scanners made of it (`None`: not scanned).
    pub scan: Option<ScanVerdict>,
}

/// What the content scanners made of a message, for the Junk decision of each
/// recipient and for Sieve's `spamtest`/`virustest` (RFC 5235).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScanVerdict {
    /// The spam score (rspamd's and the milters', plus DNS list weights), if a spam
    /// scanner ran.
    pub spam_score: Option<f64>,
    /// Whether the antivirus found something (`None`: not scanned).
    pub infected: Option<bool>,
}

/// The scores at which mail goes to Junk and is refused (`[scan]`), for RFC 5235's
/// scale and the Junk decision.
#[derive(Debug, Clone)]
pub struct SpamPolicy {
    pub junk_score: f64,
    pub reject_score: f64,
    /// Junk scores of domains (`[[scan.domain]]`), lower-case names.
    pub domain_junk: HashMap<String, f64>,
}

impl Default for SpamPolicy {
    fn default() -> Self {
        SpamPolicy {
            junk_score: 6.0,
            reject_score: 15.0,
            domain_junk: HashMap::new(),
        }
    }
}

impl SpamPolicy {
    /// RFC 5235 §3.2/§3.3: `spamtest` 1 (clean) to 10 (the refusal score), and its
    /// percentage.
    pub fn sieve_score(&self, score: f64) -> pillarbox_sieve::SpamScore {
        let scale = if self.reject_score > 0.0 {
            self.reject_score
        } else {
            15.0
        };
        let ratio = (score / scale).clamp(0.0, 1.0);
        pillarbox_sieve::SpamScore {
            score: if score <= 0.0 {
                1
            } else {
                (1.0 + (9.0 * ratio).ceil()).min(10.0) as u8
            },
            percent: (100.0 * ratio).round() as u8,
        }
    }
}

/// The name of the setting holding an account's own Junk score.
pub fn junk_score_setting(address: &str) -> String {
    format!("spam:junk_score:{}", address.to_ascii_lowercase())
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
    /// A Sieve script refused the message (`reject`, `ereject`), with its reason.
    Rejected(String),
    /// A Sieve script discarded the message: accepted, stored nowhere.
    Discarded,
}

impl RecipientOutcome {
    /// True when the message is durably somewhere for this recipient.
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            RecipientOutcome::Delivered(_)
                | RecipientOutcome::Queued
                | RecipientOutcome::DeliveredAndQueued(_)
                | RecipientOutcome::Discarded
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
    /// Compiled Sieve scripts.
    scripts: sieve::ScriptCache,
    /// This server's name (Message-IDs of vacation replies and notifications).
    hostname: String,
    /// Run Sieve scripts (`[sieve] enabled`).
    sieve: bool,
    /// Active scripts by account, with the generation they were read at.
    personal: std::sync::Arc<std::sync::Mutex<HashMap<AccountId, (i64, SieveScript)>>>,
    /// The server-wide scripts and when they were read.
    server: std::sync::Arc<std::sync::Mutex<Option<ServerScripts>>>,
    /// How long the server-wide scripts are used before they are read again.
    server_refresh: std::time::Duration,
    /// Junk and refusal scores.
    spam: std::sync::Arc<SpamPolicy>,
}

impl DeliveryPipeline {
    /// A pipeline over `directory` (and its store).
    pub fn new(directory: Directory) -> DeliveryPipeline {
        DeliveryPipeline {
            directory,
            dkim: dkim::Dkim::default(),
            unsigned_on_key_error: false,
            scripts: sieve::ScriptCache::default(),
            hostname: "localhost".to_string(),
            sieve: true,
            personal: Default::default(),
            server: Default::default(),
            server_refresh: std::time::Duration::from_secs(10),
            spam: Default::default(),
        }
    }

    /// The scores at which scanned mail goes to Junk (`[scan]`).
    pub fn with_spam_policy(mut self, policy: SpamPolicy) -> DeliveryPipeline {
        self.spam = std::sync::Arc::new(policy);
        self
    }

    /// The scores at which scanned mail goes to Junk.
    pub fn spam_policy(&self) -> &SpamPolicy {
        &self.spam
    }

    /// Whether a message scoring `score` goes to the Junk mailbox of `address`: its own
    /// score (`pillarbox spam threshold`), else its domain's, else the server's.
    async fn is_junk(&self, address: &str, score: f64) -> bool {
        let own = match self
            .directory
            .store()
            .setting(&junk_score_setting(address))
            .await
        {
            Ok(v) => v.and_then(|v| v.trim().parse::<f64>().ok()),
            Err(e) => {
                tracing::warn!(account = %address, error = %e, "cannot read the account's Junk score");
                None
            }
        };
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let threshold = own
            .or_else(|| {
                self.spam
                    .domain_junk
                    .get(&domain.to_ascii_lowercase())
                    .copied()
            })
            .unwrap_or(self.spam.junk_score);
        score >= threshold
    }

    /// Whether Sieve scripts run at delivery (on by default), and how long the
    /// server-wide scripts are used before they are read again (`[sieve]`).
    pub fn with_sieve(mut self, enabled: bool, refresh: std::time::Duration) -> DeliveryPipeline {
        self.sieve = enabled;
        self.server_refresh = refresh;
        self
    }

    /// This server's host name, for the Message-IDs of the mail Sieve sends.
    pub fn with_hostname(mut self, hostname: &str) -> DeliveryPipeline {
        self.hostname = hostname.to_string();
        self
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
        let mut targets: Vec<Target> = Vec::new();
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
                        if !targets.iter().any(|t| t.account == a.id) {
                            targets.push(Target {
                                account: a.id,
                                address: a.address(),
                                rcpt: r.clone(),
                                generation: a.sieve_generation,
                            });
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

        // Sieve decides, per account, where the message goes.
        let store = self.directory.store();
        let decisions = self.filter(&targets, raw, envelope).await?;

        let mut local: Vec<LocalTarget> = Vec::new();
        let mut owners: Vec<Owner> = Vec::new();
        let mut edited: Vec<(usize, sieve::FiledCopy)> = Vec::new();
        let mut status: Vec<Status> = Vec::with_capacity(targets.len());
        for (i, (t, d)) in targets.iter().zip(&decisions).enumerate() {
            status.push(
                match (&d.reject, d.copies.is_empty(), d.redirects.is_empty()) {
                    (Some(reason), true, true) => Status::Rejected(reason.clone()),
                    (_, true, false) => Status::Redirected,
                    (_, true, true) => Status::Discarded,
                    _ => Status::Refused,
                },
            );
            let junk = match envelope.scan.and_then(|v| v.spam_score) {
                Some(score) if envelope.mailbox.is_none() && score > 0.0 => {
                    self.is_junk(&t.address, score).await
                }
                _ => false,
            };
            for c in &d.copies {
                let mailbox = c
                    .mailbox
                    .clone()
                    .or_else(|| envelope.mailbox.clone())
                    .or_else(|| junk.then(|| "Junk".to_string()));
                if c.create
                    && let Some(name) = &c.mailbox
                    && store.mailbox_get(t.account, name).await?.is_none()
                    && let Err(e) = store.mailbox_create(t.account, name, None).await
                {
                    tracing::warn!(account = %t.address, mailbox = %name, error = %e, "fileinto :create could not create the mailbox");
                }
                if c.edited.is_some() {
                    edited.push((i, c.clone()));
                    continue;
                }
                local.push(LocalTarget {
                    account: t.account,
                    mailbox: mailbox.clone(),
                    flags: c.flags,
                    keywords: c.keywords.clone(),
                    enforce_quota: envelope.enforce_quota,
                });
                owners.push(Owner {
                    target: Some(i),
                    address: t.address.clone(),
                    mailbox: mailbox.unwrap_or_else(|| "INBOX".to_string()),
                });
            }
            for (address, _) in &d.redirects {
                match self.directory.resolve(address).await? {
                    Resolution::NotLocal => push_remote(&mut remote, &t.rcpt, address),
                    Resolution::Unknown => {
                        tracing::warn!(account = %t.address, to = %address, "Sieve redirect to an unknown local address dropped");
                    }
                    Resolution::Deliver {
                        local: accounts,
                        remote: fwd,
                    } => {
                        for a in accounts {
                            local.push(LocalTarget {
                                account: a.id,
                                mailbox: None,
                                flags: 0,
                                keywords: String::new(),
                                enforce_quota: envelope.enforce_quota,
                            });
                            owners.push(Owner {
                                target: None,
                                address: a.address(),
                                mailbox: "INBOX".to_string(),
                            });
                        }
                        for f in &fwd {
                            push_remote(&mut remote, &t.rcpt, f);
                        }
                    }
                }
            }
        }

        let sender = self.forwarding_sender(envelope, &plans, &remote).await?;
        let queue = (!remote.is_empty()).then(|| NewQueuedMessage {
            sender,
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
        let started = std::time::Instant::now();
        let mut stored = match mark {
            None if local.is_empty() && queue.is_none() => pillarbox_store::DeliveryOutcome {
                message: None,
                local: Vec::new(),
                queued: None,
            },
            None => store.deliver(message, local, queue).await?,
            Some(mark) => store.deliver_collected(message, local, queue, mark).await?,
        };
        self.directory
            .monitor()
            .observe("store.deliver", started.elapsed());

        let mut results: Vec<(Owner, Result<pillarbox_store::DeliveredEntry, StoreError>)> = owners
            .into_iter()
            .zip(std::mem::take(&mut stored.local))
            .collect();
        // Copies `editheader` changed are other messages: stored after the original,
        // each in its own transaction.
        for (i, copy) in edited {
            let t = &targets[i];
            let bytes = copy.edited.as_deref().unwrap_or(raw);
            let mailbox = copy.mailbox.clone().or_else(|| envelope.mailbox.clone());
            let result = self
                .store_copy(bytes, t.account, &mailbox, &copy, envelope.enforce_quota)
                .await;
            let owner = Owner {
                target: Some(i),
                address: t.address.clone(),
                mailbox: mailbox.unwrap_or_else(|| "INBOX".to_string()),
            };
            results.push((owner, result));
        }
        for (owner, result) in &results {
            match (result, owner.target) {
                (Ok(_), Some(i)) => status[i] = Status::Stored,
                (Err(e), _) => {
                    tracing::warn!(account = %owner.address, error = %e, "local delivery refused")
                }
                _ => {}
            }
        }
        self.record(
            &trace,
            envelope,
            &parsed.envelope,
            &results,
            &stored,
            raw.len(),
        );
        self.after_filter(&targets, decisions, &status, &trace)
            .await;

        let outcomes = plans
            .into_iter()
            .map(|p| match p {
                Plan::Remote => RecipientOutcome::Queued,
                Plan::Unknown => RecipientOutcome::Unknown,
                Plan::Local {
                    accounts,
                    forwarded,
                } => {
                    let of = |a: &AccountId| {
                        targets
                            .iter()
                            .position(|t| t.account == *a)
                            .map(|i| &status[i])
                    };
                    let ok: Vec<AccountId> = accounts
                        .iter()
                        .copied()
                        .filter(|a| matches!(of(a), Some(Status::Stored)))
                        .collect();
                    let queued = forwarded
                        || accounts
                            .iter()
                            .any(|a| matches!(of(a), Some(Status::Redirected)));
                    let rejected = accounts.iter().find_map(|a| match of(a) {
                        Some(Status::Rejected(r)) => Some(r.clone()),
                        _ => None,
                    });
                    let discarded = accounts
                        .iter()
                        .any(|a| matches!(of(a), Some(Status::Discarded)));
                    match (ok.is_empty(), queued) {
                        (false, true) => RecipientOutcome::DeliveredAndQueued(ok),
                        (false, false) => RecipientOutcome::Delivered(ok),
                        (true, true) => RecipientOutcome::Queued,
                        (true, false) if discarded => RecipientOutcome::Discarded,
                        (true, false) => match rejected {
                            Some(r) => RecipientOutcome::Rejected(r),
                            None => RecipientOutcome::OverQuota,
                        },
                    }
                }
            })
            .collect();
        Ok(outcomes)
    }

    /// The envelope sender for the queue: rewritten with SRS when every remote
    /// recipient is a forward (an alias pointing outside, a Sieve redirect, a bounce to
    /// an SRS address, collected mail forwarded downstream on its route) and the
    /// sender's domain is not ours, so the next server's SPF check judges our domain;
    /// as it came otherwise.
    async fn forwarding_sender(
        &self,
        envelope: &Envelope,
        plans: &[Plan],
        remote: &[QueuedRecipient],
    ) -> Result<String, StoreError> {
        let sender = &envelope.sender;
        let Some(srs) = self.directory.srs() else {
            return Ok(sender.clone());
        };
        // Collection's downstream forwarding names its route; its recipients are given
        // directly, but it is forwarding all the same.
        let forwarding =
            envelope.route.is_some() || !plans.iter().any(|p| matches!(p, Plan::Remote));
        if remote.is_empty() || sender.is_empty() || !forwarding {
            return Ok(sender.clone());
        }
        let Some((_, domain)) = sender.rsplit_once('@') else {
            return Ok(sender.clone());
        };
        if self.directory.store().domain_get(domain).await?.is_some() {
            return Ok(sender.clone());
        }
        Ok(srs.forward(sender, now()))
    }

    /// Runs the Sieve scripts of every local account (the implicit keep for those
    /// without any).
    async fn filter(
        &self,
        targets: &[Target],
        raw: &[u8],
        envelope: &Envelope,
    ) -> Result<Vec<sieve::Decision>, DeliveryError> {
        let keep = || targets.iter().map(|_| sieve::Decision::keep()).collect();
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        if !self.sieve {
            return Ok(keep());
        }
        let store = self.directory.store();
        let found = self.scripts_of(targets).await?;
        if found.personal.is_empty() && found.server.is_empty() {
            return Ok(keep());
        }
        let cx = sieve::RunContext {
            store,
            cache: &self.scripts,
            found: &found,
            raw,
            sender: &envelope.sender,
            hostname: &self.hostname,
            now: now(),
            spam: envelope
                .scan
                .and_then(|v| v.spam_score)
                .map(|s| self.spam.sieve_score(s)),
            // RFC 5235 §3.4: 1 clean, 5 infected (not removed).
            virus: envelope
                .scan
                .and_then(|v| v.infected)
                .map(|i| if i { 5 } else { 1 }),
        };
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            out.push(sieve::decide(&cx, t.account, &t.address, &t.rcpt.address).await?);
        }
        Ok(out)
    }

    /// The scripts that apply to `targets`, from memory when it is current: an
    /// account's active script is read again only when its generation changed, the
    /// server-wide scripts once per `server_refresh`. An account without a script and
    /// a server without server-wide scripts cost no read at all.
    async fn scripts_of(&self, targets: &[Target]) -> Result<SieveForDelivery, StoreError> {
        let now = std::time::Instant::now();
        let server = self.server.lock().ok().and_then(|s| {
            s.as_ref()
                .filter(|(at, _)| now.duration_since(*at) < self.server_refresh)
                .map(|(_, v)| v.clone())
        });
        let missing: Vec<AccountId> = {
            let cache = self
                .personal
                .lock()
                .map_err(|_| StoreError::NotFound("cache"))?;
            targets
                .iter()
                .filter(|t| t.generation != 0)
                .filter(|t| {
                    cache
                        .get(&t.account)
                        .is_none_or(|(g, _)| *g != t.generation)
                })
                .map(|t| t.account)
                .collect()
        };
        let server = match server {
            Some(s) if missing.is_empty() => s,
            _ => {
                let fetched = self.directory.store().sieve_for_delivery(missing).await?;
                if let Ok(mut cache) = self.personal.lock() {
                    if cache.len() > 100_000 {
                        cache.clear();
                    }
                    for (account, script) in fetched.personal {
                        if let Some(t) = targets.iter().find(|t| t.account == account) {
                            cache.insert(account, (t.generation, script));
                        }
                    }
                }
                if let Ok(mut s) = self.server.lock() {
                    *s = Some((now, fetched.server.clone()));
                }
                fetched.server
            }
        };
        let personal = match self.personal.lock() {
            Ok(cache) => targets
                .iter()
                .filter(|t| t.generation != 0)
                .filter_map(|t| {
                    cache
                        .get(&t.account)
                        .filter(|(g, _)| *g == t.generation)
                        .map(|(_, s)| (t.account, s.clone()))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        Ok(SieveForDelivery { personal, server })
    }

    /// Stores one copy changed by `editheader` (a message of its own).
    async fn store_copy(
        &self,
        bytes: &[u8],
        account: AccountId,
        mailbox: &Option<String>,
        copy: &sieve::FiledCopy,
        enforce_quota: bool,
    ) -> Result<pillarbox_store::DeliveredEntry, StoreError> {
        let store = self.directory.store();
        let blob = store.blobs().put(bytes.to_vec()).await?;
        let parsed = pillarbox_mime::parse(bytes);
        let message = NewMessage {
            blob,
            structure: serde_json::to_vec(&parsed).unwrap_or_else(|_| b"{}".to_vec()),
            received_at: now(),
        };
        let target = LocalTarget {
            account,
            mailbox: mailbox.clone(),
            flags: copy.flags,
            keywords: copy.keywords.clone(),
            enforce_quota,
        };
        let mut out = store.deliver(message, vec![target], None).await?;
        out.local
            .pop()
            .unwrap_or(Err(StoreError::NotFound("message")))
    }

    /// Once the message is stored: remembers what the scripts asked to, sends their
    /// vacation replies and notifications, and logs what they did. Never fails the
    /// delivery (it is durable already): what cannot be sent is logged.
    async fn after_filter(
        &self,
        targets: &[Target],
        decisions: Vec<sieve::Decision>,
        status: &[Status],
        trace: &str,
    ) {
        let store = self.directory.store();
        let m = self.directory.monitor();
        let now = now();
        for ((t, d), st) in targets.iter().zip(decisions).zip(status) {
            if let Some(why) = &d.failure {
                tracing::warn!(account = %t.address, error = %why, "Sieve failed; message kept");
                m.event(
                    pillarbox_monitor::NewEvent::new(
                        pillarbox_monitor::EventKind::SieveFailed,
                        format!("{why}; the message was kept"),
                    )
                    .account(&t.address)
                    .trace(trace),
                );
            }
            if !d.summary.is_empty() {
                m.step(
                    trace,
                    "sieve",
                    serde_json::json!({ "account": t.address, "actions": d.summary }),
                    Vec::new(),
                );
            }
            if matches!(st, Status::Rejected(_) | Status::Refused) {
                continue;
            }
            let mut memory = d.memory;
            for v in d.vacations {
                if v.suppressed.is_some() {
                    continue;
                }
                let key = sieve::vacation_key(&v.handle, &v.recipient);
                if v.period > 0 {
                    match store
                        .sieve_memory_has(t.account, vec![key.clone()], now)
                        .await
                    {
                        Ok(seen) if !seen.is_empty() => continue,
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(account = %t.address, error = %e, "vacation not sent: its record cannot be read");
                            continue;
                        }
                    }
                    let until = now.saturating_add(i64::try_from(v.period).unwrap_or(i64::MAX));
                    memory.push((key, until));
                }
                let bytes = sieve::vacation_message(&v, &self.hostname, now);
                self.send_generated(bytes, &v.recipient, "sieve vacation", &t.address)
                    .await;
            }
            for n in d.notifications {
                let from = n.from.clone().unwrap_or_else(|| t.address.clone());
                let bytes = sieve::notification_message(&n, &from, &self.hostname, now);
                for r in &n.recipients {
                    self.send_generated(bytes.clone(), r, "sieve notify", &t.address)
                        .await;
                }
            }
            if !memory.is_empty()
                && let Err(e) = store.sieve_memory_put(t.account, memory, now).await
            {
                tracing::warn!(account = %t.address, error = %e, "Sieve memory not recorded");
            }
        }
    }

    /// Sends mail a script generated (vacation, notification) with the null sender,
    /// so that it never causes a reply or a bounce in turn.
    async fn send_generated(&self, bytes: Vec<u8>, to: &str, source: &str, account: &str) {
        let envelope = Envelope {
            sender: String::new(),
            recipients: vec![Recipient::plain(to)],
            source: format!("{source} {account}"),
            enforce_quota: false,
            sign: true,
            ..Default::default()
        };
        let sent = async {
            let blob = self.directory.store().blobs().put(bytes.clone()).await?;
            Box::pin(self.deliver(blob, &bytes, &envelope)).await
        }
        .await;
        match sent {
            Ok(_) => tracing::info!(account = %account, to = %to, "{source} sent"),
            Err(e) => tracing::warn!(account = %account, to = %to, error = %e, "{source} not sent"),
        }
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
        results: &[(Owner, Result<pillarbox_store::DeliveredEntry, StoreError>)],
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
        for (owner, result) in results {
            let address = &owner.address;
            let domain = address.rsplit_once('@').map(|(_, d)| d);
            match result {
                Ok(e) => {
                    let mailbox = owner.mailbox.as_str();
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

/// The server-wide scripts as `(setting, source)` and when they were read.
type ServerScripts = (std::time::Instant, Vec<(String, String)>);

/// A local account the message goes to, and the recipient that led to it.
struct Target {
    account: AccountId,
    address: String,
    rcpt: Recipient,
    /// The account's `sieve_generation` (0: no active script).
    generation: i64,
}

/// Whose copy a stored entry is: the target's (by index) or a redirect's.
struct Owner {
    target: Option<usize>,
    address: String,
    mailbox: String,
}

/// What became of the message for one target account.
enum Status {
    /// At least one copy is stored.
    Stored,
    /// Forwarded by Sieve, nothing stored.
    Redirected,
    /// Discarded by Sieve.
    Discarded,
    /// Refused by Sieve, with its reason.
    Rejected(String),
    /// Every copy was refused by the store (quota).
    Refused,
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
