//! SQL for storing one new message into local mailboxes and the queue, atomically.

use rusqlite::Connection;

use crate::NewQueuedMessage;
use crate::api::{DeliveredEntry, DeliveryOutcome, LocalTarget, NewMessage};
use crate::error::{Result, StoreError};
use crate::types::{AccountId, MailboxId};

/// Resolves the mailbox a target goes to: the named one if it exists, else INBOX.
fn target_mailbox(c: &Connection, t: &LocalTarget) -> Result<MailboxId> {
    if let Some(name) = &t.mailbox
        && let Some(mb) = super::mailboxes::get(c, t.account, name)?
    {
        return Ok(mb.id);
    }
    super::mailboxes::get(c, t.account, "INBOX")?
        .map(|m| m.id)
        .ok_or(StoreError::NotFound("INBOX"))
}

fn check_quota(c: &Connection, account: AccountId, size: u64) -> Result<()> {
    let (quota, used) = super::messages::quota_of(c, account.0)?;
    if quota > 0 && used.saturating_add(size) > quota {
        return Err(StoreError::OverQuota);
    }
    Ok(())
}

pub(crate) fn deliver(
    c: &Connection,
    m: &NewMessage,
    local: &[LocalTarget],
    queue: Option<&NewQueuedMessage>,
) -> Result<DeliveryOutcome> {
    // Decide every local target first so the message row gets the right refcount.
    let mut plan: Vec<Result<MailboxId>> = Vec::with_capacity(local.len());
    for t in local {
        let decided = (|| {
            if t.enforce_quota {
                check_quota(c, t.account, m.blob.size)?;
            }
            target_mailbox(c, t)
        })();
        plan.push(decided);
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
