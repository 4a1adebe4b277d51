//! The store's public operations, grouped by area. Each method picks the engine's
//! implementation; today there is one engine, so each forwards to `sqlite`. Adding
//! PostgreSQL means an `Engine` enum in `Store` and one `match` per method here, with
//! the same conformance tests run against both.

mod collect;
mod directory;
mod imap;
mod mail;
mod mailbox;
mod maintenance;
mod metadata;
pub(crate) mod monitor;
mod queue;
mod scan;
mod sieve;

pub use collect::{CollectedMark, CollectionAccount, CollectionUpdate, NewCollectionAccount};
pub use directory::AddressLookup;
pub use mail::{DeliveredEntry, DeliveryOutcome, LocalTarget, NewMessage};
pub use maintenance::GcReport;
pub use metadata::MetadataSet;
pub use monitor::{
    Alert, Event, EventFilter, OutboxItem, OutboxResult, SessionInfo, StatDelta, StatValue,
    TraceStep, Webhook,
};
pub use queue::{
    NewQueuedMessage, QueueItem, QueueListing, QueueRecipientInfo, QueuedRecipient, RecipientResult,
};
pub use scan::{GreylistPolicy, NewQuarantined, Quarantined};
pub use sieve::{SieveForDelivery, SieveScript};
