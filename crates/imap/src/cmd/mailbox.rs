//! Mailbox management: CREATE with missing parents and CREATE-SPECIAL-USE (RFC 9051
//! §6.3.4, RFC 6154 §3), DELETE (RFC 9051 §6.3.5), RENAME of INBOX and of hierarchies
//! (RFC 9051 §6.3.6), SUBSCRIBE/UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8), NAMESPACE
//! (RFC 9051 §6.3.10) and STATUS (RFC 9051 §6.3.11, RFC 8438 SIZE, RFC 7162
//! HIGHESTMODSEQ, RFC 7889 APPENDLIMIT, RFC 8474 MAILBOXID; CREATE answers with the new
//! MAILBOXID).
//!
//! LIST and LSUB live in `list.rs`. Names are translated by `names`; the store does the
//! rest.

use bytes::Bytes;
use pillarbox_store::{Account, Mailbox as StoreMailbox, MailboxId, MailboxStatus, StoreError};

use super::Outcome;
use crate::catalogue as cat;
use crate::names;
use crate::proto::{Code, Create, Data, Mailbox, NamespaceDesc, SpecialUse, StatusItem, Tag};
use crate::session::Session;

/// The store name of a wire name, or the NO to answer.
pub(crate) fn store_name(
    s: &Session,
    tag: &Tag,
    m: &Mailbox,
) -> Result<String, crate::proto::StatusResponse> {
    names::to_store(m, s.names()).map_err(|_| cat::no(tag, Code::Cannot, cat::BAD_NAME))
}

/// A mailbox by wire name, or the NO to answer (`[NONEXISTENT]`, or `[TRYCREATE]` for
/// APPEND/COPY/MOVE destinations).
pub(crate) async fn existing(
    s: &Session,
    account: &Account,
    tag: &Tag,
    m: &Mailbox,
    missing: Code,
) -> Result<StoreMailbox, crate::proto::StatusResponse> {
    let text = if missing == Code::TryCreate {
        cat::TRY_CREATE
    } else {
        cat::NONEXISTENT
    };
    let name = names::to_store(m, s.names()).map_err(|_| cat::no(tag, missing.clone(), text))?;
    match s.svc.directory.store().mailbox_get(account.id, &name).await {
        Ok(Some(mb)) => Ok(mb),
        Ok(None) => Err(cat::no(tag, missing, text)),
        Err(e) => Err(cat::for_store_error(tag, &e)),
    }
}

