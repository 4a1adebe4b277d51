//! One mail transaction on an open session (RFC 5321 §3.3): MAIL FROM with the
//! parameters the server advertised and the message needs (SIZE, BODY=8BITMIME,
//! SMTPUTF8, DSN's RET/ENVID), RCPT TO for each recipient (NOTIFY/ORCPT), DATA with the
//! dot-stuffed body. With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go out in one
//! write and the replies are read in order. Several transactions may follow on one
//! connection; a transaction that failed midway is RSET before the next.
//!
//! Never puts a caller's string on the wire unchecked: addresses and parameters with
//! CR, LF, `<`, `>` or spaces are refused (no command injection).

use super::client::SmtpClient;
use super::data::DataEncoder;
use super::error::{SmtpError, Stage};
use super::reply::Reply;

/// Bytes of the message encoded and written per block.
const DATA_BLOCK: usize = 64 * 1024;
/// Most RCPT commands in one pipelined write.
const PIPELINE_GROUP: usize = 100;

/// One recipient with its DSN parameters (RFC 3461 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptSpec {
    pub address: String,
    /// `NEVER` or a comma list of `SUCCESS`, `FAILURE`, `DELAY`.
    pub notify: Option<String>,
    /// The original recipient as `type;address` (`rfc822;user@example.com`), not yet
    /// xtext-encoded; a bare address means `rfc822`.
    pub orcpt: Option<String>,
}

impl RcptSpec {
    pub fn new(address: impl Into<String>) -> RcptSpec {
        RcptSpec {
            address: address.into(),
            notify: None,
            orcpt: None,
        }
    }
}

/// The envelope of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Reverse path; empty for the null sender (`<>`, bounces).
    pub from: String,
    /// Message size in bytes, declared with SIZE.
    pub size: usize,
    /// DSN `RET`: `FULL` or `HDRS`.
    pub ret: Option<String>,
    /// DSN `ENVID`, not yet xtext-encoded.
    pub envid: Option<String>,
    pub rcpts: Vec<RcptSpec>,
    /// The envelope or headers need SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// The body has 8-bit content (RFC 6152).
    pub eight_bit: bool,
}

/// What the server did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// Per recipient, in envelope order: accepted (`Ok`) or refused (`Err`), with the
    /// server's RCPT reply.
    pub rcpts: Vec<Result<Reply, Reply>>,
    /// The reply to the message (DATA refused, or the reply after the final dot);
    /// `None` when no recipient was accepted.
    pub data: Option<Result<Reply, Reply>>,
}

impl SendOutcome {
    /// Whether the server took responsibility for the message for the accepted
    /// recipients.
    pub fn delivered(&self) -> bool {
        matches!(self.data, Some(Ok(_)))
    }
}

