//! One IMAP collection run: log in, and for each configured folder SELECT it (EXAMINE
//! when nothing will be changed), UID SEARCH ALL (or UNSEEN), UID FETCH what was not
//! collected before in batches, store each message with its
//! `imap:<folder>:<uidvalidity>:<uid>` key, then flag `\Seen` (when asked) and
//! `\Deleted` + UID EXPUNGE (delete mode, or leave-on-server for N days) only the
//! messages whose local copy is committed.
//!
//! A new UIDVALIDITY makes every message of the folder new (RFC 9051 §2.3.1.1: the
//! old UIDs mean nothing any more). A failure flags nothing that is not stored.

use std::collections::{HashMap, HashSet};

use pillarbox_client::imap::{ImapClient, SearchCriteria};

use super::{Deliverer, Job, RunError, RunSummary, tally};
use crate::connect;

/// The key of a message: folder, UIDVALIDITY and UID.
fn key(folder: &str, uidvalidity: u32, uid: u32) -> String {
    format!("imap:{folder}:{uidvalidity}:{uid}")
}

/// Splits a key of `folder` into (uidvalidity, uid).
fn parse_key(k: &str, folder: &str) -> Option<(u32, u32)> {
    let rest = k
        .strip_prefix("imap:")?
        .strip_prefix(folder)?
        .strip_prefix(':')?;
    let (v, u) = rest.split_once(':')?;
    Some((v.parse().ok()?, u.parse().ok()?))
}

pub(super) async fn run(job: Job<'_>, summary: &mut RunSummary) -> Result<(), RunError> {
    let Job {
        runner,
        account,
        progress,
        delivery,
    } = job;
    let s = &account.settings;
    let store = runner.pipeline.directory().store().clone();
    let max = runner.limits.max_message_size as u64;
    let config = connect::imap_config(s, &account.secrets, max).map_err(RunError::Config)?;
    let credentials = runner
        .tokens
        .credentials(account.id, s, &account.secrets)
        .await
        .map_err(RunError::Credentials)?;
    let mut client = ImapClient::connect(&connect::target(s), &config).await?;
    client.login(&credentials).await?;
    let seen: HashMap<String, i64> = store
        .collection_seen(account.id)
        .await?
        .into_iter()
        .collect();
    let mut deliverer: Deliverer<u32> = Deliverer::new(delivery, runner.limits.in_flight);
    let writable = !s.leave_on_server || s.mark_seen || s.delete_after_days.is_some();

    for folder in &s.folders {
        let mb = client.select(folder, !writable).await?;
        let validity = mb.uidvalidity.unwrap_or(0);
        let criteria = if s.only_unseen {
            SearchCriteria::Unseen
        } else {
            SearchCriteria::All
        };
        let uids = client.uid_search(criteria).await?;
        let wanted: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|u| !seen.contains_key(&key(folder, validity, *u)))
            .collect();
        summary.on_server += uids.len() as u64;
        summary.new += wanted.len() as u64;
        progress.listed(wanted.len() as u64, None);

        let mut durable: Vec<u32> = Vec::new();
        let mut flagged_upto = 0;
        let mut failure: Option<RunError> = None;
        'batches: for batch in wanted.chunks(runner.limits.fetch_batch) {
            if let Err(e) = client.start_fetch(batch).await {
                failure = Some(e.into());
                break;
            }
            loop {
                match client.next_fetched().await {
                    Ok(Some(m)) => {
                        let done = deliverer
                            .submit(m.uid, key(folder, validity, m.uid), m.body)
                            .await;
                        tally(done, summary, progress, &mut durable, &mut failure);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        failure = Some(e.into());
                        break 'batches;
                    }
                }
            }
            if failure.is_some() {
                // Read to the end of the FETCH was done; stop asking for more.
                break;
            }
            // Flag what is committed so far while the session is idle between FETCHes.
            if s.mark_seen && durable.len() > flagged_upto {
                client
                    .add_flags(&durable[flagged_upto..], &["\\Seen"])
                    .await?;
                summary.flagged += (durable.len() - flagged_upto) as u64;
                flagged_upto = durable.len();
            }
        }
        let done = deliverer.drain().await;
        tally(done, summary, progress, &mut durable, &mut failure);
        if let Some(f) = failure {
            return Err(f);
        }
        if s.mark_seen && durable.len() > flagged_upto {
            client
                .add_flags(&durable[flagged_upto..], &["\\Seen"])
                .await?;
            summary.flagged += (durable.len() - flagged_upto) as u64;
        }

        let durable: HashSet<u32> = durable.into_iter().collect();
        let to_delete: Vec<u32> = if !s.leave_on_server {
            uids.iter()
                .copied()
                .filter(|u| durable.contains(u) || seen.contains_key(&key(folder, validity, *u)))
                .collect()
        } else if let Some(days) = s.delete_after_days {
            let now = crate::now();
            uids.iter()
                .copied()
                .filter(|u| {
                    let at = seen.get(&key(folder, validity, *u)).copied();
                    super::due_for_deletion(at, days, now)
                })
                .collect()
        } else {
            Vec::new()
        };
        if !to_delete.is_empty() {
            client.add_flags(&to_delete, &["\\Deleted"]).await?;
            client.expunge(&to_delete).await?;
            summary.deleted += to_delete.len() as u64;
        }

        if criteria == SearchCriteria::All {
            // Keys of this folder for messages gone, or of an older UIDVALIDITY.
            let present: HashSet<u32> = uids.iter().copied().collect();
            let gone: Vec<String> = seen
                .keys()
                .filter(|k| match parse_key(k, folder) {
                    Some((v, u)) => {
                        v != validity || !present.contains(&u) || to_delete.contains(&u)
                    }
                    None => false,
                })
                .cloned()
                .collect();
            summary.forgotten += store.collection_forget(account.id, gone).await? as u64;
        }
    }
    client.logout().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = key("Lists:rust", 7, 42);
        assert_eq!(k, "imap:Lists:rust:7:42");
        assert_eq!(parse_key(&k, "Lists:rust"), Some((7, 42)));
        assert_eq!(parse_key(&k, "Lists"), None);
        assert_eq!(parse_key("uidl:abc", "INBOX"), None);
    }
}
