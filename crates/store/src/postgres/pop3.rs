//! POP3 retrieval times and the EXPIRE policy (PostgreSQL twin of `sqlite/pop3.rs`).

use super::{Tx, entries};
use crate::error::Result;
use crate::types::MailboxId;

/// Records that `uids` of `mailbox` were retrieved at `at` (the first time counts).
pub(crate) fn mark_retrieved(
    c: &mut Tx<'_>,
    mailbox: MailboxId,
    uids: &[u32],
    at: i64,
) -> Result<()> {
    let uids: Vec<i64> = uids.iter().map(|&u| i64::from(u)).collect();
    c.execute(
        "INSERT INTO pop3_retrieved (mailbox_id, uid, retrieved_at) \
         SELECT $1, u, $3 FROM unnest($2::BIGINT[]) AS u ON CONFLICT DO NOTHING",
        &[&mailbox.0, &uids, &at],
    )?;
    Ok(())
}

/// Expunges every entry retrieved at or before `before`; returns the mailboxes changed
/// with their expunged UIDs. Forgets the retrieval times of entries that are gone.
pub(crate) fn expire(c: &mut Tx<'_>, before: i64) -> Result<Vec<(MailboxId, Vec<u32>)>> {
    let due: Vec<(i64, u32)> = c
        .query(
            "SELECT r.mailbox_id, r.uid FROM pop3_retrieved r \
             JOIN mailbox_entries e ON e.mailbox_id = r.mailbox_id AND e.uid = r.uid \
             WHERE r.retrieved_at <= $1 ORDER BY r.mailbox_id, r.uid",
            &[&before],
        )?
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u32))
        .collect();
    let mut changed: Vec<(MailboxId, Vec<u32>)> = Vec::new();
    for (mailbox, uid) in due {
        match changed.last_mut() {
            Some((m, uids)) if m.0 == mailbox => uids.push(uid),
            _ => changed.push((MailboxId(mailbox), vec![uid])),
        }
    }
    let mut expunged = Vec::with_capacity(changed.len());
    for (mailbox, uids) in changed {
        let gone = entries::expunge(c, mailbox, Some(&uids), false)?;
        if !gone.is_empty() {
            expunged.push((mailbox, gone));
        }
    }
    c.execute(
        "DELETE FROM pop3_retrieved r WHERE NOT EXISTS (SELECT 1 FROM mailbox_entries e \
         WHERE e.mailbox_id = r.mailbox_id AND e.uid = r.uid)",
        &[],
    )?;
    Ok(expunged)
}
