//! The client settings profile of one domain, resolved from `[clients]` (with the
//! domain's overrides) and the listeners: which servers a client should use, on which
//! ports, with which security and login. Every format is rendered from this one value.

use std::net::SocketAddr;

use pillarbox_config::{ClientSecurity, ClientsSection, ListenSection};

/// A protocol a client is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Pop3,
    Smtp,
}

/// The login a client uses on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// No authentication (SMTP only, when `smtp_auth` is off).
    None,
    /// The user's own e-mail address and password.
    Address,
    /// A separate login given by the administrator (SMTP with separate credentials).
    Fixed(String),
    /// A separate login the user types in.
    Ask,
}

/// One server of the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub security: ClientSecurity,
    pub login: Login,
}

/// What a client of `domain` is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub domain: String,
    pub display_name: String,
    /// IMAP first, then POP3 when offered.
    pub incoming: Vec<Server>,
    pub outgoing: Server,
}

impl Profile {
    /// The profile of `domain` (lower-cased) from the settings, the server's host name and
    /// its listeners. `None` when the profile is switched off for that domain.
    pub fn build(
        clients: &ClientsSection,
        hostname: &str,
        listen: &ListenSection,
        domain: &str,
    ) -> Option<Profile> {
        let domain = domain.to_ascii_lowercase();
        let c = clients.for_domain(&domain);
        if !c.enabled {
            return None;
        }
        // A server from its settings: host (empty: ours), port (0: the listener's for
        // that security, else the standard one), security.
        let server = |protocol, host: &str, port_setting, security, implicit, plain, login| {
            let host = host.trim();
            Server {
                protocol,
                host: if host.is_empty() { hostname } else { host }.to_string(),
                port: port(port_setting, security, implicit, plain),
                security,
                login,
            }
        };
        let mut incoming = vec![server(
            Protocol::Imap,
            &c.imap_host,
            c.imap_port,
            c.imap_security,
            (&listen.imaps, 993),
            (&listen.imap, 143),
            Login::Address,
        )];
        if c.pop3 {
            incoming.push(server(
                Protocol::Pop3,
                &c.pop3_host,
                c.pop3_port,
                c.pop3_security,
                (&listen.pop3s, 995),
                (&listen.pop3, 110),
                Login::Address,
            ));
        }
        let login = if !c.smtp_auth {
            Login::None
        } else if c.smtp_same_credentials {
            Login::Address
        } else if c.smtp_username.trim().is_empty() {
            Login::Ask
        } else {
            Login::Fixed(c.smtp_username.trim().to_string())
        };
        let outgoing = server(
            Protocol::Smtp,
            &c.smtp_host,
            c.smtp_port,
            c.smtp_security,
            (&listen.submissions, 465),
            (&listen.submission, 587),
            login,
        );
        let display_name = if c.display_name.trim().is_empty() {
            domain.clone()
        } else {
            c.display_name.trim().to_string()
        };
        Some(Profile {
            domain,
            display_name,
            incoming,
            outgoing,
        })
    }
}

/// The configured port, else the port this server listens on for that security, else
/// the standard one.
fn port(
    configured: u16,
    security: ClientSecurity,
    implicit: (&Vec<SocketAddr>, u16),
    plain: (&Vec<SocketAddr>, u16),
) -> u16 {
    if configured != 0 {
        return configured;
    }
    let (listeners, standard) = match security {
        ClientSecurity::Ssl => implicit,
        ClientSecurity::Starttls | ClientSecurity::None => plain,
    };
    // Port 0 ("any") is only known once bound; `serve` passes the bound addresses.
    listeners
        .iter()
        .map(|a| a.port())
        .find(|&p| p != 0)
        .unwrap_or(standard)
}

/// The domain of an e-mail address, if it has the shape of one.
pub fn domain_of(address: &str) -> Option<&str> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains(['@', '/', '\\', ' ', '<', '>'])
        && !local.contains(['<', '>', '\r', '\n']);
    valid.then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> ListenSection {
        ListenSection::default()
    }

    #[test]
    fn defaults_follow_the_listeners_and_the_host_name() {
        let p = Profile::build(
            &ClientsSection::default(),
            "mail.example.com",
            &listen(),
            "Example.COM",
        )
        .unwrap();
        assert_eq!(p.domain, "example.com");
        assert_eq!(p.display_name, "example.com");
        assert_eq!(p.incoming.len(), 1);
        let imap = &p.incoming[0];
        assert_eq!(
            (imap.host.as_str(), imap.port, imap.security),
            ("mail.example.com", 2993, ClientSecurity::Ssl)
        );
        assert_eq!(p.outgoing.port, 2465);
        assert_eq!(p.outgoing.login, Login::Address);
    }

    #[test]
    fn standard_ports_when_nothing_listens_and_logins_by_setting() {
        let mut l = listen();
        l.imap.clear();
        l.submission.clear();
        l.pop3s.clear();
        let c = ClientsSection {
            imap_security: ClientSecurity::Starttls,
            smtp_security: ClientSecurity::Starttls,
            pop3: true,
            smtp_same_credentials: false,
            ..ClientsSection::default()
        };
        let p = Profile::build(&c, "h", &l, "d").unwrap();
        assert_eq!(p.incoming[0].port, 143);
        assert_eq!(p.incoming[1].port, 995);
        assert_eq!(p.outgoing.port, 587);
        assert_eq!(p.outgoing.login, Login::Ask);
        let c = ClientsSection {
            smtp_same_credentials: false,
            smtp_username: "relay-user".into(),
            smtp_port: 2525,
            ..ClientsSection::default()
        };
        let p = Profile::build(&c, "h", &l, "d").unwrap();
        assert_eq!(p.outgoing.login, Login::Fixed("relay-user".into()));
        assert_eq!(p.outgoing.port, 2525);
        let c = ClientsSection {
            smtp_auth: false,
            ..ClientsSection::default()
        };
        assert_eq!(
            Profile::build(&c, "h", &l, "d").unwrap().outgoing.login,
            Login::None
        );
        let c = ClientsSection {
            enabled: false,
            ..ClientsSection::default()
        };
        assert!(Profile::build(&c, "h", &l, "d").is_none());
    }

    #[test]
    fn addresses() {
        assert_eq!(domain_of("bob@example.com"), Some("example.com"));
        assert_eq!(domain_of(" a@b "), Some("b"));
        for bad in ["", "bob", "@x", "x@", "a@b/c", "a<@b"] {
            assert_eq!(domain_of(bad), None, "{bad}");
        }
    }
}
