//! SQL for storing one new message into local mailboxes and the queue, atomically
//! (PostgreSQL twin of `sqlite/delivery.rs`). The target accounts and mailboxes are
//! locked up front in id order (see `entries::lock`), so deliveries running on several
//! nodes at once check quotas and take UIDs one after the other without deadlocking.

use super::Tx;
use crate::NewQueuedMessage;
use crate::api::{DeliveredEntry, DeliveryOutcome, LocalTarget, NewMessage};
use crate::error::{Result, StoreError};
use crate::types::{AccountId, MailboxId};

/// Resolves the mailbox a target goes to: the named one if it exists, else INBOX.
fn target_mailbox(c: &mut Tx<'_>, t: &LocalTarget) -> Result<MailboxId> {
    if let Some(name) = &t.mailbox
        && let Some(mb) = super::mailboxes::get(c, t.account, name)?
    {
        return Ok(mb.id);
    }
    super::mailboxes::get(c, t.account, "INBOX")?
        .map(|m| m.id)
        .ok_or(StoreError::NotFound("INBOX"))
}

fn check_quota(c: &mut Tx<'_>, account: AccountId, size: u64) -> Result<()> {
    let (quota, used) = super::messages::quota_of(c, account.0)?;
    if quota > 0 && used.saturating_add(size) > quota {
        return Err(StoreError::OverQuota);
    }
    Ok(())
}

pub(crate) fn deliver(
    c: &mut Tx<'_>,
    m: &NewMessage,
    local: &[LocalTarget],
    queue: Option<&NewQueuedMessage>,
) -> Result<DeliveryOutcome> {
    // Where each target goes, then every lock in order, then the quota of each.
    let mut plan: Vec<Result<MailboxId>> = local.iter().map(|t| target_mailbox(c, t)).collect();
    let mut boxes: Vec<MailboxId> = plan
        .iter()
        .filter_map(|p| p.as_ref().ok().copied())
        .collect();
    boxes.sort_unstable();
    boxes.dedup();
    if !boxes.is_empty() {
        super::entries::lock(c, &boxes)?;
    }
    for (t, decided) in local.iter().zip(plan.iter_mut()) {
        if decided.is_ok()
            && t.enforce_quota
            && let Err(e) = check_quota(c, t.account, m.blob.size)
        {
            *decided = Err(e);
        }
    }
    let accepted = plan.iter().filter(|p| p.is_ok()).count() as i64;
    let message = if accepted > 0 {
        Some(super::messages::insert(
            c,
            &m.blob,
            &m.structure,
            m.received_at,
            accepted,
        )?)
    } else {
        None
    };
    let mut results = Vec::with_capacity(local.len());
    for (t, decided) in local.iter().zip(plan) {
        let entry = match (decided, message) {
            (Ok(mailbox), Some(msg)) => {
                let a = super::messages::append_entry(
                    c,
                    mailbox,
                    msg,
                    m.blob.size,
                    t.flags,
                    &t.keywords,
                    m.received_at,
                )?;
                Ok(DeliveredEntry {
                    account: t.account,
                    mailbox,
                    uid: a.uid,
                    modseq: a.modseq,
                })
            }
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(StoreError::NotFound("message")),
        };
        results.push(entry);
    }
    let queued = match queue {
        Some(q) if !q.recipients.is_empty() => Some(super::queue::enqueue(c, &m.blob, q)?),
        _ => None,
    };
    Ok(DeliveryOutcome {
        message,
        local: results,
        queued,
    })
}
