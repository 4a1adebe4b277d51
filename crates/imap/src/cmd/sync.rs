//! Keeping a selected session in step with its mailbox (RFC 9051 §7.4.1, §5.2;
//! RFC 7162 §3.2.10): after every command, and whenever IDLE wakes, the store's change
//! feed is drained; if the selected mailbox changed, the delta since the view's
//! HIGHESTMODSEQ is read in one snapshot and announced as `EXISTS`, `RECENT` (new mail
//! this session is the first to claim), `EXPUNGE` (or `VANISHED` with QRESYNC),
//! `FETCH FLAGS` and `FLAGS`.
//!
//! Expunges are held back when the command just run used sequence numbers (FETCH,
//! STORE, SEARCH, …), so the client's numbers never shift under it. Never writes while
//! holding a lock: the view is plain session data.

use pillarbox_store::{Change, StoreError, flags};
use tokio::sync::broadcast::error::TryRecvError;

use crate::catalogue as cat;
use crate::proto::{Code, Data, FetchItem, Flag, SequenceSet};
use crate::session::{Selected, Session};
use crate::view::{Changes, View};

/// Why a refresh failed.
pub(crate) enum RefreshError {
    /// The mailbox was deleted (or replaced, with a new UIDVALIDITY).
    Gone,
    /// A transient store failure; the view stays as it was.
    Store(StoreError),
}

/// Drains the change feed, refreshes the view if the mailbox changed and announces what
/// the client may learn now. False when the selected mailbox is gone.
pub(crate) async fn sync(s: &mut Session, sel: &mut Selected, may_expunge: bool) -> bool {
    let changes = if drain(sel) {
        match refresh(s, sel).await {
            Ok(c) => c,
            Err(RefreshError::Gone) => return false,
            Err(RefreshError::Store(e)) => {
                tracing::warn!(error = %e, "cannot refresh the selected mailbox");
                Changes::default()
            }
        }
    } else {
        Changes::default()
    };
    announce(s, sel, &changes, may_expunge);
    true
}

/// Takes every waiting notification; true when one concerns the selected mailbox (or
/// some were lost, so the view must be re-read to be safe), unless they are all the
/// echoes of this session's own changes.
pub(crate) fn drain(sel: &mut Selected) -> bool {
    let mut relevant = 0u32;
    let mut lagged = false;
    loop {
        match sel.changes.try_recv() {
            Ok(Change::Mailbox { mailbox, .. }) if mailbox == sel.mailbox => relevant += 1,
            Ok(Change::Resync) | Err(TryRecvError::Lagged(_)) => lagged = true,
            Ok(_) => {}
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        }
    }
    is_news(sel, relevant, lagged)
}

/// Whether `relevant` notifications (and possibly lost ones) carry anything beyond the
/// session's own changes.
pub(crate) fn is_news(sel: &mut Selected, relevant: u32, lagged: bool) -> bool {
    if !lagged && relevant <= sel.own_changes {
        sel.own_changes -= relevant;
        return false;
    }
    sel.own_changes = 0;
    relevant > 0 || lagged
}

/// Records a change this session made and already applied to its view (its new
/// entries at `modseq`): when nothing else changed the mailbox in between (the
/// MODSEQ follows the view's directly), the view moves to `modseq` and the store's
/// notification of this change will not cause a re-read.
pub(crate) fn own_change(sel: &mut Selected, modseq: u64) {
    if modseq == sel.view.highest_modseq + 1 {
        sel.view.highest_modseq = modseq;
        sel.own_changes += 1;
    }
}

/// Reads the delta since the view's HIGHESTMODSEQ and applies it.
pub(crate) async fn refresh(s: &Session, sel: &mut Selected) -> Result<Changes, RefreshError> {
    let store = s.svc.directory.store();
    let pillarbox_store::MailboxDelta {
        mailbox,
        changed,
        expunged,
        first_unclaimed_recent,
    } = match store
        .mailbox_delta(sel.mailbox, sel.view.highest_modseq)
        .await
    {
        Ok(d) => d,
        Err(StoreError::NotFound(_)) => return Err(RefreshError::Gone),
        Err(e) => return Err(RefreshError::Store(e)),
    };
    if mailbox.uidvalidity != sel.view.uid_validity {
        return Err(RefreshError::Gone);
    }
    let previous_next = sel.view.uid_next;
    let changes = sel
        .view
        .apply(changed, &expunged, mailbox.highestmodseq, mailbox.uidnext);
    if changes.added > 0 && !s.enabled.rev2 {
        let first = new_recent(store, sel, first_unclaimed_recent, mailbox.uidnext).await;
        sel.view
            .add_recent(first.max(previous_next), mailbox.uidnext);
    }
    Ok(changes)
}

