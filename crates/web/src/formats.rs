//! The profile in each client's format: Thunderbird autoconfig (config-v1.1.xml),
//! Outlook autodiscover (the POX "outlook" response schema 2006a), an Apple
//! configuration profile (com.apple.mail.managed), and the DNS records (RFC 6186 SRV,
//! RFC 8314 implicit-TLS services) that point clients at the server.

use pillarbox_config::ClientSecurity;

use crate::profile::{Login, Profile, Protocol, Server};

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Thunderbird autoconfig. `%EMAILADDRESS%` is the client's placeholder for the address
/// the user typed.
pub fn autoconfig(p: &Profile) -> String {
    use std::fmt::Write;
    let e = xml_escape;
    let mut x = String::new();
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(x, r#"<clientConfig version="1.1">"#);
    let _ = writeln!(x, r#"  <emailProvider id="{}">"#, e(&p.domain));
    let _ = writeln!(x, "    <domain>{}</domain>", e(&p.domain));
    let _ = writeln!(x, "    <displayName>{}</displayName>", e(&p.display_name));
    let _ = writeln!(
        x,
        "    <displayShortName>{}</displayShortName>",
        e(&p.display_name)
    );
    let server = |x: &mut String, tag: &str, s: &Server| {
        let kind = match s.protocol {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
        };
        let socket = match s.security {
            ClientSecurity::Ssl => "SSL",
            ClientSecurity::Starttls => "STARTTLS",
            ClientSecurity::None => "plain",
        };
        let _ = writeln!(x, r#"    <{tag} type="{kind}">"#);
        let _ = writeln!(x, "      <hostname>{}</hostname>", e(&s.host));
        let _ = writeln!(x, "      <port>{}</port>", s.port);
        let _ = writeln!(x, "      <socketType>{socket}</socketType>");
        match &s.login {
            Login::None => {
                let _ = writeln!(x, "      <authentication>none</authentication>");
            }
            login => {
                let _ = writeln!(
                    x,
                    "      <authentication>password-cleartext</authentication>"
                );
                match login {
                    Login::Address => {
                        let _ = writeln!(x, "      <username>%EMAILADDRESS%</username>");
                    }
                    Login::Fixed(u) => {
                        let _ = writeln!(x, "      <username>{}</username>", e(u));
                    }
                    Login::Ask | Login::None => {}
                }
            }
        }
        let _ = writeln!(x, "    </{tag}>");
    };
    for s in &p.incoming {
        server(&mut x, "incomingServer", s);
    }
    server(&mut x, "outgoingServer", &p.outgoing);
    let _ = writeln!(x, "  </emailProvider>");
    let _ = writeln!(x, "</clientConfig>");
    x
}

/// The response schema Outlook asks for in its request.
pub const OUTLOOK_SCHEMA: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/// What an autodiscover request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutodiscoverRequest {
    pub address: String,
    /// The response schema wanted, when the request names one.
    pub schema: Option<String>,
}

/// Reads `<EMailAddress>` and `<AcceptableResponseSchema>` from an autodiscover request.
pub fn parse_autodiscover_request(body: &str) -> Option<AutodiscoverRequest> {
    let element = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = body.find(&open)? + open.len();
        let end = start + body[start..].find(&close)?;
        Some(body[start..end].trim().to_string())
    };
    let address = element("EMailAddress").filter(|a| !a.is_empty())?;
    Some(AutodiscoverRequest {
        address,
        schema: element("AcceptableResponseSchema"),
    })
}

/// Outlook autodiscover for `address`. SMTP says whether it uses the incoming server's
/// login (`UsePOPAuth`), as the "Use same authentication as incoming server" setting.
pub fn autodiscover(p: &Profile, address: &str) -> String {
    use std::fmt::Write;
    let e = xml_escape;
    let mut x = String::new();
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="utf-8"?>"#);
    let _ = writeln!(
        x,
        r#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">"#
    );
    let _ = writeln!(x, r#"  <Response xmlns="{OUTLOOK_SCHEMA}">"#);
    let _ = writeln!(x, "    <Account>");
    let _ = writeln!(x, "      <AccountType>email</AccountType>");
    let _ = writeln!(x, "      <Action>settings</Action>");
    let servers = p.incoming.iter().chain(std::iter::once(&p.outgoing));
    for s in servers {
        let kind = match s.protocol {
            Protocol::Imap => "IMAP",
            Protocol::Pop3 => "POP3",
            Protocol::Smtp => "SMTP",
        };
        let (ssl, encryption) = match s.security {
            ClientSecurity::Ssl => ("on", "SSL"),
            ClientSecurity::Starttls => ("on", "TLS"),
            ClientSecurity::None => ("off", "None"),
        };
        let _ = writeln!(x, "      <Protocol>");
        let _ = writeln!(x, "        <Type>{kind}</Type>");
        let _ = writeln!(x, "        <Server>{}</Server>", e(&s.host));
        let _ = writeln!(x, "        <Port>{}</Port>", s.port);
        match &s.login {
            Login::Address => {
                let _ = writeln!(x, "        <LoginName>{}</LoginName>", e(address));
            }
            Login::Fixed(u) => {
                let _ = writeln!(x, "        <LoginName>{}</LoginName>", e(u));
            }
            Login::Ask | Login::None => {}
        }
        let _ = writeln!(x, "        <DomainRequired>off</DomainRequired>");
        let _ = writeln!(x, "        <SPA>off</SPA>");
        let _ = writeln!(x, "        <SSL>{ssl}</SSL>");
        let _ = writeln!(x, "        <Encryption>{encryption}</Encryption>");
        let auth = if s.login == Login::None { "off" } else { "on" };
        let _ = writeln!(x, "        <AuthRequired>{auth}</AuthRequired>");
        if s.protocol == Protocol::Smtp {
            let same = if s.login == Login::Address {
                "on"
            } else {
                "off"
            };
            let _ = writeln!(x, "        <UsePOPAuth>{same}</UsePOPAuth>");
            let _ = writeln!(x, "        <SMTPLast>off</SMTPLast>");
        }
        let _ = writeln!(x, "      </Protocol>");
    }
    let _ = writeln!(x, "    </Account>");
    let _ = writeln!(x, "  </Response>");
    let _ = writeln!(x, "</Autodiscover>");
    x
}

/// The autodiscover error response (code 600 "Invalid Request", 601 "Provider is not
/// available", 603 "Unknown user").
pub fn autodiscover_error(code: u16, message: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response>
    <Error Id="0">
      <ErrorCode>{code}</ErrorCode>
      <Message>{}</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>
"#,
        xml_escape(message)
    )
}

/// A stable UUID (upper-case hex) derived from `parts`, so the same profile is the same
/// bytes every time (and keeps its ETag).
fn stable_uuid(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(&[0]);
    }
    let d = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // name-based
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// An Apple configuration profile (`.mobileconfig`, unsigned) with one mail account for
/// `address`: the first incoming server and the outgoing one.
pub fn mobileconfig(p: &Profile, address: &str) -> String {
    use std::fmt::Write;
    let e = xml_escape;
    let incoming = &p.incoming[0];
    let reverse: Vec<&str> = p.domain.split('.').rev().collect();
    let id = format!("{}.pillarbox.mail", reverse.join("."));
    let mut x = String::new();
    let key = |x: &mut String, k: &str, v: &str| {
        let _ = writeln!(x, "      <key>{k}</key>\n      <string>{}</string>", e(v));
    };
    let int = |x: &mut String, k: &str, v: u16| {
        let _ = writeln!(x, "      <key>{k}</key>\n      <integer>{v}</integer>");
    };
    let boolean = |x: &mut String, k: &str, v: bool| {
        let _ = writeln!(x, "      <key>{k}</key>\n      <{v}/>");
    };
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        x,
        r#"<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">"#
    );
    let _ = writeln!(x, r#"<plist version="1.0">"#);
    let _ = writeln!(x, "<dict>");
    let _ = writeln!(x, "  <key>PayloadContent</key>\n  <array>\n    <dict>");
    let account_type = match incoming.protocol {
        Protocol::Pop3 => "EmailTypePOP",
        _ => "EmailTypeIMAP",
    };
    key(&mut x, "EmailAccountType", account_type);
    key(&mut x, "EmailAccountDescription", &p.display_name);
    key(&mut x, "EmailAddress", address);
    key(&mut x, "IncomingMailServerHostName", &incoming.host);
    int(&mut x, "IncomingMailServerPortNumber", incoming.port);
    boolean(
        &mut x,
        "IncomingMailServerUseSSL",
        incoming.security != ClientSecurity::None,
    );
    key(
        &mut x,
        "IncomingMailServerAuthentication",
        "EmailAuthPassword",
    );
    key(&mut x, "IncomingMailServerUsername", address);
    let out = &p.outgoing;
    key(&mut x, "OutgoingMailServerHostName", &out.host);
    int(&mut x, "OutgoingMailServerPortNumber", out.port);
    boolean(
        &mut x,
        "OutgoingMailServerUseSSL",
        out.security != ClientSecurity::None,
    );
    let auth = if out.login == Login::None {
        "EmailAuthNone"
    } else {
        "EmailAuthPassword"
    };
    key(&mut x, "OutgoingMailServerAuthentication", auth);
    match &out.login {
        Login::Address => key(&mut x, "OutgoingMailServerUsername", address),
        Login::Fixed(u) => key(&mut x, "OutgoingMailServerUsername", u),
        Login::Ask | Login::None => {}
    }
    boolean(
        &mut x,
        "OutgoingPasswordSameAsIncomingPassword",
        out.login == Login::Address,
    );
    key(&mut x, "PayloadType", "com.apple.mail.managed");
    int(&mut x, "PayloadVersion", 1);
    key(
        &mut x,
        "PayloadIdentifier",
        &format!("{id}.account.{}", stable_uuid(&[address])),
    );
    key(
        &mut x,
        "PayloadUUID",
        &stable_uuid(&["account", &p.domain, address]),
    );
    key(&mut x, "PayloadDisplayName", &p.display_name);
    let _ = writeln!(x, "    </dict>\n  </array>");
    let top = |x: &mut String, k: &str, v: &str| {
        let _ = writeln!(x, "  <key>{k}</key>\n  <string>{}</string>", e(v));
    };
    top(
        &mut x,
        "PayloadDisplayName",
        &format!("{} mail", p.display_name),
    );
    top(&mut x, "PayloadIdentifier", &id);
    top(&mut x, "PayloadType", "Configuration");
    top(
        &mut x,
        "PayloadUUID",
        &stable_uuid(&["profile", &p.domain, address]),
    );
    let _ = writeln!(x, "  <key>PayloadVersion</key>\n  <integer>1</integer>");
    let _ = writeln!(x, "</dict>");
    let _ = writeln!(x, "</plist>");
    x
}

/// The DNS records that point clients of `p.domain` at the server: RFC 6186/8314 SRV
/// records (a "." target says the service is not offered), the autoconfig and
/// autodiscover host names, in zone-file syntax.
pub fn dns_records(p: &Profile, http_host: &str, https_port: u16) -> String {
    use std::fmt::Write;
    let d = &p.domain;
    let mut x = String::new();
    let mut srv = |service: &str, server: Option<&Server>| {
        let _ = match server {
            Some(s) => writeln!(
                x,
                "_{service}._tcp.{d}. 3600 IN SRV 0 1 {} {}.",
                s.port,
                s.host.trim_end_matches('.')
            ),
            None => writeln!(x, "_{service}._tcp.{d}. 3600 IN SRV 0 0 0 ."),
        };
    };
    let find = |proto: Protocol, sec: &[ClientSecurity]| {
        p.incoming
            .iter()
            .chain(std::iter::once(&p.outgoing))
            .find(|s| s.protocol == proto && sec.contains(&s.security))
    };
    use ClientSecurity::{None as Plain, Ssl, Starttls};
    srv("imaps", find(Protocol::Imap, &[Ssl]));
    srv("imap", find(Protocol::Imap, &[Starttls, Plain]));
    srv("pop3s", find(Protocol::Pop3, &[Ssl]));
    srv("pop3", find(Protocol::Pop3, &[Starttls, Plain]));
    srv("submissions", find(Protocol::Smtp, &[Ssl]));
    srv("submission", find(Protocol::Smtp, &[Starttls, Plain]));
    let h = http_host.trim_end_matches('.');
    let _ = writeln!(x, "autoconfig.{d}. 3600 IN CNAME {h}.");
    let _ = writeln!(x, "autodiscover.{d}. 3600 IN CNAME {h}.");
    let _ = writeln!(
        x,
        "_autodiscover._tcp.{d}. 3600 IN SRV 0 1 {https_port} {h}."
    );
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use pillarbox_config::{ClientsSection, ListenSection};

    fn profile(c: ClientsSection) -> Profile {
        Profile::build(
            &c,
            "mail.example.com",
            &ListenSection::default(),
            "example.com",
        )
        .unwrap()
    }

    #[test]
    fn escaping() {
        assert_eq!(xml_escape("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
    }

    #[test]
    fn autoconfig_names_servers_and_logins() {
        let x = autoconfig(&profile(ClientsSection {
            display_name: "Example <Mail>".into(),
            ..ClientsSection::default()
        }));
        assert!(
            x.contains("<displayName>Example &lt;Mail&gt;</displayName>"),
            "{x}"
        );
        assert!(x.contains(r#"<incomingServer type="imap">"#), "{x}");
        assert!(x.contains("<port>2993</port>") && x.contains("<socketType>SSL</socketType>"));
        assert_eq!(x.matches("<username>%EMAILADDRESS%</username>").count(), 2);
        let x = autoconfig(&profile(ClientsSection {
            smtp_auth: false,
            smtp_security: ClientSecurity::Starttls,
            ..ClientsSection::default()
        }));
        assert!(x.contains("<authentication>none</authentication>"), "{x}");
        assert!(x.contains("<socketType>STARTTLS</socketType>"), "{x}");
    }

    #[test]
    fn autodiscover_request_and_response() {
        let req = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>bob@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#;
        let r = parse_autodiscover_request(req).unwrap();
        assert_eq!(r.address, "bob@example.com");
        assert_eq!(r.schema.as_deref(), Some(OUTLOOK_SCHEMA));
        assert!(parse_autodiscover_request("<EMailAddress></EMailAddress>").is_none());
        assert!(parse_autodiscover_request("<EMailAddress>x").is_none());
        let x = autodiscover(
            &profile(ClientsSection {
                smtp_same_credentials: false,
                smtp_username: "relay".into(),
                ..ClientsSection::default()
            }),
            "bob@example.com",
        );
        assert!(x.contains("<LoginName>bob@example.com</LoginName>"), "{x}");
        assert!(x.contains("<LoginName>relay</LoginName>"), "{x}");
        assert!(x.contains("<UsePOPAuth>off</UsePOPAuth>"), "{x}");
    }

    #[test]
    fn mobileconfig_is_stable() {
        let p = profile(ClientsSection::default());
        let a = mobileconfig(&p, "bob@example.com");
        assert_eq!(a, mobileconfig(&p, "bob@example.com"));
        assert_ne!(a, mobileconfig(&p, "amy@example.com"));
        assert!(a.contains("<key>OutgoingPasswordSameAsIncomingPassword</key>\n      <true/>"));
    }

    #[test]
    fn srv_records_say_what_is_not_offered() {
        let x = dns_records(&profile(ClientsSection::default()), "mail.example.com", 443);
        assert!(x.contains("_imaps._tcp.example.com. 3600 IN SRV 0 1 2993 mail.example.com."));
        assert!(
            x.contains("_imap._tcp.example.com. 3600 IN SRV 0 0 0 ."),
            "{x}"
        );
        assert!(x.contains("_submissions._tcp.example.com. 3600 IN SRV 0 1 2465"));
        assert!(x.contains("autoconfig.example.com. 3600 IN CNAME mail.example.com."));
    }
}
