//! POP3 retrieval times and the EXPIRE policy (RFC 2449 §6.7): messages retrieved by
//! POP3 and left on the server are expunged a configured number of days later.

use rusqlite::{Connection, params};

use super::entries;
use crate::error::Result;
use crate::types::MailboxId;

/// Records that `uids` of `mailbox` were retrieved at `at` (the first time counts).
pub(crate) fn mark_retrieved(
    c: &Connection,
    mailbox: MailboxId,
    uids: &[u32],
    at: i64,
) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT OR IGNORE INTO pop3_retrieved (mailbox_id, uid, retrieved_at) VALUES (?1, ?2, ?3)",
    )?;
    for uid in uids {
        st.execute(params![mailbox.0, uid, at])?;
    }
    Ok(())
}

/// Expunges every entry retrieved at or before `before`; returns the mailboxes changed
/// with their expunged UIDs. Forgets the retrieval times of entries that are gone.
pub(crate) fn expire(c: &Connection, before: i64) -> Result<Vec<(MailboxId, Vec<u32>)>> {
    let due: Vec<(i64, u32)> = {
        let mut st = c.prepare_cached(
            "SELECT r.mailbox_id, r.uid FROM pop3_retrieved r \
             JOIN mailbox_entries e ON e.mailbox_id = r.mailbox_id AND e.uid = r.uid \
             WHERE r.retrieved_at <= ?1 ORDER BY r.mailbox_id, r.uid",
        )?;
        st.query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
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
        "DELETE FROM pop3_retrieved WHERE NOT EXISTS (SELECT 1 FROM mailbox_entries e \
         WHERE e.mailbox_id = pop3_retrieved.mailbox_id AND e.uid = pop3_retrieved.uid)",
        [],
    )?;
    Ok(expunged)
}
