//! Reading one PROXY header off a connection, before anything else is read or written
//! (proxy-protocol.txt §2: "The receiver MUST NOT start processing the connection before
//! it receives a complete and valid PROXY protocol header"), under a timeout, and never
//! buffering more than the largest header plus one read. Bytes that arrived with the
//! header (a TLS ClientHello sent at once behind it) are handed back, and [`Rewound`]
//! replays them before the socket's own.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::{Parsed, ProxyError, ProxyHeader, parse};

/// Bytes asked for per read: a header arrives in one segment (§2: it fits in 536 bytes).
const READ_CHUNK: usize = 536;

/// Why no header was read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Malformed(#[from] ProxyError),
    #[error("no complete PROXY protocol header within {0:?}")]
    TimedOut(Duration),
    #[error("connection closed after {0} bytes, before a complete PROXY protocol header")]
    Closed(usize),
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] io::Error),
}

/// Reads one header from `io` within `limit`. Returns it with the bytes read after it,
/// which belong to the protocol behind it.
pub async fn read_header<S: AsyncRead + Unpin>(
    io: &mut S,
    limit: Duration,
) -> Result<(ProxyHeader, Vec<u8>), ReadError> {
    tokio::time::timeout(limit, read_until_complete(io))
        .await
        .map_err(|_| ReadError::TimedOut(limit))?
}

async fn read_until_complete<S: AsyncRead + Unpin>(
    io: &mut S,
) -> Result<(ProxyHeader, Vec<u8>), ReadError> {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        // `parse` refuses anything longer than the caps before it is complete, so the
        // buffer never grows past the largest header plus one chunk.
        if let Parsed::Complete { header, len } = parse(&buf)? {
            let rest = buf.split_off(len);
            return Ok((header, rest));
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(ReadError::Closed(buf.len()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A stream that first yields `prefix`, then reads from `inner`; writes go to `inner`.
#[derive(Debug)]
pub struct Rewound<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Rewound<S> {
    /// `inner`, with `prefix` read before anything it has.
    pub fn new(prefix: Vec<u8>, inner: S) -> Rewound<S> {
        Rewound {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewound<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.at);
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewound<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy_protocol::ProxyAddresses;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn header_split_across_reads_and_the_bytes_after_it_are_kept() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let sender = tokio::spawn(async move {
            client.write_all(b"PROXY TCP4 192.0.2.7 ").await.unwrap();
            client.flush().await.unwrap();
            tokio::task::yield_now().await;
            client
                .write_all(b"198.51.100.1 40000 25\r\nEHLO x\r\n")
                .await
                .unwrap();
            client
        });
        let (header, rest) = read_header(&mut server, Duration::from_secs(5))
            .await
            .unwrap();
        let _client = sender.await.unwrap();
        assert_eq!(
            header.source(),
            Some("192.0.2.7:40000".parse().unwrap()),
            "{header:?}"
        );
        assert!(matches!(header.addresses, ProxyAddresses::Tcp { .. }));
        let mut rewound = Rewound::new(rest, server);
        let mut line = [0u8; 8];
        rewound.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"EHLO x\r\n");
    }

    #[tokio::test(start_paused = true)]
    async fn silence_times_out() {
        let (_client, mut server) = tokio::io::duplex(64);
        let e = read_header(&mut server, Duration::from_secs(3))
            .await
            .unwrap_err();
        assert!(matches!(e, ReadError::TimedOut(_)), "{e}");
    }

    #[tokio::test]
    async fn garbage_is_refused_without_waiting_and_eof_is_reported() {
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(b"EHLO x\r\n").await.unwrap();
        let e = read_header(&mut server, Duration::from_secs(3600))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ReadError::Malformed(ProxyError::NotAHeader)),
            "{e}"
        );
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(b"PROXY TCP4").await.unwrap();
        drop(client);
        let e = read_header(&mut server, Duration::from_secs(3600))
            .await
            .unwrap_err();
        assert!(matches!(e, ReadError::Closed(10)), "{e}");
    }
}
