//! RFC 1939 §6 the UPDATE state: QUIT from TRANSACTION removes the messages marked
//! deleted, through `Store::expunge_uids` (which announces the change after commit, so
//! IMAP sessions see EXPUNGE), then the session ends. A session that ends any other way
//! never reaches this file and deletes nothing.

use crate::proto::catalogue;
use crate::session::{Session, Transaction};

/// RFC 1939 §6: commits the deletions and says goodbye.
pub(crate) async fn update(s: &mut Session, t: Transaction) {
    let uids = t.maildrop.deleted_uids();
    let total = t.maildrop.len();
    let reply = if uids.is_empty() {
        catalogue::updated(0, total)
    } else {
        let store = s.svc.directory.store();
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
    // Release the maildrop before the goodbye goes out.
    drop(t);
    s.reply(reply);
}
