//! `serve`'s monitoring: the [`Monitor`] services record through and its writer, the
//! publication of live sessions (and the requests to end them), the webhook sender,
//! the alert checks with their mail going out through the delivery pipeline as system
//! mail, the certificate's expiry for alerts and metrics, and the marker that tells a
//! clean stop from a crash.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use pillarbox_config::Config;
use pillarbox_delivery::{DeliveryPipeline, Envelope, Recipient};
use pillarbox_monitor::alerts::{AlertInputs, Mailer};
use pillarbox_monitor::{EventKind, Monitor, NewEvent};
use pillarbox_store::Store;
use tokio_util::sync::CancellationToken;

/// What `serve` keeps of monitoring while it runs.
pub struct Monitoring {
    pub monitor: Monitor,
    /// The certificate's expiry (seconds), refreshed on reload.
    pub certificate_not_after: Arc<AtomicI64>,
    marker: PathBuf,
    unclean_restart_ms: Option<i64>,
}

/// When the certificate at `path` expires (seconds since the epoch; 0 if unreadable).
pub fn certificate_expiry(path: &Path) -> i64 {
    let Ok(pem) = std::fs::read(path) else {
        return 0;
    };
    let Ok((_, p)) = x509_parser::pem::parse_x509_pem(&pem) else {
        return 0;
    };
    p.parse_x509()
        .map(|c| c.validity().not_after.timestamp())
        .unwrap_or(0)
}

impl Monitoring {
    /// The monitor (disabled by `[monitor] enabled = false`) and its writer, started.
    pub fn start(store: &Store, config: &Config, certificate: &Path) -> Monitoring {
        let marker = config.server.data_dir.join("running");
        let unclean_restart_ms = marker.exists().then(pillarbox_monitor::now_ms);
        if let Err(e) = std::fs::write(&marker, std::process::id().to_string()) {
            tracing::warn!(error = %e, path = %marker.display(), "cannot write the running marker");
        }
        let monitor = if config.monitor.enabled {
            let (monitor, writer) = Monitor::new(store.clone(), config.monitor.clone());
            tokio::spawn(writer);
            monitor
        } else {
            Monitor::disabled()
        };
        monitor.event(NewEvent::new(
            EventKind::ServerStart,
            format!("Pillarbox {} started", env!("CARGO_PKG_VERSION")),
        ));
        if unclean_restart_ms.is_some() {
            monitor.event(NewEvent::new(
                EventKind::ServerUncleanRestart,
                "started again after the server had not stopped cleanly",
            ));
        }
        Monitoring {
            monitor,
            certificate_not_after: Arc::new(AtomicI64::new(certificate_expiry(certificate))),
            marker,
            unclean_restart_ms,
        }
    }

    /// Starts the session publisher, the webhook sender and the alert checks.
    pub fn spawn_workers(
        &self,
        store: &Store,
        pipeline: &DeliveryPipeline,
        config: &Config,
        shutdown: CancellationToken,
    ) {
        let m = &self.monitor;
        let Some(sessions) = m.sessions().cloned() else {
            return;
        };
        let killed = m.clone();
        tokio::spawn(sessions.run(
            store.clone(),
            m.node().to_string(),
            Duration::from_secs(1),
            move |target, n| {
                killed.event(NewEvent::new(
                    EventKind::SessionKilled,
                    format!("ended {n} session(s) matching {target}"),
                ))
            },
        ));
        tokio::spawn(pillarbox_monitor::webhooks::run(
            store.clone(),
            m.clone(),
            config.monitor.webhook_retry.get(),
            shutdown.clone(),
        ));
        let inputs = AlertInputs {
            data_dir: config.server.data_dir.clone(),
            certificate_not_after: self.certificate_not_after.clone(),
            unclean_restart_ms: self.unclean_restart_ms,
        };
        tokio::spawn(pillarbox_monitor::alerts::run(
            store.clone(),
            m.clone(),
            config.monitor.clone(),
            inputs,
            alert_mailer(pipeline.clone(), config),
            shutdown,
        ));
    }

    /// A certificate reload: the new expiry, and an event.
    pub fn certificate_reloaded(&self, path: &Path) {
        self.certificate_not_after
            .store(certificate_expiry(path), Ordering::Relaxed);
        self.monitor.event(NewEvent::new(
            EventKind::CertificateChanged,
            format!("certificate reloaded from {}", path.display()),
        ));
    }

    /// A clean stop: the event, and the marker removed.
    pub fn stopped(&self) {
        self.monitor
            .event(NewEvent::new(EventKind::ServerStop, "Pillarbox stopped"));
        let _ = std::fs::remove_file(&self.marker);
    }
}

/// Mails an alert to the alert recipients (postmaster@ the host name by default) as
/// system mail: the null sender, no quota, through the pipeline like any message.
fn alert_mailer(pipeline: DeliveryPipeline, config: &Config) -> Mailer {
    let hostname = config.server.hostname.clone();
    let from = config.queue.bounce_sender(&hostname);
    let to: Vec<String> = if config.monitor.alert_recipients.is_empty() {
        vec![format!("postmaster@{hostname}")]
    } else {
        config.monitor.alert_recipients.clone()
    };
    Arc::new(move |subject: String, text: String| {
        let (pipeline, hostname, from, to) =
            (pipeline.clone(), hostname.clone(), from.clone(), to.clone());
        Box::pin(async move {
            let id = pillarbox_monitor::new_trace_id();
            let message = format!(
                "From: Pillarbox <{from}>\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\n\
                 Message-ID: <alert.{id}@{hostname}>\r\nAuto-Submitted: auto-generated\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
                to.join(", "),
                rfc5322_now(),
                text.replace('\n', "\r\n")
            );
            let bytes = message.into_bytes();
            let blob = match pipeline
                .directory()
                .store()
                .blobs()
                .put(bytes.clone())
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "cannot store an alert mail");
                    return;
                }
            };
            let envelope = Envelope {
                sender: String::new(),
                recipients: to.iter().map(|r| Recipient::plain(r)).collect(),
                source: "alert".into(),
                enforce_quota: false,
                sign: true,
                trace: Some(id),
                ..Envelope::default()
            };
            if let Err(e) = pipeline.deliver(blob, &bytes, &envelope).await {
                tracing::error!(error = %e, "cannot send an alert mail");
            }
        })
    })
}

/// The current time in RFC 5322 form.
fn rfc5322_now() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "Thu, 1 Jan 1970 00:00:00 +0000".into())
}
