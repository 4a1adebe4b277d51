//! RFC 2595 §4 STLS: upgrades a plain connection to TLS in the AUTHORIZATION state.
//! Input the client pipelined after STLS is thrown away before the handshake, and the
//! session starts over in a fresh AUTHORIZATION state. Never offered once TLS is active
//! (nor after login: the dispatch table refuses it in TRANSACTION).

use pillarbox_net::TlsInfo;

use crate::proto::catalogue;
use crate::session::{Authorization, Next, Session, State};

/// RFC 2595 §4.
pub(crate) async fn stls(s: &mut Session, a: Authorization) -> Next {
    if s.tls.is_some() {
        s.reply(catalogue::already_tls());
        return Next::Stay(State::Authorization(a));
    }
    let Some(tls) = s.svc.tls.clone() else {
        s.reply(catalogue::tls_unavailable());
        return Next::Stay(State::Authorization(a));
    };
    s.reply(catalogue::begin_tls());
    if s.io.flush().await.is_err() {
        return Next::Close;
    }
    let Some(stream) = s.io.take_stream_for_tls() else {
        return Next::Close;
    };
    let timeout = s.svc.settings.tls_handshake_timeout;
    match tokio::time::timeout(timeout, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => {
            let info = TlsInfo::from_common(stream.get_ref().1);
            tracing::debug!(tls = %info, "STLS done");
            s.io.restore_stream(Box::new(stream));
            if let Some(l) = &s.live {
                l.set_tls(&info.version);
            }
            s.tls = Some(info);
            // RFC 2595 §4: the client must forget what it knew; so do we.
            Next::Stay(State::Authorization(Authorization::default()))
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "STLS handshake failed");
            Next::Close
        }
        Err(_) => {
            tracing::info!("STLS handshake timed out");
            Next::Close
        }
    }
}
