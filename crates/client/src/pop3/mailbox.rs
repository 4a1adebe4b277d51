//! The POP3 TRANSACTION-state commands a collector uses (RFC 1939 §5, RFC 2449): STAT,
//! UIDL and LIST listings, RETR read as it streams in (with RFC 2449 PIPELINING the
//! caller may send many RETRs at once with [`Pop3Client::send_commands`] and read the
//! answers in order), DELE (pipelined when allowed), RSET and NOOP.
//!
//! Never deletes anything the caller did not name; deletions take effect only at QUIT
//! (RFC 1939 §6), so a dropped connection deletes nothing.

use super::client::Pop3Client;
use super::error::{Pop3Error, Pop3Stage};
use super::reply::{
    DotDecoder, ReplyError, Response, parse_list_line, parse_stat, parse_uidl_line,
};

/// Largest UIDL or LIST listing read (about 1.5 million messages).
const MAX_LISTING: usize = 64 * 1024 * 1024;

impl Pop3Client {
    /// Whether commands may be pipelined (RFC 2449 §6.6).
    pub async fn pipelining(&mut self) -> Result<bool, Pop3Error> {
        Ok(self.capabilities().await?.pipelining)
    }

    /// STAT: message count and total octets.
    pub async fn stat(&mut self) -> Result<(u32, u64), Pop3Error> {
        let r = self.command("STAT", Pop3Stage::Command).await?;
        let rejected = |response| Pop3Error::Rejected {
            stage: Pop3Stage::Command,
            response,
        };
        if !r.is_ok() {
            return Err(rejected(r));
        }
        parse_stat(&r).ok_or_else(|| rejected(r.clone()))
    }

    /// UIDL of every message: `(number, unique id)`; `None` when the server does not
    /// know UIDL (answers `-ERR`).
    pub async fn uidl_all(&mut self) -> Result<Option<Vec<(u32, String)>>, Pop3Error> {
        let r = self.command("UIDL", Pop3Stage::Command).await?;
        if !r.is_ok() {
            return Ok(None);
        }
        let lines = self.read_multiline(Pop3Stage::Command, MAX_LISTING).await?;
        Ok(Some(
            lines.iter().filter_map(|l| parse_uidl_line(l)).collect(),
        ))
    }

    /// LIST of every message: `(number, octets)`.
    pub async fn list_all(&mut self) -> Result<Vec<(u32, u64)>, Pop3Error> {
        let r = self.command("LIST", Pop3Stage::Command).await?;
        if !r.is_ok() {
            return Err(Pop3Error::Rejected {
                stage: Pop3Stage::Command,
                response: r,
            });
        }
        let lines = self.read_multiline(Pop3Stage::Command, MAX_LISTING).await?;
        Ok(lines.iter().filter_map(|l| parse_list_line(l)).collect())
    }

    /// Writes several command lines at once (PIPELINING); read their answers in order
    /// with [`Pop3Client::read_status`] or [`Pop3Client::read_message`].
    pub async fn send_commands(&mut self, lines: &[String]) -> Result<(), Pop3Error> {
        if self.broken {
            return Err(Pop3Error::Broken);
        }
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
        for l in lines {
            if l.contains(['\r', '\n']) {
                return Err(Pop3Error::Config("line break in a command".into()));
            }
            bytes.extend_from_slice(l.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        if let Err(e) = self.conn.write_all(&bytes, self.timeout).await {
            self.broken = true;
            return Err(super::error::conn_error(Pop3Stage::Command, e));
        }
        Ok(())
    }

    /// Reads the answer to a RETR (or TOP) already sent: `Ok(Ok(message))` with CRLF
    /// line ends, `Ok(Err(status))` when the server refused it. A message above `max`
    /// octets is an error (the connection is then unusable).
    pub async fn read_message(
        &mut self,
        max: usize,
    ) -> Result<Result<Vec<u8>, Response>, Pop3Error> {
        let status = self.read_status(Pop3Stage::Command).await?;
        if !status.is_ok() {
            return Ok(Err(status));
        }
        let mut decoder = DotDecoder::default();
        let mut out = Vec::with_capacity(4096);
        loop {
            let (used, done) = decoder.feed(self.conn.buffer(), &mut out);
            self.conn.consume(used);
            if out.len() > max {
                self.broken = true;
                return Err(Pop3Error::Protocol {
                    stage: Pop3Stage::Command,
                    error: ReplyError::TooLarge(max),
                });
            }
            if done {
                return Ok(Ok(out));
            }
            self.fill(Pop3Stage::Command).await?;
        }
    }

    /// RETR one message.
    pub async fn retr(
        &mut self,
        number: u32,
        max: usize,
    ) -> Result<Result<Vec<u8>, Response>, Pop3Error> {
        self.send_commands(&[format!("RETR {number}")]).await?;
        self.read_message(max).await
    }

    /// DELE each of `numbers` (pipelined when the server allows it). Returns the
    /// numbers the server refused, with its answer. Deletion happens at QUIT.
    pub async fn dele(&mut self, numbers: &[u32]) -> Result<Vec<(u32, Response)>, Pop3Error> {
        let window = if self.pipelining().await? { 64 } else { 1 };
        let mut refused = Vec::new();
        for chunk in numbers.chunks(window) {
            let lines: Vec<String> = chunk.iter().map(|n| format!("DELE {n}")).collect();
            self.send_commands(&lines).await?;
            for &n in chunk {
                let r = self.read_status(Pop3Stage::Command).await?;
                if !r.is_ok() {
                    refused.push((n, r));
                }
            }
        }
        Ok(refused)
    }

    /// RSET: forget the deletion marks of this session.
    pub async fn rset(&mut self) -> Result<(), Pop3Error> {
        let r = self.command("RSET", Pop3Stage::Command).await?;
        if r.is_ok() {
            Ok(())
        } else {
            Err(Pop3Error::Rejected {
                stage: Pop3Stage::Command,
                response: r,
            })
        }
    }

    /// NOOP.
    pub async fn noop(&mut self) -> Result<(), Pop3Error> {
        self.command("NOOP", Pop3Stage::Command).await.map(drop)
    }
}
