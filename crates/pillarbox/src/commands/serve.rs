//! `pillarbox serve`: opens the store, loads TLS, binds every configured listener, runs
//! the protocol services, and handles SIGHUP (certificate reload) and SIGTERM/SIGINT
//! (graceful shutdown).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use pillarbox_config::{Config, ListenSection, LogFormat};
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_directory::Directory;
use pillarbox_net::{AcceptContext, ConnectionLimits, ServerTls, Shutdown};
use pillarbox_store::{Role, Store};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::args::LogFormatArg;
use crate::logging;
use crate::services::ServiceContext;

/// The listeners, as (config key, addresses) in start-up order.
fn listener_table(l: &mut ListenSection) -> Vec<(&'static str, &mut Vec<SocketAddr>)> {
    vec![
        ("smtp", &mut l.smtp),
        ("submission", &mut l.submission),
        ("submissions", &mut l.submissions),
        ("imap", &mut l.imap),
        ("imaps", &mut l.imaps),
        ("pop3", &mut l.pop3),
        ("pop3s", &mut l.pop3s),
        ("http", &mut l.http),
        ("https", &mut l.https),
    ]
}

pub async fn run(config: Config, log_format: Option<LogFormatArg>) -> Result<()> {
    let format = match log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => config.log.format,
    };
    logging::init(format, &config.log.level);
    // Installed before anything is announced: a SIGTERM that arrives right after
    // "Pillarbox is running" must be a graceful stop, not the default kill.
    let mut signals = Signals::install()?;

    let data_dir = &config.server.data_dir;
    let store = super::open_store(&config, Role::Server)
        .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?;
    tracing::info!(data_dir = %data_dir.display(), "store opened");
    let _poller = store.spawn_change_poller(Duration::from_millis(250));
    let tls = ServerTls::load(&config.tls, data_dir, &config.server.hostname)?;
    tracing::info!(
        certificate = %tls.certificate_path().display(),
        generated = tls.is_generated(),
        min_version = %config.tls.min_version,
        "TLS ready"
    );
    let directory = Directory::new(store.clone(), config.network.lan.clone(), &config.auth);
    let shutdown = Shutdown::new();
    let accept = AcceptContext {
        tls: tls.clone(),
        limits: ConnectionLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        ),
        shutdown: shutdown.clone(),
        handshake_timeout: config.limits.tls_handshake_timeout.get(),
    };
    // Bind everything first: the services are told the addresses actually bound (a
    // port 0 becomes the port the system chose), which the client profiles publish.
    let mut listeners = Vec::new();
    let mut served = config.clone();
    for (service, addrs) in listener_table(&mut served.listen) {
        for addr in addrs.iter_mut() {
            let listener = TcpListener::bind(*addr).await.with_context(|| {
                format!("cannot listen on {addr} for {service} (listen.{service})")
            })?;
            *addr = listener.local_addr().unwrap_or(*addr);
            listeners.push((service, listener, *addr));
        }
    }
    let ctx = ServiceContext::new(
        served,
        DeliveryPipeline::new(directory),
        tls.clone(),
        accept,
    );
    for (service, listener, bound) in listeners {
        crate::services::start(service, listener, &ctx)?;
        tracing::info!(service, address = %bound, "listening");
    }
    let queue = pillarbox_queue::OutboundQueue::new(
        ctx.pipeline.clone(),
        pillarbox_queue::QueueSettings {
            queue: config.queue.clone(),
            hostname: config.server.hostname.clone(),
        },
        std::sync::Arc::new(pillarbox_queue::clock::SystemClock),
    )?;
    let queue_task = queue.spawn(shutdown.token());
    let collector_task = config.collect.enabled.then(|| {
        pillarbox_collect::Collector::new(
            pillarbox_collect::Runner {
                pipeline: ctx.pipeline.clone(),
                hostname: config.server.hostname.clone(),
                limits: pillarbox_collect::RunLimits::from_config(&config.collect),
                tokens: std::sync::Arc::new(pillarbox_collect::connect::TokenCache::default()),
            },
            config.collect.clone(),
        )
        .spawn(shutdown.token())
    });
    spawn_maintenance(store.clone(), config.pop3.expire_days);
    tracing::info!(hostname = %config.server.hostname, "Pillarbox is running");

    signals.wait(&tls).await;
    tracing::info!("shutting down: no new connections; waiting for sessions to finish");
    let left = shutdown.drain(config.limits.shutdown_grace.get()).await;
    let _ = tokio::time::timeout(config.limits.shutdown_grace.get(), queue_task).await;
    if let Some(task) = collector_task {
        let _ = tokio::time::timeout(config.limits.shutdown_grace.get(), task).await;
    }
    if left > 0 {
        tracing::warn!(
            sessions = left,
            "sessions still running at the shutdown deadline"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// The signals `serve` handles, registered once at start-up.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Self> {
        Ok(Self {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Returns on SIGTERM or SIGINT; reloads the certificate on SIGHUP.
    async fn wait(&mut self, tls: &ServerTls) {
        loop {
            tokio::select! {
                _ = self.hup.recv() => match tls.reload() {
                    Ok(()) => tracing::info!(certificate = %tls.certificate_path().display(), "certificate reloaded"),
                    Err(e) => tracing::error!(error = %e, "certificate reload failed; keeping the current one"),
                },
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
            }
        }
    }
}

/// Hourly, starting now: the POP3 EXPIRE policy (messages POP3 retrieved `expire_days`
/// ago are removed) and garbage collection of unreferenced blobs.
fn spawn_maintenance(store: Store, pop3_expire_days: Option<u32>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Some(days) = pop3_expire_days.filter(|d| *d > 0) {
                let age = Duration::from_secs(u64::from(days) * 86_400);
                match store.pop3_expire(age).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(removed = n, days, "POP3 EXPIRE: retrieved messages removed")
                    }
                    Err(e) => tracing::warn!(error = %e, "POP3 EXPIRE pass failed"),
                }
            }
            match store.collect_garbage(Duration::from_secs(3600)).await {
                Ok(r) => tracing::debug!(?r, "garbage collection"),
                Err(e) => tracing::warn!(error = %e, "garbage collection failed"),
            }
        }
    });
}
