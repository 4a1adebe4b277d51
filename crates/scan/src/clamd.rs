//! ClamAV's daemon: `zINSTREAM` with the message in `[u32 BE length][data]` chunks,
//! ended by a zero length; clamd answers one NUL-terminated line (`stream: OK`,
//! `stream: <signature> FOUND`, or `... ERROR`).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::endpoint::{Conn, Endpoint, send, timed, timed_out};
use crate::error::{ScanError, quote};

/// The largest chunk sent in one INSTREAM frame.
pub const CHUNK: usize = 64 * 1024;
/// The longest reply read from clamd, NUL included.
pub const MAX_REPLY: usize = 4096;

/// A clamd to scan with.
#[derive(Debug, Clone)]
pub struct Clamd {
    pub endpoint: Endpoint,
    /// The longest any one step (connect, each write, the reply) may take.
    pub timeout: Duration,
    /// clamd's `StreamMaxLength`: at most this many bytes of a message are sent (the
    /// rest is not scanned; clamd would refuse the whole stream otherwise).
    pub max_size: usize,
}

/// clamd's verdict on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VirusVerdict {
    Clean,
    /// The name of the signature that matched (`Eicar-Test-Signature`).
    Infected(String),
}

impl Clamd {
    /// clamd at `endpoint`, with a 60 s timeout and clamd's default `StreamMaxLength`
    /// (25 MiB).
    pub fn new(endpoint: Endpoint) -> Self {
        Clamd {
            endpoint,
            timeout: Duration::from_secs(60),
            max_size: 25 * 1024 * 1024,
        }
    }

    fn who(&self) -> String {
        format!("clamd at {}", self.endpoint)
    }

    /// Scans the first [`Clamd::max_size`] bytes of `msg`.
    pub async fn scan(&self, msg: &[u8]) -> Result<VirusVerdict, ScanError> {
        let who = self.who();
        let mut conn = self.endpoint.open(self.timeout, &who).await?;
        let body = msg.get(..self.max_size).unwrap_or(msg);
        let sent = send_stream(&mut conn, &who, self.timeout, body).await;
        let reply = match sent {
            Ok(()) => read_reply(&mut conn, &who, self.timeout).await?,
            // clamd stops reading and answers as soon as the stream is too long, so a
            // refused write may have a reply waiting behind it: that says more.
            Err(e) => match read_reply(&mut conn, &who, self.timeout).await {
                Ok(reply) => reply,
                Err(_) => return Err(e),
            },
        };
        parse_reply(&reply).map_err(|e| e.context(&who))
    }

    /// Asks clamd whether it is up (`zPING` → `PONG`).
    pub async fn ping(&self) -> Result<(), ScanError> {
        let who = self.who();
        let mut conn = self.endpoint.open(self.timeout, &who).await?;
        send(&mut conn, &who, "sending PING", self.timeout, b"zPING\0").await?;
        let reply = read_reply(&mut conn, &who, self.timeout).await?;
        if trim_reply(&reply) == b"PONG" {
            Ok(())
        } else {
            Err(ScanError::protocol(format!(
                "{who}: expected PONG, got {}",
                quote(&reply, 200)
            )))
        }
    }
}

/// `zINSTREAM\0`, the chunks, the zero-length end.
async fn send_stream(
    conn: &mut Box<dyn Conn>,
    who: &str,
    timeout: Duration,
    body: &[u8],
) -> Result<(), ScanError> {
    const WHAT: &str = "sending the message";
    send(conn, who, WHAT, timeout, b"zINSTREAM\0").await?;
    let mut frame = Vec::with_capacity(4 + CHUNK.min(body.len()));
    for chunk in body.chunks(CHUNK) {
        frame.clear();
        // A chunk is at most 64 KiB, so its length fits.
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(chunk);
        send(conn, who, WHAT, timeout, &frame).await?;
    }
    send(conn, who, WHAT, timeout, &[0, 0, 0, 0]).await?;
    timed(who, WHAT, timeout, conn.flush()).await
}

/// Reads up to the terminating NUL (NUL included), at most [`MAX_REPLY`] bytes, within
/// `timeout` in all. A reply cut off by the end of the connection is returned as it is
/// (the parser judges it); no reply at all is an error.
async fn read_reply(
    conn: &mut Box<dyn Conn>,
    who: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ScanError> {
    const WHAT: &str = "waiting for the reply";
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            let n = timed(who, WHAT, timeout, conn.read(&mut buf)).await?;
            let Some(new) = buf.get(..n) else {
                return Err(ScanError::protocol(format!("{who}: bad read")));
            };
            if n == 0 {
                if got.is_empty() {
                    return Err(ScanError::protocol(format!(
                        "{who}: connection closed without a reply"
                    )));
                }
                return Ok(got);
            }
            if let Some(i) = new.iter().position(|&b| b == 0) {
                got.extend_from_slice(new.get(..=i).unwrap_or(new));
                if got.len() > MAX_REPLY {
                    break;
                }
                return Ok(got);
            }
            got.extend_from_slice(new);
            if got.len() > MAX_REPLY {
                break;
            }
        }
        Err(ScanError::protocol(format!(
            "{who}: reply longer than {MAX_REPLY} bytes: {}",
            quote(&got, 100)
        )))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(timed_out(who, WHAT, timeout)),
    }
}

fn trim_reply(reply: &[u8]) -> &[u8] {
    let end = reply
        .iter()
        .rposition(|&b| !matches!(b, 0 | b'\r' | b'\n' | b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    reply.get(..end).unwrap_or(reply)
}

/// clamd's answer to INSTREAM (with or without its terminating NUL).
///
/// `stream: OK` is [`VirusVerdict::Clean`], `stream: <signature> FOUND` is
/// [`VirusVerdict::Infected`]; anything ending in `ERROR` (`INSTREAM size limit
/// exceeded. ERROR`) and anything else is a protocol error quoting the reply.
pub fn parse_reply(reply: &[u8]) -> Result<VirusVerdict, ScanError> {
    let text = trim_reply(reply);
    let unexpected = || ScanError::protocol(format!("unexpected reply {}", quote(text, 200)));
    let Ok(s) = std::str::from_utf8(text) else {
        return Err(unexpected());
    };
    if s.ends_with(" ERROR") || s == "ERROR" {
        return Err(ScanError::protocol(format!(
            "clamd reported an error: {}",
            quote(text, 200)
        )));
    }
    let Some(rest) = s.strip_prefix("stream: ") else {
        return Err(unexpected());
    };
    if rest == "OK" {
        return Ok(VirusVerdict::Clean);
    }
    match rest.strip_suffix(" FOUND") {
        Some(sig) if !sig.trim().is_empty() && !sig.chars().any(|c| c.is_control()) => {
            Ok(VirusVerdict::Infected(sig.trim().to_string()))
        }
        _ => Err(unexpected()),
    }
}

#[cfg(test)]
mod tests;
