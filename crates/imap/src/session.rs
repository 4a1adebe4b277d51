//! The IMAP session: the connection states of RFC 9051 §3 as an enum carrying their
//! data, the read loop that drives the framer (literals streamed to blob writers for
//! APPEND, `+` continuations, one flush per batch of pipelined commands), the one table
//! of legal commands per state, the bad-command count, the idle timeout and shutdown.
//!
//! Handlers live in `cmd/`; this file formats no response text of its own (it takes
//! them from the catalogue) and never touches the store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pillarbox_net::{BoxedStream, TlsInfo};
use pillarbox_store::{Account, BlobWriter, Change, MailboxId};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::Inner;
use crate::caps::{self, Enabled, Situation};
use crate::catalogue as cat;
use crate::cmd::{self, Outcome};
use crate::io::Io;
use crate::proto::{
    Code, Command, CommandBody, Continuation, Data, EncodeOptions, FrameEvent, FramedCommand,
    Framer, FramerConfig, LiteralAnnouncement, LiteralRole, NameEncoding, Response, Status,
    StatusResponse, parse_command,
};
use crate::view::View;

/// RFC 9051 §3: where the session is.
pub(crate) enum State {
    /// Before LOGIN / AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated(Account),
    /// A mailbox is selected.
    Selected(Selected),
    /// LOGOUT was received or the connection must end.
    Logout,
}

/// The data of the selected state.
pub(crate) struct Selected {
    pub account: Account,
    pub mailbox: MailboxId,
    /// The store name (UTF-8, `/`-separated).
    pub name: String,
    /// EXAMINE, or SELECT of a mailbox the session may not change.
    pub read_only: bool,
    pub view: View,
    /// The UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182 `$`).
    pub saved: Vec<u32>,
    /// The store's change feed, subscribed before the view was read.
    pub changes: broadcast::Receiver<Change>,
    /// Notifications still to come for this session's own changes, already applied to
    /// the view (see `cmd::sync::own_change`).
    pub own_changes: u32,
}

/// What waiting for the next command produced.
enum Input {
    Command(FramedCommand<usize>),
    /// The connection ended, failed, timed out or the server is shutting down; any
    /// final `BYE` has been queued.
    Closed,
}

pub(crate) struct Session {
    pub svc: Arc<Inner>,
    pub io: Io,
    pub framer: Framer<usize>,
    /// Blob writers receiving the APPEND literals of the command being read; the
    /// framer's handles index this list.
    pub spools: Vec<BlobWriter>,
    pub peer: SocketAddr,
    /// The client a trusted proxy (a webmail) speaks for, from its ID
    /// `x-originating-ip`; login limits count that address instead of the proxy's.
    pub client_ip: Option<std::net::IpAddr>,
    pub tls: Option<TlsInfo>,
    pub shutdown: CancellationToken,
    pub enabled: Enabled,
    bad: u32,
    /// This session in the monitor's list of live sessions (absent in tests).
    pub live: Option<pillarbox_monitor::SessionHandle>,
}

impl Session {
    pub(crate) fn new(
        svc: Arc<Inner>,
        stream: BoxedStream,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        shutdown: CancellationToken,
    ) -> Session {
        let framer = Framer::new(framer_config(&svc));
        let write_timeout = svc.settings.imap.idle_timeout.get();
        Session {
            svc,
            io: Io::new(stream, write_timeout),
            framer,
            spools: Vec::new(),
            peer,
            client_ip: None,
            tls,
            shutdown,
            enabled: Enabled::default(),
            bad: 0,
            live: None,
        }
    }

    /// Encoding choices of this connection.
    pub(crate) fn opts(&self) -> EncodeOptions {
        EncodeOptions {
            utf8: self.enabled.utf8_names(),
            uid_only: self.enabled.uid_only,
        }
    }

    /// How mailbox names travel on this connection.
    pub(crate) fn names(&self) -> NameEncoding {
        if self.enabled.utf8_names() {
            NameEncoding::Utf8
        } else {
            NameEncoding::ModifiedUtf7
        }
    }

    /// Whether LOGIN and AUTHENTICATE PLAIN/LOGIN are allowed: over TLS, or from a
    /// trusted network.
    pub(crate) fn plaintext_allowed(&self) -> bool {
        self.tls.is_some() || self.svc.settings.trusted.contains(self.peer.ip())
    }

