//! One POP3 collection run: log in, list (UIDL for the keys, LIST for sizes), RETR
//! every message not collected before (pipelined when the server offers PIPELINING),
//! store each with its `uidl:` key, then DELE what may go (everything durable in
//! delete mode; with leave-on-server, what was collected more than N days ago) and
//! QUIT, which commits the deletions (RFC 1939 §6).
//!
//! A failure before QUIT deletes nothing on the server; keys make the next run skip
//! what was stored. Without UIDL the key is the Message-ID and size, checked after
//! retrieval.

use std::collections::{HashMap, HashSet, VecDeque};

use pillarbox_client::pop3::Pop3Client;

use super::{Deliverer, Job, RunError, RunSummary, tally};
use crate::connect;

pub(super) async fn run(job: Job<'_>, summary: &mut RunSummary) -> Result<(), RunError> {
    let Job {
        runner,
        account,
        progress,
        delivery,
    } = job;
    let s = &account.settings;
    let store = runner.pipeline.directory().store().clone();
    let config = connect::pop3_config(s, &account.secrets).map_err(RunError::Config)?;
    let credentials = runner
        .tokens
        .credentials(account.id, s, &account.secrets)
        .await
        .map_err(RunError::Credentials)?;
    let mut client = Pop3Client::connect(&connect::target(s), &config).await?;
    client.login(&credentials).await?;

    let uidl = client.uidl_all().await?;
    let sizes: HashMap<u32, u64> = client.list_all().await?.into_iter().collect();
    let seen: HashMap<String, i64> = store
        .collection_seen(account.id)
        .await?
        .into_iter()
        .collect();
    let has_uidl = uidl.is_some();
    let listing: Vec<(u32, Option<String>)> = match uidl {
        Some(list) => list
            .into_iter()
            .map(|(n, u)| (n, Some(format!("uidl:{u}"))))
            .collect(),
        None => {
            let mut numbers: Vec<u32> = sizes.keys().copied().collect();
            numbers.sort_unstable();
            numbers.into_iter().map(|n| (n, None)).collect()
        }
    };
    summary.on_server = listing.len() as u64;
    let wanted: Vec<(u32, Option<String>)> = listing
        .iter()
        .filter(|(_, k)| k.as_ref().is_none_or(|k| !seen.contains_key(k)))
        .cloned()
        .collect();
    summary.new = wanted.len() as u64;
    let wanted_bytes = wanted.iter().filter_map(|(n, _)| sizes.get(n)).sum();
    progress.listed(wanted.len() as u64, Some(wanted_bytes));

    let limits = runner.limits;
    let window = if client.pipelining().await? {
        limits.fetch_batch
    } else {
        1
    };
    let mut deliverer: Deliverer<u32> = Deliverer::new(delivery, limits.in_flight);
    let mut durable: Vec<u32> = Vec::new();
    let mut failure: Option<RunError> = None;
    let mut outstanding: VecDeque<(u32, Option<String>)> = VecDeque::new();
    let mut next = 0;
    loop {
        if failure.is_none() && outstanding.len() <= window / 2 && next < wanted.len() {
            let end = (next + window - outstanding.len()).min(wanted.len());
            let lines: Vec<String> = wanted[next..end]
                .iter()
                .map(|(n, _)| format!("RETR {n}"))
                .collect();
            outstanding.extend(wanted[next..end].iter().cloned());
            next = end;
            if let Err(e) = client.send_commands(&lines).await {
                failure = Some(e.into());
                break;
            }
        }
        let Some((n, key)) = outstanding.pop_front() else {
            break;
        };
        let raw = match client.read_message(limits.max_message_size).await {
            Ok(Ok(raw)) => raw,
            // Gone meanwhile (another client deleted it): nothing to store.
            Ok(Err(refusal)) => {
                tracing::debug!(account = %account.name, message = n, %refusal, "RETR refused");
                continue;
            }
            Err(e) => {
                failure = Some(e.into());
                break;
            }
        };
        let key = match key {
            Some(k) => k,
            None => {
                let k = fallback_key(&raw);
                if seen.contains_key(&k) {
                    summary.already += 1;
                    durable.push(n);
                    continue;
                }
                k
            }
        };
        let done = deliverer.submit(n, key, raw).await;
        tally(done, summary, progress, &mut durable, &mut failure);
        if failure.is_some() {
            break;
        }
    }
    let done = deliverer.drain().await;
    tally(done, summary, progress, &mut durable, &mut failure);
    if let Some(f) = failure {
        // No QUIT: the server deletes nothing (RFC 1939 §6).
        return Err(f);
    }

    let durable: HashSet<u32> = durable.into_iter().collect();
    let to_delete: Vec<u32> = if !s.leave_on_server {
        listing
            .iter()
            .filter(|(n, k)| {
                durable.contains(n) || k.as_ref().is_some_and(|k| seen.contains_key(k))
            })
            .map(|(n, _)| *n)
            .collect()
    } else if let Some(days) = s.delete_after_days {
        let now = crate::now();
        listing
            .iter()
            .filter(|(_, k)| {
                let at = k.as_ref().and_then(|k| seen.get(k)).copied();
                super::due_for_deletion(at, days, now)
            })
            .map(|(n, _)| *n)
            .collect()
    } else {
        Vec::new()
    };
    let refused = client.dele(&to_delete).await?;
    client.quit().await?;
    summary.deleted = (to_delete.len() - refused.len()) as u64;

    if has_uidl {
        // Keys of messages no longer on the server are not needed any more.
        let present: HashSet<&str> = listing.iter().filter_map(|(_, k)| k.as_deref()).collect();
        let gone: Vec<String> = seen
            .keys()
            .filter(|k| k.starts_with("uidl:") && !present.contains(k.as_str()))
            .cloned()
            .collect();
        summary.forgotten = store.collection_forget(account.id, gone).await? as u64;
    }
    Ok(())
}

/// For servers without UIDL: `msgid:<Message-ID>:<size>`, or a hash of the header.
fn fallback_key(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let block = &raw[..pillarbox_mime::header_end(raw)];
    match pillarbox_mime::find_header(block, "Message-ID")
        .and_then(|v| pillarbox_mime::parse_msg_id(&v))
    {
        Some(id) => format!("msgid:{id}:{}", raw.len()),
        None => format!("hdr:{}", hex::encode(Sha256::digest(block))),
    }
}
