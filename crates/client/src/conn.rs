//! A client connection's byte plumbing: the boxed stream, a read buffer the protocol
//! parsers look at, and every read and write bounded by a timeout. The SMTP and POP3
//! clients parse replies out of [`Conn::buffer`] and ask for more with
//! [`Conn::read_more`].
//!
//! Knows no protocol and never grows the buffer past the cap the caller passes: the
//! parsers decide when enough is enough.

use std::io;
use std::time::Duration;

use pillarbox_net::dial::{self, DialError, DialStage, TlsReport};
use pillarbox_net::{BoxedStream, ClientTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How a read or write failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("no answer within {} s", .0.as_secs_f32())]
    Timeout(Duration),
    #[error("the server closed the connection")]
    Closed,
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A stream with a read buffer.
pub struct Conn {
    stream: BoxedStream,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl Conn {
    pub fn new(stream: BoxedStream) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Bytes received and not yet consumed.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Drops the first `n` buffered bytes (a parsed reply).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Reads whatever arrives next (at most 64 KiB) into the buffer.
    pub async fn read_more(&mut self, timeout: Duration) -> Result<usize, ConnError> {
        self.buf.reserve(64 * 1024);
        let read = self.stream.read_buf(&mut self.buf);
        let n = match tokio::time::timeout(timeout, read).await {
            Err(_) => return Err(ConnError::Timeout(timeout)),
            Ok(Err(e)) => return Err(ConnError::Io(e)),
            Ok(Ok(0)) => return Err(ConnError::Closed),
            Ok(Ok(n)) => n,
        };
        Ok(n)
    }

    /// Writes all of `bytes` and flushes.
    pub async fn write_all(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), ConnError> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Err(_) => Err(ConnError::Timeout(timeout)),
            Ok(r) => r.map_err(ConnError::Io),
        }
    }

    /// Takes the stream out for a TLS upgrade, leaving a closed placeholder behind.
    /// The caller checks [`Conn::buffer`] is empty first: bytes received before the
    /// handshake must not be trusted after it.
    pub fn detach(&mut self) -> BoxedStream {
        self.buf.clear();
        let (closed, _) = tokio::io::duplex(1);
        std::mem::replace(&mut self.stream, Box::new(closed))
    }

    /// Swaps the stream for TLS after the server agreed to STARTTLS/STLS (the caller has
    /// checked that nothing was pipelined behind the reply). The handshake is bounded by
    /// `timeout`, reported as `DialError::Timeout` at the TLS stage. On error the
    /// connection is unusable.
    pub async fn start_tls(
        &mut self,
        server_name: &str,
        tls: &ClientTls,
        timeout: Duration,
    ) -> Result<TlsReport, DialError> {
        let upgrade = dial::upgrade_tls(self.detach(), server_name, tls);
        let (stream, report) = match tokio::time::timeout(timeout, upgrade).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(DialError::Timeout {
                    stage: DialStage::Tls,
                    after: timeout,
                });
            }
        };
        self.stream = stream;
        Ok(report)
    }

    /// Closes the write side, ignoring errors (the peer may be gone already).
    pub async fn shutdown(&mut self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.stream.shutdown()).await;
    }
}
