//! The SMTP server: MX (port 25), submission with STARTTLS (587) and submission over
//! implicit TLS (465), one state machine for all three.
//!
//! A session ([`session`]) reads pipelined commands (`proto` parses them, pure), runs
//! one handler per command family (`cmd/`), spools the message as a blob (`spool`) and
//! hands it to the delivery pipeline, replying `250` only once the pipeline's
//! transaction is durable. Policy lives in the handlers: recipients in local domains
//! must exist, anything else is relaying and needs authentication or a relay network;
//! submission needs authentication (plaintext AUTH only over TLS or from trusted
//! networks) and an authenticated sender may only use its own addresses.
//!
//! This crate never touches SQL and never depends on another protocol crate.

pub mod auth_checks;
mod cmd;
mod io;
pub mod proto;
mod received;
pub mod screen;
mod session;
mod spool;

use std::net::SocketAddr;
use std::sync::Arc;

use pillarbox_config::{IpRanges, SmtpSection};
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_net::{BoxedStream, Connection, ServerTls, TlsInfo};
use tokio_util::sync::CancellationToken;

/// Which listener a session came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Port 25: mail from the Internet.
    Mx,
    /// Port 587: clients, STARTTLS then AUTH.
    Submission,
    /// Port 465: clients over implicit TLS.
    Submissions,
}

impl ListenerKind {
    /// The listener's name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Mx => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
        }
    }

    fn is_submission(self) -> bool {
        !matches!(self, ListenerKind::Mx)
    }
}

/// Settings a session needs.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub smtp: SmtpSection,
    /// Our host name (greeting, EHLO, Received).
    pub hostname: String,
    /// Networks allowed plaintext AUTH without TLS.
    pub trusted: IpRanges,
    /// Networks allowed to relay without AUTH.
    pub relay: IpRanges,
    /// The `From:` of the notices SMTP sends itself (`queue.bounce_from`).
    pub bounce_from: String,
    /// SPF, DKIM and DMARC checks of mail from other servers (`None`: off).
    pub checks: Option<Arc<auth_checks::InboundChecks>>,
    /// DNS lists, greylisting, early talkers, rates for MX clients (`None`: off).
    pub screen: Option<Arc<screen::Screen>>,
    /// Antivirus and spam scanners (`None`: none configured).
    pub scanners: Option<Arc<pillarbox_scan::policy::Scanners>>,
}

/// An SMTP listener's service. Cheap to clone.
#[derive(Clone)]
pub struct SmtpService {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub kind: ListenerKind,
    pub settings: SmtpSettings,
    pub pipeline: DeliveryPipeline,
    pub tls: Option<ServerTls>,
}

impl std::fmt::Debug for SmtpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpService")
            .field("kind", &self.inner.kind)
            .finish()
    }
}

impl SmtpService {
    /// A service for one kind of listener; `tls` enables STARTTLS.
    pub fn new(
        kind: ListenerKind,
        settings: SmtpSettings,
        pipeline: DeliveryPipeline,
        tls: Option<ServerTls>,
    ) -> SmtpService {
        SmtpService {
            inner: Arc::new(Inner {
                kind,
                settings,
                pipeline,
                tls,
            }),
        }
    }

    /// Runs the session of an accepted connection to its end.
    pub async fn handle(&self, conn: Connection) {
        let live = self
            .inner
            .pipeline
            .directory()
            .monitor()
            .sessions()
            .and_then(|s| s.get(conn.id));
        if let (Some(l), Some(t)) = (&live, &conn.tls) {
            l.set_tls(&t.version);
        }
        let mut session = session::Session::new(
            self.inner.clone(),
            conn.stream,
            conn.peer,
            conn.tls,
            conn.shutdown,
        );
        session.live = live;
        session.conn_id = conn.id;
        session.run().await;
    }

    /// Runs a session over any stream (tests use an in-memory duplex).
    pub async fn run(
        &self,
        stream: BoxedStream,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        shutdown: CancellationToken,
    ) {
        session::Session::new(self.inner.clone(), stream, peer, tls, shutdown)
            .run()
            .await;
    }
}
