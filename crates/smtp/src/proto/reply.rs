//! The catalogue of SMTP replies: every reply the server sends is built here, with its
//! code (RFC 5321 §4.2) and enhanced status (RFC 3463), so handlers never write reply
//! strings. Multi-line replies (EHLO, HELP) are formatted by [`Reply::write_to`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// One SMTP reply: code, enhanced status, and one or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Enhanced status code `class.subject.detail`, when one applies.
    pub status: Option<(u8, u16, u16)>,
    pub lines: Vec<Cow<'static, str>>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(
        code: u16,
        status: Option<(u8, u16, u16)>,
        text: impl Into<Cow<'static, str>>,
    ) -> Reply {
        Reply {
            code,
            status,
            lines: vec![text.into()],
        }
    }

    /// True for 4xx and 5xx replies.
    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    /// Appends the wire form (`code[-| ]status text\r\n` per line). Enhanced status codes
    /// are sent only when `enhanced` (after EHLO, RFC 2034 §3).
    pub fn write_to(&self, out: &mut Vec<u8>, enhanced: bool) {
        let n = self.lines.len();
        let mut s = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            let _ = write!(s, "{}{}", self.code, sep);
            if let (Some((c, sub, d)), true) = (self.status, enhanced) {
                let _ = write!(s, "{c}.{sub}.{d} ");
            }
            s.push_str(line);
            s.push_str("\r\n");
        }
        out.extend_from_slice(s.as_bytes());
    }
}

/// The replies Pillarbox's SMTP server sends.
pub mod catalogue {
    use super::Reply;

    pub fn greeting(host: &str) -> Reply {
        Reply::new(220, None, format!("{host} ESMTP Pillarbox ready"))
    }
    pub fn closing(host: &str) -> Reply {
        Reply::new(221, Some((2, 0, 0)), format!("{host} closing connection"))
    }
    pub fn ok() -> Reply {
        Reply::new(250, Some((2, 0, 0)), "OK")
    }
    pub fn helo(host: &str, client: &str) -> Reply {
        Reply::new(250, None, format!("{host} greets {client}"))
    }
    pub fn sender_ok() -> Reply {
        Reply::new(250, Some((2, 1, 0)), "Sender OK")
    }
    pub fn recipient_ok() -> Reply {
        Reply::new(250, Some((2, 1, 5)), "Recipient OK")
    }
    pub fn reset() -> Reply {
        Reply::new(250, Some((2, 0, 0)), "Reset OK")
    }
    pub fn queued(id: &str) -> Reply {
        Reply::new(250, Some((2, 0, 0)), format!("Message accepted as {id}"))
    }
    pub fn chunk_ok(size: usize) -> Reply {
        Reply::new(250, Some((2, 0, 0)), format!("{size} octets received"))
    }
    pub fn vrfy() -> Reply {
        Reply::new(
            252,
            Some((2, 5, 0)),
            "Cannot VRFY user, but will accept the message and attempt delivery",
        )
    }
    pub fn help() -> Reply {
        Reply {
            code: 214,
            status: Some((2, 0, 0)),
            lines: vec![
                "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT STARTTLS AUTH"
                    .into(),
                "See RFC 5321; mail the postmaster of this domain for help".into(),
            ],
        }
    }
    pub fn start_data() -> Reply {
        Reply::new(354, None, "Start mail input; end with <CRLF>.<CRLF>")
    }
    pub fn ready_for_tls() -> Reply {
        Reply::new(220, Some((2, 0, 0)), "Ready to start TLS")
    }
    pub fn auth_ok() -> Reply {
        Reply::new(235, Some((2, 7, 0)), "Authentication successful")
    }
    pub fn auth_challenge(b64: String) -> Reply {
        Reply::new(334, None, b64)
    }

    // 4xx
    pub fn shutting_down(host: &str) -> Reply {
        Reply::new(
            421,
            Some((4, 3, 2)),
            format!("{host} service shutting down, try again later"),
        )
    }
    pub fn timeout(host: &str) -> Reply {
        Reply::new(
            421,
            Some((4, 4, 2)),
            format!("{host} timeout exceeded, closing connection"),
        )
    }
    pub fn too_many_errors() -> Reply {
        Reply::new(421, Some((4, 7, 0)), "Too many errors, closing connection")
    }
    pub fn local_error() -> Reply {
        Reply::new(
            451,
            Some((4, 3, 0)),
            "Local error in processing, try again later",
        )
    }
    pub fn storage_full() -> Reply {
        Reply::new(
            452,
            Some((4, 3, 1)),
            "Insufficient system storage, try again later",
        )
    }
    pub fn too_many_recipients() -> Reply {
        Reply::new(452, Some((4, 5, 3)), "Too many recipients")
    }
    pub fn auth_temporary() -> Reply {
        Reply::new(454, Some((4, 7, 0)), "Temporary authentication failure")
    }
    pub fn auth_rate_limited(secs: u64) -> Reply {
        Reply::new(
            454,
            Some((4, 7, 0)),
            format!("Too many failed logins from your address; try again in {secs} seconds"),
        )
    }
    pub fn tls_unavailable() -> Reply {
        Reply::new(454, Some((4, 7, 0)), "TLS not available")
    }

