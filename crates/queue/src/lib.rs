//! The outbound queue: everything that leaves Pillarbox goes through it.
//!
//! Remote recipients are written to the queue tables by the delivery pipeline (in the
//! same transaction that accepted the message). The runner (`runner`) wakes exactly when
//! the next recipient is due (or when the store announces new work), leases due
//! recipients, groups them by route and destination, and hands each group to a delivery
//! task (`deliver`) that connects once and sends every message of the group. Results go
//! back to the store; permanent failures, expiry and (optionally) delays produce RFC
//! 3464 notices (`dsn`, `notices`) that go out through the same pipeline. Routes
//! (`route`) come from `[[queue.route]]`/`[[queue.rule]]`; MX lookups (`mx`) use the
//! configured nameservers; schedules, windows and rates are decided by pure code over an
//! injectable clock (`clock`, `schedule`, `rate`).
//!
//! This crate contains no SQL and speaks SMTP only through `pillarbox-client`.

pub mod clock;
mod collection_login;
mod deliver;
pub use pillarbox_delivery::dsn;
pub mod mx;
mod notices;
mod oauth;
mod popbefore;
pub mod rate;
mod record;
pub mod route;
mod runner;
pub mod schedule;

use std::collections::HashMap;
use std::sync::Arc;

use pillarbox_config::QueueSection;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_store::Store;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::mx::MxResolver;
use crate::rate::RateLimit;
use crate::route::RouteTable;
use crate::schedule::RetryPolicy;

/// Why the queue could not start.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue configuration: {0}")]
    Config(String),
    #[error("DNS resolver: {0}")]
    Resolver(#[from] mx::MxError),
}

/// What the queue needs from the configuration.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub queue: QueueSection,
    /// Our host name: EHLO default, Reporting-MTA, bounce sender domain.
    pub hostname: String,
}

pub(crate) struct Inner {
    pub store: Store,
    pub pipeline: DeliveryPipeline,
    pub config: QueueSection,
    pub hostname: String,
    pub bounce_from: String,
    pub routes: RouteTable,
    pub policy: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    pub mx: MxResolver,
    pub rates: HashMap<String, RateLimit>,
    pub scheduler: runner::Scheduler,
    pub transport: deliver::Transport,
}

/// The outbound queue service. Cheap to clone.
#[derive(Clone)]
pub struct OutboundQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OutboundQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundQueue").finish_non_exhaustive()
    }
}

impl OutboundQueue {
    /// Builds the queue over `pipeline` (and its store), with `clock` as "now".
    pub fn new(
        pipeline: DeliveryPipeline,
        settings: QueueSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<OutboundQueue, QueueError> {
        let q = settings.queue;
        let routes = RouteTable::new(&q);
        let rates = q
            .routes
            .iter()
            .filter_map(|r| {
                RateLimit::per_minute(&r.name, r.messages_per_minute).map(|l| (r.name.clone(), l))
            })
            .collect();
        let bounce_from = q.bounce_sender(&settings.hostname);
        let inner = Inner {
            store: pipeline.directory().store().clone(),
            mx: MxResolver::new(&q.resolver)?,
            scheduler: runner::Scheduler::new(&q)?,
            transport: deliver::Transport::new(&q, &settings.hostname)?,
            policy: RetryPolicy::from_config(&q),
            pipeline,
            routes,
            rates,
            bounce_from,
            hostname: settings.hostname,
            clock,
            config: q,
        };
        Ok(OutboundQueue {
            inner: Arc::new(inner),
        })
    }

    /// Runs the scheduler until `shutdown`; in-flight deliveries finish first.
    pub fn spawn(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(runner::run(self.inner.clone(), shutdown))
    }
}
