//! What a failed connection test means and what to change: a failure sorted into a
//! [`Failure`] kind (from the dial, TLS or protocol error) and, with the protocol, the
//! port and the chosen TLS mode, one line of advice ("port 993 expects implicit TLS,
//! you chose STARTTLS: use --tls implicit").
//!
//! Pure decisions, table-tested; no I/O.

use pillarbox_net::ClientTlsMode;

/// The protocol under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeProtocol {
    Smtp,
    Imap,
    Pop3,
}

impl ProbeProtocol {
    pub fn name(self) -> &'static str {
        match self {
            ProbeProtocol::Smtp => "SMTP",
            ProbeProtocol::Imap => "IMAP",
            ProbeProtocol::Pop3 => "POP3",
        }
    }

    /// The implicit-TLS port, and the ports that speak plain text first.
    fn ports(self) -> (u16, &'static [u16]) {
        match self {
            ProbeProtocol::Smtp => (465, &[25, 587]),
            ProbeProtocol::Imap => (993, &[143]),
            ProbeProtocol::Pop3 => (995, &[110]),
        }
    }

    /// The usual port for a TLS mode.
    pub fn default_port(self, tls: ClientTlsMode) -> u16 {
        match (self, tls) {
            (ProbeProtocol::Smtp, ClientTlsMode::None) => 25,
            (p, ClientTlsMode::Implicit) => p.ports().0,
            (p, _) => p.ports().1.last().copied().unwrap_or(25),
        }
    }

    /// The TLS mode a port usually implies.
    pub fn default_tls(self, port: u16) -> ClientTlsMode {
        if port == self.ports().0 {
            ClientTlsMode::Implicit
        } else if self == ProbeProtocol::Smtp && port == 25 {
            ClientTlsMode::None
        } else {
            ClientTlsMode::StartTls
        }
    }
}

/// Why a test failed, sorted for advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Dns(String),
    TcpRefused(String),
    TcpTimeout,
    ProxyAuth(String),
    Proxy(String),
    /// The TLS handshake failed (the peer does not speak TLS there, or no common
    /// version or cipher).
    TlsHandshake(String),
    TlsUntrusted(String),
    /// The server said nothing (or nothing readable) within the timeout.
    GreetingTimeout,
    Greeting(String),
    StartTlsMissing,
    StartTls(String),
    AuthFailed(String),
    AuthUnavailable(String),
    Other(String),
}

/// The circumstances of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub protocol: ProbeProtocol,
    pub port: u16,
    pub tls: ClientTlsMode,
    pub proxied: bool,
    pub timeout_secs: u64,
    /// TLS 1.0/1.1 were allowed for this test.
    pub legacy_tls: bool,
}

fn tls_name(t: ClientTlsMode) -> &'static str {
    match t {
        ClientTlsMode::None => "no TLS",
        ClientTlsMode::Implicit => "implicit TLS",
        ClientTlsMode::StartTls => "STARTTLS",
    }
}

/// A handshake refused for its protocol version (rustls: the `protocol_version` alert,
/// or a server that cannot do the versions offered).
fn is_protocol_version(error: &str) -> bool {
    error.contains("ProtocolVersion") || error.contains("protocol version")
}

