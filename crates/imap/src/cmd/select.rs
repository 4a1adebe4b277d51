//! Opening and closing a mailbox: SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3) with
//! CONDSTORE (RFC 7162 §3.1.8), QRESYNC (RFC 7162 §3.2.5) and MAILBOXID (RFC 8474 §4.2), CLOSE (RFC 9051 §6.4.1,
//! a silent expunge) and UNSELECT (RFC 9051 §6.4.2).
//!
//! SELECT subscribes to the change feed *before* reading the mailbox, so no change can
//! fall between the snapshot and the first notification.

use pillarbox_store::{Account, flags};

use super::Outcome;
use super::sync::{announce_flags, flag_items, seq_of};
use crate::catalogue as cat;
use crate::names;
use crate::proto::{Code, Data, Select, SequenceSet, Tag};
use crate::session::{Selected, Session, State};
use crate::view::View;

/// RFC 9051 §6.3.2 (SELECT) and §6.3.3 (EXAMINE, `read_only`). A mailbox selected
/// before is closed first, whatever the outcome (`* OK [CLOSED]`).
pub(crate) async fn select(
    s: &mut Session,
    account: &Account,
    current: Option<&mut Selected>,
    tag: &Tag,
    select: Select,
    read_only: bool,
) -> Outcome {
    if current.is_some() {
        s.reply(&cat::untagged_ok(Some(Code::Closed), cat::CLOSED));
    }
    let deselected = State::Authenticated(account.clone());
    if select.qresync.is_some() && !s.enabled.qresync {
        return Outcome::Switch(deselected, Some(cat::bad(Some(tag), cat::NOT_IN_STATE)));
    }
    let Ok(name) = names::to_store(&select.mailbox, s.names()) else {
        return Outcome::Switch(
            deselected,
            Some(cat::no(tag, Code::Nonexistent, cat::NONEXISTENT)),
        );
    };
    let store = s.svc.directory.store().clone();
    let mailbox = match store.mailbox_get(account.id, &name).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Outcome::Switch(
                deselected,
                Some(cat::no(tag, Code::Nonexistent, cat::NONEXISTENT)),
            );
        }
        Err(e) => return Outcome::Switch(deselected, Some(cat::for_store_error(tag, &e))),
    };
    if select.condstore {
        s.enabled.condstore = true;
    }
    let changes = store.changes().subscribe();
    let pillarbox_store::MailboxSnapshot {
        mailbox,
        entries,
        first_unclaimed_recent: unclaimed,
    } = match store.mailbox_snapshot(mailbox.id).await {
        Ok(x) => x,
        Err(e) => return Outcome::Switch(deselected, Some(cat::for_store_error(tag, &e))),
    };
    // RFC 3501 §2.3.2: a message is \Recent in the first session to select its
    // mailbox after it arrived, and in no other. A read-write SELECT claims the
    // messages of its snapshot no session has claimed yet (a write, so only when there
    // are some); EXAMINE shows them as recent without claiming them (RFC 3501 §6.3.2:
    // it must not make them lose \Recent). IMAP4rev2 has no \Recent.
    let unclaimed_seen = entries.iter().any(|e| e.entry.uid >= unclaimed);
    let recent_from = if s.enabled.rev2 || !unclaimed_seen {
        None
    } else if read_only {
        Some(unclaimed)
    } else {
        match store.claim_recent(mailbox.id, mailbox.uidnext).await {
            Ok(first) => Some(first),
            Err(e) => return Outcome::Switch(deselected, Some(cat::for_store_error(tag, &e))),
        }
    };
    let mut view = View::new(
        entries,
        mailbox.highestmodseq,
        mailbox.uidnext,
        mailbox.uidvalidity,
    );
    if let Some(first) = recent_from {
        view.add_recent(first, mailbox.uidnext);
    }
    let mut sel = Selected {
        account: account.clone(),
        mailbox: mailbox.id,
        name: mailbox.name.clone(),
        read_only,
        view,
        saved: Vec::new(),
        changes,
        own_changes: 0,
    };
    announce_selected(s, &sel);
    if let Some(q) = &select.qresync
        && q.uid_validity == sel.view.uid_validity
        && let Err(e) = resync(s, &mut sel, q.modseq, q.known_uids.as_ref()).await
    {
        return Outcome::Switch(deselected, Some(cat::for_store_error(tag, &e)));
    }
    let (code, text) = if read_only {
        (Code::ReadOnly, cat::EXAMINE_RO)
    } else {
        (Code::ReadWrite, cat::SELECT_RW)
    };
    Outcome::Switch(State::Selected(sel), Some(cat::ok_code(tag, code, text)))
}

