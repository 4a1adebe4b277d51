//! Buffered line I/O for a session: command lines up to [`MAX_LINE`] (longer ones are
//! skipped to their end without being held), replies collected in one buffer and
//! flushed once per batch of pipelined commands (RFC 2449 §6.6 PIPELINING), large
//! responses written out in pieces as they are produced, and the STLS swap that throws
//! away anything the client sent before the handshake (RFC 2595 §4).
//!
//! This module knows nothing of POP3 commands or states.

use std::io;
use std::time::Duration;

use pillarbox_net::BoxedStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::proto::{MAX_LINE, Reply};

/// Output beyond this is written to the socket before the batch ends (a large RETR).
pub const WRITE_HIGH_WATER: usize = 128 * 1024;

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
    /// How long a read or a write may wait (the idle timeout).
    pub timeout: Duration,
}

impl Io {
    pub fn new(stream: BoxedStream, timeout: Duration) -> Io {
        Io {
            stream: Some(stream),
            rbuf: Vec::with_capacity(4096),
            rpos: 0,
            wbuf: Vec::with_capacity(4096),
            skipping: false,
            timeout,
        }
    }

    /// Queues a status line.
    pub fn reply(&mut self, r: &Reply) {
        r.write_to(&mut self.wbuf);
    }

    /// The output buffer, for multi-line responses.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.wbuf
    }

    /// Writes the output buffer to the stream if it has grown past the high-water mark,
    /// without flushing (the batch's flush comes later).
    pub async fn write_if_large(&mut self) -> io::Result<()> {
        if self.wbuf.len() >= WRITE_HIGH_WATER {
            self.write_out().await?;
        }
        Ok(())
    }

    async fn write_out(&mut self) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or_else(closed)?;
        tokio::time::timeout(self.timeout, stream.write_all(&self.wbuf))
            .await
            .map_err(|_| timed_out("write"))??;
        self.wbuf.clear();
        Ok(())
    }

    /// Writes and flushes everything queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        self.write_out().await?;
        let stream = self.stream.as_mut().ok_or_else(closed)?;
        tokio::time::timeout(self.timeout, stream.flush())
            .await
            .map_err(|_| timed_out("write"))??;
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rbuf.len());
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
    }

    /// Takes the next line from the buffer, if one is complete.
    pub fn take_line(&mut self) -> Option<Line> {
        loop {
            let buf = &self.rbuf[self.rpos..];
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    let too_long = self.skipping || i + 1 > MAX_LINE;
                    let line = (!too_long).then(|| buf[..=i].to_vec());
                    self.skipping = false;
                    self.consume(i + 1);
                    return Some(line.map_or(Line::TooLong, Line::Complete));
                }
                None if buf.len() > MAX_LINE || (self.skipping && !buf.is_empty()) => {
                    // Drop what we have of the over-long line and keep skipping.
                    let n = buf.len();
                    self.skipping = true;
                    self.consume(n);
                }
                None => return None,
            }
        }
    }

    /// Reads more input, waiting up to the timeout. `Ok(0)` is the end of the stream.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let stream = self.stream.as_mut().ok_or_else(closed)?;
        let len = self.rbuf.len();
        self.rbuf.resize(len + 4096, 0);
        let r = tokio::time::timeout(self.timeout, stream.read(&mut self.rbuf[len..])).await;
        let n = match r {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.rbuf.truncate(len);
                return Err(e);
            }
            Err(_) => {
                self.rbuf.truncate(len);
                return Err(timed_out("read"));
            }
        };
        self.rbuf.truncate(len + n);
        Ok(n)
    }

    /// True when a complete or partial line is waiting (more pipelined input).
    #[cfg(test)]
    pub fn has_input(&self) -> bool {
        self.rpos < self.rbuf.len()
    }

    /// Takes the stream out for a TLS handshake, discarding unread input: commands
    /// pipelined before the handshake must never run (RFC 2595 §4; CVE-2011-0411 class).
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
            let _ = tokio::time::timeout(Duration::from_secs(5), s.shutdown()).await;
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream closed")
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timeout"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn io_with(input: &[u8]) -> Io {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(input).await.unwrap();
        drop(client);
        let mut io = Io::new(Box::new(server), Duration::from_secs(5));
        while io.fill().await.unwrap() > 0 {}
        io
    }

    #[tokio::test]
    async fn lines_are_framed_and_long_ones_skipped_whole() {
        let long = vec![b'x'; MAX_LINE * 3];
        let mut input = b"STAT\r\nLIST\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\r\nNOOP\r\npartial");
        let mut io = io_with(&input).await;
        assert!(matches!(io.take_line(), Some(Line::Complete(l)) if l == b"STAT\r\n"));
        assert!(matches!(io.take_line(), Some(Line::Complete(l)) if l == b"LIST\n"));
        assert!(matches!(io.take_line(), Some(Line::TooLong)));
        assert!(matches!(io.take_line(), Some(Line::Complete(l)) if l == b"NOOP\r\n"));
        assert!(io.take_line().is_none());
        assert!(io.has_input());
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_cap_is_accepted() {
        let mut line = vec![b'a'; MAX_LINE - 2];
        line.extend_from_slice(b"\r\n");
        let mut io = io_with(&line).await;
        assert!(matches!(io.take_line(), Some(Line::Complete(l)) if l.len() == MAX_LINE));
        let mut line = vec![b'a'; MAX_LINE - 1];
        line.extend_from_slice(b"\r\n");
        let mut io = io_with(&line).await;
        assert!(matches!(io.take_line(), Some(Line::TooLong)));
    }

    #[tokio::test]
    async fn stls_swap_discards_pipelined_input() {
        let mut io = io_with(b"STLS\r\nUSER evil\r\n").await;
        assert!(matches!(io.take_line(), Some(Line::Complete(_))));
        let s = io.take_stream_for_tls().unwrap();
        io.restore_stream(s);
        assert!(io.take_line().is_none());
        assert!(!io.has_input());
    }
}
