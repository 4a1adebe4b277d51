//! COPY and UID COPY (RFC 9051 §6.4.7), MOVE and UID MOVE (RFC 6851, RFC 9051 §6.4.8),
//! answered with COPYUID (RFC 4315 §3). A missing destination is `NO [TRYCREATE]`;
//! MOVE is atomic in the store and its expunges are announced before the tagged OK.
//! MESSAGELIMIT (RFC 9738) applies: by UID the lowest UIDs are copied and the tagged OK
//! says `[LIMIT]` (COPYUID then goes in an untagged OK).

use super::Outcome;
use super::mailbox::existing;
use super::sync::announce_expunged;
use crate::catalogue as cat;
use crate::limit::{self, Limited};
use crate::proto::{Code, CopyMove, SequenceSet, Tag};
use crate::session::{Selected, Session};

/// The UIDs of the set's messages still in the mailbox, ascending, cut to MESSAGELIMIT
/// (RFC 9738), or the BAD or `NO [LIMIT]` to answer.
fn source_uids(
    s: &Session,
    sel: &Selected,
    tag: &Tag,
    c: &CopyMove,
) -> Result<(Vec<u32>, Limited), crate::proto::StatusResponse> {
    let indexes = sel
        .view
        .resolve(&c.set, c.uid, &sel.saved)
        .map_err(|_| cat::bad(Some(tag), cat::BAD_SEQUENCE))?;
    let mut uids: Vec<u32> = indexes
        .iter()
        .filter_map(|&i| sel.view.get(i))
        .filter(|e| !e.expunged)
        .map(|e| e.uid)
        .collect();
    let limited = limit::apply(&mut uids, s.svc.message_limit, c.uid)
        .map_err(|_| cat::no(tag, Code::Limit, cat::OVER_LIMIT))?;
    Ok((uids, limited))
}

/// `COPYUID uidvalidity source destination` for `(source, destination)` pairs in
/// ascending source order.
fn copyuid(uid_validity: u32, pairs: &[(u32, u32)]) -> Option<Code> {
    let source = SequenceSet::compress(pairs.iter().map(|p| p.0))?;
    let destination = SequenceSet::compress(pairs.iter().map(|p| p.1))?;
    Some(Code::CopyUid {
        uid_validity,
        source,
        destination,
    })
}

/// RFC 9051 §6.4.7.
pub(crate) async fn copy(s: &mut Session, sel: &mut Selected, tag: &Tag, c: CopyMove) -> Outcome {
    let (uids, limited) = match source_uids(s, sel, tag, &c) {
        Ok(u) => u,
        Err(r) => return Outcome::reply(r),
    };
    let dest = match existing(s, &sel.account, tag, &c.mailbox, Code::TryCreate).await {
        Ok(d) => d,
        Err(r) => return Outcome::reply(r),
    };
    if uids.is_empty() {
        return Outcome::reply(cat::ok(tag, cat::COPY_DONE));
    }
    let store = s.svc.directory.store().clone();
    match store.copy(sel.mailbox, uids, dest.id).await {
        Ok(pairs) => {
            learn(s, sel, &dest, &pairs);
            let code = copyuid(dest.uidvalidity, &pairs);
            if limited == Limited::Truncated {
                // The tagged OK carries LIMIT (RFC 9738); COPYUID goes before it.
                if code.is_some() {
                    s.reply(&cat::untagged_ok(code, cat::DONE));
                }
                return Outcome::reply(cat::ok_code(tag, Code::Limit, cat::LIMITED));
            }
            match code {
                Some(code) => Outcome::reply(cat::ok_code(tag, code, cat::COPY_DONE)),
                None => Outcome::reply(cat::ok(tag, cat::COPY_DONE)),
            }
        }
        Err(e) => Outcome::reply(cat::for_store_error(tag, &e)),
    }
}

/// RFC 6851 §3.1, RFC 9051 §6.4.8.
pub(crate) async fn move_(s: &mut Session, sel: &mut Selected, tag: &Tag, c: CopyMove) -> Outcome {
    if sel.read_only {
        return Outcome::reply(cat::no(tag, Code::Cannot, cat::READ_ONLY));
    }
    let (uids, limited) = match source_uids(s, sel, tag, &c) {
        Ok(u) => u,
        Err(r) => return Outcome::reply(r),
    };
    let dest = match existing(s, &sel.account, tag, &c.mailbox, Code::TryCreate).await {
        Ok(d) => d,
        Err(r) => return Outcome::reply(r),
    };
    if uids.is_empty() {
        return Outcome::reply(cat::ok(tag, cat::MOVE_DONE));
    }
    let store = s.svc.directory.store().clone();
    let pairs = match store.move_entries(sel.mailbox, uids, dest.id).await {
        Ok(p) => p,
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    learn(s, sel, &dest, &pairs);
    if let Some(code) = copyuid(dest.uidvalidity, &pairs) {
        s.reply(&cat::untagged_ok(Some(code), cat::DONE));
    }
    let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    sel.view.mark_expunged(&moved);
    let announced = sel.view.take_expunged();
    announce_expunged(s, &announced);
    if limited == Limited::Truncated {
        return Outcome::reply(cat::ok_code(tag, Code::Limit, cat::LIMITED));
    }
    Outcome::reply(cat::ok(tag, cat::MOVE_DONE))
}

/// Whether a mailbox is where users put spam.
fn is_junk(name: &str, special_use: Option<&str>) -> bool {
    special_use.is_some_and(|u| u.eq_ignore_ascii_case("\\Junk"))
        || name.eq_ignore_ascii_case("Junk")
        || name.eq_ignore_ascii_case("Spam")
}

/// Reports messages copied or moved into Junk to the spam filter as spam, and out of
/// Junk (elsewhere than Trash) as ham (`[scan] learn`). Runs in the background: the
/// client's answer does not wait for the spam filter, and a failure is only logged.
fn learn(s: &Session, sel: &Selected, dest: &pillarbox_store::Mailbox, pairs: &[(u32, u32)]) {
    let Some(scanners) = s.svc.settings.scanners.clone().filter(|sc| sc.learns()) else {
        return;
    };
    let into = is_junk(&dest.name, dest.special_use.as_deref());
    let from = is_junk(&sel.name, None);
    let trash = dest
        .special_use
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case("\\Trash"))
        || dest.name.eq_ignore_ascii_case("Trash");
    let spam = match (from, into) {
        (false, true) => true,
        (true, false) if !trash => false,
        _ => return,
    };
    let store = s.svc.directory.store().clone();
    let mailbox = dest.id;
    let uids: Vec<u32> = pairs.iter().map(|p| p.1).collect();
    let account = sel.account.address();
    tokio::spawn(async move {
        let hashes: Vec<pillarbox_store::BlobHash> = match store.entry_blobs(mailbox).await {
            Ok(all) => all
                .into_iter()
                .filter(|(uid, _, _)| uids.contains(uid))
                .map(|(_, h, _)| h)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "learning: cannot read the messages");
                return;
            }
        };
        let contents = match store.blob_contents(hashes).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "learning: cannot read the messages");
                return;
            }
        };
        for msg in contents.into_iter().flatten() {
            match scanners.learn(spam, &msg).await {
                Ok(()) => tracing::info!(%account, spam, "reported to the spam filter"),
                Err(e) => tracing::warn!(%account, spam, error = %e, "learning failed"),
            }
        }
    });
}
