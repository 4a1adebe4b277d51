//! Typed events: what kinds there are, how serious each is, and what it concerns.
//! An event is logged through `tracing` (with its id) when it is recorded, so the
//! process's log lines and the stored event log say the same thing.

use std::net::IpAddr;

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Notice,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `info`, `notice`, `warning` or `error`.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "notice" => Severity::Notice,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return None,
        })
    }
}

macro_rules! kinds {
    ($($variant:ident => $name:literal, $severity:ident;)*) => {
        /// Every kind of event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum EventKind { $($variant),* }

        impl EventKind {
            /// Every kind, for filters and documentation.
            pub const ALL: &[EventKind] = &[$(EventKind::$variant),*];

            /// The kind's name in the log (`login.failed`).
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),* }
            }

            fn severity(self) -> Severity {
                match self { $(EventKind::$variant => Severity::$severity),* }
            }
        }
    };
}

kinds! {
    ServerStart => "server.start", Info;
    ServerStop => "server.stop", Info;
    ServerUncleanRestart => "server.unclean_restart", Warning;
    CertificateChanged => "tls.certificate", Notice;
    LoginOk => "login.ok", Info;
    LoginFailed => "login.failed", Warning;
    LoginLocked => "login.locked", Warning;
    PolicyRefused => "login.refused", Notice;
    SmtpRejected => "smtp.rejected", Notice;
    MessageDelivered => "message.delivered", Info;
    MessageRelayed => "message.relayed", Info;
    MessageDeferred => "message.deferred", Notice;
    MessageBounced => "message.bounced", Warning;
    CollectionRun => "collection.run", Info;
    CollectionFailed => "collection.failed", Warning;
    // Content scanning: a virus or spam refused, a scanner that gave no verdict, a
    // message held in quarantine.
    ScannerVerdict => "scanner.verdict", Notice;
    ScannerFailed => "scanner.failed", Error;
    MessageQuarantined => "message.quarantined", Warning;
    SessionKilled => "session.killed", Notice;
    SieveFailed => "sieve.failed", Warning;
    AlertRaised => "alert.raised", Warning;
    AlertCleared => "alert.cleared", Info;
    WebhookFailed => "webhook.failed", Warning;
    Error => "error", Error;
}

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent {
    kind: EventKind,
    severity: Severity,
    text: String,
    account: Option<String>,
    domain: Option<String>,
    trace: Option<String>,
    queue_id: Option<i64>,
    session: Option<String>,
    ip: Option<String>,
}

impl NewEvent {
    /// An event of `kind` (at the kind's usual severity) saying `text`.
    pub fn new(kind: EventKind, text: impl Into<String>) -> NewEvent {
        NewEvent {
            kind,
            severity: kind.severity(),
            text: text.into(),
            account: None,
            domain: None,
            trace: None,
            queue_id: None,
            session: None,
            ip: None,
        }
    }

    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// The account it concerns (its address); sets the domain too.
    pub fn account(mut self, address: &str) -> Self {
        if let Some((_, d)) = address.rsplit_once('@') {
            self.domain = Some(d.to_ascii_lowercase());
        }
        self.account = Some(address.to_string());
        self
    }

    pub fn domain(mut self, d: &str) -> Self {
        self.domain = Some(d.to_ascii_lowercase());
        self
    }

    pub fn trace(mut self, t: &str) -> Self {
        self.trace = Some(t.to_string());
        self
    }

    pub fn queue(mut self, id: i64) -> Self {
        self.queue_id = Some(id);
        self
    }

    /// The connection it happened on (the id in the connection's log span).
    pub fn session(mut self, id: u64) -> Self {
        self.session = Some(id.to_string());
        self
    }

    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip.to_string());
        self
    }

    pub(crate) fn into_event(self, node: &str) -> pillarbox_store::Event {
        pillarbox_store::Event {
            id: 0,
            eid: format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
            at_ms: crate::now_ms(),
            kind: self.kind.as_str().to_string(),
            severity: self.severity.as_str().to_string(),
            node: node.to_string(),
            account: self.account,
            domain: self.domain,
            trace: self.trace,
            queue_id: self.queue_id,
            session: self.session,
            ip: self.ip,
            text: self.text,
        }
    }

    /// Logs an event that is not recorded (monitoring off).
    pub(crate) fn log(self, _: Option<()>) {
        let e = self.into_event("");
        Self::log_stored(&e);
    }

    /// The log line of an event, with its id.
    pub(crate) fn log_stored(e: &pillarbox_store::Event) {
        let (kind, eid) = (e.kind.as_str(), e.eid.as_str());
        let (account, ip, trace) = (
            e.account.as_deref().unwrap_or(""),
            e.ip.as_deref().unwrap_or(""),
            e.trace.as_deref().unwrap_or(""),
        );
        match e.severity.as_str() {
            "error" => tracing::error!(
                event = kind,
                event_id = eid,
                account,
                ip,
                trace,
                "{}",
                e.text
            ),
            "warning" => tracing::warn!(
                event = kind,
                event_id = eid,
                account,
                ip,
                trace,
                "{}",
                e.text
            ),
            _ => tracing::info!(
                event = kind,
                event_id = eid,
                account,
                ip,
                trace,
                "{}",
                e.text
            ),
        }
    }
}
