//! SMTP commands: a complete command line in, a typed [`Command`] or the reply that
//! refuses it out. Parsing of the RFC 5321 grammar and the ESMTP parameters is done by
//! `smtp-proto`; this module maps its result to our types and to the parameters we
//! advertise, refusing the ones we do not (RFC 5321 §4.1.1.11, RFC 1869). Pure.

use smtp_proto::{Error as ProtoError, Request};

use super::reply::{Reply, catalogue};

/// MAIL FROM parameters we honour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// Declared SIZE (RFC 1870), 0 when absent.
    pub size: usize,
    /// BODY=8BITMIME (RFC 6152).
    pub eight_bit: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// DSN RET=FULL|HDRS (RFC 3461 §4.3).
    pub ret: Option<&'static str>,
    /// DSN ENVID (RFC 3461 §4.4), xtext-decoded.
    pub envid: Option<String>,
}

/// RCPT TO parameters we honour (RFC 3461 §4.1, §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// NOTIFY as a comma list (`SUCCESS,FAILURE,DELAY` or `NEVER`).
    pub notify: Option<String>,
    /// ORCPT as `rfc822;address`.
    pub orcpt: Option<String>,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail {
        from: String,
        params: MailParams,
    },
    Rcpt {
        to: String,
        params: RcptParams,
    },
    Data,
    Bdat {
        size: usize,
        last: bool,
    },
    Rset,
    Noop,
    Vrfy,
    Expn,
    Help,
    Quit,
    StartTls,
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

/// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4), before extensions.
pub const MAX_COMMAND_LINE: usize = 512;
/// MAIL/RCPT lines grow with SIZE (+26, RFC 1870), DSN (+100 / +500, RFC 3461 §5) and
/// AUTH= parameters.
pub const MAX_MAIL_RCPT_LINE: usize = 2048;
/// AUTH lines carry SASL initial responses (RFC 4954 §4: 12288 octets).
pub const MAX_AUTH_LINE: usize = 12288;

/// Parses one command line (including its line ending). Returns the reply to send when
/// the line is not a command we accept.
pub fn parse(line: &[u8]) -> Result<Command, Reply> {
    let verb = verb_of(line);
    let cap = match verb.as_str() {
        "MAIL" | "RCPT" => MAX_MAIL_RCPT_LINE,
        "AUTH" => MAX_AUTH_LINE,
        _ => MAX_COMMAND_LINE,
    };
    if line.len() > cap {
        return Err(catalogue::line_too_long());
    }
    // AUTH is parsed here: smtp-proto only knows mechanisms by its own bit table.
    if verb == "AUTH" {
        return parse_auth(line);
    }
    let mut with_lf;
    let line = if line.ends_with(b"\n") {
        line
    } else {
        with_lf = line.to_vec();
        with_lf.push(b'\n');
        &with_lf[..]
    };
    match Request::parse(&mut line.iter()) {
        Ok(req) => from_request(req),
        Err(e) => Err(map_error(e)),
    }
}

/// The first word, upper-cased (for the length rules and logs).
pub fn verb_of(line: &[u8]) -> String {
    let end = line
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(line.len());
    String::from_utf8_lossy(&line[..end.min(16)]).to_ascii_uppercase()
}

fn parse_auth(line: &[u8]) -> Result<Command, Reply> {
    let text = std::str::from_utf8(line)
        .map_err(|_| catalogue::syntax("AUTH mechanism [initial-response]"))?;
    let mut words = text.split_ascii_whitespace().skip(1);
    let mechanism = words
        .next()
        .ok_or_else(|| catalogue::syntax("AUTH mechanism [initial-response]"))?
        .to_ascii_uppercase();
    let initial = words.next().map(str::to_string);
    if words.next().is_some() {
        return Err(catalogue::syntax("AUTH mechanism [initial-response]"));
    }
    Ok(Command::Auth { mechanism, initial })
}

