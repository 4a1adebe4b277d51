//! METADATA and METADATA-SERVER (RFC 5464): GETMETADATA with MAXSIZE and DEPTH,
//! SETMETADATA all-or-none, on mailboxes of the account and on the server (the empty
//! mailbox name). Values are at most [`MAX_VALUE`] octets (`[METADATA MAXSIZE n]`), a
//! mailbox or the server holds at most [`MAX_ENTRIES`] entries per account
//! (`[METADATA TOOMANY]`). Server `/shared` entries are the administrator's: every
//! account reads them, none sets them (§3.3 lets a server restrict their creation).

use std::collections::BTreeMap;

use bytes::Bytes;
use pillarbox_store::{Account, MailboxId, MetadataSet};

use super::Outcome;
use super::mailbox::existing;
use crate::catalogue as cat;
use crate::proto::{Code, Data, GetMetadata, Mailbox, MetadataDepth, StatusResponse, Tag};
use crate::session::Session;

/// The largest value accepted, in octets (RFC 5464 §4.1 asks for at least 1024).
pub(crate) const MAX_VALUE: usize = 64 * 1024;
/// The most entries per mailbox, or on the server, per account (at least 10).
pub(crate) const MAX_ENTRIES: usize = 100;

/// `[METADATA ...]`.
fn code(value: String) -> Code {
    Code::Other {
        name: Bytes::from_static(b"METADATA"),
        value: Some(Bytes::from(value)),
    }
}

/// The mailbox an annotation command names: `None` for the server (empty name). A
/// mailbox that does not exist is NO (§3.3).
async fn scope(
    s: &Session,
    account: &Account,
    tag: &Tag,
    m: &Mailbox,
) -> Result<Option<MailboxId>, StatusResponse> {
    if m.as_bytes().is_empty() {
        return Ok(None);
    }
    existing(s, account, tag, m, Code::Nonexistent)
        .await
        .map(|mb| Some(mb.id))
}

/// Whether `name` is `wanted` or below it within `depth` (RFC 5464 §4.2.2); both
/// lowercase.
fn selected(name: &str, wanted: &str, depth: MetadataDepth) -> bool {
    if name == wanted {
        return true;
    }
    let Some(rest) = name.strip_prefix(wanted).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    match depth {
        MetadataDepth::Zero => false,
        MetadataDepth::One => !rest.contains('/'),
        MetadataDepth::Infinity => true,
    }
}

/// RFC 5464 §4.2: the values of the entries asked for (NIL for one that does not
/// exist) and, with DEPTH, of those below them; with MAXSIZE, longer values are left
/// out and the longest is named in `[METADATA LONGENTRIES n]`.
pub(crate) async fn get_metadata(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    g: GetMetadata,
) -> Outcome {
    let mailbox = match scope(s, account, tag, &g.mailbox).await {
        Ok(m) => m,
        Err(r) => return Outcome::reply(r),
    };
    let stored = match s
        .svc
        .directory
        .store()
        .metadata_list(account.id, mailbox)
        .await
    {
        Ok(l) => l,
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    let mut out: BTreeMap<String, Option<Bytes>> = BTreeMap::new();
    let mut longest: Option<usize> = None;
    for wanted in &g.entries {
        let wanted = String::from_utf8_lossy(wanted).to_ascii_lowercase();
        let mut found = false;
        for (name, value) in &stored {
            if !selected(name, &wanted, g.depth) {
                continue;
            }
            found |= *name == wanted;
            if g.max_size.is_some_and(|m| value.len() as u64 > m) {
                longest = longest.max(Some(value.len()));
                continue;
            }
            out.insert(name.clone(), Some(Bytes::from(value.clone())));
        }
        if !found {
            out.entry(wanted).or_insert(None);
        }
    }
    s.data_owned(Data::Metadata {
        mailbox: g.mailbox,
        entries: out.into_iter().map(|(n, v)| (Bytes::from(n), v)).collect(),
    });
    match longest {
        Some(n) => Outcome::reply(cat::ok_code(
            tag,
            code(format!("LONGENTRIES {n}")),
            cat::DONE,
        )),
        None => Outcome::reply(cat::ok(tag, cat::DONE)),
    }
}

/// RFC 5464 §4.3: sets or removes every entry given, or none of them.
pub(crate) async fn set_metadata(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    m: Mailbox,
    entries: Vec<(Bytes, Option<Bytes>)>,
) -> Outcome {
    let mailbox = match scope(s, account, tag, &m).await {
        Ok(m) => m,
        Err(r) => return Outcome::reply(r),
    };
    if entries
        .iter()
        .any(|(_, v)| v.as_ref().is_some_and(|v| v.len() > MAX_VALUE))
    {
        return Outcome::reply(cat::no(
            tag,
            code(format!("MAXSIZE {MAX_VALUE}")),
            cat::METADATA_TOO_BIG,
        ));
    }
    if mailbox.is_none()
        && entries
            .iter()
            .any(|(n, _)| n.to_ascii_lowercase().starts_with(b"/shared/"))
    {
        return Outcome::reply(cat::no(tag, Code::NoPerm, cat::METADATA_SERVER_SHARED));
    }
    let changes = entries
        .into_iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(&n).to_ascii_lowercase(),
                v.map(|v| v.to_vec()),
            )
        })
        .collect();
    match s
        .svc
        .directory
        .store()
        .metadata_set(Some(account.id), mailbox, changes, MAX_ENTRIES)
        .await
    {
        Ok(MetadataSet::Done) => Outcome::reply(cat::ok(tag, cat::DONE)),
        Ok(MetadataSet::TooMany) => {
            Outcome::reply(cat::no(tag, code("TOOMANY".into()), cat::METADATA_TOO_MANY))
        }
        Err(e) => Outcome::reply(cat::for_store_error(tag, &e)),
    }
}
