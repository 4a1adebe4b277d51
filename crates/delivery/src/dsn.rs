//! Delivery status notifications (RFC 3464): a `multipart/report` with a human-readable
//! part quoting the remote server, the machine-readable `message/delivery-status`, and
//! the original message (RET=FULL) or its headers (RET=HDRS). Pure: builds bytes.

use std::fmt::Write as _;

/// What kind of notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnKind {
    /// Permanent failure or expiry.
    Failure,
    /// Still trying (delay warning).
    Delay,
    /// Delivered, as the sender asked with NOTIFY=SUCCESS.
    Success,
}

/// The `Action:` of one recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
        }
    }
}

/// One recipient in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    pub address: String,
    /// ORCPT as given at submission (`rfc822;addr`).
    pub orcpt: Option<String>,
    pub action: Action,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: String,
    /// The remote's reply or our reason, without the `smtp;` prefix.
    pub diagnostic: Option<String>,
    /// The host that answered.
    pub remote_mta: Option<String>,
}

/// Everything a notice needs.
#[derive(Debug, Clone)]
pub struct DsnInput<'a> {
    pub kind: DsnKind,
    pub reporting_mta: &'a str,
    pub from: &'a str,
    /// The original envelope sender (the notice's recipient).
    pub to: &'a str,
    pub envid: Option<&'a str>,
    /// When the original entered the queue (seconds since the epoch).
    pub arrival: i64,
    /// RET=HDRS: include only the headers.
    pub headers_only: bool,
    pub original: &'a [u8],
    pub recipients: Vec<DsnRecipient>,
    /// When the queue gives up (delay notices: Will-Retry-Until, RFC 3464 §2.3.9).
    pub retry_until: Option<i64>,
}

/// Whether a recipient with these DSN parameters wants a failure notice: never for the
/// null sender; by default (no NOTIFY) yes; else only with NOTIFY=FAILURE (RFC 3461).
pub fn wants_failure_notice(sender: &str, notify: Option<&str>) -> bool {
    !sender.is_empty() && notify.is_none_or(|n| notify_has(n, "FAILURE"))
}

/// Whether the sender asked for a success notice (NOTIFY=SUCCESS).
pub fn wants_success_notice(sender: &str, notify: Option<&str>) -> bool {
    !sender.is_empty() && notify.is_some_and(|n| notify_has(n, "SUCCESS"))
}

fn notify_has(notify: &str, what: &str) -> bool {
    notify
        .split(',')
        .any(|x| x.trim().eq_ignore_ascii_case(what))
}

/// The enhanced status to report for a reply: its own, or derived from the reply code.
pub fn status_of(reply: &str) -> String {
    let mut words = reply.split_whitespace();
    let code = words.next().unwrap_or("");
    if let Some(second) = words.next() {
        let parts: Vec<&str> = second.split('.').collect();
        if parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        {
            return second.to_string();
        }
    }
    match code.chars().next() {
        Some('5') => "5.0.0".into(),
        Some('4') => "4.0.0".into(),
        Some('2') => "2.0.0".into(),
        _ => "4.4.1".into(),
    }
}

/// RFC 5322 date of a Unix time.
pub fn rfc5322(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    t.format(&fmt).unwrap_or_default()
}

fn header_block(original: &[u8]) -> &[u8] {
    match original.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &original[..i + 2],
        None => original,
    }
}

