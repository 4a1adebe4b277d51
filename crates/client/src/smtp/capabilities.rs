//! What an SMTP server said it supports in its EHLO reply (RFC 5321 §4.1.1.1): the
//! extensions the client acts on (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, CHUNKING,
//! STARTTLS, ENHANCEDSTATUSCODES, AUTH) and every keyword as sent, for reports.
//!
//! Pure: built from a parsed [`Reply`], no I/O.

use super::reply::Reply;

/// The EHLO extensions of one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server's name and greeting text (first EHLO line).
    pub hello: String,
    /// Every extension line as sent (`SIZE 35882577`, `AUTH PLAIN LOGIN`).
    pub keywords: Vec<String>,
    /// RFC 2920.
    pub pipelining: bool,
    /// RFC 1870: `Some(None)` when advertised without a limit (or with 0).
    pub size: Option<Option<u64>>,
    /// RFC 6152.
    pub eight_bit_mime: bool,
    /// RFC 6531.
    pub smtputf8: bool,
    /// RFC 3461.
    pub dsn: bool,
    /// RFC 3030 (BDAT).
    pub chunking: bool,
    /// RFC 3207.
    pub starttls: bool,
    /// RFC 2034.
    pub enhanced_status_codes: bool,
    /// RFC 4954: SASL mechanism names, upper case, in the server's order.
    pub auth: Vec<String>,
}

impl Capabilities {
    /// Reads the extensions from a `250` EHLO reply. Keywords are case-insensitive;
    /// the pre-standard `AUTH=LOGIN PLAIN` form is understood too.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities {
            hello: reply.lines.first().cloned().unwrap_or_default(),
            ..Capabilities::default()
        };
        for line in reply.lines.iter().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            caps.keywords.push(line.to_string());
            let (keyword, params) = match line.find([' ', '=']) {
                Some(i) => (&line[..i], line[i + 1..].trim()),
                None => (line, ""),
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => {
                    let limit = params.parse::<u64>().ok().filter(|&n| n > 0);
                    caps.size = Some(limit);
                }
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "DSN" => caps.dsn = true,
                "CHUNKING" => caps.chunking = true,
                "STARTTLS" => caps.starttls = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "AUTH" => {
                    for m in params.split_ascii_whitespace() {
                        let m = m.to_ascii_uppercase();
                        if !caps.auth.contains(&m) {
                            caps.auth.push(m);
                        }
                    }
                }
                _ => {}
            }
        }
        caps
    }

    /// Whether the server offers SASL mechanism `name` (case-insensitive).
    pub fn offers_auth(&self, name: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(name))
    }

    /// The size limit the server announced, if any.
    pub fn size_limit(&self) -> Option<u64> {
        self.size.flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::parse_reply;

    fn caps(wire: &str) -> Capabilities {
        let (r, _) = parse_reply(wire.as_bytes()).unwrap().unwrap();
        Capabilities::from_ehlo(&r)
    }

    #[test]
    fn postfix_style_ehlo() {
        let c = caps(
            "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n\
             250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n\
             250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
        );
        assert_eq!(c.hello, "mx.example.org");
        assert!(c.pipelining && c.starttls && c.eight_bit_mime && c.dsn && c.smtputf8);
        assert!(c.chunking && c.enhanced_status_codes);
        assert_eq!(c.size, Some(Some(10_240_000)));
        assert_eq!(c.auth, vec!["PLAIN", "LOGIN"]);
        assert!(c.offers_auth("login"));
        assert_eq!(c.keywords.len(), 12);
    }

    #[test]
    fn minimal_and_odd_ehlo() {
        let c = caps("250 smtp.example\r\n");
        assert_eq!(
            c,
            Capabilities {
                hello: "smtp.example".into(),
                ..Default::default()
            }
        );
        let c = caps("250-x\r\n250-size\r\n250 auth xoauth2 oauthbearer\r\n");
        assert_eq!(c.size, Some(None));
        assert_eq!(c.size_limit(), None);
        assert_eq!(c.auth, vec!["XOAUTH2", "OAUTHBEARER"]);
        assert_eq!(caps("250-x\r\n250 SIZE 0\r\n").size, Some(None));
    }
}
