//! EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 9051 §6.4.9, RFC 4315 §2.1):
//! removes `\Deleted` messages (all, or those of a UID set) and announces every expunge
//! the client has not heard of yet, as `EXPUNGE` or, with QRESYNC, `VANISHED`. A UID
//! EXPUNGE over MESSAGELIMIT (RFC 9738) expunges the lowest UIDs and says `[LIMIT]`.

use super::Outcome;
use super::sync::announce_expunged;
use crate::catalogue as cat;
use crate::proto::{Code, SequenceSet, Tag};
use crate::session::{Selected, Session};

/// RFC 9051 §6.4.3 (`uids` = None) and §6.4.9.
pub(crate) async fn expunge(
    s: &mut Session,
    sel: &mut Selected,
    tag: &Tag,
    uids: Option<SequenceSet>,
) -> Outcome {
    if sel.read_only {
        return Outcome::reply(cat::no(tag, Code::Cannot, cat::READ_ONLY));
    }
    let mut limited = false;
    let within = match &uids {
        None => None,
        Some(set) => {
            let Ok(indexes) = sel.view.resolve(set, true, &sel.saved) else {
                return Outcome::reply(cat::bad(Some(tag), cat::BAD_SEQUENCE));
            };
            let mut uids: Vec<u32> = indexes
                .iter()
                .filter_map(|&i| sel.view.get(i))
                .map(|e| e.uid)
                .collect();
            if uids.is_empty() {
                return Outcome::reply(cat::ok(tag, cat::EXPUNGE_DONE));
            }
            // RFC 9738: UID EXPUNGE over MESSAGELIMIT expunges the lowest UIDs only.
            let cut = crate::limit::apply(&mut uids, s.svc.message_limit, true);
            limited = cut == Ok(crate::limit::Limited::Truncated);
            Some(uids)
        }
    };
    let store = s.svc.directory.store().clone();
    let gone = match store.expunge_deleted(sel.mailbox, within).await {
        Ok(g) => g,
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    sel.view.mark_expunged(&gone);
    let announced = sel.view.take_expunged();
    announce_expunged(s, &announced);
    if limited {
        return Outcome::reply(cat::ok_code(tag, Code::Limit, cat::LIMITED));
    }
    Outcome::reply(cat::ok(tag, cat::EXPUNGE_DONE))
}
