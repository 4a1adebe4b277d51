//! The POP3 session: the RFC 1939 §3 states as an enum carrying their data, the
//! read-dispatch loop (pipelined commands, one flush per batch), the table of legal
//! commands per state as one exhaustive `match`, error counting, the idle timeout and
//! shutdown. Handlers live in `cmd/`; this file never formats a reply or touches the
//! store itself.

use std::net::SocketAddr;
use std::sync::Arc;

use pillarbox_net::{BoxedStream, TlsInfo};
use pillarbox_store::Account;
use tokio_util::sync::CancellationToken;

use crate::Inner;
use crate::cmd;
use crate::io::{Io, Line};
use crate::maildrop::{Maildrop, MaildropLock};
use crate::proto::{self, Command, Reply, catalogue};
use crate::readahead::ReadAhead;

/// RFC 1939 §3: where the session is.
pub(crate) enum State {
    /// Before login; `user` is the name given by a USER awaiting its PASS.
    Authorization(Authorization),
    /// Logged in with the maildrop locked and numbered.
    Transaction(Transaction),
    /// QUIT was received in TRANSACTION: the marked messages are removed, then the
    /// session ends (RFC 1939 §6).
    Update(Transaction),
}

/// AUTHORIZATION state data.
#[derive(Default)]
pub(crate) struct Authorization {
    pub user: Option<String>,
}

/// TRANSACTION state data. Dropping it releases the maildrop lock and deletes nothing.
pub(crate) struct Transaction {
    pub account: Account,
    pub maildrop: Maildrop,
    pub readahead: ReadAhead,
    pub _lock: MaildropLock,
}

/// What the loop does after a command.
pub(crate) enum Next {
    Stay(State),
    Close,
}

/// What waiting for a line produced.
pub(crate) enum Input {
    Line(Vec<u8>),
    TooLong,
    /// The connection ended or failed, the idle timer fired or the server is shutting
    /// down; any final reply has been queued.
    Closed,
}

pub(crate) struct Session {
    pub svc: Arc<Inner>,
    pub io: Io,
    pub peer: SocketAddr,
    pub tls: Option<TlsInfo>,
    pub errors: u32,
    pub shutdown: CancellationToken,
    /// This session in the monitor's list of live sessions (absent in tests).
    pub live: Option<pillarbox_monitor::SessionHandle>,
}

impl Session {
    pub fn new(
        svc: Arc<Inner>,
        stream: BoxedStream,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        shutdown: CancellationToken,
    ) -> Session {
        let timeout = svc.settings.pop3.idle_timeout.get();
        Session {
            svc,
            io: Io::new(stream, timeout),
            peer,
            tls,
            errors: 0,
            shutdown,
            live: None,
        }
    }

    /// Queues a reply, counting client errors.
    pub fn reply(&mut self, r: Reply) {
        if r.counts_as_error() {
            self.errors += 1;
        }
        self.io.reply(&r);
    }

    /// True when USER/PASS and SASL PLAIN/LOGIN may be used now: over TLS, or from a
    /// trusted network.
    pub fn plaintext_allowed(&self) -> bool {
        self.tls.is_some() || self.svc.settings.trusted.contains(self.peer.ip())
    }

    /// True when STLS can be offered: a plain connection with a certificate at hand.
    pub fn stls_available(&self) -> bool {
        self.tls.is_none() && self.svc.tls.is_some()
    }