/// The verdict line: what happened and what to change.
pub fn verdict(ctx: &Context, failure: Option<&Failure>) -> String {
    let (tls_port, plain_ports) = ctx.protocol.ports();
    let p = ctx.port;
    let Some(f) = failure else {
        return format!(
            "{} on port {p} works with {}",
            ctx.protocol.name(),
            tls_name(ctx.tls)
        );
    };
    match f {
        Failure::Dns(e) => format!("the host name does not resolve ({e}): check the address"),
        Failure::TcpRefused(_) => format!(
            "nothing accepts connections on port {p}: check the address and the port \
             ({} uses {} for implicit TLS, {} otherwise)",
            ctx.protocol.name(),
            tls_port,
            join(plain_ports)
        ),
        Failure::TcpTimeout => format!(
            "no TCP connection within {} s: a firewall may drop the traffic, or the address is wrong",
            ctx.timeout_secs
        ),
        Failure::ProxyAuth(e) => {
            format!(
                "the proxy refused the proxy credentials ({e}): check the proxy user name and password"
            )
        }
        Failure::Proxy(e) => format!(
            "the proxy did not open the tunnel ({e}): check the proxy settings and that it may reach the server"
        ),
        Failure::TlsHandshake(e) if !ctx.legacy_tls && is_protocol_version(e) => format!(
            "the server speaks only a TLS version older than 1.2 ({e}): if you must reach it, \
             allow old versions with --tls-versions 1.0 (or 1.1); they are weak, so prefer \
             asking its administrator to upgrade"
        ),
        Failure::TlsHandshake(e) if ctx.tls == ClientTlsMode::Implicit && p != tls_port => format!(
            "port {p} does not speak TLS from the first byte ({e}): you chose implicit TLS; use --tls starttls (or the implicit-TLS port {tls_port})"
        ),
        Failure::TlsHandshake(e) => format!(
            "the TLS handshake failed ({e}): check the allowed TLS versions and that port {p} speaks TLS"
        ),
        Failure::TlsUntrusted(e) => format!(
            "the server's certificate is not trusted ({e}): install a valid certificate on the server, or turn verification off (--no-verify) if you trust this network"
        ),
        Failure::GreetingTimeout if ctx.tls != ClientTlsMode::Implicit && p == tls_port => format!(
            "port {p} expects implicit TLS, you chose {}: use --tls implicit",
            tls_name(ctx.tls)
        ),
        Failure::GreetingTimeout if ctx.tls != ClientTlsMode::Implicit => format!(
            "the server sent no greeting within {} s: it may expect TLS from the first byte (--tls implicit), or it is overloaded",
            ctx.timeout_secs
        ),
        Failure::GreetingTimeout => format!(
            "the server sent no greeting within {} s after the TLS handshake: it is overloaded or not a {} server",
            ctx.timeout_secs,
            ctx.protocol.name()
        ),
        Failure::Greeting(e) => {
            format!("the server refused the session ({e}): try later or ask its administrator")
        }
        Failure::StartTlsMissing if p == tls_port => {
            format!("port {p} expects implicit TLS, you chose STARTTLS: use --tls implicit")
        }
        Failure::StartTlsMissing => format!(
            "the server does not offer STARTTLS on port {p}: use --tls implicit on port {tls_port}, or --tls none if plain text is acceptable"
        ),
        Failure::StartTls(e) => format!("STARTTLS failed ({e}): check the allowed TLS versions"),
        Failure::AuthFailed(e) => {
            format!(
                "the server refused the login ({e}): check the user name and password (or token)"
            )
        }
        Failure::AuthUnavailable(e) => format!(
            "no usable login method ({e}): the server may require TLS first (--tls starttls or implicit) or OAuth2"
        ),
        Failure::Other(e) => format!("the test failed: {e}"),
    }
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(protocol: ProbeProtocol, port: u16, tls: ClientTlsMode) -> Context {
        Context {
            protocol,
            port,
            tls,
            proxied: false,
            timeout_secs: 5,
            legacy_tls: false,
        }
    }

    #[test]
    fn verdict_table() {
        use ClientTlsMode::{Implicit, StartTls};
        const PLAIN: ClientTlsMode = ClientTlsMode::None;
        use ProbeProtocol::*;
        let cases: Vec<(Context, Option<Failure>, &str)> = vec![
            (
                ctx(Imap, 993, Implicit),
                None,
                "IMAP on port 993 works with implicit TLS",
            ),
            (
                ctx(Imap, 993, StartTls),
                Some(Failure::GreetingTimeout),
                "port 993 expects implicit TLS, you chose STARTTLS: use --tls implicit",
            ),
            (
                ctx(Pop3, 995, PLAIN),
                Some(Failure::GreetingTimeout),
                "port 995 expects implicit TLS, you chose no TLS",
            ),
            (
                ctx(Imap, 1143, StartTls),
                Some(Failure::GreetingTimeout),
                "no greeting within 5 s: it may expect TLS",
            ),
            (
                ctx(Imap, 143, Implicit),
                Some(Failure::TlsHandshake("corrupt message".into())),
                "port 143 does not speak TLS from the first byte",
            ),
            (
                ctx(Imap, 993, Implicit),
                Some(Failure::TlsHandshake("no common version".into())),
                "check the allowed TLS versions",
            ),
            (
                ctx(Pop3, 995, Implicit),
                Some(Failure::TlsHandshake(
                    "received fatal alert: ProtocolVersion".into(),
                )),
                "allow old versions with --tls-versions 1.0",
            ),
            (
                ctx(Pop3, 110, StartTls),
                Some(Failure::StartTlsMissing),
                "does not offer STARTTLS on port 110: use --tls implicit on port 995",
            ),
            (
                ctx(Smtp, 465, StartTls),
                Some(Failure::StartTlsMissing),
                "port 465 expects implicit TLS",
            ),
            (
                ctx(Imap, 143, PLAIN),
                Some(Failure::AuthFailed("NO".into())),
                "check the user name and password",
            ),
            (
                ctx(Imap, 143, PLAIN),
                Some(Failure::ProxyAuth("bad".into())),
                "proxy user name and password",
            ),
            (
                ctx(Smtp, 2525, PLAIN),
                Some(Failure::TcpRefused("refused".into())),
                "SMTP uses 465 for implicit TLS, 25 or 587 otherwise",
            ),
            (
                ctx(Imap, 993, Implicit),
                Some(Failure::TlsUntrusted("UnknownIssuer".into())),
                "--no-verify",
            ),
            (
                ctx(Imap, 993, Implicit),
                Some(Failure::Dns("no such host".into())),
                "does not resolve",
            ),
        ];
        for (c, f, expect) in cases {
            let v = verdict(&c, f.as_ref());
            assert!(v.contains(expect), "{f:?} on {c:?}: {v}");
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(
            ProbeProtocol::Imap.default_tls(993),
            ClientTlsMode::Implicit
        );
        assert_eq!(
            ProbeProtocol::Imap.default_tls(143),
            ClientTlsMode::StartTls
        );
        assert_eq!(ProbeProtocol::Smtp.default_tls(25), ClientTlsMode::None);
        assert_eq!(
            ProbeProtocol::Pop3.default_port(ClientTlsMode::Implicit),
            995
        );
        assert_eq!(
            ProbeProtocol::Smtp.default_port(ClientTlsMode::StartTls),
            587
        );
        assert_eq!(ProbeProtocol::Smtp.default_port(ClientTlsMode::None), 25);
    }
}
