//! Wiring of each listener to its protocol service: the shared [`ServiceContext`] built
//! once by `serve`, and one arm per service kind. The protocol crates own their sessions.

use anyhow::{Result, bail};
use pillarbox_config::Config;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_imap::{ImapService, ImapSettings};
use pillarbox_net::{AcceptContext, ListenerSpec, ServerTls, TlsMode};
use pillarbox_pop3::{Pop3Service, Pop3Settings};
use pillarbox_smtp::{ListenerKind, SmtpService, SmtpSettings};
use tokio::net::TcpListener;

/// Everything the services share, built once at start-up.
#[derive(Clone)]
pub struct ServiceContext {
    pub config: Config,
    /// The delivery pipeline; `pipeline.directory()` is the directory (and its store).
    pub pipeline: DeliveryPipeline,
    pub tls: ServerTls,
    pub accept: AcceptContext,
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
        "http" => {
            tracing::warn!(service, address = ?listener.local_addr().ok(), "service not available in this build yet");
        }
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

/// The one POP3 service of the process, shared by the pop3 and pop3s listeners so the
/// maildrop lock covers both. (Belongs in `ServiceContext` once `serve` builds it.)
static POP3: std::sync::OnceLock<Pop3Service> = std::sync::OnceLock::new();

fn pop3(listener: TcpListener, ctx: &ServiceContext, tls: TlsMode) {
    let svc = POP3
        .get_or_init(|| {
            let settings = Pop3Settings {
                pop3: ctx.config.pop3.clone(),
                trusted: ctx.config.network.trusted.clone(),
                tls_handshake_timeout: ctx.config.limits.tls_handshake_timeout.get(),
            };
            let directory = ctx.pipeline.directory().clone();
            Pop3Service::new(settings, directory, Some(ctx.tls.clone()))
        })
        .clone();
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

/// The one IMAP service of the process, shared by the imap and imaps listeners.
static IMAP: std::sync::OnceLock<ImapService> = std::sync::OnceLock::new();

fn imap(listener: TcpListener, ctx: &ServiceContext, tls: TlsMode) {
    let svc = IMAP
        .get_or_init(|| {
            let settings = ImapSettings {
                imap: ctx.config.imap.clone(),
                trusted: ctx.config.network.trusted.clone(),
                tls_handshake_timeout: ctx.config.limits.tls_handshake_timeout.get(),
            };
            let directory = ctx.pipeline.directory().clone();
            ImapService::new(settings, directory, Some(ctx.tls.clone()))
        })
        .clone();
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
