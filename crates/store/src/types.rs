//! Records the store hands out and takes in. Plain data: no behaviour beyond accessors.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub i64);
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A local domain.
    DomainId
);
id_type!(
    /// A local account.
    AccountId
);
id_type!(
    /// A mailbox (folder) of an account.
    MailboxId
);
id_type!(
    /// A stored message (shared by every mailbox entry that shows it).
    MessageId
);
id_type!(
    /// A message in the outbound queue.
    QueueId
);
id_type!(
    /// A remote account collected from (MultiPOP).
    CollectionId
);

/// A local domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub id: DomainId,
    pub name: String,
    pub created_at: i64,
}

/// Which mail services an account may use (the seed's "Mail Services" screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFlags {
    /// POP3 access.
    pub pop: bool,
    /// POP3 only from LAN addresses.
    pub pop_lan_only: bool,
    /// IMAP access.
    pub imap: bool,
    /// IMAP only from LAN addresses.
    pub imap_lan_only: bool,
    /// Collection of mail from remote accounts (MultiPOP).
    pub multipop: bool,
    /// Groupware connector access (requires IMAP).
    pub connector: bool,
}

impl Default for ServiceFlags {
    fn default() -> Self {
        ServiceFlags {
            pop: true,
            pop_lan_only: false,
            imap: true,
            imap_lan_only: false,
            multipop: true,
            connector: false,
        }
    }
}

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub domain_id: DomainId,
    pub local_part: String,
    pub domain: String,
    /// Stored password hash (PHC string or `{SCHEME}` prefixed).
    #[serde(skip)]
    pub password_hash: String,
    pub display_name: Option<String>,
    /// Quota in bytes; 0 means unlimited.
    pub quota_bytes: u64,
    /// Bytes used by the account's mailbox entries.
    pub used_bytes: u64,
    pub services: ServiceFlags,
    /// Per-account smart host login, used when a route allows per-account auth.
    pub smarthost_username: Option<String>,
    #[serde(skip)]
    pub smarthost_password: Option<String>,
    /// A disabled account cannot log in or receive mail.
    pub disabled: bool,
    pub created_at: i64,
    /// 0 when the account has no active Sieve script; otherwise a value that changes
    /// whenever the active script does (delivery keeps scripts by it).
    pub sieve_generation: i64,
}

impl Account {
    /// `local@domain`.
    pub fn address(&self) -> String {
        format!("{}@{}", self.local_part, self.domain)
    }
}

/// Fields to set on an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub password_hash: Option<String>,
    pub display_name: Option<Option<String>>,
    pub quota_bytes: Option<u64>,
    pub services: Option<ServiceFlags>,
    pub smarthost_username: Option<Option<String>>,
    pub smarthost_password: Option<Option<String>>,
    pub disabled: Option<bool>,
}

/// An alias: mail for `local_part@domain` goes to `target`. A `local_part` of `*` is the
/// domain's catch-all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub id: i64,
    pub local_part: String,
    pub domain: String,
    pub target: String,
}

impl Alias {
    /// The alias address (`*@domain` for a catch-all).
    pub fn address(&self) -> String {
        format!("{}@{}", self.local_part, self.domain)
    }
}

/// A mailbox (folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    pub id: MailboxId,
    pub account_id: AccountId,
    /// Full name, UTF-8, hierarchy separated by `/`. `INBOX` is always spelled so.
    pub name: String,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highestmodseq: u64,
    /// RFC 6154 special use such as `\Sent`, if any.
    pub special_use: Option<String>,
    pub subscribed: bool,
}

/// The special-use mailboxes every new account gets, after INBOX.
pub const DEFAULT_MAILBOXES: &[(&str, &str)] = &[
    ("Drafts", "\\Drafts"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
];

/// IMAP system flags as stored (a bitmask).
pub mod flags {
    pub const SEEN: u32 = 1;
    pub const ANSWERED: u32 = 2;
    pub const FLAGGED: u32 = 4;
    pub const DELETED: u32 = 8;
    pub const DRAFT: u32 = 16;
}

/// A message as seen in one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uid: u32,
    pub message: MessageId,
    /// System flags, see [`flags`].
    pub flags: u32,
    /// Keywords, space separated, in the order they were set.
    pub keywords: String,
    pub modseq: u64,
    /// INTERNALDATE, seconds since the Unix epoch.
    pub internal_date: i64,
    /// RFC822.SIZE.
    pub size: u64,
    /// When the entry was saved into this mailbox (RFC 8514 SAVEDATE), seconds since
    /// the Unix epoch; `None` for entries saved before save dates were kept.
    pub saved_at: Option<i64>,
}

/// Counts for STATUS and SELECT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxStatus {
    pub messages: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of message sizes.
    pub size: u64,
    /// Sum of the sizes of the entries flagged `\Deleted`: what an EXPUNGE gives back
    /// to the quota (RFC 9208 DELETED-STORAGE).
    pub deleted_size: u64,
    /// Messages no session has claimed as `\Recent` yet (UID at or above the
    /// mailbox's recent mark).
    pub recent: u32,
    pub uidnext: u32,
    pub uidvalidity: u32,
    pub highestmodseq: u64,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// A flag change for a set of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub op: FlagOp,
    pub flags: u32,
    pub keywords: Vec<String>,
    /// CONDSTORE UNCHANGEDSINCE: entries with a higher MODSEQ are not changed.
    pub unchanged_since: Option<u64>,
}

/// What a flag change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagOutcome {
    /// Entries after the change (only those that changed).
    pub changed: Vec<Entry>,
    /// UIDs refused by UNCHANGEDSINCE.
    pub modified: Vec<u32>,
}

/// The stored parts of a message needed to serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageData {
    pub id: MessageId,
    pub blob: crate::BlobHash,
    pub size: u64,
    /// The serialised structure computed at delivery.
    pub structure: Vec<u8>,
}

/// A message to append through IMAP APPEND (or collection into a folder).
#[derive(Debug, Clone)]
pub struct AppendMessage {
    pub message: crate::NewMessage,
    pub flags: u32,
    pub keywords: String,
    /// INTERNALDATE to set (defaults to the message's received_at).
    pub internal_date: Option<i64>,
}

/// A mailbox entry with the blob that holds its message. IMAP sessions key what they
/// cache about messages by blob: message ids are reused once a message is deleted,
/// blob names (content hashes) never name other content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    pub entry: Entry,
    pub blob: crate::BlobHash,
}

/// A mailbox read in one snapshot (IMAP SELECT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSnapshot {
    pub mailbox: Mailbox,
    /// Every entry, by UID.
    pub entries: Vec<BlobEntry>,
    /// The first UID no session has claimed as `\Recent` yet.
    pub first_unclaimed_recent: u32,
}

/// What changed in a mailbox after a MODSEQ, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxDelta {
    /// The mailbox now (HIGHESTMODSEQ, UIDNEXT).
    pub mailbox: Mailbox,
    /// Entries added or changed after the MODSEQ, by UID.
    pub changed: Vec<BlobEntry>,
    /// UIDs expunged after the MODSEQ.
    pub expunged: Vec<u32>,
    /// The first UID no session has claimed as `\Recent` yet.
    pub first_unclaimed_recent: u32,
}
