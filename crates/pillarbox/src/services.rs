//! Wiring of each listener to its protocol service: the shared [`ServiceContext`] built
//! once by `serve`, and one arm per service kind. The protocol crates own their sessions.

use anyhow::{Result, bail};
use pillarbox_config::Config;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_imap::{ImapService, ImapSettings};
use pillarbox_managesieve::{ManageSieveService, ManageSieveSettings};
use pillarbox_net::{AcceptContext, Connection, ListenerSpec, ServerTls, TlsMode};
use pillarbox_pop3::{Pop3Service, Pop3Settings};
use pillarbox_smtp::{ListenerKind, SmtpService, SmtpSettings};
use pillarbox_web::{MetricsService, WebService, WebSettings};
use tokio::net::TcpListener;

/// Everything the services share, built once at start-up.
#[derive(Clone)]
pub struct ServiceContext {
    pub config: Config,
    /// The delivery pipeline; `pipeline.directory()` is the directory (and its store).
    pub pipeline: DeliveryPipeline,
    pub tls: ServerTls,
    pub accept: AcceptContext,
    /// The one POP3 service, shared by the pop3 and pop3s listeners so the maildrop
    /// lock covers both.
    pub pop3: Pop3Service,
    /// The one IMAP service, shared by the imap and imaps listeners.
    pub imap: ImapService,
    /// The HTTP service (client autoconfig), shared by the http and https listeners.
    pub web: WebService,
    /// Prometheus metrics, on the metrics listener.
    pub metrics: MetricsService,
    /// ManageSieve, on the managesieve listener.
    pub managesieve: ManageSieveService,
    /// The MX's SPF, DKIM and DMARC checks (`[mail_auth]`), shared by SMTP listeners.
    pub checks: Option<std::sync::Arc<pillarbox_smtp::auth_checks::InboundChecks>>,
    /// The MX's screening (`[scan]`: DNS lists, greylisting, early talkers, rates).
    pub screen: Option<std::sync::Arc<pillarbox_smtp::screen::Screen>>,
    /// Antivirus and spam scanners (`[scan]`), shared by every listener.
    pub scanners: Option<std::sync::Arc<pillarbox_scan::policy::Scanners>>,
}

impl ServiceContext {
    /// Builds the shared services from the configuration.
    pub fn new(
        config: Config,
        pipeline: DeliveryPipeline,
        tls: ServerTls,
        accept: AcceptContext,
        certificate_not_after: std::sync::Arc<std::sync::atomic::AtomicI64>,
    ) -> Self {
        let directory = pipeline.directory().clone();
        let metrics = MetricsService::new(
            directory.store().clone(),
            directory.monitor().clone(),
            config.monitor.metrics_token.clone(),
            certificate_not_after,
            config.server.data_dir.clone(),
        );
        let pop3 = Pop3Service::new(
            Pop3Settings {
                pop3: config.pop3.clone(),
                trusted: config.network.trusted.clone(),
                tls_handshake_timeout: config.limits.tls_handshake_timeout.get(),
            },
            directory.clone(),
            Some(tls.clone()),
        );
        let scanners = crate::scanning::scanners(&config);
        let imap = ImapService::new(
            ImapSettings {
                imap: config.imap.clone(),
                trusted: config.network.trusted.clone(),
                tls_handshake_timeout: config.limits.tls_handshake_timeout.get(),
                scanners: scanners.clone(),
            },
            directory.clone(),
            Some(tls.clone()),
        );
        let managesieve = ManageSieveService::new(
            ManageSieveSettings {
                trusted: config.network.trusted.clone(),
                tls_handshake_timeout: config.limits.tls_handshake_timeout.get(),
                max_scripts: config.managesieve.max_scripts,
                max_script_size: usize::try_from(config.managesieve.max_script_size.0)
                    .unwrap_or(usize::MAX),
                idle_timeout: config.managesieve.idle_timeout.0,
            },
            directory.clone(),
            Some(tls.clone()),
        );
        let web = WebService::new(
            WebSettings {
                clients: config.clients.clone(),
                hostname: config.server.hostname.clone(),
                listen: config.listen.clone(),
            },
            directory.store().clone(),
        )
        .with_sessions(directory.monitor().sessions().cloned());
        let checks = if config.mail_auth.enabled {
            let resolver = if config.mail_auth.resolver.is_empty() {
                &config.queue.resolver
            } else {
                &config.mail_auth.resolver
            };
            match pillarbox_smtp::auth_checks::InboundChecks::new(
                &config.mail_auth,
                &config.server.hostname,
                resolver,
            ) {
                Ok(c) => Some(std::sync::Arc::new(c)),
                Err(e) => {
                    tracing::error!(error = %e, "SPF, DKIM and DMARC checks are off");
                    None
                }
            }
        } else {
            None
        };
        let resolver = [
            &config.scan.resolver,
            &config.mail_auth.resolver,
            &config.queue.resolver,
        ]
        .into_iter()
        .find(|r| !r.is_empty())
        .cloned()
        .unwrap_or_default();
        let screen = match pillarbox_smtp::screen::Screen::new(&config.scan, &resolver) {
            Ok(s) => s.map(std::sync::Arc::new),
            Err(e) => {
                tracing::error!(error = %e, "DNS lists are off");
                None
            }
        };
        Self {
            screen,
            scanners,
            config,
            pipeline,
            tls,
            accept,
            pop3,
            imap,
            web,
            metrics,
            managesieve,
            checks,
        }
    }
}

