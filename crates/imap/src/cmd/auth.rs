//! Logging in and out of the authenticated states: LOGIN (RFC 9051 §6.2.3),
//! AUTHENTICATE with PLAIN and LOGIN and SASL-IR (RFC 9051 §6.2.2, RFC 4959), and
//! UNAUTHENTICATE (RFC 8437 §3).
//!
//! Every login goes through the directory, which applies the per-IP failure limiter and
//! the account's service policy (IMAP off, IMAP only from the LAN); a refusal leaves the
//! connection usable for another attempt. Plaintext mechanisms are refused before TLS
//! except from trusted networks. Never logs a password or a SASL response.

use pillarbox_directory::sasl::{Exchange, Mechanism, Step};
use pillarbox_directory::{Credentials, Service};

use super::Outcome;
use crate::catalogue as cat;
use crate::proto::{
    Authenticate, Code, Continuation, Login, SaslResponse, Tag, parse_sasl_response,
};
use crate::session::{Session, State};

/// RFC 9051 §6.2.3.
pub(crate) async fn login(s: &mut Session, tag: &Tag, login: Login) -> Outcome {
    if !s.plaintext_allowed() {
        return Outcome::reply(cat::no(tag, Code::PrivacyRequired, cat::PRIVACY_REQUIRED));
    }
    let creds = Credentials {
        username: String::from_utf8_lossy(&login.username).into_owned(),
        password: String::from_utf8_lossy(&login.password).into_owned(),
    };
    finish_login(s, tag, creds).await
}

/// RFC 9051 §6.2.2, RFC 4959 §3 (initial response).
pub(crate) async fn authenticate(s: &mut Session, tag: &Tag, a: Authenticate) -> Outcome {
    let name = String::from_utf8_lossy(&a.mechanism);
    let Some(mech) = Mechanism::from_name(&name) else {
        return Outcome::reply(cat::no(tag, Code::Cannot, cat::UNKNOWN_MECHANISM));
    };
    if !s.plaintext_allowed() {
        return Outcome::reply(cat::no(tag, Code::PrivacyRequired, cat::PRIVACY_REQUIRED));
    }
    let (mut exchange, mut step) = Exchange::start(mech, a.initial_response.as_deref());
    loop {
        match step {
            Step::Challenge(challenge) => {
                s.continuation(Continuation::Base64(challenge));
                s.io.flush().await;
                let Some(line) = s.read_line().await else {
                    return Outcome::Switch(State::Logout, None);
                };
                step = match parse_sasl_response(&line) {
                    Ok(SaslResponse::Data(data)) => exchange.step(&data),
                    Ok(SaslResponse::Cancel) => {
                        return Outcome::reply(cat::bad(Some(tag), cat::AUTH_CANCELLED));
                    }
                    Err(_) => return Outcome::reply(cat::bad(Some(tag), cat::BAD_SASL)),
                };
            }
            Step::Done(creds) => return finish_login(s, tag, creds).await,
            Step::Failed(e) => {
                return Outcome::reply(cat::no(tag, Code::AuthenticationFailed, e.to_string()));
            }
        }
    }
}

/// The common end of LOGIN and AUTHENTICATE: the directory decides.
async fn finish_login(s: &mut Session, tag: &Tag, creds: Credentials) -> Outcome {
    // The directory bounds concurrent password checks (one per core) for every protocol.
    let svc = s.svc.clone();
    let checked = svc
        .directory
        .authenticate(&creds, Service::Imap, s.client_ip.unwrap_or(s.peer.ip()))
        .await;
    match checked {
        Ok(account) => {
            let caps = s.capabilities(true);
            Outcome::Switch(
                State::Authenticated(account),
                Some(cat::ok_code(tag, Code::Capability(caps), cat::LOGGED_IN)),
            )
        }
        Err(e) => Outcome::reply(cat::auth_failed(tag, &e)),
    }
}

/// RFC 8437 §3: back to the not-authenticated state, every enabled extension reset.
pub(crate) fn unauthenticate(s: &mut Session, tag: &Tag) -> Outcome {
    s.enabled = Default::default();
    Outcome::Switch(
        State::NotAuthenticated,
        Some(cat::ok(tag, cat::UNAUTHENTICATED)),
    )
}
