//! The connection test's report: one [`Step`] per stage (DNS, TCP, proxy, TLS,
//! greeting, capabilities, STARTTLS, authentication) with its time and what it found,
//! and the verdict line; rendered as aligned text or JSON.
//!
//! Plain data and formatting; no I/O. Never holds a secret.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use pillarbox_net::dial::{CertSummary, TlsReport};
use serde::Serialize;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    /// Worked, with something to look at (an unverified certificate).
    Warning,
    Failed,
    Skipped,
}

/// One stage of the test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub status: StepStatus,
    /// Milliseconds, when timed.
    pub millis: Option<u64>,
    pub detail: String,
}

impl Step {
    pub fn ok(name: &'static str, took: Option<Duration>, detail: impl Into<String>) -> Step {
        Step::new(name, StepStatus::Ok, took, detail)
    }

    pub fn failed(name: &'static str, took: Option<Duration>, detail: impl Into<String>) -> Step {
        Step::new(name, StepStatus::Failed, took, detail)
    }

    pub fn skipped(name: &'static str, detail: impl Into<String>) -> Step {
        Step::new(name, StepStatus::Skipped, None, detail)
    }

    pub fn new(
        name: &'static str,
        status: StepStatus,
        took: Option<Duration>,
        detail: impl Into<String>,
    ) -> Step {
        Step {
            name,
            status,
            millis: took.map(|d| d.as_millis() as u64),
            detail: detail.into(),
        }
    }
}

/// The whole test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    pub protocol: String,
    pub target: String,
    pub tls: String,
    pub proxy: Option<String>,
    pub steps: Vec<Step>,
    pub ok: bool,
    pub verdict: String,
}

impl ProbeReport {
    /// Aligned text: one line per step, then the verdict.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {} ({}{})",
            self.protocol,
            self.target,
            self.tls,
            self.proxy
                .as_deref()
                .map(|p| format!(", via {p}"))
                .unwrap_or_default()
        );
        for s in &self.steps {
            let status = match s.status {
                StepStatus::Ok => "ok",
                StepStatus::Warning => "WARNING",
                StepStatus::Failed => "FAILED",
                StepStatus::Skipped => "skipped",
            };
            let time = s.millis.map(|m| format!("{m} ms")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<13} {:<8} {:>8}  {}",
                s.name, status, time, s.detail
            );
        }
        let _ = writeln!(
            out,
            "{} {}",
            if self.ok { "PASS:" } else { "FAIL:" },
            self.verdict
        );
        out
    }
}

/// A TLS report as one line: version, cipher, certificate and verification.
pub fn tls_detail(r: &TlsReport) -> String {
    let mut s = format!("{} {}", r.version, r.cipher);
    match &r.verified {
        Ok(()) => s.push_str("; certificate verified"),
        Err(e) => s.push_str(&format!("; certificate NOT verified: {e}")),
    }
    if let Some(c) = &r.certificate {
        s.push_str("; ");
        s.push_str(&cert_detail(c));
    }
    s
}

/// Subject, issuer and expiry of a certificate.
pub fn cert_detail(c: &CertSummary) -> String {
    format!(
        "subject {:?}, issuer {:?}, expires {}",
        c.subject,
        c.issuer,
        date(c.not_after)
    )
}

/// `2027-01-31` for a time.
fn date(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        Err(_) => format!("{secs} (unix)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rendering() {
        let r = ProbeReport {
            protocol: "IMAP".into(),
            target: "mail.example:993".into(),
            tls: "implicit TLS".into(),
            proxy: Some("SOCKS5 127.0.0.1:1080".into()),
            steps: vec![
                Step::ok("DNS", Some(Duration::from_millis(3)), "127.0.0.1"),
                Step::failed("TLS", Some(Duration::from_millis(12)), "handshake failed"),
                Step::skipped("Greeting", "not reached"),
            ],
            ok: false,
            verdict: "fix it".into(),
        };
        assert_eq!(
            r.render_text(),
            "IMAP mail.example:993 (implicit TLS, via SOCKS5 127.0.0.1:1080)\n  \
             DNS           ok           3 ms  127.0.0.1\n  \
             TLS           FAILED      12 ms  handshake failed\n  \
             Greeting      skipped            not reached\n\
             FAIL: fix it\n"
        );
        assert_eq!(
            date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_428_000)),
            "2026-11-23"
        );
    }
}