fn from_request(req: Request<std::borrow::Cow<'_, str>>) -> Result<Command, Reply> {
    Ok(match req {
        Request::Ehlo { host } => Command::Ehlo(host.into_owned()),
        Request::Helo { host } => Command::Helo(host.into_owned()),
        Request::Lhlo { .. } => return Err(catalogue::unrecognized()),
        Request::Mail { from } => {
            use smtp_proto::*;
            let f = from.flags;
            if f & MAIL_BODY_BINARYMIME != 0 {
                return Err(catalogue::unsupported_parameter("BODY=BINARYMIME"));
            }
            if f & MAIL_REQUIRETLS != 0 {
                return Err(catalogue::unsupported_parameter("REQUIRETLS"));
            }
            if from.by != 0 || f & (MAIL_BY_NOTIFY | MAIL_BY_RETURN | MAIL_BY_TRACE) != 0 {
                return Err(catalogue::unsupported_parameter("BY"));
            }
            if from.mtrk.is_some() {
                return Err(catalogue::unsupported_parameter("MTRK"));
            }
            if from.hold_for != 0 || from.hold_until != 0 {
                return Err(catalogue::unsupported_parameter("FUTURERELEASE"));
            }
            if from.mt_priority != 0 {
                return Err(catalogue::unsupported_parameter("MT-PRIORITY"));
            }
            let ret = match (f & MAIL_RET_FULL != 0, f & MAIL_RET_HDRS != 0) {
                (true, _) => Some("FULL"),
                (_, true) => Some("HDRS"),
                _ => None,
            };
            Command::Mail {
                from: from.address.into_owned(),
                params: MailParams {
                    size: from.size,
                    eight_bit: f & MAIL_BODY_8BITMIME != 0,
                    smtputf8: f & MAIL_SMTPUTF8 != 0,
                    ret,
                    envid: from.env_id.map(|e| e.into_owned()),
                },
            }
        }
        Request::Rcpt { to } => {
            use smtp_proto::*;
            let f = to.flags;
            if f & (RCPT_CONNEG | RCPT_RRVS_REJECT | RCPT_RRVS_CONTINUE) != 0 || to.rrvs != 0 {
                return Err(catalogue::unsupported_parameter("RRVS/CONNEG"));
            }
            let notify = if f & RCPT_NOTIFY_NEVER != 0 {
                Some("NEVER".to_string())
            } else {
                let mut parts = Vec::new();
                for (bit, name) in [
                    (RCPT_NOTIFY_SUCCESS, "SUCCESS"),
                    (RCPT_NOTIFY_FAILURE, "FAILURE"),
                    (RCPT_NOTIFY_DELAY, "DELAY"),
                ] {
                    if f & bit != 0 {
                        parts.push(name);
                    }
                }
                (!parts.is_empty()).then(|| parts.join(","))
            };
            Command::Rcpt {
                to: to.address.into_owned(),
                params: RcptParams {
                    notify,
                    orcpt: to.orcpt.map(|o| format!("rfc822;{o}")),
                },
            }
        }
        Request::Bdat {
            chunk_size,
            is_last,
        } => Command::Bdat {
            size: chunk_size,
            last: is_last,
        },
        Request::Auth { .. } => return Err(catalogue::syntax("AUTH mechanism [initial-response]")),
        Request::Noop { .. } => Command::Noop,
        Request::Vrfy { .. } => Command::Vrfy,
        Request::Expn { .. } => Command::Expn,
        Request::Help { .. } => Command::Help,
        Request::Etrn { .. } => return Err(catalogue::not_supported("ETRN")),
        Request::Atrn { .. } => return Err(catalogue::not_supported("ATRN")),
        Request::Burl { .. } => return Err(catalogue::not_supported("BURL")),
        Request::StartTls => Command::StartTls,
        Request::Data => Command::Data,
        Request::Rset => Command::Rset,
        Request::Quit => Command::Quit,
    })
}

