//! `pillarbox serve`: opens the store, loads TLS, binds every configured listener, runs
//! the protocol services, and handles SIGHUP (certificate reload) and SIGTERM/SIGINT
//! (graceful shutdown).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use pillarbox_config::{Config, ListenSection, LogFormat};
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_directory::Directory;
use pillarbox_net::{AcceptContext, ConnectionLimits, ServerTls, Shutdown, TrustedProxies};
use pillarbox_store::{Role, Store};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::args::LogFormatArg;
use crate::logging;
use crate::services::ServiceContext;

/// Every node of a cluster presents the same generated certificate (clients behind a
/// load balancer would otherwise see it change from one connection to the next): the
/// first node to start stores its own (the key sealed) and the others use that one.
async fn share_generated_certificate(
    store: &Store,
    tls: ServerTls,
    config: &Config,
    domains: &[String],
) -> Result<ServerTls> {
    if !store.is_shared() || !tls.is_generated() {
        return Ok(tls);
    }
    let cert_path = tls.certificate_path().to_path_buf();
    let key_path = cert_path.with_file_name("key.pem");
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let (cert, key) = (read(&cert_path)?, read(&key_path)?);
    // One setting for both, so a node never pairs one node's certificate with
    // another's key.
    const END: &str = "-----END CERTIFICATE-----";
    let shared = store
        .secret_setting_init("tls.generated", &format!("{cert}{key}"))
        .await
        .context("cannot share the generated certificate")?;
    let Some(at) = shared.rfind(END).map(|i| i + END.len()) else {
        anyhow::bail!("the certificate shared in the store is not PEM");
    };
    let (shared_cert, shared_key) = shared.split_at(at);
    let shared_key = shared_key.trim_start();
    if shared_cert.trim() == cert.trim() {
        return Ok(tls);
    }
    // The shared one is about to expire or lacks a name this node wants: this node's
    // fresh one replaces it for every node.
    let names = pillarbox_net::tls::server::generated_names(&config.server.hostname, domains);
    if let Some(why) = pillarbox_net::tls::server::needs_renewal(
        shared_cert.as_bytes(),
        &names,
        std::time::SystemTime::now(),
    ) {
        store
            .secret_setting_put("tls.generated", &format!("{cert}{key}"))
            .await
            .context("cannot share the renewed certificate")?;
        tracing::info!(reason = why, "replaced the cluster's generated certificate");
        return Ok(tls);
    }
    std::fs::write(&cert_path, format!("{}\n", shared_cert.trim()))
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    std::fs::write(&key_path, shared_key)
        .with_context(|| format!("cannot write {}", key_path.display()))?;
    tracing::info!("using the certificate the cluster's first node generated");
    Ok(ServerTls::load_for_domains(
        &config.tls,
        &config.server.data_dir,
        &config.server.hostname,
        domains,
    )?)
}

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
        ("metrics", &mut l.metrics),
        ("managesieve", &mut l.managesieve),
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
        .with_context(|| format!("cannot open {}", super::store_location(&config)))?;
    tracing::info!(data_dir = %data_dir.display(), store = %store.location(), node = store.node_name(), "store opened");
    let _background = store.spawn_background(Duration::from_millis(250));
    // The generated certificate also names autoconfig., autodiscover. and mta-sts. of
    // each local domain (provisioning over HTTPS).
    let domains: Vec<String> = store
        .domain_list()
        .await?
        .into_iter()
        .map(|d| d.name)
        .collect();
    let tls =
        ServerTls::load_for_domains(&config.tls, data_dir, &config.server.hostname, &domains)?;
    let tls = share_generated_certificate(&store, tls, &config, &domains).await?;
    tracing::info!(
        certificate = %tls.certificate_path().display(),
        generated = tls.is_generated(),
        min_version = %config.tls.min_version,
        "TLS ready"
    );
    let monitoring = crate::monitoring::Monitoring::start(&store, &config, tls.certificate_path());
    crate::logging::record_errors(monitoring.monitor.clone());
    let directory = Directory::new(store.clone(), config.network.lan.clone(), &config.auth)
        .with_trusted(config.network.trusted.clone())
        .with_monitor(monitoring.monitor.clone());
    let directory = super::with_srs(directory, &config).await?;
    let shutdown = Shutdown::new();
    let accept = AcceptContext {
        tls: tls.clone(),
        limits: ConnectionLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        ),
        shutdown: shutdown.clone(),
        handshake_timeout: config.limits.tls_handshake_timeout.get(),
        proxies: TrustedProxies {
            networks: config.network.proxy_trusted.clone(),
            header_timeout: config.limits.proxy_header_timeout.get(),
        },
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
        DeliveryPipeline::new(directory)
            .with_unsigned_on_key_error(
                config.dkim.on_key_error == pillarbox_config::OnKeyError::SendUnsigned,
            )
            .with_hostname(&config.server.hostname)
            .with_sieve(config.sieve.enabled, config.sieve.server_scripts_refresh.0)
            .with_spam_policy(crate::scanning::spam_policy(&config)),
        tls.clone(),
        accept,
        monitoring.certificate_not_after.clone(),
    );
    monitoring.spawn_workers(&store, &ctx.pipeline, &config, shutdown.token());
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
                scanners: ctx.scanners.clone(),
            },
            config.collect.clone(),
        )
        .spawn(shutdown.token())
    });
    spawn_maintenance(store.clone(), config.pop3.expire_days, &config.scan);
    tracing::info!(hostname = %config.server.hostname, "Pillarbox is running");
    if !config.server.hostname.contains('.') {
        tracing::warn!(
            hostname = %config.server.hostname,
            "server.hostname is not a fully-qualified name; it goes into the certificate, greetings, \
             Received lines and Message-IDs: set the name the MX record points to (e.g. mail.example.com)"
        );
    }

    signals.wait(&tls, &monitoring).await;
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
    monitoring.stopped();
    // The writer's last flush.
    tokio::time::sleep(Duration::from_millis(200)).await;
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
    async fn wait(&mut self, tls: &ServerTls, monitoring: &crate::monitoring::Monitoring) {
        loop {
            tokio::select! {
                _ = self.hup.recv() => match tls.reload() {
                    Ok(()) => monitoring.certificate_reloaded(tls.certificate_path()),
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
fn spawn_maintenance(
    store: Store,
    pop3_expire_days: Option<u32>,
    scan: &pillarbox_config::ScanSection,
) {
    let greylist_remember = scan.greylist.remember.get().as_secs() as i64;
    let greylist_window = scan.greylist.retry_window.get().as_secs() as i64;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = pillarbox_delivery::now();
            match store.quarantine_expire(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "quarantine: expired messages removed"),
                Err(e) => tracing::warn!(error = %e, "quarantine expiry failed"),
            }
            // What neither an accepted triplet nor a first attempt still needs.
            let cutoff = now - greylist_remember.max(greylist_window);
            if let Err(e) = store.greylist_expire(cutoff).await {
                tracing::warn!(error = %e, "greylist expiry failed");
            }
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