/// Builds the notice as a complete message (CRLF line endings).
pub fn build(d: &DsnInput<'_>, now: i64, boundary: &str) -> Vec<u8> {
    let subject = match d.kind {
        DsnKind::Failure => "Undelivered Mail Returned to Sender",
        DsnKind::Delay => "Delayed Mail (still being retried)",
        DsnKind::Success => "Successful Mail Delivery Report",
    };
    let mut m = String::new();
    let _ = write!(
        m,
        "From: Mail Delivery System <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{boundary}@{mta}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n\
         This is a MIME-encapsulated message.\r\n\r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Description: Notification\r\n\r\n",
        from = d.from,
        to = d.to,
        date = rfc5322(now),
        mta = d.reporting_mta,
    );
    m.push_str(&human_text(d));
    let _ = write!(
        m,
        "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\nContent-Description: Delivery report\r\n\r\n\
         Reporting-MTA: dns; {}\r\n",
        d.reporting_mta
    );
    if let Some(envid) = d.envid {
        let _ = write!(m, "Original-Envelope-Id: {envid}\r\n");
    }
    let _ = write!(m, "Arrival-Date: {}\r\n", rfc5322(d.arrival));
    for r in &d.recipients {
        let _ = write!(m, "\r\nFinal-Recipient: rfc822; {}\r\n", r.address);
        if let Some(o) = &r.orcpt {
            let o = o.strip_prefix("rfc822;").unwrap_or(o);
            let _ = write!(m, "Original-Recipient: rfc822; {o}\r\n");
        }
        let _ = write!(m, "Action: {}\r\nStatus: {}\r\n", r.action.name(), r.status);
        if let Some(mta) = &r.remote_mta {
            let _ = write!(m, "Remote-MTA: dns; {mta}\r\n");
        }
        if let Some(diag) = &r.diagnostic {
            let _ = write!(m, "Diagnostic-Code: smtp; {}\r\n", one_line(diag));
        }
        let _ = write!(m, "Last-Attempt-Date: {}\r\n", rfc5322(now));
        if let (DsnKind::Delay, Some(until)) = (d.kind, d.retry_until) {
            let _ = write!(m, "Will-Retry-Until: {}\r\n", rfc5322(until));
        }
    }
    let (ctype, body) = if d.headers_only || d.kind == DsnKind::Delay {
        ("text/rfc822-headers", header_block(d.original))
    } else {
        ("message/rfc822", d.original)
    };
    let _ = write!(
        m,
        "\r\n--{boundary}\r\nContent-Type: {ctype}\r\nContent-Description: Undelivered message\r\n\r\n"
    );
    let mut out = m.into_bytes();
    out.extend_from_slice(body);
    if !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

fn one_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn human_text(d: &DsnInput<'_>) -> String {
    let mut t = format!(
        "This is the mail system at host {}.\r\n\r\n",
        d.reporting_mta
    );
    t.push_str(match d.kind {
        DsnKind::Failure => {
            "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients. \
             The reasons are below.\r\n"
        }
        DsnKind::Delay => {
            "Your message could not be delivered yet to the recipients below.\r\nThe mail system will keep trying; \
             you do not need to send it again.\r\n"
        }
        DsnKind::Success => "Your message was delivered to the recipients below.\r\n",
    });
    for r in &d.recipients {
        let _ = write!(t, "\r\n<{}>: ", r.address);
        match (&r.remote_mta, &r.diagnostic) {
            (Some(host), Some(diag)) => {
                let _ = write!(t, "host {host} said: {}\r\n", one_line(diag));
            }
            (None, Some(diag)) => {
                let _ = write!(t, "{}\r\n", one_line(diag));
            }
            _ => t.push_str(r.action.name()),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: DsnKind, headers_only: bool) -> DsnInput<'static> {
        DsnInput {
            kind,
            reporting_mta: "mx.example.test",
            from: "MAILER-DAEMON@mx.example.test",
            to: "alice@example.test",
            envid: Some("QQ314159"),
            arrival: 1_700_000_000,
            headers_only,
            original: b"Subject: hello\r\nFrom: alice@example.test\r\n\r\nbody line\r\n",
            recipients: vec![DsnRecipient {
                address: "bob@remote.example".into(),
                orcpt: Some("rfc822;bob@remote.example".into()),
                action: Action::Failed,
                status: "5.1.1".into(),
                diagnostic: Some("550 5.1.1 <bob@remote.example>: no such user".into()),
                remote_mta: Some("mx1.remote.example".into()),
            }],
            retry_until: None,
        }
    }

    #[test]
    fn failure_report_structure() {
        let out = String::from_utf8(build(
            &input(DsnKind::Failure, false),
            1_700_000_100,
            "b0undary",
        ))
        .unwrap();
        assert!(out.contains("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"b0undary\""));
        assert!(out.contains("Subject: Undelivered Mail Returned to Sender\r\n"));
        assert!(out.contains(
            "host mx1.remote.example said: 550 5.1.1 <bob@remote.example>: no such user"
        ));
        assert!(
            out.contains(
                "Reporting-MTA: dns; mx.example.test\r\nOriginal-Envelope-Id: QQ314159\r\n"
            )
        );
        assert!(out.contains("Final-Recipient: rfc822; bob@remote.example\r\nOriginal-Recipient: rfc822; bob@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx1.remote.example\r\nDiagnostic-Code: smtp; 550 5.1.1"));
        assert!(out.contains("Content-Type: message/rfc822\r\n"));
        assert!(out.contains("body line"));
        assert!(out.ends_with("--b0undary--\r\n"));
        // The report parses as MIME with three parts.
        let s = pillarbox_mime::parse(out.as_bytes());
        assert_eq!(s.root.children().len(), 3);
    }

    #[test]
    fn hdrs_returns_only_the_header() {
        let out = String::from_utf8(build(&input(DsnKind::Failure, true), 0, "b")).unwrap();
        assert!(out.contains("Content-Type: text/rfc822-headers\r\n"));
        assert!(out.contains("Subject: hello"));
        assert!(!out.contains("body line"));
    }

    #[test]
    fn status_from_replies() {
        assert_eq!(status_of("550 5.1.1 no such user"), "5.1.1");
        assert_eq!(status_of("550 no such user"), "5.0.0");
        assert_eq!(status_of("451 4.7.1 greylisted"), "4.7.1");
        assert_eq!(status_of("connection refused"), "4.4.1");
    }
}
