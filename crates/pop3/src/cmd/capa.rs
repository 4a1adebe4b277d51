//! RFC 2449 §5 CAPA: the capability list, which depends on the state and on whether
//! plaintext authentication is allowed yet. Never lists a mechanism or command the
//! session would refuse right now.

use pillarbox_directory::sasl::Mechanism;

use crate::proto::{TERMINATOR, catalogue, reply::write_text_line};
use crate::session::{Session, State};

/// RFC 2449 §5: answers CAPA in any state.
pub(crate) fn capa(s: &mut Session, state: &State) {
    let lines = capabilities(s, matches!(state, State::Authorization(_)));
    s.reply(catalogue::capabilities_follow());
    let out = s.io.out();
    for l in &lines {
        write_text_line(out, l);
    }
    out.extend_from_slice(TERMINATOR);
}

/// The capability lines (RFC 2449 §6).
fn capabilities(s: &Session, authorization: bool) -> Vec<String> {
    let pop3 = &s.svc.settings.pop3;
    let mut caps: Vec<String> = vec![
        "TOP".into(),
        "UIDL".into(),
        "RESP-CODES".into(),
        "AUTH-RESP-CODE".into(),
        "PIPELINING".into(),
    ];
    // RFC 2449 §6.7: the server's retention policy.
    caps.push(match pop3.expire_days {
        Some(days) => format!("EXPIRE {days}"),
        None => "EXPIRE NEVER".into(),
    });
    // RFC 2449 §6.8: the minimum time between logins.
    if let Some(delay) = pop3.login_delay {
        caps.push(format!("LOGIN-DELAY {}", delay.get().as_secs()));
    }
    if authorization {
        if s.plaintext_allowed() {
            caps.push("USER".into());
            let mechs: Vec<&str> = Mechanism::ALL.iter().map(|m| m.name()).collect();
            caps.push(format!("SASL {}", mechs.join(" ")));
        }
        if s.stls_available() {
            caps.push("STLS".into());
        }
    }
    caps.push("IMPLEMENTATION Pillarbox".into());
    caps
}
