//! The session's connection: the read buffer the framer works on, the output buffer
//! flushed once per batch of pipelined commands (and written out early when a large
//! FETCH grows it), COMPRESS=DEFLATE in both directions (RFC 4978: raw deflate, a sync
//! flush per batch), and the STARTTLS swap that throws away input the client sent before
//! the handshake (RFC 9051 §6.2.1).
//!
//! This module knows nothing of IMAP commands or states. A write error is sticky: later
//! writes are skipped and the session ends at its next check of [`Io::failed`]. Reading
//! is cancel-safe (no byte is lost when a read is abandoned in a `select!`).

use std::io;
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use pillarbox_net::BoxedStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Output beyond this is written to the socket before the batch ends (a large FETCH).
pub(crate) const WRITE_HIGH_WATER: usize = 128 * 1024;

/// Buffers above this capacity are released when the session waits for input, so that
/// an idle connection costs little memory.
const KEEP_CAPACITY: usize = 16 * 1024;

/// How much a read asks for at once.
const READ_CHUNK: usize = 4096;

/// Most decompressed input produced per read, so a small compressed burst cannot
/// balloon the buffer before the framer applies its caps.
const INFLATE_CHUNK: usize = 64 * 1024;

/// Deflate state of a compressed connection (RFC 4978 §4).
struct Deflate {
    inflate: Decompress,
    deflate: Compress,
    /// Compressed input not yet inflated.
    zin: Vec<u8>,
    /// Compressed output being written.
    zout: Vec<u8>,
}

/// A session's connection with its buffers.
pub(crate) struct Io {
    stream: Option<BoxedStream>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    deflate: Option<Box<Deflate>>,
    failed: bool,
    /// How long a write may wait.
    write_timeout: Duration,
}

impl Io {
    pub(crate) fn new(stream: BoxedStream, write_timeout: Duration) -> Io {
        Io {
            stream: Some(stream),
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            deflate: None,
            failed: false,
            write_timeout,
        }
    }

    /// Input received and not consumed yet.
    pub(crate) fn pending(&self) -> &[u8] {
        self.rbuf.get(self.rpos..).unwrap_or_default()
    }

    /// Drops `n` bytes of pending input.
    pub(crate) fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rbuf.len());
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
    }

    /// The output buffer.
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        &mut self.wbuf
    }

    /// Whether a write failed (the session must end).
    pub(crate) fn failed(&self) -> bool {
        self.failed || self.stream.is_none()
    }

    /// Whether COMPRESS is active.
    pub(crate) fn compressing(&self) -> bool {
        self.deflate.is_some()
    }

    /// Reads more input (decompressing it if needed). `Ok(0)` is the end of the stream.
    /// Cancel-safe.
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let stream = self.stream.as_mut().ok_or_else(closed)?;
        let Some(z) = self.deflate.as_mut() else {
            self.rbuf.reserve(READ_CHUNK);
            return stream.read_buf(&mut self.rbuf).await;
        };
        loop {
            if z.zin.is_empty() {
                z.zin.reserve(READ_CHUNK);
                if stream.read_buf(&mut z.zin).await? == 0 {
                    return Ok(0);
                }
            }
            self.rbuf.reserve(INFLATE_CHUNK);
            let before_in = z.inflate.total_in();
            let before_len = self.rbuf.len();
            let status = z
                .inflate
                .decompress_vec(&z.zin, &mut self.rbuf, FlushDecompress::Sync)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let used = usize::try_from(z.inflate.total_in() - before_in).unwrap_or(z.zin.len());
            z.zin.drain(..used.min(z.zin.len()));
            let produced = self.rbuf.len() - before_len;
            if status == Status::StreamEnd {
                return Ok(0);
            }
            if produced > 0 {
                return Ok(produced);
            }
            if used == 0 && !z.zin.is_empty() {
                // No progress on buffered input: read more of it.
                z.zin.reserve(READ_CHUNK);
                if stream.read_buf(&mut z.zin).await? == 0 {
                    return Ok(0);
                }
            }
        }
    }

    /// Writes the output buffer out if it has grown past the high-water mark.
    pub(crate) async fn write_if_large(&mut self) {
        if self.wbuf.len() >= WRITE_HIGH_WATER {
            self.write_out().await;
        }
    }

    /// Writes and flushes everything queued.
    pub(crate) async fn flush(&mut self) {
        if self.wbuf.is_empty() || self.failed {
            return;
        }
        self.write_out().await;
        if self.failed {
            return;
        }
        let Some(stream) = self.stream.as_mut() else {
            self.failed = true;
            return;
        };
        if !matches!(
            tokio::time::timeout(self.write_timeout, stream.flush()).await,
            Ok(Ok(()))
        ) {
            self.failed = true;
        }
    }

    async fn write_out(&mut self) {
        if self.failed {
            self.wbuf.clear();
            return;
        }
        let Some(stream) = self.stream.as_mut() else {
            self.failed = true;
            return;
        };
        let data: &[u8] = match self.deflate.as_mut() {
            None => &self.wbuf,
            Some(z) => match compress(&mut z.deflate, &self.wbuf, &mut z.zout) {
                Ok(()) => &z.zout,
                Err(_) => {
                    self.failed = true;
                    return;
                }
            },
        };
        let written = tokio::time::timeout(self.write_timeout, stream.write_all(data)).await;
        if !matches!(written, Ok(Ok(()))) {
            self.failed = true;
        }
        self.wbuf.clear();
        if let Some(z) = self.deflate.as_mut() {
            z.zout.clear();
        }
    }

    /// Releases buffer memory beyond what a waiting connection needs (all of the
    /// output buffer: it is rebuilt for the next response).
    pub(crate) fn shrink(&mut self) {
        if self.wbuf.is_empty() {
            self.wbuf = Vec::new();
        }
        if self.rpos == 0 && self.rbuf.is_empty() && self.rbuf.capacity() > KEEP_CAPACITY {
            self.rbuf = Vec::new();
        }
        if let Some(z) = self.deflate.as_mut() {
            if z.zout.capacity() > KEEP_CAPACITY {
                z.zout = Vec::new();
            }
            if z.zin.is_empty() && z.zin.capacity() > KEEP_CAPACITY {
                z.zin = Vec::new();
            }
        }
    }

    /// Takes the stream out for a TLS handshake, discarding unread input: commands
    /// pipelined before the handshake must never run (RFC 9051 §6.2.1; CVE-2011-0411
    /// class).
    pub(crate) fn take_stream_for_tls(&mut self) -> Option<BoxedStream> {
        self.rbuf.clear();
        self.rpos = 0;
        self.stream.take()
    }

    /// Puts the (TLS-wrapped) stream back.
    pub(crate) fn restore_stream(&mut self, stream: BoxedStream) {
        self.stream = Some(stream);
    }

    /// Starts DEFLATE in both directions (RFC 4978 §3). Call after the tagged OK has been
    /// flushed uncompressed. Input already buffered after the COMPRESS command is
    /// compressed data and is inflated from here on.
    pub(crate) fn start_deflate(&mut self) {
        let leftover = self.pending().to_vec();
        self.rbuf.clear();
        self.rpos = 0;
        self.deflate = Some(Box::new(Deflate {
            inflate: Decompress::new(false),
            deflate: Compress::new(Compression::default(), false),
            zin: leftover,
            zout: Vec::new(),
        }));
    }

    /// Whether compressed input is waiting to be inflated (so [`Io::fill`] returns at
    /// once).
    #[cfg(test)]
    pub(crate) fn has_compressed_input(&self) -> bool {
        self.deflate.as_ref().is_some_and(|z| !z.zin.is_empty())
    }

    /// Closes the write side politely.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(s) = self.stream.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.shutdown()).await;
        }
    }
}

