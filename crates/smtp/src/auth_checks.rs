//! What the MX checks of mail from other servers: SPF for the MAIL FROM domain (or the
//! HELO name for the null sender; RFC 7208, with its lookup limits), every DKIM
//! signature (RFC 6376), and the DMARC policy of the `From` domain (RFC 7489), with the
//! results written as one `Authentication-Results` field (RFC 8601) under our
//! authserv-id. Any field that claims our authserv-id and came from outside is removed
//! first (RFC 8601 §5). Mail from authenticated clients, and from the networks allowed
//! to relay, is ours and is not checked.
//!
//! A DNS failure gives `temperror`, which never leads to a refusal; a domain whose
//! DMARC policy is `reject` and whose mail fails DMARC is refused with `550 5.7.1`
//! (`[mail_auth] dmarc_reject`), one whose policy is `quarantine` is filed in Junk
//! (`dmarc_quarantine`); mail from `trusted_forwarders` is neither.

use std::net::{IpAddr, SocketAddr};

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::Policy;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimResult, DmarcResult, IprevOutput,
    MessageAuthenticator,
};
use pillarbox_config::MailAuthSection;

/// The MX's checks, built once.
pub struct InboundChecks {
    authenticator: MessageAuthenticator,
    authserv_id: String,
    settings: MailAuthSection,
}

impl std::fmt::Debug for InboundChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundChecks")
            .field("authserv_id", &self.authserv_id)
            .finish()
    }
}

/// What the checks found.
#[derive(Debug)]
pub struct Verdict {
    /// The `Authentication-Results` field, with its CRLF.
    pub header: String,
    /// Refuse the message: DMARC failed under a `reject` policy.
    pub reject: Option<String>,
    /// File it in Junk: DMARC failed under a `quarantine` policy.
    pub quarantine: bool,
    /// One line for the trace: `spf=pass dkim=pass dmarc=pass`.
    pub summary: String,
}