    /// The next line, flushing queued replies first when the batch of pipelined input
    /// is exhausted.
    pub async fn next_line(&mut self) -> Input {
        loop {
            match self.io.take_line() {
                Some(Line::Complete(l)) => return Input::Line(l),
                Some(Line::TooLong) => return Input::TooLong,
                None => {}
            }
            if let Err(e) = self.io.flush().await {
                tracing::debug!(error = %e, "write failed");
                return Input::Closed;
            }
            let shutdown = self.shutdown.clone();
            let filled = tokio::select! {
                _ = shutdown.cancelled() => {
                    self.io.reply(&catalogue::shutting_down());
                    return Input::Closed;
                }
                r = self.io.fill() => r,
            };
            match filled {
                Ok(0) => return Input::Closed,
                Ok(_) => {}
                // RFC 1939 §3: the autologout timer closes without a response and
                // without entering UPDATE.
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    tracing::info!("closing: idle timeout");
                    return Input::Closed;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "read failed");
                    return Input::Closed;
                }
            }
        }
    }

    pub async fn run(mut self) {
        self.io.reply(&catalogue::greeting());
        let mut state = State::Authorization(Authorization::default());
        loop {
            let next = match self.next_line().await {
                Input::Line(line) => self.dispatch(state, &line).await,
                Input::TooLong => {
                    self.reply(catalogue::line_too_long());
                    Next::Stay(state)
                }
                Input::Closed => break,
            };
            state = match next {
                Next::Stay(State::Update(t)) => {
                    cmd::quit::update(&mut self, t).await;
                    break;
                }
                Next::Stay(s) => s,
                Next::Close => break,
            };
            if self.errors >= self.svc.settings.pop3.max_errors {
                tracing::info!(errors = self.errors, "closing: too many errors");
                self.io.reply(&catalogue::too_many_errors());
                break;
            }
        }
        // A TRANSACTION state still held here is dropped: lock released, nothing
        // deleted (RFC 1939 §6: only QUIT enters UPDATE).
        let _ = self.io.flush().await;
        self.io.shutdown().await;
    }

    /// Parses one line and runs it in `state`: the legal commands of each state.
    async fn dispatch(&mut self, state: State, line: &[u8]) -> Next {
        let cmd = match proto::parse(line) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(keyword = %proto::keyword_of(line), error = %e, "refused command");
                self.reply(catalogue::syntax(&e));
                return Next::Stay(state);
            }
        };
        if let Some(l) = &self.live {
            l.set_command(cmd.keyword());
        }
        use Command as C;
        use State as S;
        match (state, cmd) {
            // Already in UPDATE: the loop ends the session before reading again.
            (S::Update(t), _) => Next::Stay(S::Update(t)),
            // Every state.
            (state, C::Capa) => {
                cmd::capa::capa(self, &state);
                Next::Stay(state)
            }
            // AUTHORIZATION (RFC 1939 §4, §7; RFC 2595 §4; RFC 5034 §4).
            (S::Authorization(_), C::Quit) => {
                self.reply(catalogue::signing_off());
                Next::Close
            }
            (S::Authorization(a), C::User(name)) => cmd::auth::user(self, a, name),
            (S::Authorization(a), C::Pass(pw)) => cmd::auth::pass(self, a, pw).await,
            (S::Authorization(_), C::Apop { .. }) => {
                self.reply(catalogue::apop_unavailable());
                Next::Stay(S::Authorization(Authorization::default()))
            }
            (S::Authorization(a), C::Auth(start)) => cmd::auth::auth(self, a, start).await,
            (S::Authorization(a), C::Stls) => cmd::stls::stls(self, a).await,
            (
                S::Authorization(a),
                c @ (C::Stat
                | C::List(_)
                | C::Retr(_)
                | C::Dele(_)
                | C::Noop
                | C::Rset
                | C::Top { .. }
                | C::Uidl(_)),
            ) => {
                self.reply(catalogue::needs_login(c.keyword()));
                Next::Stay(S::Authorization(a))
            }
            // TRANSACTION (RFC 1939 §5, §7).
            (S::Transaction(t), C::Quit) => Next::Stay(S::Update(t)),
            (S::Transaction(t), C::Stat) => {
                cmd::listing::stat(self, &t);
                Next::Stay(S::Transaction(t))
            }
            (S::Transaction(t), C::List(msg)) => {
                cmd::listing::list(self, &t, msg);
                Next::Stay(S::Transaction(t))
            }
            (S::Transaction(t), C::Uidl(msg)) => {
                cmd::listing::uidl(self, &t, msg);
                Next::Stay(S::Transaction(t))
            }
            (S::Transaction(t), C::Retr(msg)) => cmd::retrieve::retr(self, t, msg).await,
            (S::Transaction(t), C::Top { msg, lines }) => {
                cmd::retrieve::top(self, t, msg, lines).await
            }
            (S::Transaction(mut t), C::Dele(msg)) => {
                cmd::mark::dele(self, &mut t, msg);
                Next::Stay(S::Transaction(t))
            }
            (S::Transaction(mut t), C::Rset) => {
                cmd::mark::rset(self, &mut t);
                Next::Stay(S::Transaction(t))
            }
            (S::Transaction(t), C::Noop) => {
                self.reply(catalogue::noop());
                Next::Stay(S::Transaction(t))
            }
            (
                S::Transaction(t),
                c @ (C::User(_) | C::Pass(_) | C::Apop { .. } | C::Auth(_) | C::Stls),
            ) => {
                self.reply(catalogue::already_logged_in(c.keyword()));
                Next::Stay(S::Transaction(t))
            }
        }
    }
}
