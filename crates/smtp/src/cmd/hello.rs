//! EHLO and HELO (RFC 5321 §4.1.1.1) and the extensions advertised in the EHLO reply.

use std::borrow::Cow;

use crate::proto::{Reply, catalogue};
use crate::session::{Helo, Phase, Session};

/// RFC 5321 §4.1.1.1, RFC 1869: greets and lists the extensions. Any transaction in
/// progress is aborted (§4.1.4).
pub fn ehlo(s: &mut Session, host: String) {
    s.io.enhanced = true;
    s.phase = Phase::Greeted(Helo {
        name: host.clone(),
        esmtp: true,
    });
    let mut lines: Vec<Cow<'static, str>> = vec![format!("{} greets {}", s.host(), host).into()];
    lines.push("PIPELINING".into());
    lines.push(format!("SIZE {}", s.svc.settings.smtp.max_message_size.0).into());
    lines.push("8BITMIME".into());
    lines.push("SMTPUTF8".into());
    lines.push("ENHANCEDSTATUSCODES".into());
    lines.push("CHUNKING".into());
    lines.push("DSN".into());
    if s.tls.is_none() && s.svc.tls.is_some() {
        lines.push("STARTTLS".into());
    }
    if s.auth.is_none() && s.auth_allowed() {
        lines.push("AUTH PLAIN LOGIN".into());
    }
    lines.push("HELP".into());
    s.io.reply(&Reply {
        code: 250,
        status: None,
        lines,
    });
}

/// RFC 5321 §4.1.1.1: the old greeting, without extensions.
pub fn helo(s: &mut Session, host: String) {
    s.io.enhanced = false;
    let r = catalogue::helo(s.host(), &host);
    s.phase = Phase::Greeted(Helo {
        name: host,
        esmtp: false,
    });
    s.io.reply(&r);
}
