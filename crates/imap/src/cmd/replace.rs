//! REPLACE and UID REPLACE (RFC 8508): an APPEND of one message (to the selected
//! mailbox or another) and the expunge of the message it replaces, answered as one
//! command: `* OK [APPENDUID ...]`, the EXPUNGE (or VANISHED) of the old message, then
//! the tagged OK.
//!
//! The message literal arrives like APPEND's (streamed, APPENDLIMIT enforced by the
//! session, LITERAL+ accepted) and is prepared by `append::prepare`. The new message is
//! appended first: when that fails nothing is expunged. The old one is then expunged;
//! should that fail, the new one is expunged again, so the client sees all or nothing.
//! The two are separate store transactions: another session may see both messages for
//! a moment (a single transaction would need a store method of its own).

use super::Outcome;
use super::append::{prepare, take_spools};
use super::mailbox::existing;
use super::search::now;
use super::sync::announce_expunged;
use crate::catalogue as cat;
use crate::proto::{Code, Replace, SequenceSet, Tag};
use crate::session::{Selected, Session};

/// RFC 8508 §3.
pub(crate) async fn replace(
    s: &mut Session,
    sel: &mut Selected,
    tag: &Tag,
    r: Replace<usize>,
) -> Outcome {
    let mut spools = take_spools(s);
    // RFC 8508 §3.3: the replaced message is named like in any other command; a
    // sequence number out of range is BAD, a UID that names no message NO.
    let set = SequenceSet::range(r.target, r.target);
    let Ok(indexes) = sel.view.resolve(&set, r.uid, &sel.saved) else {
        return Outcome::reply(cat::bad(Some(tag), cat::BAD_SEQUENCE));
    };
    let Some(old) = indexes.first().and_then(|&i| sel.view.get(i)) else {
        return Outcome::reply(cat::no(tag, Code::Nonexistent, cat::NO_SUCH_MESSAGE));
    };
    if old.expunged {
        return Outcome::reply(cat::no(tag, Code::ExpungeIssued, cat::EXPUNGE_ISSUED));
    }
    let old_uid = old.uid;
    // The old message could not be expunged: refuse before appending anything.
    if sel.read_only {
        return Outcome::reply(cat::no(tag, Code::Cannot, cat::READ_ONLY));
    }
    let account = sel.account.clone();
    let dest = match existing(s, &account, tag, &r.mailbox, Code::TryCreate).await {
        Ok(m) => m,
        Err(reply) => return Outcome::reply(reply),
    };
    let message = match prepare(s, tag, r.message, &mut spools, now()).await {
        Ok(m) => m,
        Err(reply) => return Outcome::reply(reply),
    };
    let store = s.svc.directory.store().clone();
    let new_uid = match store.append(dest.id, vec![message], true).await {
        Ok(added) => match added.first() {
            Some(&(uid, _)) => uid,
            None => return Outcome::reply(cat::no(tag, Code::ServerBug, cat::SERVER_BUG)),
        },
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    let gone = match store.expunge_uids(sel.mailbox, vec![old_uid]).await {
        Ok(gone) => gone,
        Err(e) => {
            if let Err(undo) = store.expunge_uids(dest.id, vec![new_uid]).await {
                tracing::error!(error = %undo, "REPLACE: cannot take back the new message");
            }
            return Outcome::reply(cat::for_store_error(tag, &e));
        }
    };
    // RFC 8508 §3.3: APPENDUID (RFC 4315) in an untagged OK, before the expunge.
    s.reply(&cat::untagged_ok(
        Some(Code::AppendUid {
            uid_validity: dest.uidvalidity,
            uids: SequenceSet::single(new_uid),
        }),
        cat::REPLACEMENT_READY,
    ));
    sel.view.mark_expunged(&gone);
    let announced = sel.view.take_expunged();
    announce_expunged(s, &announced);
    Outcome::reply(cat::ok(tag, cat::REPLACE_DONE))
}
