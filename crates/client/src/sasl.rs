//! SASL client mechanisms shared by the SMTP and POP3 clients (and later IMAP):
//! PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), XOAUTH2
//! (Google's format) and OAUTHBEARER (RFC 7628). Each is a small state machine from
//! server challenges to client responses, on raw (already base64-decoded) bytes.
//!
//! Pure: no I/O, no base64 on the wire (the protocol session does that). Secrets live
//! in [`Secret`], whose `Debug` never shows them, and nothing here logs.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use md5::Md5;

/// A SASL mechanism this client can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    CramMd5,
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    /// The registered name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Whether the mechanism works with this kind of secret: passwords for PLAIN,
    /// LOGIN and CRAM-MD5, bearer tokens for XOAUTH2 and OAUTHBEARER.
    pub fn accepts(self, secret: &Secret) -> bool {
        matches!(
            (self, secret),
            (
                Mechanism::Plain | Mechanism::Login | Mechanism::CramMd5,
                Secret::Password(_)
            ) | (
                Mechanism::XOAuth2 | Mechanism::OAuthBearer,
                Secret::BearerToken(_)
            )
        )
    }

    /// The default preference: token mechanisms first (they only apply to tokens),
    /// then PLAIN, LOGIN, CRAM-MD5 for passwords.
    pub fn default_preference() -> Vec<Mechanism> {
        vec![
            Mechanism::OAuthBearer,
            Mechanism::XOAuth2,
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
        ]
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mechanism {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Mechanism::Plain),
            "LOGIN" => Ok(Mechanism::Login),
            "CRAM-MD5" => Ok(Mechanism::CramMd5),
            "XOAUTH2" => Ok(Mechanism::XOAuth2),
            "OAUTHBEARER" => Ok(Mechanism::OAuthBearer),
            other => Err(format!(
                "unknown SASL mechanism {other:?} (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER)"
            )),
        }
    }
}

/// What proves the identity: a password or an OAuth2 access token.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Password(String),
    BearerToken(String),
}

impl Secret {
    /// The secret's text (password or token).
    pub fn expose(&self) -> &str {
        match self {
            Secret::Password(s) | Secret::BearerToken(s) => s,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
        }
    }
}

/// A login: who, and the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: Secret,
}

/// Picks the first mechanism of `preference` that the server offers (`offered`, any
/// case) and that fits the secret.
pub fn choose(preference: &[Mechanism], offered: &[String], secret: &Secret) -> Option<Mechanism> {
    preference
        .iter()
        .copied()
        .find(|m| m.accepts(secret) && offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())))
}

/// Why a SASL exchange cannot continue on the client side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("{mechanism} cannot be used with this kind of secret")]
    WrongSecret { mechanism: Mechanism },
    #[error("{mechanism}: unexpected server challenge")]
    UnexpectedChallenge { mechanism: Mechanism },
}

/// Where the token mechanisms say the client connects (RFC 7628 `host`/`port`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerHint {
    pub host: String,
    pub port: u16,
}

/// One client-side SASL exchange.
#[derive(Debug)]
pub struct SaslClient {
    mechanism: Mechanism,
    credentials: Credentials,
    hint: ServerHint,
    step: u8,
    /// The error document a token mechanism's server sent (JSON), if any.
    server_error: Option<String>,
}

impl SaslClient {
    pub fn new(
        mechanism: Mechanism,
        credentials: Credentials,
        hint: ServerHint,
    ) -> Result<SaslClient, SaslError> {
        if !mechanism.accepts(&credentials.secret) {
            return Err(SaslError::WrongSecret { mechanism });
        }
        Ok(SaslClient {
            mechanism,
            credentials,
            hint,
            step: 0,
            server_error: None,
        })
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response to send with the AUTH command, for mechanisms that have
    /// one (RFC 4954 §4). `Some(vec![])` is an empty initial response.
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        let user = &self.credentials.username;
        let secret = self.credentials.secret.expose();
        match self.mechanism {
            Mechanism::Plain => Some(plain("", user, secret)),
            Mechanism::XOAuth2 => Some(xoauth2(user, secret)),
            Mechanism::OAuthBearer => Some(oauthbearer(user, &self.hint, secret)),
            Mechanism::Login | Mechanism::CramMd5 => None,
        }
    }

    /// The response to one server challenge.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let step = self.step;
        self.step = self.step.saturating_add(1);
        let unexpected = SaslError::UnexpectedChallenge {
            mechanism: self.mechanism,
        };
        let user = &self.credentials.username;
        let secret = self.credentials.secret.expose();
        match (self.mechanism, step) {
            (Mechanism::Login, 0) => Ok(user.as_bytes().to_vec()),
            (Mechanism::Login, 1) => Ok(secret.as_bytes().to_vec()),
            (Mechanism::CramMd5, 0) => Ok(cram_md5(user, secret, challenge)),
            // XOAUTH2: the server sends an error JSON; the client answers with an empty
            // response and the server then fails the command.
            (Mechanism::XOAuth2, 0) => {
                self.server_error = Some(String::from_utf8_lossy(challenge).into_owned());
                Ok(Vec::new())
            }
            // RFC 7628 §3.2.3: on an error challenge the client sends a single %x01.
            (Mechanism::OAuthBearer, 0) => {
                self.server_error = Some(String::from_utf8_lossy(challenge).into_owned());
                Ok(vec![0x01])
            }
            _ => Err(unexpected),
        }
    }

    /// The error document a token mechanism's server sent before failing, if any.
    pub fn server_error(&self) -> Option<&str> {
        self.server_error.as_deref()
    }
}