/// RFC 3501 §2.3.2: new mail is \Recent in the first session notified of it, and in
/// no other. A read-write session claims what it has just seen (below `uid_next`) and
/// gets the first UID nobody had claimed before it; a read-only one (EXAMINE) claims
/// nothing and shows what is still unclaimed. Returns the first recent UID (none
/// when it is `uid_next` or above). No write when nothing is left to claim.
async fn new_recent(
    store: &pillarbox_store::Store,
    sel: &Selected,
    first_unclaimed: u32,
    uid_next: u32,
) -> u32 {
    if sel.read_only || first_unclaimed >= uid_next {
        return first_unclaimed;
    }
    match store.claim_recent(sel.mailbox, uid_next).await {
        Ok(first) => first,
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim \\Recent for new messages");
            uid_next
        }
    }
}

/// Announces expunges (when allowed), keyword list changes, new messages and flag
/// changes, in that order (RFC 9051 §7.3.1, §7.4.1, §7.5.2).
pub(crate) fn announce(s: &mut Session, sel: &mut Selected, changes: &Changes, may_expunge: bool) {
    if may_expunge && sel.view.has_pending_expunges() {
        let gone = sel.view.take_expunged();
        announce_expunged(s, &gone);
    }
    if changes.new_keywords {
        announce_flags(s, &sel.view, sel.read_only);
    }
    if changes.added > 0 {
        s.data_owned(Data::Exists(sel.view.exists()));
        if !s.enabled.rev2 {
            s.data_owned(Data::Recent(sel.view.recent_count()));
        }
    }
    for &uid in &changes.flags {
        if let Some(items) = flag_items(s, &sel.view, uid) {
            let seq = seq_of(&sel.view, uid);
            s.data_owned(Data::Fetch { seq, items });
        }
    }
}

/// `* n EXPUNGE` for each (descending) or one `* VANISHED` with QRESYNC.
pub(crate) fn announce_expunged(s: &mut Session, gone: &[(u32, u32)]) {
    if gone.is_empty() {
        return;
    }
    // RFC 7162 §3.2.10 with QRESYNC, RFC 9586 §3.2 with UIDONLY: VANISHED, not EXPUNGE.
    if s.enabled.qresync || s.enabled.uid_only {
        if let Some(uids) = SequenceSet::from_unsorted(gone.iter().map(|g| g.1).collect()) {
            s.data_owned(Data::Vanished {
                earlier: false,
                uids,
            });
        }
    } else {
        for &(seq, _) in gone {
            s.data_owned(Data::Expunge(seq));
        }
    }
}

/// `* FLAGS (...)` and the matching `PERMANENTFLAGS` (RFC 9051 §7.3.5, §7.1).
pub(crate) fn announce_flags(s: &mut Session, view: &View, read_only: bool) {
    let mut list = crate::view::system_flags(
        flags::ANSWERED | flags::FLAGGED | flags::DELETED | flags::SEEN | flags::DRAFT,
    );
    list.extend(
        view.keywords()
            .iter()
            .map(|k| Flag::Keyword(bytes::Bytes::copy_from_slice(k.as_bytes()))),
    );
    s.data_owned(Data::Flags(list.clone()));
    let code = if read_only {
        Code::PermanentFlags {
            flags: Vec::new(),
            wildcard: false,
        }
    } else {
        Code::PermanentFlags {
            flags: list,
            wildcard: true,
        }
    };
    s.reply(&cat::untagged_ok(Some(code), cat::DONE));
}

/// `UID n FLAGS (...) [MODSEQ (m)]` of a message, for unsolicited and STORE responses.
pub(crate) fn flag_items(s: &Session, view: &View, uid: u32) -> Option<Vec<FetchItem>> {
    let e = view.get(view.index_of(uid)?)?;
    let recent = !s.enabled.rev2 && view.is_recent(uid);
    let mut items = vec![FetchItem::Uid(uid), FetchItem::Flags(e.flag_list(recent))];
    if s.enabled.condstore {
        items.push(FetchItem::ModSeq(e.modseq));
    }
    Some(items)
}

/// The sequence number of a UID in the view (0 if absent, which callers exclude).
pub(crate) fn seq_of(view: &View, uid: u32) -> u32 {
    view.index_of(uid)
        .map_or(0, |i| u32::try_from(i + 1).unwrap_or(u32::MAX))
}
