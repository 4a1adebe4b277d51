//! The `Received:` trace header (RFC 5321 §4.4) with the protocol keywords of RFC 3848
//! (ESMTP, ESMTPS, ESMTPA, ESMTPSA; UTF8 variants per RFC 6531) and RFC 5322 dates.

use std::net::IpAddr;

use pillarbox_net::TlsInfo;

/// What the trace header says about the session.
pub struct Trace<'a> {
    pub helo: &'a str,
    /// The client's host name, when its reverse DNS was verified (FCrDNS).
    pub rdns: Option<&'a str>,
    pub esmtp: bool,
    pub peer: IpAddr,
    pub host: &'a str,
    pub tls: Option<&'a TlsInfo>,
    pub authenticated: bool,
    pub smtputf8: bool,
    pub id: &'a str,
    /// The recipient, when there is exactly one.
    pub single_rcpt: Option<&'a str>,
}

/// The current time in RFC 5322 form, e.g. `Tue, 24 Nov 2026 15:36:05 +0000`.
pub fn rfc5322_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    now.format(&fmt)
        .unwrap_or_else(|_| "Thu, 1 Jan 1970 00:00:00 +0000".into())
}

fn protocol(t: &Trace<'_>) -> String {
    let base = match (t.esmtp, t.smtputf8) {
        (_, true) => "UTF8SMTP",
        (true, false) => "ESMTP",
        (false, false) => "SMTP",
    };
    let mut p = base.to_string();
    if t.tls.is_some() {
        p.push('S');
    }
    if t.authenticated {
        p.push('A');
    }
    p
}

/// Sanitises the HELO argument for the header (no control characters or parentheses).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && *c != '(' && *c != ')')
        .take(255)
        .collect()
}

/// The complete header, folded, ending in CRLF.
pub fn header(t: &Trace<'_>) -> Vec<u8> {
    // RFC 5321 §4.4 TCP-info: the verified name, then the address literal.
    let rdns = t.rdns.map(|n| format!("{} ", clean(n))).unwrap_or_default();
    let mut h = format!(
        "Received: from {} ({rdns}[{}])\r\n\tby {} (Pillarbox) with {} id {}",
        clean(t.helo),
        t.peer,
        t.host,
        protocol(t),
        t.id
    );
    if let Some(tls) = t.tls {
        h.push_str(&format!(
            "\r\n\t(version={} cipher={})",
            tls.version, tls.cipher
        ));
    }
    if let Some(r) = t.single_rcpt {
        h.push_str(&format!("\r\n\tfor <{}>", clean(r)));
    }
    h.push_str(&format!(";\r\n\t{}\r\n", rfc5322_now()));
    h.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_header_shape() {
        let tls = TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
        };
        let mut t = Trace {
            helo: "client (evil)",
            rdns: None,
            esmtp: true,
            peer: "192.0.2.1".parse().unwrap(),
            host: "mx.example",
            tls: Some(&tls),
            authenticated: true,
            smtputf8: false,
            id: "abc",
            single_rcpt: Some("bob@example.test"),
        };
        let h = String::from_utf8(header(&t)).unwrap();
        assert!(h.starts_with("Received: from client evil ([192.0.2.1])\r\n\tby mx.example (Pillarbox) with ESMTPSA id abc\r\n\t(version=TLSv1.3"), "{h}");
        assert!(h.contains("\r\n\tfor <bob@example.test>;\r\n\t"), "{h}");
        assert!(h.ends_with(" +0000\r\n"));
        t.rdns = Some("mail.client.example");
        let h = String::from_utf8(header(&t)).unwrap();
        assert!(
            h.starts_with("Received: from client evil (mail.client.example [192.0.2.1])\r\n"),
            "{h}"
        );
    }
}