/// The MAILBOXID of a mailbox (RFC 8474 §4).
pub(crate) fn mailbox_id(id: pillarbox_store::MailboxId) -> bytes::Bytes {
    bytes::Bytes::from(crate::proto::objectid::mailbox(
        u64::try_from(id.0).unwrap_or(0),
    ))
}

/// The untagged responses of a successful SELECT (RFC 9051 §6.3.2, RFC 3501 §6.3.1,
/// RFC 7162 §3.1.2).
fn announce_selected(s: &mut Session, sel: &Selected) {
    let view = &sel.view;
    announce_flags_and_exists(s, sel);
    if !s.enabled.rev2 {
        s.data_owned(Data::Recent(view.recent_count()));
        // RFC 9586 §3: no message number goes out once UIDONLY is enabled.
        if let Some(i) = view.entries().iter().position(|e| !e.has(flags::SEEN))
            && !s.enabled.uid_only
        {
            let first = u32::try_from(i + 1).unwrap_or(u32::MAX);
            s.reply(&cat::untagged_ok(Some(Code::Unseen(first)), cat::DONE));
        }
    }
    s.reply(&cat::untagged_ok(
        Some(Code::UidNext(view.uid_next)),
        cat::DONE,
    ));
    s.reply(&cat::untagged_ok(
        Some(Code::UidValidity(view.uid_validity)),
        cat::DONE,
    ));
    s.reply(&cat::untagged_ok(
        Some(Code::HighestModSeq(view.highest_modseq)),
        cat::DONE,
    ));
    // RFC 8474 §4.2: the mailbox's object id.
    s.reply(&cat::untagged_ok(
        Some(Code::MailboxId(mailbox_id(sel.mailbox))),
        cat::DONE,
    ));
    if s.enabled.rev2 {
        // RFC 9051 §6.3.2: the mailbox's name as the server spells it.
        let item = crate::proto::ListItem {
            attributes: Vec::new(),
            delimiter: Some(names::DELIMITER as u8),
            mailbox: names::to_wire(&sel.name, s.names()),
            child_info: Vec::new(),
            old_name: None,
        };
        s.data_owned(Data::List(item));
    }
}

fn announce_flags_and_exists(s: &mut Session, sel: &Selected) {
    // FLAGS and PERMANENTFLAGS first, as RFC 9051 §6.3.2's example does.
    let exists = sel.view.exists();
    announce_flags(s, &sel.view, sel.read_only);
    s.data_owned(Data::Exists(exists));
}

/// RFC 7162 §3.2.5.1: what changed since the client's MODSEQ: `VANISHED (EARLIER)` for
/// expunged UIDs (among the known ones, if given), then `FETCH` for changed messages.
async fn resync(
    s: &mut Session,
    sel: &mut Selected,
    since: u64,
    known: Option<&SequenceSet>,
) -> Result<(), pillarbox_store::StoreError> {
    let store = s.svc.directory.store().clone();
    let (changed, expunged) = store.entries_changed_since(sel.mailbox, since).await?;
    let vanished: Vec<u32> = expunged
        .into_iter()
        .filter(|&u| known.is_none_or(|k| k.contains(u, u32::MAX)))
        .filter(|&u| sel.view.index_of(u).is_none())
        .collect();
    if let Some(uids) = SequenceSet::from_unsorted(vanished) {
        s.data_owned(Data::Vanished {
            earlier: true,
            uids,
        });
    }
    for e in changed {
        if e.modseq > sel.view.highest_modseq {
            continue; // newer than the snapshot: the next sync reports it
        }
        if let Some(items) = flag_items(s, &sel.view, e.uid) {
            let seq = seq_of(&sel.view, e.uid);
            s.data_owned(Data::Fetch { seq, items });
        }
    }
    Ok(())
}

/// RFC 9051 §6.4.1: expunges `\Deleted` messages silently (read-write only) and
/// returns to the authenticated state.
pub(crate) async fn close(s: &mut Session, sel: &mut Selected, tag: &Tag) -> Outcome {
    let next = State::Authenticated(sel.account.clone());
    if !sel.read_only {
        let store = s.svc.directory.store().clone();
        if let Err(e) = store.expunge_deleted(sel.mailbox, None).await {
            return Outcome::Switch(next, Some(cat::for_store_error(tag, &e)));
        }
    }
    Outcome::Switch(next, Some(cat::ok(tag, cat::DONE)))
}

/// RFC 9051 §6.4.2: returns to the authenticated state without expunging.
pub(crate) fn unselect(_s: &mut Session, sel: &mut Selected, tag: &Tag) -> Outcome {
    Outcome::Switch(
        State::Authenticated(sel.account.clone()),
        Some(cat::ok(tag, cat::DONE)),
    )
}
