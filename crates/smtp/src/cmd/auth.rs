//! AUTH (RFC 4954) with the shared SASL mechanisms (PLAIN, LOGIN). Plaintext mechanisms
//! only over TLS or from trusted networks; failures are counted per client address by
//! the directory, and policy refusals say why.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pillarbox_directory::sasl::{Exchange, Mechanism, Step};
use pillarbox_directory::{AuthError, Service};

use crate::io::Line;
use crate::proto::catalogue;
use crate::session::{Flow, Phase, Session};

/// RFC 4954 §4.
pub async fn auth(s: &mut Session, mechanism: String, initial: Option<String>) -> Flow {
    let sequence = match (&s.phase, &s.auth) {
        (_, Some(_)) => Some("Already authenticated"),
        (Phase::Mail(..), _) => Some("AUTH is not allowed during a mail transaction"),
        (Phase::Connected, _) => Some("Send EHLO first"),
        _ => None,
    };
    if let Some(why) = sequence {
        s.reply(catalogue::bad_sequence(why));
        return Flow::Continue;
    }
    if !s.auth_allowed() {
        s.reply(catalogue::encryption_required_for_auth());
        return Flow::Continue;
    }
    let Some(mech) = Mechanism::from_name(&mechanism) else {
        s.reply(catalogue::mechanism_unknown());
        return Flow::Continue;
    };
    let initial = match initial.as_deref() {
        None => None,
        Some("=") => Some(Vec::new()),
        Some(b64) => match STANDARD.decode(b64) {
            Ok(v) => Some(v),
            Err(_) => {
                s.reply(catalogue::bad_base64());
                return Flow::Continue;
            }
        },
    };
    let (mut exchange, mut step) = Exchange::start(mech, initial.as_deref());
    loop {
        match step {
            Step::Challenge(c) => {
                s.io.reply(&catalogue::auth_challenge(STANDARD.encode(c)));
                let Some(line) = read_line(s).await else {
                    return Flow::Close;
                };
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\r', '\n']);
                if text == "*" {
                    s.reply(catalogue::auth_cancelled());
                    return Flow::Continue;
                }
                match STANDARD.decode(text) {
                    Ok(data) => step = exchange.step(&data),
                    Err(_) => {
                        s.reply(catalogue::bad_base64());
                        return Flow::Continue;
                    }
                }
            }
            Step::Failed(e) => {
                tracing::info!(error = %e, "SASL exchange failed");
                s.reply(catalogue::bad_base64());
                return Flow::Continue;
            }
            Step::Done(creds) => {
                let directory = s.svc.pipeline.directory().clone();
                let reply = match directory
                    .authenticate(&creds, Service::Submission, s.peer.ip())
                    .await
                {
                    Ok(account) => {
                        if let Some(l) = &s.live {
                            l.set_user(&account.address());
                        }
                        s.auth = Some(account);
                        catalogue::auth_ok()
                    }
                    Err(AuthError::InvalidCredentials) => catalogue::auth_failed(),
                    Err(AuthError::RateLimited(d)) => {
                        catalogue::auth_rate_limited(d.as_secs().max(1))
                    }
                    Err(AuthError::Denied(d)) => catalogue::auth_denied(d.to_string()),
                    Err(AuthError::Temporary(_)) => catalogue::auth_temporary(),
                };
                s.reply(reply);
                return Flow::Continue;
            }
        }
    }
}

/// Reads one client line for a SASL exchange.
async fn read_line(s: &mut Session) -> Option<Vec<u8>> {
    loop {
        match s.io.take_line() {
            Some(Line::Complete(l)) => return Some(l),
            Some(Line::TooLong) => return Some(b"*".to_vec()),
            None => {
                s.io.flush().await.ok()?;
                match s.io.fill().await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        }
    }
}
