//! The SMTP session: the phase of the conversation as an enum carrying its data, the
//! read-dispatch loop with pipelining, error counting, timeouts and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use pillarbox_net::{BoxedStream, TlsInfo};
use pillarbox_store::Account;
use tokio_util::sync::CancellationToken;

use crate::Inner;
use crate::cmd;
use crate::io::{Io, Line};
use crate::proto::{Command, MailParams, RcptParams, Reply, catalogue, command};
use crate::spool::Spool;

/// The client's greeting.
#[derive(Debug, Clone)]
pub(crate) struct Helo {
    pub name: String,
    pub esmtp: bool,
}

/// An accepted recipient.
#[derive(Debug, Clone)]
pub(crate) struct Rcpt {
    pub address: String,
    pub params: RcptParams,
    /// Where the address led when it was accepted.
    pub resolved: pillarbox_directory::Resolution,
}

/// A mail transaction in progress.
pub(crate) struct Transaction {
    pub id: String,
    pub sender: String,
    pub params: MailParams,
    pub rcpts: Vec<Rcpt>,
    /// Chunks received so far with BDAT (RFC 3030).
    pub bdat: Option<Spool>,
    /// BDAT went over the size limit; the remaining chunks are discarded.
    pub bdat_failed: Option<Reply>,
    /// DNS lists that list the client or its domains, below the refusal weight.
    pub listings: Vec<crate::screen::Listing>,
}

/// Where the conversation is (RFC 5321 §4.1.4 ordering).
pub(crate) enum Phase {
    /// Before HELO/EHLO (and again after STARTTLS).
    Connected,
    /// Greeted, no transaction.
    Greeted(Helo),
    /// MAIL accepted.
    Mail(Helo, Transaction),
}

/// What the loop does after a command.
pub(crate) enum Flow {
    Continue,
    Close,
}

pub(crate) struct Session {
    pub svc: Arc<Inner>,
    pub io: Io,
    pub peer: SocketAddr,
    pub tls: Option<TlsInfo>,
    pub phase: Phase,
    pub auth: Option<Account>,
    pub errors: u32,
    pub shutdown: CancellationToken,
    /// This session in the monitor's list of live sessions (absent in tests).
    pub live: Option<pillarbox_monitor::SessionHandle>,
    /// The connection's id (its log span, the monitor's session id).
    pub conn_id: u64,
    /// The client's FCrDNS, looked up from the moment it connected (MX with checks on).
    pub reverse: Reverse,
    /// Screening applies to this client (the MX, not a relay network).
    pub screened: bool,
    /// The DNS lists that list the client, looked up from the moment it connected.
    pub listed: Listed,
}

/// The DNS list lookups of the client's address.
pub(crate) enum Listed {
    Off,
    Pending(tokio::task::JoinHandle<Vec<crate::screen::Listing>>),
    Done(Vec<crate::screen::Listing>),
}

/// The client's FCrDNS lookup (`auth_checks::InboundChecks::iprev`).
pub(crate) enum Reverse {
    /// Not looked up (submission, a relay network, checks off).
    Off,
    /// Under way since the connection opened.
    Pending(tokio::task::JoinHandle<mail_auth::IprevOutput>),
    /// Done (`None`: it failed or took too long).
    Done(Option<mail_auth::IprevOutput>),
}

impl Session {
    pub fn new(
        svc: Arc<Inner>,
        stream: BoxedStream,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        shutdown: CancellationToken,
    ) -> Session {
        let timeout = svc.settings.smtp.timeout.get();
        let reverse = match &svc.settings.checks {
            Some(checks)
                if !svc.kind.is_submission() && !svc.settings.relay.contains(peer.ip()) =>
            {
                let checks = checks.clone();
                let ip = peer.ip();
                Reverse::Pending(tokio::spawn(async move { checks.iprev(ip).await }))
            }
            _ => Reverse::Off,
        };
        let screened = !svc.kind.is_submission() && !svc.settings.relay.contains(peer.ip());
        let listed = match &svc.settings.screen {
            Some(screen) if screened && screen.checks_ips() => {
                let screen = screen.clone();
                let ip = peer.ip();
                Listed::Pending(tokio::spawn(async move { screen.check_ip(ip).await }))
            }
            _ => Listed::Off,
        };
        Session {
            screened,
            listed,
            svc,
            io: Io::new(stream, timeout),
            peer,
            tls,
            phase: Phase::Connected,
            auth: None,
            errors: 0,
            shutdown,
            live: None,
            conn_id: 0,
            reverse,
        }
    }

    /// The client's FCrDNS, waiting for the lookup started at connection if it is
    /// still under way (at most the DNS time-out).
    pub async fn reverse(&mut self) -> Option<&mail_auth::IprevOutput> {
        if let Reverse::Pending(handle) = &mut self.reverse {
            let wait = self
                .svc
                .settings
                .checks
                .as_ref()
                .map_or(std::time::Duration::from_secs(5), |c| c.dns_timeout());
            let done = match tokio::time::timeout(wait, handle).await {
                Ok(Ok(out)) => Some(out),
                _ => None,
            };
            self.reverse = Reverse::Done(done);
        }
        match &self.reverse {
            Reverse::Done(out) => out.as_ref(),
            _ => None,
        }
    }

    pub fn host(&self) -> &str {
        &self.svc.settings.hostname
    }