/// RFC 6154 §3: the special use to record, or `[USEATTR]` for attributes that would
/// need virtual mailboxes (`\All`, `\Flagged`) or several at once.
fn special_use(uses: &[SpecialUse]) -> Result<Option<&'static str>, ()> {
    match uses {
        [] => Ok(None),
        [one] => match one {
            SpecialUse::Archive => Ok(Some("\\Archive")),
            SpecialUse::Drafts => Ok(Some("\\Drafts")),
            SpecialUse::Junk => Ok(Some("\\Junk")),
            SpecialUse::Sent => Ok(Some("\\Sent")),
            SpecialUse::Trash => Ok(Some("\\Trash")),
            SpecialUse::Important => Ok(Some("\\Important")),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// RFC 9051 §6.3.4: creates the mailbox and any missing parent.
pub(crate) async fn create(s: &mut Session, account: &Account, tag: &Tag, c: Create) -> Outcome {
    Outcome::from(create_inner(s, account, tag, c).await)
}

async fn create_inner(
    s: &Session,
    account: &Account,
    tag: &Tag,
    c: Create,
) -> Result<crate::proto::StatusResponse, crate::proto::StatusResponse> {
    let name = store_name(s, tag, &c.mailbox)?;
    if !names::creatable(&name) {
        return Err(cat::no(tag, Code::Cannot, cat::BAD_NAME));
    }
    let use_attr =
        special_use(&c.special_use).map_err(|_| cat::no(tag, Code::UseAttr, cat::USE_ATTR))?;
    let store = s.svc.directory.store();
    let existing = store
        .mailbox_list(account.id)
        .await
        .map_err(|e| cat::for_store_error(tag, &e))?;
    let exists = |n: &str| existing.iter().any(|m| m.name == n);
    if exists(&name) {
        return Err(cat::no(tag, Code::AlreadyExists, cat::ALREADY_EXISTS));
    }
    for parent in names::ancestors(&name) {
        if !exists(parent) {
            match store.mailbox_create(account.id, parent, None).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(cat::for_store_error(tag, &e)),
            }
        }
    }
    match store.mailbox_create(account.id, &name, use_attr).await {
        // RFC 8474 §4.1: the new mailbox's object id in the tagged OK.
        Ok(mb) => Ok(cat::ok_code(
            tag,
            Code::MailboxId(super::select::mailbox_id(mb.id)),
            cat::DONE,
        )),
        Err(StoreError::Conflict(_)) => Err(cat::no(tag, Code::AlreadyExists, cat::ALREADY_EXISTS)),
        Err(e) => Err(cat::for_store_error(tag, &e)),
    }
}

/// RFC 9051 §6.3.5: deletes the mailbox and its messages; its children stay.
pub(crate) async fn delete(s: &mut Session, account: &Account, tag: &Tag, m: Mailbox) -> Outcome {
    let r = async {
        let name = store_name(s, tag, &m)?;
        if name == "INBOX" {
            return Err(cat::no(tag, Code::Cannot, cat::INBOX_DELETE));
        }
        match s
            .svc
            .directory
            .store()
            .mailbox_delete(account.id, &name)
            .await
        {
            Ok(()) => Ok(cat::ok(tag, cat::DONE)),
            Err(StoreError::NotFound(_)) => Err(cat::no(tag, Code::Nonexistent, cat::NONEXISTENT)),
            Err(e) => Err(cat::for_store_error(tag, &e)),
        }
    }
    .await;
    Outcome::from(r)
}

/// RFC 9051 §6.3.6: renames a mailbox with its children, creating missing parents of
/// the new name. Renaming INBOX moves its messages to the new mailbox.
pub(crate) async fn rename(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    from: Mailbox,
    to: Mailbox,
) -> Outcome {
    let r = async {
        let old = store_name(s, tag, &from)?;
        let new = store_name(s, tag, &to)?;
        if !names::creatable(&new) {
            return Err(cat::no(tag, Code::Cannot, cat::BAD_NAME));
        }
        if names::is_descendant(&new, &old) {
            return Err(cat::no(tag, Code::Cannot, cat::RENAME_INTO_ITSELF));
        }
        let store = s.svc.directory.store();
        let existing = store
            .mailbox_list(account.id)
            .await
            .map_err(|e| cat::for_store_error(tag, &e))?;
        let exists = |n: &str| existing.iter().any(|m| m.name == n);
        if !exists(&old) {
            return Err(cat::no(tag, Code::Nonexistent, cat::NONEXISTENT));
        }
        if exists(&new) {
            return Err(cat::no(tag, Code::AlreadyExists, cat::ALREADY_EXISTS));
        }
        for parent in names::ancestors(&new) {
            if !exists(parent) {
                match store.mailbox_create(account.id, parent, None).await {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(cat::for_store_error(tag, &e)),
                }
            }
        }
        match store.mailbox_rename(account.id, &old, &new).await {
            Ok(()) => Ok(cat::ok(tag, cat::DONE)),
            Err(StoreError::NotFound(_)) => Err(cat::no(tag, Code::Nonexistent, cat::NONEXISTENT)),
            Err(StoreError::Conflict(_)) => {
                Err(cat::no(tag, Code::AlreadyExists, cat::ALREADY_EXISTS))
            }
            Err(e) => Err(cat::for_store_error(tag, &e)),
        }
    }
    .await;
    Outcome::from(r)
}

/// RFC 9051 §6.3.7 and §6.3.8. SUBSCRIBE refuses a name that is neither a mailbox
/// nor the parent of one with `NO [NONEXISTENT]` (§6.3.7 lets a server choose; clients
/// expect the refusal, as Dovecot gives it). UNSUBSCRIBE takes any name, so a
/// subscription that outlived its mailbox can still be removed.
pub(crate) async fn subscribe(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    m: Mailbox,
    on: bool,
) -> Outcome {
    let r = async {
        let name = store_name(s, tag, &m)?;
        let store = s.svc.directory.store();
        if on {
            let mailboxes = store
                .mailbox_list(account.id)
                .await
                .map_err(|e| cat::for_store_error(tag, &e))?;
            let known = mailboxes
                .iter()
                .any(|mb| mb.name == name || names::is_descendant(&mb.name, &name));
            if !known {
                return Err(cat::no(tag, Code::Nonexistent, cat::NONEXISTENT));
            }
        }
        store
            .mailbox_subscribe(account.id, &name, on)
            .await
            .map_err(|e| cat::for_store_error(tag, &e))?;
        Ok(cat::ok(tag, cat::DONE))
    }
    .await;
    Outcome::from(r)
}

/// RFC 9051 §6.3.10: one personal namespace with `/`, no others.
pub(crate) fn namespace(s: &mut Session, tag: &Tag) -> Outcome {
    s.data_owned(Data::Namespace {
        personal: Some(vec![NamespaceDesc {
            prefix: Bytes::new(),
            delimiter: Some(names::DELIMITER as u8),
        }]),
        other: None,
        shared: None,
    });
    Outcome::reply(cat::ok(tag, cat::DONE))
}

/// RFC 9051 §6.3.11.
pub(crate) async fn status(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    m: Mailbox,
    items: Vec<StatusItem>,
) -> Outcome {
    let r = async {
        let mb = existing(s, account, tag, &m, Code::Nonexistent).await?;
        let st = s
            .svc
            .directory
            .store()
            .mailbox_status(mb.id)
            .await
            .map_err(|e| cat::for_store_error(tag, &e))?;
        Ok((mb, st))
    }
    .await;
    match r {
        Ok((mb, st)) => {
            if items.contains(&StatusItem::HighestModSeq) {
                s.enabled.condstore = true;
            }
            let data = status_data(s, mb.id, &mb.name, &st, &items);
            s.data_owned(data);
            Outcome::reply(cat::ok(tag, cat::DONE))
        }
        Err(r) => Outcome::reply(r),
    }
}

/// `* STATUS name (...)` for `items` (shared with LIST-STATUS).
pub(crate) fn status_data(
    s: &Session,
    id: MailboxId,
    name: &str,
    st: &MailboxStatus,
    items: &[StatusItem],
) -> Data {
    let values = items
        .iter()
        .map(|&item| {
            let v = match item {
                StatusItem::Messages => Some(u64::from(st.messages)),
                StatusItem::UidNext => Some(u64::from(st.uidnext)),
                StatusItem::UidValidity => Some(u64::from(st.uidvalidity)),
                StatusItem::Unseen => Some(u64::from(st.unseen)),
                StatusItem::Deleted => Some(u64::from(st.deleted)),
                // RFC 9208 §4.1.4: what an EXPUNGE would reclaim, the sum of the
                // RFC822.SIZE of the \Deleted messages (each entry counts in the quota).
                StatusItem::DeletedStorage => Some(st.deleted_size),
                StatusItem::Size => Some(st.size),
                StatusItem::Recent => Some(u64::from(st.recent)),
                StatusItem::HighestModSeq => Some(st.highestmodseq),
                StatusItem::AppendLimit => Some(s.svc.settings.imap.append_limit.0),
                StatusItem::MailboxId => u64::try_from(id.0).ok(),
            };
            (item, v)
        })
        .collect();
    Data::Status {
        mailbox: names::to_wire(name, s.names()),
        items: values,
    }
}
