//! Login: RFC 1939 §7 USER/PASS (and APOP, refused), RFC 5034 SASL AUTH with PLAIN and
//! LOGIN (initial response, `*` to cancel, bare AUTH listing the mechanisms), and the
//! step every login shares: the directory's check (failure limiter, password, service
//! policy), the maildrop lock and LOGIN-DELAY, and the snapshot that starts the
//! TRANSACTION state. Plaintext mechanisms are refused before TLS except from trusted
//! networks. Never logs a password or a SASL response.

use base64::Engine as _;
use pillarbox_directory::sasl::{Exchange, Mechanism, Step};
use pillarbox_directory::{Credentials, Service};

use crate::maildrop::{LockRefusal, Maildrop};
use crate::proto::reply::{write_continuation, write_text_line};
use crate::proto::{AuthStart, Reply, TERMINATOR, catalogue, parse_sasl_response};
use crate::readahead::ReadAhead;
use crate::session::{Authorization, Input, Next, Session, State, Transaction};

fn stay(a: Authorization) -> Next {
    Next::Stay(State::Authorization(a))
}

/// RFC 1939 §7 USER name.
pub(crate) fn user(s: &mut Session, mut a: Authorization, name: String) -> Next {
    if !s.plaintext_allowed() {
        s.reply(catalogue::tls_required());
        return stay(Authorization::default());
    }
    a.user = Some(name);
    s.reply(catalogue::user_accepted());
    stay(a)
}

/// RFC 1939 §7 PASS string: must follow USER; a failure returns to a fresh
/// AUTHORIZATION state and the session continues.
pub(crate) async fn pass(s: &mut Session, a: Authorization, password: String) -> Next {
    if !s.plaintext_allowed() {
        s.reply(catalogue::tls_required());
        return stay(Authorization::default());
    }
    let Some(username) = a.user else {
        s.reply(catalogue::user_first());
        return stay(Authorization::default());
    };
    login(s, Credentials { username, password }).await
}

/// RFC 5034 §4 AUTH [mechanism [initial-response]].
pub(crate) async fn auth(s: &mut Session, a: Authorization, start: Option<AuthStart>) -> Next {
    let Some(start) = start else {
        list_mechanisms(s);
        return stay(a);
    };
    if !s.plaintext_allowed() {
        s.reply(catalogue::tls_required());
        return stay(Authorization::default());
    }
    let Some(mech) = Mechanism::from_name(&start.mechanism) else {
        s.reply(catalogue::unknown_mechanism());
        return stay(a);
    };
    let (mut exchange, mut step) = Exchange::start(mech, start.initial.as_deref());
    loop {
        match step {
            Step::Challenge(challenge) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(challenge);
                write_continuation(s.io.out(), &b64);
                let line = match s.next_line().await {
                    Input::Line(l) => l,
                    Input::TooLong => {
                        s.reply(catalogue::line_too_long());
                        return stay(Authorization::default());
                    }
                    Input::Closed => return Next::Close,
                };
                step = match parse_sasl_response(&line) {
                    Ok(Some(data)) => exchange.step(&data),
                    Ok(None) => {
                        s.reply(catalogue::auth_cancelled());
                        return stay(Authorization::default());
                    }
                    Err(_) => {
                        s.reply(catalogue::bad_sasl_response());
                        return stay(Authorization::default());
                    }
                };
            }
            Step::Done(creds) => return login(s, creds).await,
            Step::Failed(e) => {
                s.reply(catalogue::sasl_failed(&e));
                return stay(Authorization::default());
            }
        }
    }
}

/// Bare AUTH (RFC 1734 style, which RFC 5034 clients still send): the mechanisms usable
/// now, none before TLS from an untrusted network.
fn list_mechanisms(s: &mut Session) {
    let allowed = s.plaintext_allowed();
    s.reply(catalogue::mechanisms_follow());
    let out = s.io.out();
    if allowed {
        for m in Mechanism::ALL {
            write_text_line(out, m.name());
        }
    }
    out.extend_from_slice(TERMINATOR);
}

/// The common end of every login: authenticate, lock, snapshot.
async fn login(s: &mut Session, creds: Credentials) -> Next {
    match enter_transaction(s, &creds).await {
        Ok(t) => {
            if let Some(l) = &s.live {
                l.set_user(&t.account.address());
                l.set_mailbox(Some("INBOX"));
            }
            let (count, octets) = t.maildrop.stat();
            s.reply(catalogue::logged_in(count, octets));
            Next::Stay(State::Transaction(t))
        }
        Err(reply) => {
            s.reply(reply);
            stay(Authorization::default())
        }
    }
}

async fn enter_transaction(s: &Session, creds: &Credentials) -> Result<Transaction, Reply> {
    let svc = &s.svc;
    let account = svc
        .directory
        .authenticate(creds, Service::Pop3, s.peer.ip())
        .await
        .map_err(|e| catalogue::auth_failed(&e))?;
    let delay = svc.settings.pop3.login_delay.map(|d| d.get());
    let lock = svc.locks.acquire(account.id, delay).map_err(|r| match r {
        LockRefusal::InUse => {
            tracing::info!(user = %account.address(), "maildrop in use");
            catalogue::in_use()
        }
        LockRefusal::LoginDelay { wait } => catalogue::login_delay(
            delay.unwrap_or_default().as_secs(),
            wait.as_secs_f64().ceil() as u64,
        ),
        LockRefusal::Unavailable => catalogue::temporary(),
    })?;
    let lock = lock
        .across_nodes(svc.directory.store())
        .await
        .map_err(|r| match r {
            LockRefusal::InUse => {
                tracing::info!(user = %account.address(), "maildrop in use on another node");
                catalogue::in_use()
            }
            _ => catalogue::temporary(),
        })?;
    let maildrop = Maildrop::load(svc.directory.store(), account.id, &svc.sizes)
        .await
        .map_err(|e| {
            tracing::error!(user = %account.address(), error = %e, "cannot open the maildrop");
            catalogue::temporary()
        })?;
    Ok(Transaction {
        account,
        maildrop,
        readahead: ReadAhead::default(),
        _lock: lock,
    })
}