impl SmtpClient {
    /// Sends one message. `Ok` carries per-recipient and message outcomes (some may
    /// be refusals); `Err` means the transaction did not happen: MAIL refused, the
    /// message cannot go to this server (SMTPUTF8, SIZE), or the connection failed.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<SendOutcome, SmtpError> {
        if self.broken {
            return Err(SmtpError::Broken);
        }
        if self.needs_rset {
            self.reset().await?;
        }
        if envelope.rcpts.is_empty() {
            return Err(SmtpError::Config("an envelope without recipients".into()));
        }
        let mail = self.mail_command(envelope)?;
        let mut rcpt_lines = Vec::with_capacity(envelope.rcpts.len());
        for r in &envelope.rcpts {
            rcpt_lines.push(rcpt_command(r, self.info.capabilities.dsn)?);
        }
        self.needs_rset = true;
        let result = if self.info.capabilities.pipelining {
            self.transaction_pipelined(&mail, &rcpt_lines, message)
                .await
        } else {
            self.transaction_stepwise(&mail, &rcpt_lines, message).await
        };
        if let Err(e) = &result
            && !e.leaves_connection_usable()
        {
            self.broken = true;
        }
        result
    }

    /// MAIL FROM with its parameters; refuses what this server cannot take.
    fn mail_command(&self, env: &Envelope) -> Result<String, SmtpError> {
        let caps = &self.info.capabilities;
        check_address(&env.from)?;
        if env.smtputf8 && !caps.smtputf8 {
            return Err(SmtpError::SmtputfUnsupported);
        }
        if let Some(limit) = caps.size_limit()
            && env.size as u64 > limit
        {
            return Err(SmtpError::MessageTooLarge {
                size: env.size,
                limit,
            });
        }
        let mut line = format!("MAIL FROM:<{}>", env.from);
        if caps.size.is_some() {
            line.push_str(&format!(" SIZE={}", env.size));
        }
        // Without 8BITMIME we send the body as is, as Postfix does; converting to
        // 7 bits is the queue's decision (it has the MIME structure).
        if env.eight_bit && caps.eight_bit_mime {
            line.push_str(" BODY=8BITMIME");
        }
        if env.smtputf8 {
            line.push_str(" SMTPUTF8");
        }
        if caps.dsn {
            if let Some(ret) = &env.ret {
                let ret = ret.to_ascii_uppercase();
                if ret != "FULL" && ret != "HDRS" {
                    return Err(SmtpError::Config(format!(
                        "DSN RET must be FULL or HDRS, not {ret:?}"
                    )));
                }
                line.push_str(&format!(" RET={ret}"));
            }
            if let Some(envid) = &env.envid {
                line.push_str(&format!(" ENVID={}", xtext(envid)));
            }
        }
        line.push_str("\r\n");
        Ok(line)
    }

    /// RFC 2920: MAIL, all RCPTs and DATA in one write, then the replies in order.
    /// More than [`PIPELINE_GROUP`] recipients go in several writes, each followed by
    /// reading its replies, so neither side can block on a full socket buffer.
    async fn transaction_pipelined(
        &mut self,
        mail: &str,
        rcpts: &[String],
        message: &[u8],
    ) -> Result<SendOutcome, SmtpError> {
        let t = self.timeouts;
        let groups = rcpts.len().div_ceil(PIPELINE_GROUP).max(1);
        let mut mail_reply = None;
        let mut outcomes = Vec::with_capacity(rcpts.len());
        for g in 0..groups {
            let group = rcpts.chunks(PIPELINE_GROUP).nth(g).unwrap_or(&[]);
            let mut batch = String::with_capacity(mail.len() + group.len() * 48 + 6);
            if g == 0 {
                batch.push_str(mail);
            }
            for r in group {
                batch.push_str(r);
            }
            if g + 1 == groups {
                batch.push_str("DATA\r\n");
            }
            self.write(batch.as_bytes(), Stage::Mail, t.mail).await?;
            if g == 0 {
                mail_reply = Some(self.read_reply(Stage::Mail, t.mail).await?);
            }
            for _ in group {
                let r = self.read_reply(Stage::Rcpt, t.rcpt).await?;
                outcomes.push(if r.is_positive() { Ok(r) } else { Err(r) });
            }
        }
        let Some(mail_reply) = mail_reply else {
            return Err(SmtpError::Broken);
        };
        let data_reply = self.read_reply(Stage::Data, t.data_init).await?;
        let any_accepted = outcomes.iter().any(Result::is_ok);
        if data_reply.code == 354 && (!mail_reply.is_positive() || !any_accepted) {
            // RFC 2920 §3.1: the server should have refused DATA; it did not, so send
            // an empty message to get back in step, and take nothing from its reply.
            self.write(b".\r\n", Stage::DataEnd, t.data_block).await?;
            self.read_reply(Stage::DataEnd, t.data_end).await?;
        }
        if !mail_reply.is_positive() {
            return Err(SmtpError::Rejected {
                stage: Stage::Mail,
                reply: mail_reply,
            });
        }
        if !any_accepted {
            return Ok(SendOutcome {
                rcpts: outcomes,
                data: None,
            });
        }
        let data = self.after_data_reply(data_reply, message).await?;
        Ok(SendOutcome {
            rcpts: outcomes,
            data: Some(data),
        })
    }

    /// Without PIPELINING: each command waits for its reply.
    async fn transaction_stepwise(
        &mut self,
        mail: &str,
        rcpts: &[String],
        message: &[u8],
    ) -> Result<SendOutcome, SmtpError> {
        let t = self.timeouts;
        let reply = self.command(mail.as_bytes(), Stage::Mail, t.mail).await?;
        if !reply.is_positive() {
            return Err(SmtpError::Rejected {
                stage: Stage::Mail,
                reply,
            });
        }
        let mut outcomes = Vec::with_capacity(rcpts.len());
        for r in rcpts {
            let reply = self.command(r.as_bytes(), Stage::Rcpt, t.rcpt).await?;
            outcomes.push(if reply.is_positive() {
                Ok(reply)
            } else {
                Err(reply)
            });
        }
        if !outcomes.iter().any(Result::is_ok) {
            return Ok(SendOutcome {
                rcpts: outcomes,
                data: None,
            });
        }
        let data_reply = self.command(b"DATA\r\n", Stage::Data, t.data_init).await?;
        let data = self.after_data_reply(data_reply, message).await?;
        Ok(SendOutcome {
            rcpts: outcomes,
            data: Some(data),
        })
    }

    /// After the reply to DATA: on 354 the body and the final reply; otherwise the
    /// refusal.
    async fn after_data_reply(
        &mut self,
        data_reply: Reply,
        message: &[u8],
    ) -> Result<Result<Reply, Reply>, SmtpError> {
        if data_reply.code != 354 {
            return Ok(Err(data_reply));
        }
        let t = self.timeouts;
        let mut encoder = DataEncoder::new();
        let mut out = Vec::with_capacity(DATA_BLOCK + DATA_BLOCK / 16);
        for block in message.chunks(DATA_BLOCK) {
            out.clear();
            encoder.encode(block, &mut out);
            self.write(&out, Stage::DataEnd, t.data_block).await?;
        }
        out.clear();
        encoder.finish(&mut out);
        self.write(&out, Stage::DataEnd, t.data_block).await?;
        let reply = self.read_reply(Stage::DataEnd, t.data_end).await?;
        // The reply to the final dot ends the transaction either way (§4.1.1.4).
        self.needs_rset = false;
        Ok(if reply.is_positive() {
            Ok(reply)
        } else {
            Err(reply)
        })
    }
}

