//! RFC 1939 §6 the UPDATE state: QUIT from TRANSACTION removes the messages marked
//! deleted, through `Store::expunge_uids` (which announces the change after commit, so
//! IMAP sessions see EXPUNGE), then the session ends. A session that ends any other way
//! never reaches this file and deletes nothing.
//!
//! The EXPIRE policy (RFC 2449 §6.7, `pop3.expire_days`): with 0, messages retrieved in
//! the session are deleted here as if marked; with N days, their retrieval is recorded
//! and the server's maintenance pass removes them N days later.

use crate::proto::catalogue;
use crate::session::{Session, Transaction};

/// RFC 1939 §6: commits the deletions and says goodbye.
pub(crate) async fn update(s: &mut Session, t: Transaction) {
    let mut uids = t.maildrop.deleted_uids();
    let retrieved = t.maildrop.retrieved_kept_uids();
    let expire = s.svc.settings.pop3.expire_days;
    if expire == Some(0) {
        uids.extend(&retrieved);
    }
    let total = t.maildrop.len();
    let store = s.svc.directory.store();
    let reply = if uids.is_empty() {
        catalogue::updated(0, total)
    } else {
        match store.expunge_uids(t.maildrop.mailbox(), uids.clone()).await {
            Ok(removed) => {
                tracing::info!(
                    user = %t.account.address(),
                    marked = uids.len(),
                    removed = removed.len(),
                    "POP3 update: messages deleted"
                );
                catalogue::updated(uids.len(), total - uids.len())
            }
            Err(e) => {
                tracing::error!(user = %t.account.address(), error = %e, "POP3 update failed");
                catalogue::update_failed()
            }
        }
    };
    if matches!(expire, Some(days) if days > 0)
        && let Err(e) = store
            .pop3_mark_retrieved(t.maildrop.mailbox(), retrieved)
            .await
    {
        tracing::warn!(user = %t.account.address(), error = %e, "cannot record POP3 retrievals");
    }
    // Release the maildrop (on every node) before the goodbye goes out.
    t._lock.release().await;
    s.reply(reply);
}
