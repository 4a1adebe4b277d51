//! QUOTA (RFC 9208): one quota root per account, named `""`, with the STORAGE resource
//! in KiB from the account's quota; an unlimited account has no quota root. SETQUOTA
//! is refused: quotas belong to the administrator.

use bytes::Bytes;
use pillarbox_store::Account;

use super::Outcome;
use super::mailbox::existing;
use crate::catalogue as cat;
use crate::proto::{Code, Data, Mailbox, QuotaResource, Tag};
use crate::session::Session;

/// The account's quota root and its STORAGE resource, read fresh from the store.
async fn root(
    s: &Session,
    account: &Account,
    tag: &Tag,
) -> Result<Option<Data>, crate::proto::StatusResponse> {
    let fresh = s
        .svc
        .directory
        .store()
        .account_get_by_id(account.id)
        .await
        .map_err(|e| cat::for_store_error(tag, &e))?
        .unwrap_or_else(|| account.clone());
    if fresh.quota_bytes == 0 {
        return Ok(None);
    }
    Ok(Some(Data::Quota {
        root: Bytes::new(),
        resources: vec![QuotaResource {
            name: Bytes::from_static(b"STORAGE"),
            usage: fresh.used_bytes.div_ceil(1024),
            limit: fresh.quota_bytes / 1024,
        }],
    }))
}

/// RFC 9208 §4.2.
pub(crate) async fn get_quota(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    name: Bytes,
) -> Outcome {
    if !name.is_empty() {
        return Outcome::reply(cat::no(tag, Code::Nonexistent, cat::NO_QUOTA_ROOT));
    }
    match root(s, account, tag).await {
        Ok(Some(q)) => {
            s.data_owned(q);
            Outcome::reply(cat::ok(tag, cat::DONE))
        }
        Ok(None) => Outcome::reply(cat::no(tag, Code::Nonexistent, cat::NO_QUOTA_ROOT)),
        Err(r) => Outcome::reply(r),
    }
}

/// RFC 9208 §4.3.
pub(crate) async fn get_quota_root(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    m: Mailbox,
) -> Outcome {
    if let Err(r) = existing(s, account, tag, &m, Code::Nonexistent).await {
        return Outcome::reply(r);
    }
    match root(s, account, tag).await {
        Ok(q) => {
            let roots = if q.is_some() {
                vec![Bytes::new()]
            } else {
                Vec::new()
            };
            s.data_owned(Data::QuotaRoot { mailbox: m, roots });
            if let Some(q) = q {
                s.data_owned(q);
            }
            Outcome::reply(cat::ok(tag, cat::DONE))
        }
        Err(r) => Outcome::reply(r),
    }
}

/// RFC 9208 §4.1: refused.
pub(crate) fn set_quota(tag: &Tag) -> Outcome {
    Outcome::reply(cat::no(tag, Code::NoPerm, cat::NO_SETQUOTA))
}