/// RCPT TO with DSN parameters when the server supports DSN.
fn rcpt_command(r: &RcptSpec, dsn: bool) -> Result<String, SmtpError> {
    check_address(&r.address)?;
    if r.address.is_empty() {
        return Err(SmtpError::InvalidAddress(String::new()));
    }
    let mut line = format!("RCPT TO:<{}>", r.address);
    if dsn {
        if let Some(notify) = &r.notify {
            let notify = notify.to_ascii_uppercase();
            let valid = notify == "NEVER"
                || notify
                    .split(',')
                    .all(|n| matches!(n, "SUCCESS" | "FAILURE" | "DELAY"));
            if !valid {
                return Err(SmtpError::Config(format!("invalid DSN NOTIFY {notify:?}")));
            }
            line.push_str(&format!(" NOTIFY={notify}"));
        }
        if let Some(orcpt) = &r.orcpt {
            let (kind, addr) = orcpt.split_once(';').unwrap_or(("rfc822", orcpt));
            if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(SmtpError::Config(format!("invalid ORCPT type {kind:?}")));
            }
            line.push_str(&format!(" ORCPT={kind};{}", xtext(addr)));
        }
    }
    line.push_str("\r\n");
    Ok(line)
}

/// An address may go between `<` and `>` on a command line.
fn check_address(a: &str) -> Result<(), SmtpError> {
    if a.bytes()
        .any(|b| matches!(b, b'\r' | b'\n' | b'<' | b'>' | b' ' | b'\t' | 0))
    {
        return Err(SmtpError::InvalidAddress(a.to_string()));
    }
    Ok(())
}

/// RFC 3461 §4: xtext, `+HH` for `+`, `=` and bytes outside `!`..`~`.
pub fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_encoding() {
        assert_eq!(xtext("user@example.com"), "user@example.com");
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext("\u{e9}"), "+C3+A9");
    }

    #[test]
    fn rcpt_lines() {
        let mut r = RcptSpec::new("bob@example.org");
        assert_eq!(
            rcpt_command(&r, true).unwrap(),
            "RCPT TO:<bob@example.org>\r\n"
        );
        r.notify = Some("success,failure".into());
        r.orcpt = Some("rfc822;Bob+x@example.org".into());
        assert_eq!(
            rcpt_command(&r, true).unwrap(),
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx@example.org\r\n"
        );
        assert_eq!(
            rcpt_command(&r, false).unwrap(),
            "RCPT TO:<bob@example.org>\r\n"
        );
        r.notify = Some("SOMETIMES".into());
        assert!(rcpt_command(&r, true).is_err());
        for bad in ["a>b", "a\r\nRSET", "x y", ""] {
            assert!(rcpt_command(&RcptSpec::new(bad), false).is_err(), "{bad:?}");
        }
    }
}