    /// The capability list now.
    pub(crate) fn capabilities(&self, authenticated: bool) -> Vec<bytes::Bytes> {
        caps::capabilities(Situation {
            authenticated,
            tls: self.tls.is_some(),
            starttls_available: self.svc.tls.is_some(),
            plaintext_allowed: self.plaintext_allowed(),
            compressing: self.io.compressing(),
            append_limit: self.svc.settings.imap.append_limit.0,
            message_limit: self.svc.message_limit,
        })
    }

    /// Queues a status response, counting BADs.
    pub(crate) fn reply(&mut self, r: &StatusResponse) {
        if r.status == Status::Bad {
            self.bad += 1;
        }
        let opts = self.opts();
        r.encode(self.io.out(), opts);
    }

    /// Queues untagged data without cloning it.
    pub(crate) fn data_owned(&mut self, d: Data) {
        let opts = self.opts();
        Response::Data(d).encode(self.io.out(), opts);
    }

    /// Queues a continuation request.
    pub(crate) fn continuation(&mut self, c: Continuation) {
        let opts = self.opts();
        Response::Continue(c).encode(self.io.out(), opts);
    }

    pub(crate) async fn run(mut self) {
        let greeting = cat::untagged_ok(
            Some(Code::Capability(self.capabilities(false))),
            cat::GREETING,
        );
        self.reply(&greeting);
        let mut state = State::NotAuthenticated;
        loop {
            let authenticated = !matches!(state, State::NotAuthenticated);
            let framed = match self.next_command(authenticated).await {
                Input::Command(f) => f,
                Input::Closed => break,
            };
            match parse_command(framed) {
                Ok(cmd) => state = self.dispatch(state, cmd).await,
                Err(e) => {
                    tracing::debug!(error = %e, kind = ?e.kind, "refused command");
                    let text = if e.kind == crate::proto::ParseErrorKind::UnknownCommand {
                        cat::UNKNOWN_COMMAND
                    } else {
                        e.reason
                    };
                    self.reply(&cat::bad(e.tag.as_ref(), text));
                }
            }
            self.spools.clear();
            if matches!(state, State::Logout) || self.io.failed() {
                break;
            }
            if self.bad >= self.svc.settings.imap.max_bad_commands {
                tracing::info!(bad = self.bad, "closing: too many bad commands");
                self.reply(&cat::bye(cat::TOO_MANY_BAD));
                break;
            }
        }
        self.io.flush().await;
        self.io.shutdown().await;
    }

