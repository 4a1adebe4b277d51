//! STARTTLS (RFC 9051 §6.2.1): upgrades a plain connection to TLS in the
//! not-authenticated state. The tagged OK is flushed before the handshake; input the
//! client pipelined after STARTTLS is thrown away, and the session starts over with a
//! fresh framer and nothing enabled. Never offered once TLS is active.

use pillarbox_net::TlsInfo;

use super::Outcome;
use crate::catalogue as cat;
use crate::proto::{Code, Tag};
use crate::session::{Session, State};

/// RFC 9051 §6.2.1.
pub(crate) async fn starttls(s: &mut Session, tag: &Tag) -> Outcome {
    if s.tls.is_some() {
        return Outcome::reply(cat::bad(Some(tag), cat::TLS_ACTIVE));
    }
    let Some(tls) = s.svc.tls.clone() else {
        return Outcome::reply(cat::no(tag, Code::Unavailable, cat::TLS_UNAVAILABLE));
    };
    s.reply(&cat::ok(tag, cat::BEGIN_TLS));
    s.io.flush().await;
    let Some(stream) = s.io.take_stream_for_tls() else {
        return Outcome::Switch(State::Logout, None);
    };
    let timeout = s.svc.settings.tls_handshake_timeout;
    match tokio::time::timeout(timeout, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => {
            let info = TlsInfo::from_common(stream.get_ref().1);
            tracing::debug!(tls = %info, "STARTTLS done");
            s.io.restore_stream(Box::new(stream));
            if let Some(l) = &s.live {
                l.set_tls(&info.version);
            }
            s.tls = Some(info);
            s.reset_protocol_state();
            Outcome::Switch(State::NotAuthenticated, None)
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "STARTTLS handshake failed");
            Outcome::Switch(State::Logout, None)
        }
        Err(_) => {
            tracing::info!("STARTTLS handshake timed out");
            Outcome::Switch(State::Logout, None)
        }
    }
}
