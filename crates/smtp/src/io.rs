//! Buffered line I/O for a session: lines up to a cap (longer ones are skipped to their
//! end without buffering them), raw octets for DATA and BDAT, replies collected and
//! flushed once per batch of pipelined commands (RFC 2920), and the STARTTLS swap that
//! throws away anything the client sent before the handshake.

use std::io;
use std::time::Duration;

use pillarbox_net::BoxedStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::proto::Reply;

/// The largest line the framer holds; `proto::command` applies the per-command limits.
pub const MAX_LINE: usize = crate::proto::command::MAX_AUTH_LINE;

/// One framed line.
#[derive(Debug)]
pub enum Line {
    /// A line including its LF (and CR if sent).
    Complete(Vec<u8>),
    /// A line longer than the cap; its content was discarded.
    TooLong,
}

/// A session's connection with its buffers.
pub struct Io {
    stream: Option<BoxedStream>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    /// Skipping an over-long line until its LF.
    skipping: bool,
    pub timeout: Duration,
    /// Send enhanced status codes (after EHLO).
    pub enhanced: bool,
}

impl Io {
    pub fn new(stream: BoxedStream, timeout: Duration) -> Io {
        Io {
            stream: Some(stream),
            rbuf: Vec::with_capacity(8192),
            rpos: 0,
            wbuf: Vec::with_capacity(1024),
            skipping: false,
            timeout,
            enhanced: false,
        }
    }

    /// Queues a reply.
    pub fn reply(&mut self, r: &Reply) {
        r.write_to(&mut self.wbuf, self.enhanced);
    }

    /// Writes queued replies.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let stream = self.stream.as_mut().ok_or_else(closed)?;
        tokio::time::timeout(self.timeout, async {
            stream.write_all(&self.wbuf).await?;
            stream.flush().await
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timeout"))??;
        self.wbuf.clear();
        Ok(())
    }

    /// Unread input.
    pub fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..]
    }

    /// Marks `n` buffered octets as read.
    pub fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rbuf.len());
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
    }

    /// Takes the next line from the buffer, if one is complete.
    pub fn take_line(&mut self) -> Option<Line> {
        loop {
            let buf = self.buffered();
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if self.skipping {
                        self.skipping = false;
                        self.consume(i + 1);
                        return Some(Line::TooLong);
                    }
                    if i + 1 > MAX_LINE {
                        self.consume(i + 1);
                        return Some(Line::TooLong);
                    }
                    let line = buf[..=i].to_vec();
                    self.consume(i + 1);
                    return Some(Line::Complete(line));
                }
                None if buf.len() > MAX_LINE || (self.skipping && !buf.is_empty()) => {
                    // Drop what we have of the over-long line and keep skipping.
                    let n = buf.len();
                    self.skipping = true;
                    self.consume(n);
                    continue;
                }
                None => return None,
            }
        }
    }

    /// Reads more input (waiting up to the timeout). Ok(0) is end of stream.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.rpos > 0 && self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        } else if self.rpos > 64 * 1024 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let stream = self.stream.as_mut().ok_or_else(closed)?;
        let len = self.rbuf.len();
        self.rbuf.resize(len + 16 * 1024, 0);
        let r = tokio::time::timeout(self.timeout, stream.read(&mut self.rbuf[len..])).await;
        let n = match r {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.rbuf.truncate(len);
                return Err(e);
            }
            Err(_) => {
                self.rbuf.truncate(len);
                return Err(io::Error::new(io::ErrorKind::TimedOut, "read timeout"));
            }
        };
        self.rbuf.truncate(len + n);
        Ok(n)
    }

    /// Whether the client sends something within `wait` (an early talker, before our
    /// greeting). `Err` when it closed the connection.
    pub async fn talks_within(&mut self, wait: std::time::Duration) -> io::Result<bool> {
        let timeout = std::mem::replace(&mut self.timeout, wait);
        let r = self.fill().await;
        self.timeout = timeout;
        match r {
            Ok(0) => Err(closed()),
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes the stream out for a TLS handshake, discarding unread input: commands
    /// pipelined before the handshake must not be executed (CVE-2011-0411 class).
    pub fn take_stream_for_tls(&mut self) -> Option<BoxedStream> {
        self.rbuf.clear();
        self.rpos = 0;
        self.skipping = false;
        self.stream.take()
    }

    /// Puts the (TLS-wrapped) stream back.
    pub fn restore_stream(&mut self, stream: BoxedStream) {
        self.stream = Some(stream);
    }

    /// Closes the write side politely.
    pub async fn shutdown(&mut self) {
        if let Some(s) = self.stream.as_mut() {
            let _ = s.shutdown().await;
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream closed")
}