impl InboundChecks {
    /// The checks for `settings`, asking `resolver` (empty: the system's resolver).
    pub fn new(
        settings: &MailAuthSection,
        hostname: &str,
        resolver: &[SocketAddr],
    ) -> Result<InboundChecks, String> {
        let mut opts = ResolverOpts::default();
        opts.timeout = settings.dns_timeout.get();
        opts.attempts = 2;
        let authenticator = if resolver.is_empty() {
            MessageAuthenticator::new_system_conf()
        } else {
            let servers = resolver
                .iter()
                .map(|sa| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = sa.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = sa.port();
                    let mut ns = NameServerConfig::udp_and_tcp(sa.ip());
                    ns.connections = vec![udp, tcp];
                    ns
                })
                .collect();
            MessageAuthenticator::new(ResolverConfig::from_name_servers(servers), opts)
        }
        .map_err(|e| format!("mail_auth: cannot set up the DNS resolver: {e}"))?;
        let authserv_id = if settings.authserv_id.trim().is_empty() {
            hostname.to_string()
        } else {
            settings.authserv_id.trim().to_string()
        };
        Ok(InboundChecks {
            authenticator,
            authserv_id,
            settings: settings.clone(),
        })
    }

    /// Our authserv-id.
    pub fn authserv_id(&self) -> &str {
        &self.authserv_id
    }

    /// How long one DNS question may take (`[mail_auth] dns_timeout`).
    pub fn dns_timeout(&self) -> std::time::Duration {
        self.settings.dns_timeout.get()
    }

    /// FCrDNS of `ip` (RFC 8601 §3 iprev): its PTR names, and whether one of them
    /// resolves back to it. Started when a client connects, so the `Received:` field can
    /// name it.
    pub async fn iprev(&self, ip: IpAddr) -> IprevOutput {
        self.authenticator.verify_iprev(ip).await
    }

    /// Checks `raw` (the message as received, header and body) from `ip`, which said
    /// `helo` and gave `mail_from` (empty for the null sender). `iprev` is the
    /// client's FCrDNS when it was looked up already.
    pub async fn check(
        &self,
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
        raw: &[u8],
        iprev: Option<&IprevOutput>,
    ) -> Verdict {
        let a = &self.authenticator;
        let helo_domain = helo.trim_start_matches('[').trim_end_matches(']');
        let spf = if mail_from.is_empty() {
            a.verify_spf(SpfParameters::verify_ehlo(
                ip,
                helo_domain,
                &self.authserv_id,
            ))
            .await
        } else {
            a.verify_spf(SpfParameters::verify_mail_from(
                ip,
                helo_domain,
                &self.authserv_id,
                mail_from,
            ))
            .await
        };
        // FCrDNS of the client (RFC 8601 §3 iprev): its PTR names resolve back to it.
        let iprev = match iprev {
            Some(i) => i.clone(),
            None => a.verify_iprev(ip).await,
        };
        let iprev_word = match iprev.result() {
            mail_auth::IprevResult::Pass => "pass",
            mail_auth::IprevResult::Fail(_) => "fail",
            mail_auth::IprevResult::TempError(_) => "temperror",
            mail_auth::IprevResult::PermError(_) => "permerror",
            mail_auth::IprevResult::None => "none",
        };
        let mut results =
            AuthenticationResults::new(&self.authserv_id).with_iprev_result(&iprev, ip);
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            // No header section to speak of: only SPF can be said.
            results = if mail_from.is_empty() {
                results.with_spf_ehlo_result(&spf, ip, helo_domain)
            } else {
                results.with_spf_mailfrom_result(&spf, ip, mail_from, helo_domain)
            };
            return Verdict {
                header: results.to_header(),
                reject: None,
                quarantine: false,
                summary: format!("iprev={iprev_word} spf={}", spf.result()),
            };
        };
        let dkim = a.verify_dkim(&message).await;
        let mail_from_domain = if mail_from.is_empty() {
            helo_domain.to_string()
        } else {
            mail_from
                .rsplit_once('@')
                .map_or(helo_domain, |(_, d)| d)
                .to_string()
        };
        let from_domain = message
            .from()
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_string();
        let dmarc = a
            .verify_dmarc(mail_auth::dmarc::verify::DmarcParameters::new(
                &message,
                &dkim,
                &mail_from_domain,
                &spf,
            ))
            .await;
        results = results.with_dkim_results(&dkim, &from_domain);
        results = if mail_from.is_empty() {
            results.with_spf_ehlo_result(&spf, ip, helo_domain)
        } else {
            results.with_spf_mailfrom_result(&spf, ip, mail_from, helo_domain)
        };
        results = results.with_dmarc_result(&dmarc);

        // DMARC fails when neither identifier passes aligned, and neither check hit a
        // DNS error (RFC 7489 §6.6.2: a temporary error is never a failure).
        let (d, s) = (dmarc.dkim_result(), dmarc.spf_result());
        let temp = |r: &DmarcResult| matches!(r, DmarcResult::TempError(_));
        let failed = *d != DmarcResult::Pass
            && *s != DmarcResult::Pass
            && !temp(d)
            && !temp(s)
            && dmarc.dmarc_record().is_some();
        let forwarder = self.settings.trusted_forwarders.contains(ip);
        let policy = dmarc.policy();
        let reject = (failed
            && !forwarder
            && self.settings.dmarc_reject
            && policy == Policy::Reject)
            .then(|| {
                format!(
                    "DMARC policy of {} refuses this message: it is neither signed nor sent by that domain",
                    dmarc.domain()
                )
            });
        let quarantine = failed
            && !forwarder
            && reject.is_none()
            && self.settings.dmarc_quarantine
            && matches!(policy, Policy::Quarantine | Policy::Reject);
        let dkim_word = if dkim.is_empty() {
            "none".to_string()
        } else if dkim.iter().any(|d| d.result() == &DkimResult::Pass) {
            "pass".to_string()
        } else {
            dkim.first()
                .map_or("none".into(), |d| d.result().to_string())
        };
        Verdict {
            header: results.to_header(),
            reject,
            quarantine,
            summary: format!(
                "iprev={iprev_word} spf={} dkim={dkim_word} dmarc={}{}",
                spf.result(),
                if failed {
                    "fail"
                } else if dmarc.dmarc_record().is_some() {
                    "pass"
                } else {
                    "none"
                },
                match policy {
                    Policy::Reject => " (p=reject)",
                    Policy::Quarantine => " (p=quarantine)",
                    _ => "",
                }
            ),
        }
    }
}

