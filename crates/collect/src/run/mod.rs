//! One collection run of one account: checks the owner may collect (MultiPOP), takes
//! the account's run lease (one run at a time, across processes), makes sure the
//! destination folder exists, runs the protocol (`pop3`, `imap`), and records the
//! result. Messages are stored through `deliver` (the delivery pipeline, remote key
//! in the same transaction); remote messages are deleted or flagged only afterwards.
//!
//! Never deletes or flags a remote message whose local copy is not committed, and
//! never lets a failure lose what was collected before it (the summary says how far
//! the run got).

mod deliver;
mod imap;
mod pop3;

use std::sync::Arc;
use std::time::Instant;

use pillarbox_client::imap::ImapError;
use pillarbox_client::pop3::Pop3Error;
use pillarbox_config::CollectSection;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_store::StoreError;
use serde::Serialize;

use crate::account::{AuthMethod, Destination, Protocol};
use crate::codepage::CodePage;
use crate::connect::TokenCache;
use crate::registry::{RemoteAccount, check_owner};

pub(crate) use deliver::{Delivered, Deliverer, DeliverySettings, Done};

/// How long a run holds its lease at most (a crashed run frees the account then).
const LEASE_SECS: i64 = 4 * 3600;

/// The limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    pub max_message_size: usize,
    pub in_flight: usize,
    pub fetch_batch: usize,
}

impl RunLimits {
    pub fn from_config(c: &CollectSection) -> RunLimits {
        RunLimits {
            max_message_size: usize::try_from(c.max_message_size.0).unwrap_or(usize::MAX),
            in_flight: c.deliveries_in_flight,
            fetch_batch: c.fetch_batch,
        }
    }
}

/// Told about a run's progress (the CLI's progress bar).
pub trait Progress: Send + Sync {
    /// `messages` new messages (of `bytes` octets when known) are to be collected.
    fn listed(&self, _messages: u64, _bytes: Option<u64>) {}
    /// One more message (of `bytes` octets) is stored.
    fn collected(&self, _bytes: u64) {}
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;
impl Progress for Quiet {}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Messages listed on the server (in the collected folders).
    pub on_server: u64,
    /// Of those, not collected before.
    pub new: u64,
    /// Stored by this run.
    pub collected: u64,
    /// Found stored already (a key recorded by an earlier, interrupted run).
    pub already: u64,
    /// Octets stored by this run.
    pub bytes: u64,
    /// Deleted on the server (POP3 DELE committed by QUIT; IMAP expunged).
    pub deleted: u64,
    /// Flagged `\Seen` on the server.
    pub flagged: u64,
    /// Remote keys forgotten because their messages are gone from the server.
    pub forgotten: u64,
    pub millis: u64,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("collection not allowed: {0}")]
    NotAllowed(String),
    #[error("another run of this account is in progress")]
    Busy,
    #[error("account is disabled")]
    Disabled,
    #[error("settings: {0}")]
    Config(String),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("POP3: {0}")]
    Pop3(#[from] Pop3Error),
    #[error("IMAP: {0}")]
    Imap(#[from] ImapError),
    #[error("storing a message failed: {0}")]
    Delivery(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A run's summary and, when it stopped early, why.
#[derive(Debug)]
pub struct RunReport {
    pub summary: RunSummary,
    pub error: Option<RunError>,
}

impl RunReport {
    /// One line for logs and listings.
    pub fn line(&self) -> String {
        let s = &self.summary;
        let mut text = format!(
            "{} new of {} on the server, {} collected ({} bytes), {} deleted, {} flagged seen",
            s.new, s.on_server, s.collected, s.bytes, s.deleted, s.flagged
        );
        if s.already > 0 {
            text.push_str(&format!(", {} already stored", s.already));
        }
        if let Some(e) = &self.error {
            text.push_str(&format!("; stopped: {e}"));
        }
        text
    }

    /// The JSON kept as the account's last result.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "ok": self.error.is_none(),
            "summary": self.summary,
            "error": self.error.as_ref().map(|e| e.to_string()),
            "line": self.line(),
        })
        .to_string()
    }
}

/// Runs collections: what every run shares.
#[derive(Debug, Clone)]
pub struct Runner {
    pub pipeline: DeliveryPipeline,
    /// The host name in the `Received:` line added to collected mail.
    pub hostname: String,
    pub limits: RunLimits,
    pub tokens: Arc<TokenCache>,
    /// Antivirus and spam scanners (`[scan]`), when collected mail is scanned.
    pub scanners: Option<Arc<pillarbox_scan::policy::Scanners>>,
}

/// What one protocol run needs.
pub(crate) struct Job<'a> {
    pub runner: &'a Runner,
    pub account: &'a RemoteAccount,
    pub progress: &'a dyn Progress,
    pub delivery: DeliverySettings,
}

