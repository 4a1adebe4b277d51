//! Migration from another IMAP server: every selectable folder (special-use folders
//! to ours: the remote `\Sent` into the local Sent, whatever its name), each message
//! with its flags, keywords and INTERNALDATE. When the local mailbox is new it takes
//! the source's UIDVALIDITY and UIDs, so a second run fetches only UIDs it does not
//! have and brings every message's flags up to date; otherwise messages are matched
//! by content (nothing twice) and flags are taken only as first copied.

use std::collections::{HashMap, HashSet};

use pillarbox_client::imap::{ImapClient, ImapError, SearchCriteria};
use pillarbox_store::{Account, FlagChange, FlagOp, Store, flags};

use crate::import::{Incoming, mailbox, put_all};
use crate::{Progress, Report, TransferError, maildir};

/// UIDs fetched per UID FETCH.
const CHUNK: usize = 100;

fn remote(e: ImapError) -> TransferError {
    TransferError::Invalid(format!("the source server: {e}"))
}

/// IMAP flags to our bits and keywords (`\Recent` is not stored).
pub fn flags_of(list: &[String]) -> (u32, Vec<String>) {
    let mut f = 0;
    let mut kws = Vec::new();
    for fl in list {
        match fl.to_ascii_lowercase().as_str() {
            "\\seen" => f |= flags::SEEN,
            "\\answered" => f |= flags::ANSWERED,
            "\\flagged" => f |= flags::FLAGGED,
            "\\deleted" => f |= flags::DELETED,
            "\\draft" => f |= flags::DRAFT,
            k if k.starts_with('\\') => {}
            _ => {
                if !kws.iter().any(|x: &String| x.eq_ignore_ascii_case(fl)) {
                    kws.push(fl.clone());
                }
            }
        }
    }
    (f, kws)
}

