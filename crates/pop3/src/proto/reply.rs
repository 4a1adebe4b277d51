//! The catalogue of POP3 replies: every status line the server sends is built here, with
//! its RFC 2449 §8 response code when one applies, so handlers never write reply text.
//! Also the wire form of the multi-line pieces (listing lines, the terminator, SASL
//! continuations). Pure: no I/O.

use std::borrow::Cow;
use std::io::Write as _;

/// `+OK` or `-ERR` (RFC 1939 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Err,
}

/// Extended response codes (RFC 2449 §8, RFC 3206).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespCode {
    /// RFC 2449 §8.1.1: the maildrop is locked by another session.
    InUse,
    /// RFC 2449 §8.1.2: the user logged in too recently.
    LoginDelay,
    /// RFC 3206 §4: a transient server fault; retrying later may work.
    SysTemp,
    /// RFC 3206 §4: a permanent server-side problem.
    SysPerm,
    /// RFC 3206 §5: the failure is about the credentials or the account's rights.
    Auth,
}

impl RespCode {
    /// The bracketed form.
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "[IN-USE]",
            RespCode::LoginDelay => "[LOGIN-DELAY]",
            RespCode::SysTemp => "[SYS/TEMP]",
            RespCode::SysPerm => "[SYS/PERM]",
            RespCode::Auth => "[AUTH]",
        }
    }
}

/// One status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    pub code: Option<RespCode>,
    pub text: Cow<'static, str>,
}

impl Reply {
    fn ok(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    fn err(code: Option<RespCode>, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            status: Status::Err,
            code,
            text: text.into(),
        }
    }

    /// True for `-ERR`.
    pub fn is_err(&self) -> bool {
        self.status == Status::Err
    }

    /// True when the reply blames the client, so it counts toward `pop3.max_errors`.
    /// Server faults and lock or delay refusals do not.
    pub fn counts_as_error(&self) -> bool {
        self.is_err()
            && !matches!(
                self.code,
                Some(
                    RespCode::SysTemp | RespCode::SysPerm | RespCode::InUse | RespCode::LoginDelay
                )
            )
    }