    /// Runs one command in `state`: the legal commands of each state (RFC 9051 §6).
    async fn dispatch(&mut self, mut state: State, cmd: Command<usize>) -> State {
        use CommandBody as C;
        use State as S;
        let Command { tag, body } = cmd;
        tracing::debug!(command = body.name(), "command");
        if let Some(l) = &self.live {
            l.set_command(body.name());
        }
        let may_expunge = announces_expunges(&body);
        // RFC 9586 §3: once UIDONLY is enabled, message sequence numbers are BAD.
        if self.enabled.uid_only && uses_sequence_numbers(&body) {
            let r = cat::bad_code(Some(&tag), Code::UidRequired, cat::UID_REQUIRED);
            return self.finish(state, Outcome::reply(r), false).await;
        }
        let outcome = match (&mut state, body) {
            // Any state (RFC 9051 §6.1).
            (S::Logout, _) => Outcome::Stay(None),
            (st, C::Capability) => {
                let authenticated = !matches!(st, S::NotAuthenticated);
                cmd::any::capability(self, &tag, authenticated)
            }
            (_, C::Noop) => cmd::any::noop(&tag),
            (_, C::Logout) => cmd::any::logout(self, &tag),
            (_, C::Id(params)) => cmd::enable_id::id(self, &tag, params),

            // Not authenticated (RFC 9051 §6.2).
            (S::NotAuthenticated, C::StartTls) => cmd::starttls::starttls(self, &tag).await,
            (S::NotAuthenticated, C::Login(login)) => cmd::auth::login(self, &tag, login).await,
            (S::NotAuthenticated, C::Authenticate(a)) => {
                cmd::auth::authenticate(self, &tag, a).await
            }
            (
                S::Authenticated(_) | S::Selected(_),
                C::StartTls | C::Login(_) | C::Authenticate(_),
            ) => Outcome::reply(cat::bad(Some(&tag), cat::ALREADY_AUTHENTICATED)),
            (S::NotAuthenticated, _) => Outcome::reply(cat::bad(Some(&tag), cat::LOGIN_FIRST)),

            // Authenticated and selected (RFC 9051 §6.3, extensions).
            (S::Authenticated(_) | S::Selected(_), C::Unauthenticate) => {
                cmd::auth::unauthenticate(self, &tag)
            }
            (S::Authenticated(_), C::Enable(names)) => {
                cmd::enable_id::enable(self, None, &tag, names)
            }
            (S::Selected(sel), C::Enable(names)) => {
                cmd::enable_id::enable(self, Some(sel), &tag, names)
            }
            (S::Authenticated(account), C::Select(sel)) => {
                cmd::select::select(self, account, None, &tag, sel, false).await
            }
            (S::Authenticated(account), C::Examine(sel)) => {
                cmd::select::select(self, account, None, &tag, sel, true).await
            }
            (S::Selected(cur), C::Select(sel)) => {
                let account = cur.account.clone();
                cmd::select::select(self, &account, Some(cur), &tag, sel, false).await
            }
            (S::Selected(cur), C::Examine(sel)) => {
                let account = cur.account.clone();
                cmd::select::select(self, &account, Some(cur), &tag, sel, true).await
            }
            (S::Authenticated(account) | S::Selected(Selected { account, .. }), C::Create(c)) => {
                cmd::mailbox::create(self, account, &tag, c).await
            }
            (S::Authenticated(account) | S::Selected(Selected { account, .. }), C::Delete(m)) => {
                cmd::mailbox::delete(self, account, &tag, m).await
            }
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::Rename { from, to },
            ) => cmd::mailbox::rename(self, account, &tag, from, to).await,
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::Subscribe(m),
            ) => cmd::mailbox::subscribe(self, account, &tag, m, true).await,
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::Unsubscribe(m),
            ) => cmd::mailbox::subscribe(self, account, &tag, m, false).await,
            (S::Authenticated(account) | S::Selected(Selected { account, .. }), C::List(l)) => {
                cmd::list::list(self, account, &tag, l).await
            }
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::Lsub { reference, pattern },
            ) => cmd::list::lsub(self, account, &tag, reference, pattern).await,
            (S::Authenticated(_) | S::Selected(_), C::Namespace) => {
                cmd::mailbox::namespace(self, &tag)
            }
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::Status { mailbox, items },
            ) => cmd::mailbox::status(self, account, &tag, mailbox, items).await,
            (S::Authenticated(account) | S::Selected(Selected { account, .. }), C::Append(a)) => {
                cmd::append::append(self, account, &tag, a).await
            }
            (S::Authenticated(_), C::Idle) => cmd::idle::idle(self, &tag, None).await,
            (S::Selected(sel), C::Idle) => cmd::idle::idle(self, &tag, Some(sel)).await,
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::GetQuota(root),
            ) => cmd::quota::get_quota(self, account, &tag, root).await,
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::GetQuotaRoot(m),
            ) => cmd::quota::get_quota_root(self, account, &tag, m).await,
            (S::Authenticated(_) | S::Selected(_), C::SetQuota { .. }) => {
                cmd::quota::set_quota(&tag)
            }
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::GetMetadata(g),
            ) => cmd::metadata::get_metadata(self, account, &tag, g).await,
            (
                S::Authenticated(account) | S::Selected(Selected { account, .. }),
                C::SetMetadata { mailbox, entries },
            ) => cmd::metadata::set_metadata(self, account, &tag, mailbox, entries).await,
            (S::Authenticated(_) | S::Selected(_), C::Compress(mech)) => {
                cmd::compress::compress(self, &tag, mech).await
            }

            // Selected only (RFC 9051 §6.4).
            (S::Selected(_), C::Check) => cmd::any::check(&tag),
            (S::Selected(sel), C::Close) => cmd::select::close(self, sel, &tag).await,
            (S::Selected(sel), C::Unselect) => cmd::select::unselect(self, sel, &tag),
            (S::Selected(sel), C::Expunge) => cmd::expunge::expunge(self, sel, &tag, None).await,
            (S::Selected(sel), C::UidExpunge(set)) => {
                cmd::expunge::expunge(self, sel, &tag, Some(set)).await
            }
            (S::Selected(sel), C::Search(s)) => cmd::search::search(self, sel, &tag, s).await,
            (S::Selected(sel), C::Fetch(f)) => cmd::fetch::fetch(self, sel, &tag, f).await,
            (S::Selected(sel), C::Store(s)) => cmd::store::store(self, sel, &tag, s).await,
            (S::Selected(sel), C::Copy(c)) => cmd::copy_move::copy(self, sel, &tag, c).await,
            (S::Selected(sel), C::Move(m)) => cmd::copy_move::move_(self, sel, &tag, m).await,
            (S::Selected(sel), C::Sort(s)) => cmd::sort_thread::sort(self, sel, &tag, s).await,
            (S::Selected(sel), C::Thread(t)) => cmd::sort_thread::thread(self, sel, &tag, t).await,
            (S::Selected(sel), C::Replace(r)) => cmd::replace::replace(self, sel, &tag, r).await,
            (
                S::Authenticated(_),
                C::Check
                | C::Close
                | C::Unselect
                | C::Expunge
                | C::UidExpunge(_)
                | C::Search(_)
                | C::Fetch(_)
                | C::Store(_)
                | C::Copy(_)
                | C::Move(_)
                | C::Sort(_)
                | C::Thread(_)
                | C::Replace(_),
            ) => Outcome::reply(cat::bad(Some(&tag), cat::NO_MAILBOX)),
        };
        self.finish(state, outcome, may_expunge).await
    }

    /// Applies a handler's outcome: the state change, the synchronisation of a selected
    /// mailbox (untagged updates go before the tagged reply), then the reply.
    async fn finish(&mut self, mut state: State, outcome: Outcome, may_expunge: bool) -> State {
        let reply = match outcome {
            Outcome::Stay(reply) => reply,
            Outcome::Switch(next, reply) => {
                state = next;
                reply
            }
        };
        if let State::Selected(sel) = &mut state
            && !cmd::sync::sync(self, sel, may_expunge).await
        {
            self.reply(&cat::bye(cat::MAILBOX_GONE));
            return State::Logout;
        }
        if let Some(r) = reply {
            self.reply(&r);
        }
        if let Some(l) = &self.live {
            match &state {
                State::Authenticated(a) => {
                    l.set_user(&a.address());
                    l.set_mailbox(None);
                }
                State::Selected(sel) => l.set_mailbox(Some(&sel.name)),
                _ => {}
            }
        }
        state
    }

    /// Reads until a command is complete, handling literal announcements, streaming
    /// APPEND literals to blob writers and answering framing errors.
    async fn next_command(&mut self, authenticated: bool) -> Input {
        loop {
            let adv = self.framer.advance(self.io.pending());
            let consumed = adv.consumed;
            match adv.event {
                FrameEvent::NeedMore => {
                    self.io.consume(consumed);
                    if !self.wait_for_input().await {
                        return Input::Closed;
                    }
                }
                FrameEvent::Command(framed) => {
                    self.io.consume(consumed);
                    return Input::Command(framed);
                }
                FrameEvent::Literal(lit) => {
                    self.io.consume(consumed);
                    self.decide_literal(lit, authenticated).await;
                }
                FrameEvent::LiteralData(bytes) => {
                    let written = match self.spools.last_mut() {
                        Some(w) => w.write(bytes).await.map_err(|e| e.to_string()),
                        None => Ok(()),
                    };
                    self.io.consume(consumed);
                    if let Err(e) = written {
                        tracing::error!(error = %e, "cannot spool an APPEND literal");
                        self.spools.clear();
                    }
                }
                FrameEvent::LiteralEnd => self.io.consume(consumed),
                FrameEvent::Error { error, .. } => {
                    self.io.consume(consumed);
                    self.spools.clear();
                    let r = match error.kind {
                        crate::proto::FrameErrorKind::LiteralSize => {
                            cat::bad(error.tag.as_ref(), error.kind.to_string())
                        }
                        _ => {
                            cat::bad_code(error.tag.as_ref(), Code::TooBig, error.kind.to_string())
                        }
                    };
                    self.reply(&r);
                }
            }
        }
    }

    /// RFC 9051 §7.5, RFC 7888, RFC 7889: accept a literal inline, stream an APPEND
    /// message to a blob writer, or refuse it (`NO [TOOBIG]` over APPENDLIMIT, `BAD
    /// [TOOBIG]` for a string too large to hold).
    async fn decide_literal(&mut self, lit: LiteralAnnouncement, authenticated: bool) {
        let tag = lit.tag.as_ref();
        let refusal = if lit.role == LiteralRole::AppendMessage {
            if !authenticated {
                Some(cat::bad(tag, cat::LOGIN_FIRST))
            } else if lit.size > self.svc.settings.imap.append_limit.0 {
                Some(StatusResponse {
                    tag: tag.cloned(),
                    status: Status::No,
                    code: Some(Code::TooBig),
                    text: cat::TOO_BIG.into(),
                })
            } else {
                let writer = self.svc.directory.store().blobs().writer();
                self.spools.push(writer);
                let _ = self.framer.accept_streamed(self.spools.len() - 1);
                None
            }
        } else if self.framer.accept_inline().is_err() {
            Some(cat::bad_code(tag, Code::TooBig, cat::LITERAL_TOO_BIG))
        } else {
            None
        };
        match refusal {
            Some(r) => {
                self.framer.reject_literal();
                self.spools.clear();
                self.reply(&r);
                if lit.synchronizing {
                    self.io.flush().await;
                }
            }
            None if lit.synchronizing => {
                self.continuation(Continuation::Text(cat::LITERAL_READY.into()));
                self.io.flush().await;
            }
            None => {}
        }
    }

    /// Flushes queued output, then waits for more input. False when the session must
    /// end (a `BYE` is queued when the server shuts down or the client idled too long).
    async fn wait_for_input(&mut self) -> bool {
        self.io.flush().await;
        if self.io.failed() {
            return false;
        }
        if self.framer.is_idle() {
            self.io.shrink();
        }
        let idle = self.svc.settings.imap.idle_timeout.get();
        let shutdown = self.shutdown.clone();
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                self.reply(&cat::bye(cat::SHUTTING_DOWN));
                return false;
            }
            r = tokio::time::timeout(idle, self.io.fill()) => r,
        };
        match read {
            Ok(Ok(0)) => false,
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "read failed");
                false
            }
            Err(_) => {
                tracing::info!("closing: idle timeout");
                self.reply(&cat::bye(cat::AUTOLOGOUT));
                false
            }
        }
    }

    /// Reads one plain client line (AUTHENTICATE responses, IDLE's DONE): `None` when
    /// the connection ended.
    pub(crate) async fn read_line(&mut self) -> Option<FramedCommand<usize>> {
        self.framer.expect_line();
        match self.next_command(false).await {
            Input::Command(f) => Some(f),
            Input::Closed => None,
        }
    }

    /// Resets the framer and the enabled extensions after STARTTLS or UNAUTHENTICATE.
    pub(crate) fn reset_protocol_state(&mut self) {
        self.framer = Framer::new(framer_config(&self.svc));
        self.enabled = Enabled::default();
    }

    /// How long the session may stay silent.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.svc.settings.imap.idle_timeout.get()
    }
}

