//! Wiring of each listener to its protocol service: the shared [`ServiceContext`] built
//! once by `serve`, and one arm per service kind. The protocol crates own their sessions.

use anyhow::{Result, bail};
use pillarbox_config::Config;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_imap::{ImapService, ImapSettings};
use pillarbox_net::{AcceptContext, ListenerSpec, ServerTls, TlsMode};
use pillarbox_pop3::{Pop3Service, Pop3Settings};
use pillarbox_smtp::{ListenerKind, SmtpService, SmtpSettings};
use pillarbox_web::{WebService, WebSettings};
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
}

impl ServiceContext {
    /// Builds the shared services from the configuration.
    pub fn new(
        config: Config,
        pipeline: DeliveryPipeline,
        tls: ServerTls,
        accept: AcceptContext,
    ) -> Self {
        let directory = pipeline.directory().clone();
        let pop3 = Pop3Service::new(
            Pop3Settings {
                pop3: config.pop3.clone(),
                trusted: config.network.trusted.clone(),
                tls_handshake_timeout: config.limits.tls_handshake_timeout.get(),
            },
            directory.clone(),
            Some(tls.clone()),
        );
        let imap = ImapService::new(
            ImapSettings {
                imap: config.imap.clone(),
                trusted: config.network.trusted.clone(),
                tls_handshake_timeout: config.limits.tls_handshake_timeout.get(),
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
        );
        Self {
            config,
            pipeline,
            tls,
            accept,
            pop3,
            imap,
            web,
        }
    }
}

/// Starts the accept loop for `service` on `listener`.
pub fn start(service: &'static str, listener: TcpListener, ctx: &ServiceContext) -> Result<()> {
    match service {
        "smtp" => smtp(listener, ctx, ListenerKind::Mx, TlsMode::Plain),
        "submission" => smtp(listener, ctx, ListenerKind::Submission, TlsMode::Plain),
        "submissions" => smtp(listener, ctx, ListenerKind::Submissions, TlsMode::Implicit),
        "pop3" => pop3(listener, ctx, TlsMode::Plain),
        "pop3s" => pop3(listener, ctx, TlsMode::Implicit),
        "imap" => imap(listener, ctx, TlsMode::Plain),
        "imaps" => imap(listener, ctx, TlsMode::Implicit),
        "http" => http(listener, ctx, TlsMode::Plain),
        "https" => http(listener, ctx, TlsMode::Implicit),
        other => bail!("unknown service {other}"),
    }
    Ok(())
}

fn smtp(listener: TcpListener, ctx: &ServiceContext, kind: ListenerKind, tls: TlsMode) {
    let settings = SmtpSettings {
        smtp: ctx.config.smtp.clone(),
        hostname: ctx.config.server.hostname.clone(),
        trusted: ctx.config.network.trusted.clone(),
        relay: ctx.config.network.relay.clone(),
        bounce_from: ctx.config.queue.bounce_sender(&ctx.config.server.hostname),
    };
    let starttls = (tls == TlsMode::Plain).then(|| ctx.tls.clone());
    let svc = SmtpService::new(kind, settings, ctx.pipeline.clone(), starttls);
    let spec = ListenerSpec {
        service: match kind {
            ListenerKind::Mx => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
        },
        tls,
        refusal: "421 4.7.0 Too many connections, try again later\r\n",
    };
    tokio::spawn(pillarbox_net::serve(
        listener,
        spec,
        ctx.accept.clone(),
        move |conn| {
            let svc = svc.clone();
            async move { svc.handle(conn).await }
        },
    ));
}

fn pop3(listener: TcpListener, ctx: &ServiceContext, tls: TlsMode) {
    let svc = ctx.pop3.clone();
    let spec = ListenerSpec {
        service: match tls {
            TlsMode::Plain => "pop3",
            TlsMode::Implicit => "pop3s",
        },
        tls,
        refusal: pillarbox_pop3::REFUSAL,
    };
    tokio::spawn(pillarbox_net::serve(
        listener,
        spec,
        ctx.accept.clone(),
        move |conn| {
            let svc = svc.clone();
            async move { svc.handle(conn).await }
        },
    ));
}

fn imap(listener: TcpListener, ctx: &ServiceContext, tls: TlsMode) {
    let svc = ctx.imap.clone();
    let spec = ListenerSpec {
        service: match tls {
            TlsMode::Plain => "imap",
            TlsMode::Implicit => "imaps",
        },
        tls,
        refusal: pillarbox_imap::REFUSAL,
    };
    tokio::spawn(pillarbox_net::serve(
        listener,
        spec,
        ctx.accept.clone(),
        move |conn| {
            let svc = svc.clone();
            async move { svc.handle(conn).await }
        },
    ));
}

fn http(listener: TcpListener, ctx: &ServiceContext, tls: TlsMode) {
    let svc = ctx.web.clone();
    let spec = ListenerSpec {
        service: match tls {
            TlsMode::Plain => "http",
            TlsMode::Implicit => "https",
        },
        tls,
        refusal: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    };
    tokio::spawn(pillarbox_net::serve(
        listener,
        spec,
        ctx.accept.clone(),
        move |conn| {
            let svc = svc.clone();
            async move { svc.handle(conn).await }
        },
    ));
}