impl Runner {
    /// Collects `account` once and records the result.
    pub async fn run(&self, account: &RemoteAccount, progress: &dyn Progress) -> RunReport {
        let started = Instant::now();
        let store = self.pipeline.directory().store().clone();
        let now = crate::now();
        match store
            .collection_lease(account.id, now, now + LEASE_SECS)
            .await
        {
            Ok(true) => {}
            Ok(false) => return report(RunSummary::default(), Some(RunError::Busy)),
            Err(e) => return report(RunSummary::default(), Some(e.into())),
        }
        let mut summary = RunSummary::default();
        let result = self.run_leased(account, progress, &mut summary).await;
        summary.millis = started.elapsed().as_millis() as u64;
        let report = report(summary, result.err());
        if let Err(e) = store
            .collection_finish_run(
                account.id,
                crate::now(),
                report.to_json(),
                report.error.is_none(),
            )
            .await
        {
            tracing::warn!(account = %account.name, error = %e, "collect: cannot record the run");
        }
        let owner = store
            .account_get_by_id(account.owner)
            .await
            .ok()
            .flatten()
            .map(|a| a.address());
        let (kind, text) = match &report.error {
            None => (
                pillarbox_monitor::EventKind::CollectionRun,
                format!("collection {}: {}", account.name, report.line()),
            ),
            Some(e) => (
                pillarbox_monitor::EventKind::CollectionFailed,
                format!(
                    "collection {}: failed: {e} ({})",
                    account.name,
                    report.line()
                ),
            ),
        };
        let mut event = pillarbox_monitor::NewEvent::new(kind, text);
        if let Some(o) = &owner {
            event = event.account(o);
        }
        self.pipeline.directory().monitor().event(event);
        report
    }

    async fn run_leased(
        &self,
        account: &RemoteAccount,
        progress: &dyn Progress,
        summary: &mut RunSummary,
    ) -> Result<(), RunError> {
        let directory = self.pipeline.directory();
        let store = directory.store();
        let owner = store
            .account_get_by_id(account.owner)
            .await?
            .ok_or_else(|| RunError::NotAllowed("the owning account no longer exists".into()))?;
        check_owner(directory, &owner).map_err(|e| RunError::NotAllowed(e.to_string()))?;
        let s = &account.settings;
        if let Destination::Folder { name } = &s.destination
            && !name.eq_ignore_ascii_case("INBOX")
            && store.mailbox_get(owner.id, name).await?.is_none()
        {
            match store.mailbox_create(owner.id, name, None).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let code_page = match &s.code_page {
            Some(cp) => Some(CodePage::parse(cp).map_err(RunError::Config)?),
            None => None,
        };
        let job = Job {
            runner: self,
            account,
            progress,
            delivery: DeliverySettings {
                pipeline: self.pipeline.clone(),
                collection: account.id,
                name: account.name.clone(),
                owner_address: owner.address(),
                remote_address: s.remote_address.clone(),
                hostname: self.hostname.clone(),
                protocol: s.protocol,
                server: s.host.clone(),
                code_page,
                destination: s.destination.clone(),
                scanners: self.scanners.clone().filter(|sc| sc.scans("collect")),
                owner: owner.id,
            },
        };
        let result = match s.protocol {
            Protocol::Pop3 => pop3::run(job, summary).await,
            Protocol::Imap => imap::run(job, summary).await,
        };
        if let Err(e) = &result {
            let auth = match e {
                RunError::Pop3(p) => p.is_auth_failure(),
                RunError::Imap(i) => i.is_auth_failure(),
                _ => false,
            };
            if auth && matches!(s.auth, AuthMethod::OAuth2 { .. }) {
                self.tokens.invalidate(account.id);
            }
        }
        result
    }
}

fn report(summary: RunSummary, error: Option<RunError>) -> RunReport {
    RunReport { summary, error }
}

/// Tallies finished deliveries: durable tags go to `durable`; the first failure is
/// kept in `failure`.
pub(crate) fn tally<T>(
    done: Vec<Done<T>>,
    summary: &mut RunSummary,
    progress: &dyn Progress,
    durable: &mut Vec<T>,
    failure: &mut Option<RunError>,
) {
    for (tag, size, d) in done {
        match d {
            Delivered::Stored => {
                summary.collected += 1;
                summary.bytes += size;
                progress.collected(size);
                durable.push(tag);
            }
            Delivered::AlreadyCollected => {
                summary.already += 1;
                durable.push(tag);
            }
            Delivered::Failed(e) => {
                if failure.is_none() {
                    *failure = Some(RunError::Delivery(e));
                }
            }
        }
    }
}

/// With leave-on-server and "delete after `days` days": whether a message collected at
/// `collected_at` (seconds since the epoch; `None`: not collected by us) may go now.
/// Never a message we have not stored.
pub(crate) fn due_for_deletion(collected_at: Option<i64>, days: u32, now: i64) -> bool {
    collected_at.is_some_and(|at| at <= now - i64::from(days) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::due_for_deletion;

    #[test]
    fn messages_go_only_after_their_days_and_only_when_we_stored_them() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert!(!due_for_deletion(None, 3, now));
        assert!(!due_for_deletion(Some(now), 3, now));
        assert!(!due_for_deletion(Some(now - 3 * day + 1), 3, now));
        assert!(due_for_deletion(Some(now - 3 * day), 3, now));
        assert!(due_for_deletion(Some(now - 30 * day), 3, now));
        // A clock set back never makes a fresh message due.
        assert!(!due_for_deletion(Some(now + day), 1, now));
    }
}