    /// Queues a reply, counting errors.
    pub fn reply(&mut self, r: Reply) {
        if r.is_error() {
            self.errors += 1;
            self.record_rejection(&r);
        }
        self.io.reply(&r);
    }

    /// Records a refusal: the `rejected.<status>` counter and an event with the reply.
    fn record_rejection(&self, r: &Reply) {
        let m = self.svc.pipeline.directory().monitor();
        if !m.is_enabled() {
            return;
        }
        let status = match r.status {
            Some((a, b, c)) => format!("{a}.{b}.{c}"),
            None => r.code.to_string(),
        };
        m.count(&format!("rejected.{status}"), None, 1);
        let mut e = pillarbox_monitor::NewEvent::new(
            pillarbox_monitor::EventKind::SmtpRejected,
            format!("{} {status} {}", r.code, r.lines.join(" ")),
        )
        .ip(self.peer.ip())
        .session(self.conn_id);
        if let Some(a) = &self.auth {
            e = e.account(&a.address());
        }
        m.event(e);
    }

    /// True when the client may authenticate with a plaintext mechanism now.
    pub fn auth_allowed(&self) -> bool {
        self.tls.is_some() || self.svc.settings.trusted.contains(self.peer.ip())
    }

    /// The DNS lists that list the client's address, waiting for the lookups started
    /// at connection if they are still under way.
    pub async fn listed(&mut self) -> &[crate::screen::Listing] {
        if let Listed::Pending(handle) = &mut self.listed {
            let done = handle.await.unwrap_or_default();
            self.listed = Listed::Done(done);
        }
        match &self.listed {
            Listed::Done(l) => l,
            _ => &[],
        }
    }

    /// Connection-time screening before the greeting: the connection rate, and early
    /// talkers. `Some` is the reply that ends the session.
    async fn screen_connection(&mut self) -> Option<Reply> {
        let screen = self.svc.settings.screen.clone()?;
        if !self.screened {
            return None;
        }
        if !screen.admit_connection(self.peer.ip()) {
            return Some(Reply::new(
                421,
                Some((4, 7, 0)),
                format!(
                    "{} Too many connections from your address, try again later",
                    self.host()
                ),
            ));
        }
        if !screen.greet_delay.is_zero() {
            match self.io.talks_within(screen.greet_delay).await {
                Ok(false) => {}
                Ok(true) => {
                    return Some(Reply::new(
                        554,
                        Some((5, 5, 1)),
                        "Protocol error: you talked before my greeting",
                    ));
                }
                Err(_) => return Some(Reply::new(421, Some((4, 4, 2)), "Connection closed")),
            }
        }
        None
    }

    pub async fn run(mut self) {
        if let Some(r) = self.screen_connection().await {
            self.reply(r);
            let _ = self.io.flush().await;
            self.io.shutdown().await;
            return;
        }
        let greeting = catalogue::greeting(self.host());
        self.io.reply(&greeting);
        loop {
            if self.errors >= self.svc.settings.smtp.max_errors {
                self.io.reply(&catalogue::too_many_errors());
                tracing::info!(errors = self.errors, "closing: too many errors");
                break;
            }
            match self.io.take_line() {
                Some(Line::Complete(line)) => {
                    if let Flow::Close = self.command(&line).await {
                        break;
                    }
                }
                Some(Line::TooLong) => self.reply(catalogue::line_too_long()),
                None => {
                    if self.io.flush().await.is_err() {
                        return;
                    }
                    let shutdown = self.shutdown.clone();
                    let filled = tokio::select! {
                        _ = shutdown.cancelled() => {
                            let r = catalogue::shutting_down(self.host());
                            self.io.reply(&r);
                            break;
                        }
                        r = self.io.fill() => r,
                    };
                    match filled {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                            let r = catalogue::timeout(self.host());
                            self.io.reply(&r);
                            break;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "read failed");
                            return;
                        }
                    }
                }
            }
        }
        let _ = self.io.flush().await;
        self.io.shutdown().await;
    }

    /// Parses and runs one command line.
    async fn command(&mut self, line: &[u8]) -> Flow {
        if let Some(l) = &self.live {
            l.set_command(&command::verb_of(line));
        }
        let cmd = match command::parse(line) {
            Ok(c) => c,
            Err(reply) => {
                tracing::debug!(verb = %command::verb_of(line), code = reply.code, "refused command");
                self.reply(reply);
                return Flow::Continue;
            }
        };
        match cmd {
            Command::Ehlo(host) => cmd::hello::ehlo(self, host),
            Command::Helo(host) => cmd::hello::helo(self, host),
            Command::Mail { from, params } => cmd::mail::mail(self, from, params).await,
            Command::Rcpt { to, params } => cmd::rcpt::rcpt(self, to, params).await,
            Command::Data => return cmd::data::data(self).await,
            Command::Bdat { size, last } => return cmd::data::bdat(self, size, last).await,
            Command::Rset => cmd::misc::rset(self),
            Command::Noop => self.reply(catalogue::ok()),
            Command::Vrfy => self.reply(catalogue::vrfy()),
            Command::Expn => self.reply(catalogue::not_supported("EXPN")),
            Command::Help => self.reply(catalogue::help()),
            Command::Quit => {
                let r = catalogue::closing(self.host());
                self.io.reply(&r);
                return Flow::Close;
            }
            Command::StartTls => return cmd::starttls::starttls(self).await,
            Command::Auth { mechanism, initial } => {
                return cmd::auth::auth(self, mechanism, initial).await;
            }
        }
        Flow::Continue
    }
}
