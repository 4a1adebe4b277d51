//! APPEND with MULTIAPPEND (RFC 9051 §6.3.12, RFC 3502), flags and internal date,
//! literal8 (RFC 3516 §4.4) and UTF8 (RFC 6855 §4), answered with APPENDUID (RFC 4315
//! §3). A MULTIAPPEND of more messages than MESSAGELIMIT is `NO [LIMIT]` (RFC 9738).
//!
//! Message literals arrive already streamed to blob writers by the session (over
//! APPENDLIMIT they were refused with `[TOOBIG]` before a byte was read). Each message
//! is parsed once here, and all messages go to the store in one all-or-none call that
//! checks the quota (`[OVERQUOTA]`). A missing mailbox is `NO [TRYCREATE]`.

use pillarbox_store::{Account, AppendMessage, BlobWriter, NewMessage, StoredBlob};

use super::Outcome;
use super::mailbox::existing;
use super::search::now;
use super::store::to_store_flags;
use crate::catalogue as cat;
use crate::proto::{Append, Code, LiteralData, SequenceSet, StatusResponse, Tag};
use crate::session::Session;

/// RFC 9051 §6.3.12, RFC 3502 §6.3.11.
pub(crate) async fn append(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    a: Append<usize>,
) -> Outcome {
    let mut spools = take_spools(s);
    // RFC 9738: a MULTIAPPEND of more messages than MESSAGELIMIT is refused whole.
    if a.messages.len() > usize::try_from(s.svc.message_limit).unwrap_or(usize::MAX) {
        return Outcome::reply(cat::no(tag, Code::Limit, cat::OVER_LIMIT));
    }
    let mailbox = match existing(s, account, tag, &a.mailbox, Code::TryCreate).await {
        Ok(m) => m,
        Err(r) => return Outcome::reply(r),
    };
    let received_at = now();
    let mut messages = Vec::with_capacity(a.messages.len());
    for m in a.messages {
        match prepare(s, tag, m, &mut spools, received_at).await {
            Ok(m) => messages.push(m),
            Err(r) => return Outcome::reply(r),
        }
    }
    let store = s.svc.directory.store().clone();
    match store.append(mailbox.id, messages, true).await {
        Ok(added) => {
            let uids = SequenceSet::compress(added.iter().map(|(uid, _)| *uid));
            match uids {
                Some(uids) => {
                    let code = Code::AppendUid {
                        uid_validity: mailbox.uidvalidity,
                        uids,
                    };
                    Outcome::reply(cat::ok_code(tag, code, cat::APPEND_DONE))
                }
                None => Outcome::reply(cat::ok(tag, cat::APPEND_DONE)),
            }
        }
        Err(e) => Outcome::reply(cat::for_store_error(tag, &e)),
    }
}

/// Makes one message of an APPEND (or REPLACE) durable and parses it: the message the
/// store will append, or the NO to answer (`[TOOBIG]` over APPENDLIMIT).
pub(crate) async fn prepare(
    s: &Session,
    tag: &Tag,
    m: crate::proto::AppendMessage<usize>,
    spools: &mut [Option<BlobWriter>],
    received_at: i64,
) -> Result<AppendMessage, StatusResponse> {
    let (blob, raw) = stored(s, tag, m.data, spools).await?;
    if blob.size > s.svc.settings.imap.append_limit.0 {
        return Err(cat::no(tag, Code::TooBig, cat::TOO_BIG));
    }
    let structure = match serde_json::to_vec(&pillarbox_mime::parse(&raw)) {
        Ok(st) => st,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a message structure");
            return Err(cat::no(tag, Code::ServerBug, cat::SERVER_BUG));
        }
    };
    let (flags, keywords) = to_store_flags(&m.flags);
    Ok(AppendMessage {
        message: NewMessage {
            blob,
            structure,
            received_at,
        },
        flags,
        keywords: keywords.join(" "),
        internal_date: m.date.map(|d| d.unix_timestamp()),
    })
}

/// The session's spooled literals, taken for this command.
pub(crate) fn take_spools(s: &mut Session) -> Vec<Option<BlobWriter>> {
    std::mem::take(&mut s.spools)
        .into_iter()
        .map(Some)
        .collect()
}

/// Makes one message durable and returns its blob and its bytes (to parse).
async fn stored(
    s: &Session,
    tag: &Tag,
    data: LiteralData<usize>,
    spools: &mut [Option<BlobWriter>],
) -> Result<(StoredBlob, Vec<u8>), StatusResponse> {
    let blobs = s.svc.directory.store().blobs().clone();
    match data {
        LiteralData::Inline(bytes) => {
            let raw = bytes.to_vec();
            let blob = blobs
                .put(raw.clone())
                .await
                .map_err(|e| cat::for_store_error(tag, &e))?;
            Ok((blob, raw))
        }
        LiteralData::Streamed(i) => {
            let writer = spools
                .get_mut(i)
                .and_then(Option::take)
                .ok_or_else(|| cat::no(tag, Code::ServerBug, cat::SERVER_BUG))?;
            let in_memory = writer.in_memory().map(<[u8]>::to_vec);
            let blob = writer
                .finish()
                .await
                .map_err(|e| cat::for_store_error(tag, &e))?;
            let raw = match in_memory {
                Some(raw) => raw,
                None => blobs
                    .read(&blob.hash)
                    .await
                    .map_err(|e| cat::for_store_error(tag, &e))?,
            };
            Ok((blob, raw))
        }
    }
}
