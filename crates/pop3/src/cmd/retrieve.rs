//! RFC 1939 §5 RETR and §7 TOP: streams a message from its blob file in chunks through
//! the `proto::body` encoder (CRLF lines, dot-stuffing, the TOP cut), writing out as the
//! buffer fills instead of holding the whole response. The first piece is read before
//! `+OK` is sent, so a missing message gets `-ERR`; a read failure after that can only
//! close the connection. Small messages come whole through the session's read-ahead
//! (`crate::readahead`). Blobs are read only through the store's `BlobStore`.

use pillarbox_store::{BlobHash, BlobStore, StoreError};

use crate::cmd::listing::refusal;
use crate::proto::{BodyEncoder, catalogue};
use crate::readahead::SMALL;
use crate::session::{Next, Session, State, Transaction};

/// Octets read from the blob file at a time.
const CHUNK: usize = 256 * 1024;

/// RFC 1939 §5 RETR msg.
pub(crate) async fn retr(s: &mut Session, t: Transaction, msg: u32) -> Next {
    send(s, t, msg, BodyEncoder::retr(), true).await
}

/// RFC 1939 §7 TOP msg n.
pub(crate) async fn top(s: &mut Session, t: Transaction, msg: u32, lines: u64) -> Next {
    send(s, t, msg, BodyEncoder::top(lines), false).await
}

async fn send(
    s: &mut Session,
    mut t: Transaction,
    msg: u32,
    mut enc: BodyEncoder,
    is_retr: bool,
) -> Next {
    let (hash, size) = match t.maildrop.get(msg) {
        Ok(m) => (m.blob.clone(), m.size),
        Err(e) => {
            s.reply(refusal(msg, e));
            return Next::Stay(State::Transaction(t));
        }
    };
    let blobs = s.svc.directory.store().blobs().clone();
    let first = if size <= SMALL {
        t.readahead.small_message(&blobs, &t.maildrop, msg).await
    } else {
        ChunkReader::new(blobs.clone(), hash.clone())
            .next(CHUNK)
            .await
            .map(|(b, _)| b)
    };
    let buf = match first {
        Ok(buf) => buf,
        Err(e) => {
            tracing::warn!(msg, error = %e, "cannot read message");
            s.reply(catalogue::message_unavailable(msg));
            return Next::Stay(State::Transaction(t));
        }
    };
    s.reply(if is_retr {
        catalogue::message_follows(size)
    } else {
        catalogue::top_follows()
    });
    enc.feed(&buf, s.io.out());
    // A large message continues where the first piece ended.
    let mut reader = (size > SMALL && buf.len() == CHUNK).then(|| {
        let mut r = ChunkReader::new(blobs, hash);
        r.offset = buf.len() as u64;
        r
    });
    drop(buf);
    while let Some(mut r) = reader.take() {
        if enc.is_done() {
            break;
        }
        if let Err(e) = s.io.write_if_large().await {
            tracing::debug!(error = %e, "write failed during RETR");
            return Next::Close;
        }
        match r.next(CHUNK).await {
            Ok((buf, more)) => {
                enc.feed(&buf, s.io.out());
                if more {
                    reader = Some(r);
                }
            }
            Err(e) => {
                tracing::error!(msg, error = %e, "message read failed mid-response; closing");
                return Next::Close;
            }
        }
    }
    enc.finish(s.io.out());
    if is_retr {
        t.maildrop.mark_retrieved(msg);
    }
    Next::Stay(State::Transaction(t))
}

/// Reads a blob piece by piece through the store (file or inline, as the store keeps it).
struct ChunkReader {
    blobs: BlobStore,
    hash: BlobHash,
    offset: u64,
}

impl ChunkReader {
    fn new(blobs: BlobStore, hash: BlobHash) -> ChunkReader {
        ChunkReader {
            blobs,
            hash,
            offset: 0,
        }
    }

    /// The next piece of at most `len` octets, and whether more may follow.
    async fn next(&mut self, len: usize) -> Result<(Vec<u8>, bool), StoreError> {
        let (blobs, hash, offset) = (self.blobs.clone(), self.hash.clone(), self.offset);
        let buf =
            tokio::task::spawn_blocking(move || blobs.read_range_blocking(&hash, offset, len))
                .await
                .map_err(|_| StoreError::Closed)??;
        self.offset += buf.len() as u64;
        let more = buf.len() == len;
        Ok((buf, more))
    }
}
