//! STORE and UID STORE (RFC 9051 §6.4.6): FLAGS, +FLAGS, -FLAGS with .SILENT, and
//! UNCHANGEDSINCE (RFC 7162 §3.1.3) answered with `[MODIFIED set]`; MESSAGELIMIT
//! (RFC 9738) applies.
//!
//! One store call changes the whole set; the changed entries it returns are what the
//! FETCH responses report and what the view records, so the change notification that
//! follows is not reported twice.

use pillarbox_store::{FlagChange, FlagOp, flags};

use super::Outcome;
use super::enable_id::condstore_used;
use super::sync::{announce_flags, own_change, seq_of};
use crate::catalogue as cat;
use crate::proto::{Code, Data, FetchItem, Flag, SequenceSet, Store, StoreMode, Tag};
use crate::session::{Selected, Session};

/// IMAP flags as the store's bitmask and keywords. `\Recent` and unknown `\` flags are
/// not storable and are left out.
pub(crate) fn to_store_flags(list: &[Flag]) -> (u32, Vec<String>) {
    let mut mask = 0;
    let mut keywords: Vec<String> = Vec::new();
    for f in list {
        match f {
            Flag::Seen => mask |= flags::SEEN,
            Flag::Answered => mask |= flags::ANSWERED,
            Flag::Flagged => mask |= flags::FLAGGED,
            Flag::Deleted => mask |= flags::DELETED,
            Flag::Draft => mask |= flags::DRAFT,
            Flag::Keyword(k) => {
                let k = String::from_utf8_lossy(k).into_owned();
                if !keywords.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
                    keywords.push(k);
                }
            }
            Flag::Recent | Flag::Extension(_) => {}
        }
    }
    (mask, keywords)
}

/// RFC 9051 §6.4.6.
pub(crate) async fn store(s: &mut Session, sel: &mut Selected, tag: &Tag, st: Store) -> Outcome {
    if sel.read_only {
        return Outcome::reply(cat::no(tag, Code::Cannot, cat::READ_ONLY));
    }
    let Ok(mut indexes) = sel.view.resolve(&st.set, st.uid, &sel.saved) else {
        return Outcome::reply(cat::bad(Some(tag), cat::BAD_SEQUENCE));
    };
    // RFC 9738: over MESSAGELIMIT, the lowest UIDs only (or nothing by number).
    let limited = match crate::limit::apply(&mut indexes, s.svc.message_limit, st.uid) {
        Ok(l) => l,
        Err(crate::limit::Refused) => {
            return Outcome::reply(cat::no(tag, Code::Limit, cat::OVER_LIMIT));
        }
    };
    if st.unchanged_since.is_some() {
        condstore_used(s, Some(sel));
    }
    let (mask, keywords) = to_store_flags(&st.flags);
    let op = match st.mode {
        StoreMode::Replace => FlagOp::Replace,
        StoreMode::Add => FlagOp::Add,
        StoreMode::Remove => FlagOp::Remove,
    };
    let uids: Vec<u32> = indexes
        .iter()
        .filter_map(|&i| sel.view.get(i))
        .filter(|e| !e.expunged)
        .map(|e| e.uid)
        .collect();
    let change = FlagChange {
        op,
        flags: mask,
        keywords,
        unchanged_since: st.unchanged_since,
    };
    let store = s.svc.directory.store().clone();
    let outcome = match store.store_flags(sel.mailbox, uids.clone(), change).await {
        Ok(o) => o,
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    if sel.view.update_flags(&outcome.changed) {
        announce_flags(s, &sel.view, sel.read_only);
    }
    if let Some(e) = outcome.changed.first() {
        own_change(sel, e.modseq);
    }
    let changed: std::collections::HashSet<u32> = outcome.changed.iter().map(|e| e.uid).collect();
    let modified: std::collections::HashSet<u32> = outcome.modified.iter().copied().collect();
    for uid in uids {
        if modified.contains(&uid) {
            continue;
        }
        let report = if st.silent {
            // RFC 7162 §3.1.3: with CONDSTORE the new MODSEQ is reported even when silent.
            s.enabled.condstore && changed.contains(&uid)
        } else {
            true
        };
        if !report {
            continue;
        }
        let Some(e) = sel.view.index_of(uid).and_then(|i| sel.view.get(i)) else {
            continue;
        };
        let mut items = Vec::new();
        if st.uid || s.enabled.qresync {
            items.push(FetchItem::Uid(uid));
        }
        if !st.silent {
            let recent = !s.enabled.rev2 && sel.view.is_recent(uid);
            items.push(FetchItem::Flags(e.flag_list(recent)));
        }
        if s.enabled.condstore {
            items.push(FetchItem::ModSeq(e.modseq));
        }
        let seq = seq_of(&sel.view, uid);
        s.data_owned(Data::Fetch { seq, items });
    }
    if !outcome.modified.is_empty() {
        let numbers: Vec<u32> = if st.uid {
            outcome.modified.clone()
        } else {
            outcome
                .modified
                .iter()
                .map(|&u| seq_of(&sel.view, u))
                .collect()
        };
        if let Some(set) = SequenceSet::from_unsorted(numbers) {
            if limited == crate::limit::Limited::Truncated {
                // The tagged OK carries MODIFIED (RFC 7162 §3.1.3); LIMIT goes before.
                s.reply(&cat::untagged_ok(Some(Code::Limit), cat::LIMITED));
            }
            return Outcome::reply(cat::ok_code(tag, Code::Modified(set), cat::MODIFIED));
        }
    }
    if limited == crate::limit::Limited::Truncated {
        return Outcome::reply(cat::ok_code(tag, Code::Limit, cat::LIMITED));
    }
    Outcome::reply(cat::ok(tag, cat::STORE_DONE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn flags_to_store() {
        let (mask, kws) = to_store_flags(&[
            Flag::Seen,
            Flag::Recent,
            Flag::keyword("$Work"),
            Flag::keyword("$work"),
            Flag::Extension(Bytes::from_static(b"Foo")),
            Flag::Deleted,
        ]);
        assert_eq!(mask, flags::SEEN | flags::DELETED);
        assert_eq!(kws, ["$Work"]);
    }
}
