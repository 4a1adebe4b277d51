//! Wiring of each listener to its protocol service: the shared [`ServiceContext`] built
//! once by `serve`, and one arm per service kind. The protocol crates own their sessions.

use anyhow::{Result, bail};
use pillarbox_config::Config;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_net::{AcceptContext, ListenerSpec, ServerTls, TlsMode};
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
        "imap" | "imaps" | "pop3" | "pop3s" | "http" => {
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