fn framer_config(svc: &Inner) -> FramerConfig {
    let max_line = usize::try_from(svc.settings.imap.max_line.0).unwrap_or(usize::MAX);
    FramerConfig {
        max_line,
        max_command: max_line.saturating_mul(16).max(1024 * 1024),
    }
}

/// Whether the command names messages by sequence number (RFC 9586 §3): the non-UID
/// forms of FETCH, STORE, COPY, MOVE, SEARCH, SORT, THREAD and REPLACE, a sequence set
/// among the search keys of their UID forms (`$` holds UIDs and is allowed), and the
/// QRESYNC `(known-sequence-set known-uid-set)` of SELECT and EXAMINE.
fn uses_sequence_numbers<H>(body: &CommandBody<H>) -> bool {
    use CommandBody as C;
    match body {
        C::Fetch(f) => !f.uid,
        C::Store(s) => !s.uid,
        C::Copy(c) | C::Move(c) => !c.uid,
        C::Replace(r) => !r.uid,
        C::Search(s) => !s.uid || has_sequence_key(&s.criteria),
        C::Sort(s) => !s.uid || has_sequence_key(&s.search),
        C::Thread(t) => !t.uid || has_sequence_key(&t.search),
        // RFC 7162 §3.2.5 `seq-match-data` pairs message numbers with UIDs.
        C::Select(s) | C::Examine(s) => s.qresync.as_ref().is_some_and(|q| q.seq_match.is_some()),
        _ => false,
    }
}

fn has_sequence_key(key: &crate::proto::SearchKey) -> bool {
    use crate::proto::SearchKey as K;
    match key {
        K::SequenceSet(set) => !set.is_saved(),
        K::Not(k) => has_sequence_key(k),
        K::Or(a, b) => has_sequence_key(a) || has_sequence_key(b),
        K::And(keys) => keys.iter().any(has_sequence_key),
        _ => false,
    }
}

/// Whether untagged EXPUNGE may follow this command: not after FETCH, STORE, SEARCH (and
/// SORT, THREAD, COPY, MOVE) by sequence number, whose numbers the client still uses
/// (RFC 9051 §7.4.1).
fn announces_expunges<H>(body: &CommandBody<H>) -> bool {
    use CommandBody as C;
    match body {
        C::Fetch(f) => f.uid,
        C::Store(s) => s.uid,
        C::Search(s) => s.uid,
        C::Sort(s) => s.uid,
        C::Thread(t) => t.uid,
        C::Copy(c) | C::Move(c) => c.uid,
        _ => true,
    }
}
