//! IMAP METADATA annotations (RFC 5464): entries of a mailbox or of the server, each a
//! lowercased name under `/private/` or `/shared/` and a value of octets. The store
//! keeps them and enforces the per-scope entry limit all-or-none; naming rules,
//! MAXSIZE and DEPTH are the IMAP crate's. Annotations follow a renamed mailbox (they
//! are keyed by its id) and go with a deleted mailbox or account.

use crate::Store;
use crate::error::Result;
use crate::types::{AccountId, MailboxId};

/// What [`Store::metadata_set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSet {
    /// Every change was made.
    Done,
    /// Nothing was changed: the changes would create entries beyond the limit
    /// (RFC 5464 §4.3 `[METADATA TOOMANY]`).
    TooMany,
}

impl Store {
    /// The annotations of `mailbox` (`None`: the server's) that `account` sees, by
    /// name: the account's own and, for the server, the entries the administrator set
    /// for every account. A mailbox of another account is `NotFound`.
    pub async fn metadata_list(
        &self,
        account: AccountId,
        mailbox: Option<MailboxId>,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        db_read!(self, |c, sql| sql::metadata::list(c, account, mailbox))
    }

    /// Sets (`Some`) or removes (`None`) annotations of `mailbox` (`None`: the
    /// server's) owned by `account` (`None`: server entries every account sees, for
    /// the administrator), all or none. Names are stored lowercased. When the changes
    /// would leave more than `max_entries` entries in the scope and add one, nothing
    /// changes and the answer is [`MetadataSet::TooMany`]. A mailbox of another
    /// account is `NotFound`.
    pub async fn metadata_set(
        &self,
        account: Option<AccountId>,
        mailbox: Option<MailboxId>,
        changes: Vec<(String, Option<Vec<u8>>)>,
        max_entries: usize,
    ) -> Result<MetadataSet> {
        db_write!(self, |t, sql| sql::metadata::set(
            t,
            account,
            mailbox,
            &changes,
            max_entries
        ))
    }
}