/// The client's host name when its FCrDNS passed (a PTR name that resolves back to
/// its address), for the `Received:` field.
pub fn verified_name(iprev: &IprevOutput) -> Option<String> {
    if *iprev.result() != mail_auth::IprevResult::Pass {
        return None;
    }
    iprev
        .ptr
        .as_ref()
        .and_then(|names| names.first())
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
}

/// The header section of `raw` without the `Authentication-Results` fields that claim
/// `authserv_id` (compared without case), or `None` when there are none.
pub fn strip_forged(raw: &[u8], authserv_id: &str) -> Option<Vec<u8>> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 2);
    let header = &raw[..end];
    // Split into fields: a field is a line and its continuation lines.
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < header.len() {
        if header[i] == b'\n' {
            let next = header.get(i + 1).copied();
            if !matches!(next, Some(b' ' | b'\t')) {
                fields.push(&header[start..=i]);
                start = i + 1;
            }
        }
        i += 1;
    }
    if start < header.len() {
        fields.push(&header[start..]);
    }
    let forged = |f: &[u8]| -> bool {
        let Some(colon) = f.iter().position(|&b| b == b':') else {
            return false;
        };
        if !f[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"Authentication-Results")
        {
            return false;
        }
        // The authserv-id is the first token of the value (after comments and
        // whitespace), up to `;` or whitespace.
        let value = String::from_utf8_lossy(&f[colon + 1..]);
        let value = strip_comments(&value);
        let id = value
            .trim_start()
            .split(|c: char| c == ';' || c.is_whitespace())
            .next()
            .unwrap_or("");
        id.eq_ignore_ascii_case(authserv_id)
    };
    if !fields.iter().any(|f| forged(f)) {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    for f in fields.into_iter().filter(|f| !forged(f)) {
        out.extend_from_slice(f);
    }
    out.extend_from_slice(&raw[end..]);
    Some(out)
}

/// `s` without RFC 5322 comments (nested parentheses, quoted pairs).
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_results_claiming_our_id_are_removed_and_others_kept() {
        let raw = b"Received: from x\r\n\
            Authentication-Results: MX.example.test;\r\n\tspf=pass smtp.mailfrom=a@b\r\n\
            Authentication-Results: (comment) mx.example.test; dkim=pass\r\n\
            Authentication-Results: other.example; dkim=pass\r\n\
            Authentication-Results: mx.example.test.evil; dkim=pass\r\n\
            Subject: hi\r\n\r\nAuthentication-Results: mx.example.test; body\r\n";
        let out = strip_forged(raw, "mx.example.test").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "Received: from x\r\n\
             Authentication-Results: other.example; dkim=pass\r\n\
             Authentication-Results: mx.example.test.evil; dkim=pass\r\n\
             Subject: hi\r\n\r\nAuthentication-Results: mx.example.test; body\r\n"
        );
        assert!(strip_forged(b"Subject: x\r\n\r\nbody", "mx.example.test").is_none());
        // A header section without a body, and garbage, never panic.
        assert!(strip_forged(b"Authentication-Results", "x").is_none());
        assert!(strip_forged(b"", "x").is_none());
        let only = strip_forged(b"Authentication-Results: x;\r\n", "x").unwrap();
        assert!(only.is_empty());
    }
}