const HTTP_REFUSAL: &str =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Starts the accept loop for `service` on `listener`.
pub fn start(service: &'static str, listener: TcpListener, ctx: &ServiceContext) -> Result<()> {
    let tls = match service {
        "submissions" | "imaps" | "pop3s" | "https" => TlsMode::Implicit,
        _ => TlsMode::Plain,
    };
    let spec = |refusal| ListenerSpec {
        service,
        tls,
        refusal,
    };
    match service {
        "smtp" | "submission" | "submissions" => {
            let kind = match service {
                "smtp" => ListenerKind::Mx,
                "submission" => ListenerKind::Submission,
                _ => ListenerKind::Submissions,
            };
            let refusal = "421 4.7.0 Too many connections, try again later\r\n";
            accept(listener, ctx, spec(refusal), smtp(ctx, kind, tls));
        }
        "pop3" | "pop3s" => accept(
            listener,
            ctx,
            spec(pillarbox_pop3::REFUSAL),
            ctx.pop3.clone(),
        ),
        "imap" | "imaps" => accept(
            listener,
            ctx,
            spec(pillarbox_imap::REFUSAL),
            ctx.imap.clone(),
        ),
        "http" | "https" => {
            accept(listener, ctx, spec(HTTP_REFUSAL), ctx.web.clone());
        }
        "metrics" => accept(listener, ctx, spec(HTTP_REFUSAL), ctx.metrics.clone()),
        "managesieve" => accept(
            listener,
            ctx,
            spec(pillarbox_managesieve::REFUSAL),
            ctx.managesieve.clone(),
        ),
        other => bail!("unknown service {other}"),
    }
    Ok(())
}

/// The SMTP service of one listener kind (each listener has its own).
fn smtp(ctx: &ServiceContext, kind: ListenerKind, tls: TlsMode) -> SmtpService {
    let settings = SmtpSettings {
        smtp: ctx.config.smtp.clone(),
        hostname: ctx.config.server.hostname.clone(),
        trusted: ctx.config.network.trusted.clone(),
        relay: ctx.config.network.relay.clone(),
        bounce_from: ctx.config.queue.bounce_sender(&ctx.config.server.hostname),
        checks: ctx.checks.clone(),
        screen: (kind == ListenerKind::Mx)
            .then(|| ctx.screen.clone())
            .flatten(),
        scanners: ctx.scanners.clone(),
    };
    let starttls = (tls == TlsMode::Plain).then(|| ctx.tls.clone());
    SmtpService::new(kind, settings, ctx.pipeline.clone(), starttls)
}

/// A protocol service: runs one accepted connection to its end.
trait Session: Clone + Send + Sync + 'static {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send;
}

impl Session for SmtpService {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send {
        self.handle(conn)
    }
}

impl Session for Pop3Service {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send {
        self.handle(conn)
    }
}

impl Session for ImapService {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send {
        self.handle(conn)
    }
}

impl Session for ManageSieveService {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send {
        self.handle(conn)
    }
}

impl Session for MetricsService {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send {
        self.handle(conn)
    }
}

impl Session for WebService {
    fn run(&self, conn: Connection) -> impl Future<Output = ()> + Send {
        self.handle(conn)
    }
}

/// The protocol a listener speaks, as the list of live sessions names it (none for
/// the metrics listener: scrapes are not sessions).
fn protocol_of(service: &str) -> Option<&'static str> {
    match service {
        "smtp" | "submission" | "submissions" => Some("smtp"),
        "imap" | "imaps" => Some("imap"),
        "pop3" | "pop3s" => Some("pop3"),
        "http" | "https" => Some("http"),
        "managesieve" => Some("managesieve"),
        _ => None,
    }
}

/// Spawns the accept loop of `listener`, each connection run by `svc`: listed among
/// the live sessions while it lasts (its octets counted), and ended when an
/// administrator ends it.
fn accept<S: Session>(listener: TcpListener, ctx: &ServiceContext, spec: ListenerSpec, svc: S) {
    let service = spec.service;
    let sessions = protocol_of(service).and(ctx.pipeline.directory().monitor().sessions().cloned());
    tokio::spawn(pillarbox_net::serve(
        listener,
        spec,
        ctx.accept.clone(),
        move |mut conn| {
            let svc = svc.clone();
            let guard = sessions
                .as_ref()
                .zip(protocol_of(service))
                .map(|(s, p)| s.open(conn.id, p, service, conn.peer.ip()));
            async move {
                let Some(guard) = guard else {
                    return svc.run(conn).await;
                };
                let handle = guard.handle().clone();
                if let Some(t) = &conn.tls {
                    handle.set_tls(&t.version);
                }
                conn.stream =
                    Box::new(pillarbox_monitor::Counted::new(conn.stream, handle.clone()));
                let killed = handle.killed();
                tokio::select! {
                    _ = svc.run(conn) => {}
                    _ = killed.cancelled() => tracing::info!("session ended by an administrator"),
                }
                drop(guard);
            }
        },
    ));
}
