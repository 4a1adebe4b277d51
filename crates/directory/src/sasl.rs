//! Server-side SASL mechanisms shared by SMTP, IMAP and POP3: PLAIN (RFC 4616) and LOGIN
//! (draft-murchison-sasl-login). Pure state machines over decoded octets: the protocol
//! does the base64 framing, the cancellation (`*`) and the replies. Room is left for
//! XOAUTH2 and OAUTHBEARER (RFC 7628).

use crate::authenticate::Credentials;

/// A mechanism the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
}

impl Mechanism {
    /// Every mechanism, in the order servers advertise them.
    pub const ALL: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

    /// Parses a mechanism name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(Mechanism::Plain),
            "LOGIN" => Some(Mechanism::Login),
            _ => None,
        }
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }
}

/// Why a SASL exchange failed before the credentials could be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("malformed SASL response")]
    Malformed,
    #[error(
        "authorization identity differs from the login name (proxy authorization is not supported)"
    )]
    AuthzidNotAllowed,
    #[error("credentials are not valid UTF-8")]
    NotUtf8,
}

/// What the protocol does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge (the protocol base64-encodes it) and feed back the response.
    Challenge(Vec<u8>),
    /// The exchange is complete: check these credentials.
    Done(Credentials),
    /// The exchange failed.
    Failed(SaslError),
}

/// One SASL exchange in progress.
#[derive(Debug, Clone)]
pub struct Exchange {
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    PlainWaiting,
    LoginUser,
    LoginPass(String),
    Finished,
}

impl Exchange {
    /// Starts `mech`, with the client's initial response if it sent one (SASL-IR; an
    /// empty initial response is `Some(&[])`).
    pub fn start(mech: Mechanism, initial: Option<&[u8]>) -> (Exchange, Step) {
        let mut ex = Exchange {
            state: match mech {
                Mechanism::Plain => State::PlainWaiting,
                Mechanism::Login => State::LoginUser,
            },
        };
        let step = match (mech, initial) {
            (Mechanism::Plain, None) => Step::Challenge(Vec::new()),
            (Mechanism::Login, None) => Step::Challenge(b"Username:".to_vec()),
            (_, Some(data)) => ex.step(data),
        };
        (ex, step)
    }

    /// Feeds the client's (decoded) response.
    pub fn step(&mut self, data: &[u8]) -> Step {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::PlainWaiting => plain(data),
            State::LoginUser => match String::from_utf8(data.to_vec()) {
                Ok(user) if !user.is_empty() => {
                    self.state = State::LoginPass(user);
                    Step::Challenge(b"Password:".to_vec())
                }
                Ok(_) => Step::Failed(SaslError::Malformed),
                Err(_) => Step::Failed(SaslError::NotUtf8),
            },
            State::LoginPass(username) => match String::from_utf8(data.to_vec()) {
                Ok(password) => Step::Done(Credentials { username, password }),
                Err(_) => Step::Failed(SaslError::NotUtf8),
            },
            State::Finished => Step::Failed(SaslError::Malformed),
        }
    }
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`.
fn plain(data: &[u8]) -> Step {
    let mut parts = data.split(|&b| b == 0);
    let (Some(authz), Some(authc), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Step::Failed(SaslError::Malformed);
    };
    let (Ok(authz), Ok(username), Ok(password)) = (
        std::str::from_utf8(authz),
        String::from_utf8(authc.to_vec()),
        String::from_utf8(pass.to_vec()),
    ) else {
        return Step::Failed(SaslError::NotUtf8);
    };
    if username.is_empty() {
        return Step::Failed(SaslError::Malformed);
    }
    if !authz.is_empty() && !authz.eq_ignore_ascii_case(&username) {
        return Step::Failed(SaslError::AuthzidNotAllowed);
    }
    Step::Done(Credentials { username, password })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> Step {
        Step::Done(Credentials {
            username: u.into(),
            password: p.into(),
        })
    }

    #[test]
    fn plain_with_and_without_initial_response() {
        let (_, s) = Exchange::start(Mechanism::Plain, Some(b"\0bob@example.test\0pw"));
        assert_eq!(s, creds("bob@example.test", "pw"));
        let (mut ex, s) = Exchange::start(Mechanism::Plain, None);
        assert_eq!(s, Step::Challenge(vec![]));
        assert_eq!(
            ex.step(b"bob@example.test\0bob@example.test\0pw"),
            creds("bob@example.test", "pw")
        );
    }

    #[test]
    fn plain_refuses_malformed_and_proxy_authorization() {
        for bad in [&b"no-nuls"[..], b"\0\0pw", b"a\0b", b"a\0b\0c\0d"] {
            let (_, s) = Exchange::start(Mechanism::Plain, Some(bad));
            assert_eq!(s, Step::Failed(SaslError::Malformed), "{bad:?}");
        }
        let (_, s) = Exchange::start(Mechanism::Plain, Some(b"admin\0bob\0pw"));
        assert_eq!(s, Step::Failed(SaslError::AuthzidNotAllowed));
        let (_, s) = Exchange::start(Mechanism::Plain, Some(b"\0bob\0\xff"));
        assert_eq!(s, Step::Failed(SaslError::NotUtf8));
    }

    #[test]
    fn login_asks_username_then_password() {
        let (mut ex, s) = Exchange::start(Mechanism::Login, None);
        assert_eq!(s, Step::Challenge(b"Username:".to_vec()));
        assert_eq!(ex.step(b"bob"), Step::Challenge(b"Password:".to_vec()));
        assert_eq!(ex.step(b"pw"), creds("bob", "pw"));
        assert_eq!(ex.step(b"again"), Step::Failed(SaslError::Malformed));
        // With an initial response (the username), LOGIN goes straight to the password.
        let (mut ex, s) = Exchange::start(Mechanism::Login, Some(b"bob"));
        assert_eq!(s, Step::Challenge(b"Password:".to_vec()));
        assert_eq!(ex.step(b""), creds("bob", ""));
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
    }
}