/// RFC 4616: `authzid NUL authcid NUL passwd`.
pub fn plain(authzid: &str, user: &str, password: &str) -> Vec<u8> {
    format!("{authzid}\0{user}\0{password}").into_bytes()
}

/// RFC 2195: `user SP hex(HMAC-MD5(password, challenge))`.
pub fn cram_md5(user: &str, password: &str, challenge: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length (RFC 2104 hashes long ones), so this cannot fail.
    let digest = match <Hmac<Md5> as Mac>::new_from_slice(password.as_bytes()) {
        Ok(mut mac) => {
            mac.update(challenge);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{user} {digest}").into_bytes()
}

/// Google's XOAUTH2: `user=USER ^A auth=Bearer TOKEN ^A ^A`.
pub fn xoauth2(user: &str, token: &str) -> Vec<u8> {
    format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes()
}

/// RFC 7628 §3.1: GS2 header `n,a=USER,` then `^Ahost=H^Aport=P^Aauth=Bearer T^A^A`.
/// The authzid escapes `,` and `=` as RFC 5801 says; host and port are left out when
/// unknown.
pub fn oauthbearer(user: &str, hint: &ServerHint, token: &str) -> Vec<u8> {
    let authzid = user.replace('=', "=3D").replace(',', "=2C");
    let mut s = format!("n,a={authzid},\x01");
    if !hint.host.is_empty() {
        s.push_str(&format!("host={}\x01", hint.host));
    }
    if hint.port != 0 {
        s.push_str(&format!("port={}\x01", hint.port));
    }
    s.push_str(&format!("auth=Bearer {token}\x01\x01"));
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn creds(user: &str, secret: Secret) -> Credentials {
        Credentials {
            username: user.into(),
            secret,
        }
    }

    #[test]
    fn rfc4616_plain() {
        // RFC 4616 §4 examples.
        assert_eq!(
            plain("", "tim", "tanstaaftanstaaf"),
            b"\0tim\0tanstaaftanstaaf"
        );
        assert_eq!(
            plain("Ursel", "Kurt", "xipj3plmq"),
            b"Ursel\0Kurt\0xipj3plmq"
        );
        let mut c = SaslClient::new(
            Mechanism::Plain,
            creds("tim", Secret::Password("tanstaaftanstaaf".into())),
            ServerHint::default(),
        )
        .unwrap();
        assert_eq!(
            b64(&c.initial_response().unwrap()),
            "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
        );
    }

    #[test]
    fn rfc2195_cram_md5() {
        // RFC 2195 §2 example.
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        let r = cram_md5("tim", "tanstaaftanstaaf", challenge);
        assert_eq!(r, b"tim b913a602c7eda7a495b4e6e7334d3890");
        assert_eq!(b64(&r), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    }

    #[test]
    fn rfc7628_oauthbearer() {
        // RFC 7628 §4.1 example (token "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==").
        let hint = ServerHint {
            host: "server.example.com".into(),
            port: 143,
        };
        let r = oauthbearer(
            "user@example.com",
            &hint,
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        );
        assert_eq!(
            b64(&r),
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
        );
        assert!(
            oauthbearer("a,b=c", &ServerHint::default(), "t")
                .starts_with(b"n,a=a=2Cb=3Dc,\x01auth=")
        );
    }

    #[test]
    fn google_xoauth2() {
        // Google's documented example: user someuser@example.com, token ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg
        let r = xoauth2(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        );
        assert_eq!(
            b64(&r),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }

    #[test]
    fn login_and_error_continuations() {
        let mut c = SaslClient::new(
            Mechanism::Login,
            creds("u", Secret::Password("p".into())),
            ServerHint::default(),
        )
        .unwrap();
        assert_eq!(c.initial_response(), None);
        assert_eq!(c.respond(b"Username:").unwrap(), b"u");
        assert_eq!(c.respond(b"Password:").unwrap(), b"p");
        assert!(c.respond(b"?").is_err());

        let mut c = SaslClient::new(
            Mechanism::XOAuth2,
            creds("u", Secret::BearerToken("t".into())),
            ServerHint::default(),
        )
        .unwrap();
        assert_eq!(c.respond(br#"{"status":"401"}"#).unwrap(), b"");
        assert_eq!(c.server_error(), Some(r#"{"status":"401"}"#));
        let mut c = SaslClient::new(
            Mechanism::OAuthBearer,
            creds("u", Secret::BearerToken("t".into())),
            ServerHint::default(),
        )
        .unwrap();
        assert_eq!(c.respond(b"{}").unwrap(), b"\x01");
    }

    #[test]
    fn choosing_and_secret_kinds() {
        let offered = vec![
            "LOGIN".to_string(),
            "plain".to_string(),
            "XOAUTH2".to_string(),
        ];
        let pw = Secret::Password("x".into());
        let tok = Secret::BearerToken("x".into());
        let pref = Mechanism::default_preference();
        assert_eq!(choose(&pref, &offered, &pw), Some(Mechanism::Plain));
        assert_eq!(choose(&pref, &offered, &tok), Some(Mechanism::XOAuth2));
        assert_eq!(choose(&[Mechanism::CramMd5], &offered, &pw), None);
        assert!(SaslClient::new(Mechanism::Plain, creds("u", tok), ServerHint::default()).is_err());
        assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
        assert_eq!("cram-md5".parse::<Mechanism>(), Ok(Mechanism::CramMd5));
    }
}