    /// Appends the wire form. Control characters in the text (which may quote a
    /// client's input or a policy's reason) become spaces so a reply is always one line.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.status {
            Status::Ok => b"+OK",
            Status::Err => b"-ERR",
        });
        if let Some(code) = self.code {
            out.push(b' ');
            out.extend_from_slice(code.as_str().as_bytes());
        }
        if !self.text.is_empty() {
            out.push(b' ');
            out.extend(
                self.text
                    .bytes()
                    .map(|b| if b.is_ascii_control() { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The wire form as a string (tests and logs).
    pub fn to_line(&self) -> String {
        let mut v = Vec::new();
        self.write_to(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// The end of a multi-line response (RFC 1939 §3).
pub const TERMINATOR: &[u8] = b".\r\n";

/// A scan listing line, `msg octets` (RFC 1939 §5 LIST).
pub fn write_scan_line(out: &mut Vec<u8>, msg: usize, octets: u64) {
    let _ = write!(out, "{msg} {octets}\r\n");
}

/// A unique-id listing line, `msg uid` (RFC 1939 §7 UIDL).
pub fn write_uid_line(out: &mut Vec<u8>, msg: usize, uid: &str) {
    let _ = write!(out, "{msg} {uid}\r\n");
}

/// A plain line of a multi-line response (capabilities, mechanisms). The caller
/// guarantees it does not start with `.`.
pub fn write_text_line(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A SASL server challenge, `+ base64` (RFC 5034 §4); an empty challenge is `+ `.
pub fn write_continuation(out: &mut Vec<u8>, base64: &str) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(base64.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Every reply the server sends.
pub mod catalogue {
    use super::{Reply, RespCode};
    use crate::proto::ParseError;

    /// RFC 1939 §4: the greeting.
    pub fn greeting() -> Reply {
        Reply::ok("Pillarbox POP3 server ready")
    }

    /// RFC 1939 §7 USER accepted (whether the name exists is not revealed).
    pub fn user_accepted() -> Reply {
        Reply::ok("send PASS")
    }

    /// Login done, maildrop locked (RFC 1939 §7 PASS).
    pub fn logged_in(messages: usize, octets: u64) -> Reply {
        Reply::ok(format!(
            "maildrop locked and ready, {messages} messages ({octets} octets)"
        ))
    }

    /// RFC 1939 §5 STAT: `+OK nn mm`, exactly.
    pub fn stat(messages: usize, octets: u64) -> Reply {
        Reply::ok(format!("{messages} {octets}"))
    }

    /// RFC 1939 §5 LIST with an argument: `+OK msg octets`.
    pub fn scan_listing(msg: u32, octets: u64) -> Reply {
        Reply::ok(format!("{msg} {octets}"))
    }

    /// RFC 1939 §5 LIST without an argument, before the listing.
    pub fn listing_follows(messages: usize, octets: u64) -> Reply {
        Reply::ok(format!("{messages} messages ({octets} octets)"))
    }

    /// RFC 1939 §7 UIDL with an argument: `+OK msg uid`.
    pub fn unique_id(msg: u32, uid: &str) -> Reply {
        Reply::ok(format!("{msg} {uid}"))
    }

    /// RFC 1939 §7 UIDL without an argument, before the listing.
    pub fn unique_ids_follow() -> Reply {
        Reply::ok("unique-id listing follows")
    }

    /// RFC 1939 §5 RETR, before the message.
    pub fn message_follows(octets: u64) -> Reply {
        Reply::ok(format!("{octets} octets"))
    }

    /// RFC 1939 §7 TOP, before the lines.
    pub fn top_follows() -> Reply {
        Reply::ok("top of message follows")
    }

    /// RFC 1939 §5 DELE.
    pub fn marked_deleted(msg: u32) -> Reply {
        Reply::ok(format!("message {msg} deleted"))
    }

    /// RFC 1939 §5 NOOP.
    pub fn noop() -> Reply {
        Reply::ok("")
    }

    /// RFC 1939 §5 RSET.
    pub fn reset(messages: usize, octets: u64) -> Reply {
        Reply::ok(format!(
            "maildrop has {messages} messages ({octets} octets)"
        ))
    }

    /// RFC 2449 §5 CAPA, before the list.
    pub fn capabilities_follow() -> Reply {
        Reply::ok("capability list follows")
    }

    /// RFC 5034 §4 (and RFC 1734) bare AUTH, before the mechanism list.
    pub fn mechanisms_follow() -> Reply {
        Reply::ok("SASL mechanisms follow")
    }

    /// RFC 2595 §4 STLS accepted.
    pub fn begin_tls() -> Reply {
        Reply::ok("begin TLS negotiation")
    }

    /// RFC 1939 §4 QUIT in AUTHORIZATION.
    pub fn signing_off() -> Reply {
        Reply::ok("Pillarbox POP3 server signing off")
    }

    /// RFC 1939 §6 QUIT in TRANSACTION: the UPDATE state completed.
    pub fn updated(deleted: usize, left: usize) -> Reply {
        Reply::ok(format!(
            "Pillarbox POP3 server signing off ({deleted} messages deleted, {left} left)"
        ))
    }

    /// A line that did not parse.
    pub fn syntax(e: &ParseError) -> Reply {
        Reply::err(None, e.to_string())
    }

    /// A line longer than [`crate::proto::MAX_LINE`].
    pub fn line_too_long() -> Reply {
        Reply::err(None, "command line too long")
    }

    /// A transaction command before login.
    pub fn needs_login(keyword: &'static str) -> Reply {
        Reply::err(None, format!("{keyword} is only valid after login"))
    }

    /// An authorization command after login.
    pub fn already_logged_in(keyword: &'static str) -> Reply {
        Reply::err(None, format!("{keyword} is not valid after login"))
    }

    /// RFC 1939 §7: PASS must follow a successful USER.
    pub fn user_first() -> Reply {
        Reply::err(None, "send USER first")
    }

    /// No message with that number in the session's snapshot.
    pub fn no_such_message(msg: u32, count: usize) -> Reply {
        Reply::err(
            None,
            format!("no such message {msg}: the maildrop has {count} messages"),
        )
    }

    /// The message is marked deleted (RFC 1939 §5).
    pub fn already_deleted(msg: u32) -> Reply {
        Reply::err(None, format!("message {msg} already deleted"))
    }

    /// Plaintext authentication before TLS from outside the trusted networks.
    pub fn tls_required() -> Reply {
        Reply::err(
            Some(RespCode::Auth),
            "plaintext authentication is not allowed without TLS; use STLS first",
        )
    }

    /// RFC 5034 §4: a mechanism we do not offer.
    pub fn unknown_mechanism() -> Reply {
        Reply::err(
            None,
            "unsupported SASL mechanism; AUTH lists the supported ones",
        )
    }

    /// RFC 5034 §4: the client answered `*`.
    pub fn auth_cancelled() -> Reply {
        Reply::err(None, "authentication cancelled")
    }

    /// A SASL response that is not base64.
    pub fn bad_sasl_response() -> Reply {
        Reply::err(None, "invalid base64 in the SASL response")
    }

    /// The SASL exchange itself failed (malformed or proxy authorization).
    pub fn sasl_failed(e: &pillarbox_directory::sasl::SaslError) -> Reply {
        Reply::err(Some(RespCode::Auth), e.to_string())
    }

    /// Authentication refused: bad credentials, lockout, policy, or a store fault.
    pub fn auth_failed(e: &pillarbox_directory::AuthError) -> Reply {
        use pillarbox_directory::AuthError;
        match e {
            AuthError::RateLimited(_) | AuthError::InvalidCredentials | AuthError::Denied(_) => {
                Reply::err(Some(RespCode::Auth), e.to_string())
            }
            AuthError::Temporary(_) => temporary(),
        }
    }

    /// APOP needs a plaintext-equivalent secret, which Pillarbox never stores.
    pub fn apop_unavailable() -> Reply {
        Reply::err(
            Some(RespCode::Auth),
            "APOP is not available (passwords are stored hashed); use USER/PASS or AUTH over TLS",
        )
    }

    /// RFC 2449 §8.1.1: another session holds the maildrop.
    pub fn in_use() -> Reply {
        Reply::err(
            Some(RespCode::InUse),
            "the maildrop is already locked by another POP3 session",
        )
    }

    /// RFC 2449 §8.1.2: logged in too recently.
    pub fn login_delay(delay_secs: u64, wait_secs: u64) -> Reply {
        Reply::err(
            Some(RespCode::LoginDelay),
            format!(
                "logins are allowed every {delay_secs} seconds; try again in {wait_secs} seconds"
            ),
        )
    }

    /// RFC 3206: a transient server fault (the store failed).
    pub fn temporary() -> Reply {
        Reply::err(
            Some(RespCode::SysTemp),
            "temporary server error, try again later",
        )
    }

    /// A message of the snapshot can no longer be read (removed meanwhile, or I/O).
    pub fn message_unavailable(msg: u32) -> Reply {
        Reply::err(
            Some(RespCode::SysTemp),
            format!("message {msg} cannot be read now"),
        )
    }

    /// RFC 2595 §4: STLS when TLS is already active.
    pub fn already_tls() -> Reply {
        Reply::err(None, "TLS is already active")
    }

    /// STLS on a listener without a certificate.
    pub fn tls_unavailable() -> Reply {
        Reply::err(None, "STLS is not available here")
    }

    /// `pop3.max_errors` reached.
    pub fn too_many_errors() -> Reply {
        Reply::err(None, "too many errors, closing the connection")
    }

    /// The server is shutting down.
    pub fn shutting_down() -> Reply {
        Reply::err(
            Some(RespCode::SysTemp),
            "server shutting down, try again later",
        )
    }

    /// RFC 1939 §6: the UPDATE state could not remove the messages.
    pub fn update_failed() -> Reply {
        Reply::err(
            Some(RespCode::SysTemp),
            "some deleted messages not removed, try again later",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::catalogue as c;
    use super::*;

    /// Snapshot of the wire form of every reply shape.
    #[test]
    fn wire_forms() {
        let table: Vec<(Reply, &str)> = vec![
            (c::greeting(), "+OK Pillarbox POP3 server ready\r\n"),
            (c::stat(2, 320), "+OK 2 320\r\n"),
            (c::scan_listing(1, 120), "+OK 1 120\r\n"),
            (c::noop(), "+OK\r\n"),
            (
                c::in_use(),
                "-ERR [IN-USE] the maildrop is already locked by another POP3 session\r\n",
            ),
            (
                c::login_delay(60, 12),
                "-ERR [LOGIN-DELAY] logins are allowed every 60 seconds; try again in 12 seconds\r\n",
            ),
            (
                c::temporary(),
                "-ERR [SYS/TEMP] temporary server error, try again later\r\n",
            ),
            (
                c::tls_required(),
                "-ERR [AUTH] plaintext authentication is not allowed without TLS; use STLS first\r\n",
            ),
            (
                c::no_such_message(9, 2),
                "-ERR no such message 9: the maildrop has 2 messages\r\n",
            ),
        ];
        for (reply, want) in table {
            assert_eq!(reply.to_line(), want);
        }
    }

    #[test]
    fn control_characters_never_split_a_reply() {
        let r = Reply::err(Some(RespCode::Auth), "a\r\nb\0c");
        assert_eq!(r.to_line(), "-ERR [AUTH] a  b c\r\n");
    }

    #[test]
    fn which_errors_count() {
        assert!(c::line_too_long().counts_as_error());
        assert!(c::tls_required().counts_as_error());
        assert!(!c::temporary().counts_as_error());
        assert!(!c::in_use().counts_as_error());
        assert!(!c::stat(0, 0).counts_as_error());
    }

    #[test]
    fn auth_failures_carry_the_reason() {
        use pillarbox_directory::{AuthError, PolicyDenial, Service};
        let denied = AuthError::Denied(PolicyDenial::Disabled(Service::Pop3));
        assert_eq!(
            c::auth_failed(&denied).to_line(),
            "-ERR [AUTH] POP3 access is disabled for this account\r\n"
        );
        let limited = AuthError::RateLimited(std::time::Duration::from_secs(300));
        assert!(
            c::auth_failed(&limited)
                .to_line()
                .starts_with("-ERR [AUTH] too many failed logins")
        );
        let temp = AuthError::Temporary(pillarbox_store::StoreError::Closed);
        assert_eq!(c::auth_failed(&temp), c::temporary());
    }

    #[test]
    fn listing_lines() {
        let mut out = Vec::new();
        write_scan_line(&mut out, 1, 120);
        write_uid_line(&mut out, 2, "0000000100000002");
        write_continuation(&mut out, "");
        out.extend_from_slice(TERMINATOR);
        assert_eq!(out, b"1 120\r\n2 0000000100000002\r\n+ \r\n.\r\n");
    }
}