/// Deflates all of `input` into `out` and ends with a sync flush, so the client can
/// decode everything sent so far (RFC 4978 §4).
fn compress(
    z: &mut Compress,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), flate2::CompressError> {
    let mut rest = input;
    loop {
        out.reserve(rest.len() / 2 + 64);
        let before_in = z.total_in();
        let before_out = out.len();
        z.compress_vec(rest, out, FlushCompress::Sync)?;
        let used = usize::try_from(z.total_in() - before_in).unwrap_or(rest.len());
        rest = rest.get(used..).unwrap_or_default();
        // Done when all input is consumed and the flush left spare room in `out`.
        if rest.is_empty() && out.len() < out.capacity() {
            return Ok(());
        }
        if used == 0 && out.len() == before_out && out.len() < out.capacity() {
            return Ok(());
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deflate_round_trip_with_sync_flush() {
        let mut c = Compress::new(Compression::default(), false);
        let mut d = Decompress::new(false);
        let mut wire = Vec::new();
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        compress(&mut c, &payload, &mut wire).unwrap();
        compress(&mut c, b"* OK second batch\r\n", &mut wire).unwrap();
        let mut out = Vec::with_capacity(400_000);
        d.decompress_vec(&wire, &mut out, FlushDecompress::Sync)
            .unwrap();
        let mut expected = payload.clone();
        expected.extend_from_slice(b"* OK second batch\r\n");
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn compressed_input_is_inflated_and_pipelined_bytes_survive() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut io = Io::new(Box::new(server), Duration::from_secs(5));
        let mut c = Compress::new(Compression::default(), false);
        let mut wire = b"a COMPRESS DEFLATE\r\n".to_vec();
        let mut z = Vec::new();
        compress(&mut c, b"b NOOP\r\nc NOOP\r\n", &mut z).unwrap();
        wire.extend_from_slice(&z);
        client.write_all(&wire).await.unwrap();
        io.fill().await.unwrap();
        io.consume(b"a COMPRESS DEFLATE\r\n".len());
        io.start_deflate();
        assert!(io.has_compressed_input());
        let mut got = Vec::new();
        while got.len() < 16 {
            io.fill().await.unwrap();
            got.extend_from_slice(io.pending());
            let n = io.pending().len();
            io.consume(n);
        }
        assert_eq!(got, b"b NOOP\r\nc NOOP\r\n");
    }
}
