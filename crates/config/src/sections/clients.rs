//! `[clients]`: the client settings profile that mail clients are given when they set up
//! an account (MDaemon's "OC Client Settings"): incoming server (IMAP, optionally POP3),
//! outgoing server (SMTP), their security and ports, and how SMTP authenticates. Served
//! per domain as Thunderbird autoconfig, Outlook autodiscover and an Apple
//! configuration profile; `[[clients.domain]]` entries override any of it for one domain.

use serde::Deserialize;

/// How a client secures a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientSecurity {
    /// Implicit TLS from the first byte ("Use secured connection (SSL)": 993, 465, 995).
    Ssl,
    /// STARTTLS/STLS on the plain port ("Use Transport Layer Security (TLS)": 143, 587, 110).
    Starttls,
    /// No encryption (only sensible inside a trusted network).
    None,
}

/// `[clients]`: what clients are told, for every local domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientsSection {
    /// Serve the profiles ("Push client settings"); off answers 404 everywhere.
    pub enabled: bool,
    /// The provider name clients show; empty: the domain.
    pub display_name: String,
    /// Incoming IMAP server; empty: `server.hostname`.
    pub imap_host: String,
    /// "ssl" (implicit TLS) or "starttls" or "none".
    pub imap_security: ClientSecurity,
    /// 0: the port this server listens on for that security, else the standard one.
    pub imap_port: u16,
    /// Also offer POP3 as an alternative incoming server.
    pub pop3: bool,
    /// Incoming POP3 server; empty: `server.hostname`.
    pub pop3_host: String,
    pub pop3_security: ClientSecurity,
    pub pop3_port: u16,
    /// Outgoing SMTP (submission) server; empty: `server.hostname`.
    pub smtp_host: String,
    /// "ssl" (implicit TLS, 465) or "starttls" (587) or "none".
    pub smtp_security: ClientSecurity,
    pub smtp_port: u16,
    /// "SMTP server requires authentication".
    pub smtp_auth: bool,
    /// "Use same authentication as incoming server"; false: "Use SMTP authentication"
    /// with its own login (`smtp_username`, or the client asks when it is empty).
    pub smtp_same_credentials: bool,
    /// The SMTP login given to clients when `smtp_same_credentials` is off.
    pub smtp_username: String,
    /// Per-domain overrides.
    #[serde(rename = "domain")]
    pub domains: Vec<DomainClients>,
}

impl Default for ClientsSection {
    fn default() -> Self {
        ClientsSection {
            enabled: true,
            display_name: String::new(),
            imap_host: String::new(),
            imap_security: ClientSecurity::Ssl,
            imap_port: 0,
            pop3: false,
            pop3_host: String::new(),
            pop3_security: ClientSecurity::Ssl,
            pop3_port: 0,
            smtp_host: String::new(),
            smtp_security: ClientSecurity::Ssl,
            smtp_port: 0,
            smtp_auth: true,
            smtp_same_credentials: true,
            smtp_username: String::new(),
            domains: Vec::new(),
        }
    }
}

/// `[[clients.domain]]`: one domain's differences from `[clients]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainClients {
    /// The domain these settings are for.
    pub name: String,
    pub enabled: Option<bool>,
    pub display_name: Option<String>,
    pub imap_host: Option<String>,
    pub imap_security: Option<ClientSecurity>,
    pub imap_port: Option<u16>,
    pub pop3: Option<bool>,
    pub pop3_host: Option<String>,
    pub pop3_security: Option<ClientSecurity>,
    pub pop3_port: Option<u16>,
    pub smtp_host: Option<String>,
    pub smtp_security: Option<ClientSecurity>,
    pub smtp_port: Option<u16>,
    pub smtp_auth: Option<bool>,
    pub smtp_same_credentials: Option<bool>,
    pub smtp_username: Option<String>,
}

impl ClientsSection {
    /// The settings for `domain`: `[clients]` with that domain's overrides applied.
    pub fn for_domain(&self, domain: &str) -> ClientsSection {
        let mut s = self.clone();
        s.domains = Vec::new();
        let Some(d) = self
            .domains
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(domain))
        else {
            return s;
        };
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *target = v.clone();
            }
        }
        set(&mut s.enabled, &d.enabled);
        set(&mut s.display_name, &d.display_name);
        set(&mut s.imap_host, &d.imap_host);
        set(&mut s.imap_security, &d.imap_security);
        set(&mut s.imap_port, &d.imap_port);
        set(&mut s.pop3, &d.pop3);
        set(&mut s.pop3_host, &d.pop3_host);
        set(&mut s.pop3_security, &d.pop3_security);
        set(&mut s.pop3_port, &d.pop3_port);
        set(&mut s.smtp_host, &d.smtp_host);
        set(&mut s.smtp_security, &d.smtp_security);
        set(&mut s.smtp_port, &d.smtp_port);
        set(&mut s.smtp_auth, &d.smtp_auth);
        set(&mut s.smtp_same_credentials, &d.smtp_same_credentials);
        set(&mut s.smtp_username, &d.smtp_username);
        s
    }

    /// Each override names a domain, once.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        for (i, d) in self.domains.iter().enumerate() {
            let name = d.name.trim();
            if name.is_empty() || name.contains(['@', ' ', '/']) {
                return Err((
                    format!("clients.domain.{i}.name"),
                    "expected a domain name such as example.com".into(),
                ));
            }
            if self.domains[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(name))
            {
                return Err((
                    format!("clients.domain.{i}.name"),
                    format!("domain {name} already has a [[clients.domain]] entry"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_overrides_only_what_it_names() {
        let c: ClientsSection = toml::from_str(
            r#"
smtp_security = "starttls"
[[domain]]
name = "Other.Example"
imap_host = "imap.other.example"
smtp_same_credentials = false
"#,
        )
        .unwrap();
        let other = c.for_domain("other.example");
        assert_eq!(other.imap_host, "imap.other.example");
        assert_eq!(other.smtp_security, ClientSecurity::Starttls);
        assert!(!other.smtp_same_credentials);
        let plain = c.for_domain("example.com");
        assert_eq!(plain.imap_host, "");
        assert!(plain.smtp_same_credentials);
    }
}