/// `17-Jul-1996 02:44:25 -0700` as seconds since the epoch.
pub fn parse_internal_date(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!(
        "[day padding:none]-[month repr:short]-[year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    time::OffsetDateTime::parse(s.trim(), &fmt)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The local name of a remote folder.
fn local_name(
    name: &str,
    delimiter: Option<char>,
    attributes: &[String],
    by_use: &HashMap<String, String>,
) -> Option<String> {
    if name.eq_ignore_ascii_case("INBOX") {
        return Some("INBOX".into());
    }
    for a in attributes {
        if let Some(local) = by_use.get(&a.to_ascii_lowercase()) {
            return Some(local.clone());
        }
    }
    let decoded = maildir::decode_mutf7(name)?;
    Some(match delimiter {
        Some(d) if d != '/' => decoded.replace(d, "/"),
        _ => decoded,
    })
}

/// Copies every folder of the server `client` is logged in to into `account`.
pub async fn imap(
    store: &Store,
    account: &Account,
    client: &mut ImapClient,
    progress: &dyn Progress,
) -> Result<Report, TransferError> {
    let by_use: HashMap<String, String> = store
        .mailbox_list(account.id)
        .await?
        .into_iter()
        .filter_map(|m| Some((m.special_use?.to_ascii_lowercase(), m.name)))
        .collect();
    let mut report = Report::default();
    let mut folders = client.list().await.map_err(remote)?;
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    for f in folders {
        if f.attributes.iter().any(|a| {
            a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
        }) {
            continue;
        }
        let Some(name) = local_name(&f.name, f.delimiter, &f.attributes, &by_use) else {
            report.broken.push(format!(
                "folder {:?}: a name that does not decode; skipped",
                f.name
            ));
            continue;
        };
        let selected = client.select(&f.name, true).await.map_err(remote)?;
        let target = mailbox(store, account, &name).await?;
        let keep = match selected.uidvalidity {
            Some(v) if v == target.uidvalidity => true,
            Some(v) if target.uidnext == 1 => {
                store.import_uid_state(target.id, Some(v), 1).await?;
                true
            }
            _ => false,
        };
        let target = store
            .mailbox_get(account.id, &name)
            .await?
            .ok_or(pillarbox_store::StoreError::NotFound("mailbox"))?;
        let remote_uids = client
            .uid_search(SearchCriteria::All)
            .await
            .map_err(remote)?;
        let local: Vec<_> = store.entries(target.id).await?;
        let have: HashSet<u32> = local.iter().map(|e| e.uid).collect();
        // With the source's UIDs, what is below our UIDNEXT and missing here was
        // expunged here: not copied again.
        let wanted: Vec<u32> = if keep {
            remote_uids
                .iter()
                .copied()
                .filter(|u| !have.contains(u) && *u >= target.uidnext)
                .collect()
        } else {
            remote_uids.clone()
        };
        progress.mailbox(&name, wanted.len() as u64);
        let (mut done, mut skipped) = (0u64, 0u64);
        for chunk in wanted.chunks(CHUNK) {
            client.start_fetch(chunk).await.map_err(remote)?;
            let mut items = Vec::with_capacity(chunk.len());
            while let Some(m) = client.next_fetched().await.map_err(remote)? {
                let (fl, kws) = flags_of(&m.flags);
                items.push(Incoming {
                    what: format!("{} UID {}", f.name, m.uid),
                    data: m.body,
                    flags: fl,
                    keywords: kws,
                    date: m.internal_date.as_deref().and_then(parse_internal_date),
                    uid: Some(m.uid),
                });
            }
            let (d, s) = put_all(store, &target, items, keep, progress, &mut report).await?;
            done += d;
            skipped += s;
        }
        if keep {
            if let Some(next) = selected.uidnext {
                store.import_uid_state(target.id, None, next).await?;
            }
            // Flags of what was copied before, brought up to date.
            let current: HashMap<u32, (u32, String)> = store
                .entries(target.id)
                .await?
                .into_iter()
                .map(|e| (e.uid, (e.flags, e.keywords)))
                .collect();
            for (uid, list) in client.uid_flags().await.map_err(remote)? {
                let (fl, kws) = flags_of(&list);
                let Some((have_f, have_k)) = current.get(&uid) else {
                    continue;
                };
                if *have_f == fl && *have_k == kws.join(" ") {
                    continue;
                }
                store
                    .store_flags(
                        target.id,
                        vec![uid],
                        FlagChange {
                            op: FlagOp::Replace,
                            flags: fl,
                            keywords: kws,
                            unchanged_since: None,
                        },
                    )
                    .await?;
                report.flags_updated += 1;
            }
        }
        report.transferred += done;
        report.skipped += skipped;
        report.mailboxes.push((name, done, skipped));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_flags() {
        assert_eq!(
            parse_internal_date("17-Jul-1996 02:44:25 -0700"),
            Some(837_596_665)
        );
        assert_eq!(
            parse_internal_date(" 1-Jan-2024 00:00:00 +0000"),
            Some(1_704_067_200)
        );
        assert_eq!(parse_internal_date("garbage"), None);
        let (f, k) = flags_of(&["\\Seen".into(), "\\Recent".into(), "$Label1".into()]);
        assert_eq!((f, k), (flags::SEEN, vec!["$Label1".to_string()]));
    }

    #[test]
    fn names() {
        let mut by_use = HashMap::new();
        by_use.insert("\\sent".to_string(), "Sent".to_string());
        assert_eq!(
            local_name("Sent Items", Some('/'), &["\\Sent".into()], &by_use).as_deref(),
            Some("Sent")
        );
        assert_eq!(
            local_name("a.b", Some('.'), &[], &by_use).as_deref(),
            Some("a/b")
        );
        assert_eq!(
            local_name("inbox", Some('.'), &[], &by_use).as_deref(),
            Some("INBOX")
        );
        assert_eq!(
            local_name("&Jjo-", Some('/'), &[], &by_use).as_deref(),
            Some("☺")
        );
    }
}
