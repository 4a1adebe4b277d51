//! RFC 1939 §5 RETR and §7 TOP: streams a message from its blob file in chunks through
//! the `proto::body` encoder (CRLF lines, dot-stuffing, the TOP cut), writing out as the
//! buffer fills instead of holding the whole response. The blob is opened before `+OK`
//! is sent, so a missing message gets `-ERR`; a read failure after that can only close
//! the connection.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::cmd::listing::refusal;
use crate::proto::{BodyEncoder, catalogue};
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
    t: Transaction,
    msg: u32,
    mut enc: BodyEncoder,
    is_retr: bool,
) -> Next {
    let (path, size) = match t.maildrop.get(msg) {
        Ok(m) => (s.svc.directory.store().blobs().path(&m.blob), m.size),
        Err(e) => {
            s.reply(refusal(msg, e));
            return Next::Stay(State::Transaction(t));
        }
    };
    let hint = usize::try_from(size).unwrap_or(CHUNK).min(CHUNK);
    let (mut file, mut buf) = match blocking(move || open_and_read(path, hint)).await {
        Ok(x) => x,
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
    while let Some(f) = file.take() {
        if enc.is_done() {
            break;
        }
        if let Err(e) = s.io.write_if_large().await {
            tracing::debug!(error = %e, "write failed during RETR");
            return Next::Close;
        }
        match blocking(move || read_chunk(f, buf)).await {
            Ok((f, b, more)) => {
                enc.feed(&b, s.io.out());
                buf = b;
                if more {
                    file = Some(f);
                }
            }
            Err(e) => {
                tracing::error!(msg, error = %e, "message read failed mid-response; closing");
                return Next::Close;
            }
        }
    }
    enc.finish(s.io.out());
    Next::Stay(State::Transaction(t))
}

/// Runs blocking file I/O off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// Opens a blob and reads its first chunk; the file comes back only if more remains.
fn open_and_read(path: PathBuf, hint: usize) -> io::Result<(Option<File>, Vec<u8>)> {
    let f = File::open(path)?;
    let (f, buf, more) = read_chunk(f, Vec::with_capacity(hint + 1))?;
    Ok((more.then_some(f), buf))
}

/// Reads up to [`CHUNK`] octets into `buf` (replacing its content); `true` when the
/// file may hold more.
fn read_chunk(mut f: File, mut buf: Vec<u8>) -> io::Result<(File, Vec<u8>, bool)> {
    buf.clear();
    (&mut f).take(CHUNK as u64).read_to_end(&mut buf)?;
    let more = buf.len() == CHUNK;
    Ok((f, buf, more))
}