fn map_error(e: ProtoError) -> Reply {
    match e {
        ProtoError::UnknownCommand => catalogue::unrecognized(),
        ProtoError::InvalidSenderAddress => catalogue::bad_sender_syntax(),
        ProtoError::InvalidRecipientAddress => catalogue::bad_recipient_syntax(),
        ProtoError::SyntaxError { syntax } => catalogue::syntax(syntax),
        ProtoError::InvalidParameter { param } => catalogue::bad_parameter(param),
        ProtoError::UnsupportedParameter { param } => catalogue::unsupported_parameter(&param),
        ProtoError::NeedsMoreData { .. }
        | ProtoError::ResponseTooLong
        | ProtoError::InvalidResponse { .. } => catalogue::syntax("a command line ending in CRLF"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line.as_bytes()).unwrap_or_else(|r| panic!("{line:?} -> {r:?}"))
    }
    fn err(line: &str) -> u16 {
        parse(line.as_bytes()).unwrap_err().code
    }

    #[test]
    fn commands_from_rfc_5321() {
        assert_eq!(
            ok("EHLO client.example\r\n"),
            Command::Ehlo("client.example".into())
        );
        assert_eq!(ok("helo client\r\n"), Command::Helo("client".into()));
        assert_eq!(ok("DATA\r\n"), Command::Data);
        assert_eq!(ok("RSET\r\n"), Command::Rset);
        assert_eq!(ok("NOOP\r\n"), Command::Noop);
        assert_eq!(ok("QUIT\r\n"), Command::Quit);
        assert_eq!(ok("VRFY bob\r\n"), Command::Vrfy);
        assert_eq!(ok("HELP\r\n"), Command::Help);
        assert_eq!(ok("STARTTLS\r\n"), Command::StartTls);
        assert_eq!(
            ok("BDAT 100 LAST\r\n"),
            Command::Bdat {
                size: 100,
                last: true
            }
        );
        assert_eq!(
            ok("BDAT 5\r\n"),
            Command::Bdat {
                size: 5,
                last: false
            }
        );
    }

    #[test]
    fn mail_with_parameters() {
        match ok(
            "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=abc+2Bd\r\n",
        ) {
            Command::Mail { from, params } => {
                assert_eq!(from, "a@b.example");
                assert_eq!(params.size, 1000);
                assert!(params.eight_bit && params.smtputf8);
                assert_eq!(params.ret, Some("HDRS"));
                assert_eq!(params.envid.as_deref(), Some("abc+d"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            ok("MAIL FROM:<>\r\n"),
            Command::Mail {
                from: String::new(),
                params: MailParams::default()
            }
        );
    }

    #[test]
    fn rcpt_with_dsn_parameters() {
        match ok("RCPT TO:<x@y.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.example\r\n") {
            Command::Rcpt { to, params } => {
                assert_eq!(to, "x@y.example");
                assert_eq!(params.notify.as_deref(), Some("SUCCESS,FAILURE"));
                assert_eq!(params.orcpt.as_deref(), Some("rfc822;x@y.example"));
            }
            other => panic!("{other:?}"),
        }
        match ok("RCPT TO:<x@y.example> NOTIFY=NEVER\r\n") {
            Command::Rcpt { params, .. } => assert_eq!(params.notify.as_deref(), Some("NEVER")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn auth_lines() {
        assert_eq!(
            ok("AUTH plain AGJvYgBwdw==\r\n"),
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGJvYgBwdw==".into())
            }
        );
        assert_eq!(
            ok("AUTH LOGIN\r\n"),
            Command::Auth {
                mechanism: "LOGIN".into(),
                initial: None
            }
        );
        assert_eq!(err("AUTH\r\n"), 501);
    }

    #[test]
    fn errors_get_500_501_or_555() {
        assert_eq!(err("FOO bar\r\n"), 500);
        assert_eq!(err("MAIL TO:<a@b>\r\n"), 501);
        assert_eq!(err("MAIL FROM:<a@b> BODY=BINARYMIME\r\n"), 555);
        assert_eq!(err("MAIL FROM:<a@b> SIZE=abc\r\n"), 501);
        assert_eq!(err("RCPT TO:\r\n"), 501);
        assert_eq!(err("ETRN example.com\r\n"), 502);
        let long = format!("NOOP {}\r\n", "x".repeat(600));
        assert_eq!(err(&long), 500);
        let long_rcpt = format!(
            "RCPT TO:<a@b.example> ORCPT=rfc822;{}@b.example\r\n",
            "x".repeat(200)
        );
        assert!(matches!(
            parse(long_rcpt.as_bytes()),
            Ok(Command::Rcpt { .. }) | Err(_)
        ));
    }
}