    // 5xx
    pub fn unrecognized() -> Reply {
        Reply::new(500, Some((5, 5, 1)), "Command unrecognized")
    }
    pub fn line_too_long() -> Reply {
        Reply::new(500, Some((5, 5, 2)), "Line too long")
    }
    pub fn syntax(usage: &'static str) -> Reply {
        Reply::new(501, Some((5, 5, 4)), format!("Syntax: {usage}"))
    }
    pub fn bad_sender_syntax() -> Reply {
        Reply::new(501, Some((5, 1, 7)), "Bad sender address syntax")
    }
    pub fn bad_recipient_syntax() -> Reply {
        Reply::new(501, Some((5, 1, 3)), "Bad recipient address syntax")
    }
    pub fn bad_parameter(param: &str) -> Reply {
        Reply::new(501, Some((5, 5, 4)), format!("Invalid {param} parameter"))
    }
    pub fn bad_base64() -> Reply {
        Reply::new(501, Some((5, 5, 2)), "Cannot decode the base64 response")
    }
    pub fn auth_cancelled() -> Reply {
        Reply::new(501, Some((5, 7, 0)), "Authentication cancelled")
    }
    pub fn not_supported(what: &'static str) -> Reply {
        Reply::new(502, Some((5, 5, 1)), format!("{what} is not supported"))
    }
    pub fn bad_sequence(why: &'static str) -> Reply {
        Reply::new(503, Some((5, 5, 1)), why)
    }
    pub fn mechanism_unknown() -> Reply {
        Reply::new(
            504,
            Some((5, 5, 4)),
            "Unrecognized authentication mechanism",
        )
    }
    pub fn auth_required() -> Reply {
        Reply::new(530, Some((5, 7, 0)), "Authentication required")
    }
    pub fn tls_required() -> Reply {
        Reply::new(530, Some((5, 7, 0)), "Must issue a STARTTLS command first")
    }
    pub fn encryption_required_for_auth() -> Reply {
        Reply::new(
            538,
            Some((5, 7, 11)),
            "Encryption required for requested authentication mechanism",
        )
    }
    pub fn auth_failed() -> Reply {
        Reply::new(535, Some((5, 7, 8)), "Authentication credentials invalid")
    }
    pub fn auth_denied(reason: String) -> Reply {
        Reply::new(
            535,
            Some((5, 7, 8)),
            format!("Authentication refused: {reason}"),
        )
    }
    pub fn no_such_user() -> Reply {
        Reply::new(
            550,
            Some((5, 1, 1)),
            "Mailbox unavailable: no such user here",
        )
    }
    pub fn relay_denied() -> Reply {
        Reply::new(554, Some((5, 7, 1)), "Relay access denied")
    }
    /// A Sieve script refused the message (RFC 5429 §2.1): its reason, on one
    /// line, printable ASCII (anything else replaced).
    pub fn sieve_rejected(reason: &str) -> Reply {
        let text: String = reason
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    ' '
                }
            })
            .take(400)
            .collect();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = if text.is_empty() {
            "Message refused by the recipient's filter".to_string()
        } else {
            text
        };
        Reply::new(550, Some((5, 7, 1)), text)
    }
    pub fn mailbox_full() -> Reply {
        Reply::new(552, Some((5, 2, 2)), "Mailbox full")
    }
    pub fn message_too_big() -> Reply {
        Reply::new(552, Some((5, 3, 4)), "Message size exceeds the fixed limit")
    }
    pub fn sender_not_owned() -> Reply {
        Reply::new(
            553,
            Some((5, 7, 1)),
            "Sender address is not owned by the authenticated user",
        )
    }
    pub fn smtputf8_required() -> Reply {
        Reply::new(
            553,
            Some((5, 6, 7)),
            "Non-ASCII address requires the SMTPUTF8 parameter",
        )
    }
    pub fn no_valid_recipients() -> Reply {
        Reply::new(554, Some((5, 5, 1)), "No valid recipients")
    }
    pub fn bare_newline() -> Reply {
        Reply::new(
            554,
            Some((5, 6, 0)),
            "Message contains bare CR or LF characters; lines must end with CRLF (RFC 5321 §2.3.8; the server's smtp.bare_newline setting relaxes this)",
        )
    }
    pub fn text_line_too_long() -> Reply {
        Reply::new(
            554,
            Some((5, 6, 0)),
            "Message contains a line longer than the limit (RFC 5321 §4.5.3.1.6; the server's smtp.max_line_length setting)",
        )
    }
    pub fn unsupported_parameter(param: &str) -> Reply {
        Reply::new(
            555,
            Some((5, 5, 4)),
            format!("Unsupported parameter {param}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Reply, enhanced: bool) -> String {
        let mut v = Vec::new();
        r.write_to(&mut v, enhanced);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn single_and_multi_line_forms() {
        assert_eq!(
            wire(&catalogue::no_such_user(), true),
            "550 5.1.1 Mailbox unavailable: no such user here\r\n"
        );
        assert_eq!(
            wire(&catalogue::no_such_user(), false),
            "550 Mailbox unavailable: no such user here\r\n"
        );
        assert_eq!(
            wire(&catalogue::help(), true),
            "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT STARTTLS AUTH\r\n\
             214 2.0.0 See RFC 5321; mail the postmaster of this domain for help\r\n"
        );
        assert_eq!(
            wire(&catalogue::start_data(), true),
            "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
        );
    }
}
