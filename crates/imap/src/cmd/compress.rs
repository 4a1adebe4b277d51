//! COMPRESS=DEFLATE (RFC 4978 §3): after the tagged OK is flushed in clear, both
//! directions are raw deflate, with a sync flush at the end of every response batch.
//! Only DEFLATE is known; compression cannot be started twice.

use super::Outcome;
use crate::catalogue as cat;
use crate::proto::{Code, Tag};
use crate::session::Session;

/// RFC 4978 §3.
pub(crate) async fn compress(s: &mut Session, tag: &Tag, mechanism: bytes::Bytes) -> Outcome {
    if s.io.compressing() {
        return Outcome::reply(cat::no(
            tag,
            Code::CompressionActive,
            cat::COMPRESSION_ACTIVE,
        ));
    }
    if !mechanism.eq_ignore_ascii_case(b"DEFLATE") {
        return Outcome::reply(cat::bad(Some(tag), cat::UNKNOWN_COMPRESSION));
    }
    s.reply(&cat::ok(tag, cat::DEFLATE_ACTIVE));
    s.io.flush().await;
    s.io.start_deflate();
    Outcome::Stay(None)
}
