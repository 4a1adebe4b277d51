//! STARTTLS (RFC 3207): the handshake, after which everything known about the session is
//! forgotten and anything the client pipelined before it is discarded (§4.2).

use crate::proto::catalogue;
use crate::session::{Flow, Phase, Session};

/// RFC 3207 §4.
pub async fn starttls(s: &mut Session) -> Flow {
    if s.tls.is_some() {
        s.reply(catalogue::bad_sequence("TLS already active"));
        return Flow::Continue;
    }
    let Some(tls) = s.svc.tls.clone() else {
        s.reply(catalogue::tls_unavailable());
        return Flow::Continue;
    };
    s.io.reply(&catalogue::ready_for_tls());
    if s.io.flush().await.is_err() {
        return Flow::Close;
    }
    let Some(stream) = s.io.take_stream_for_tls() else {
        return Flow::Close;
    };
    match tokio::time::timeout(s.io.timeout, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => {
            let info = pillarbox_net::TlsInfo::from_common(stream.get_ref().1);
            tracing::debug!(tls = %info, "STARTTLS done");
            s.io.restore_stream(Box::new(stream));
            if let Some(l) = &s.live {
                l.set_tls(&info.version);
            }
            s.tls = Some(info);
            s.phase = Phase::Connected;
            s.auth = None;
            s.io.enhanced = false;
            Flow::Continue
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "STARTTLS handshake failed");
            Flow::Close
        }
        Err(_) => Flow::Close,
    }
}
