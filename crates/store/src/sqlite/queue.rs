//! SQL for the outbound queue: enqueue a message with its recipients.

use rusqlite::{Connection, params};

use crate::blob::StoredBlob;
use crate::error::Result;
use crate::types::QueueId;
use crate::{NewQueuedMessage, QueuedRecipient};

pub(crate) fn enqueue(c: &Connection, blob: &StoredBlob, m: &NewQueuedMessage) -> Result<QueueId> {
    super::blobs::incref(c, blob)?;
    let now = super::now();
    c.prepare_cached(
        "INSERT INTO queue_messages (blob_hash, size, sender, envid, ret, account_id, source, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        blob.hash.as_str(),
        blob.size as i64,
        m.sender,
        m.envid,
        m.ret,
        m.account.map(|a| a.0),
        m.source,
        now
    ])?;
    let id = c.last_insert_rowid();
    let mut ins = c.prepare_cached(
        "INSERT INTO queue_recipients (queue_id, recipient, domain, orcpt, notify, next_attempt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for QueuedRecipient {
        address,
        orcpt,
        notify,
    } in &m.recipients
    {
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        ins.execute(params![id, address, domain, orcpt, notify, now])?;
    }
    Ok(QueueId(id))
}

/// Number of recipients not yet delivered or failed.
pub(crate) fn pending_count(c: &Connection) -> Result<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM queue_recipients WHERE status = 'queued'",
        [],
        |r| r.get(0),
    )?)
}
