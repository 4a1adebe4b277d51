//! `[collect]`: how the collector (MultiPOP, "Internet Mail Accounts") runs: how often
//! it looks for due accounts, how many it runs at once, the defaults a new collection
//! account gets, and the limits of one run. The accounts themselves live in the store
//! (managed with `pillarbox collect`), because they carry secrets.

use serde::Deserialize;

use crate::types::{ByteSize, Seconds};

/// `[collect]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectSection {
    /// Run the collector inside `pillarbox serve`.
    pub enabled: bool,
    /// How often the scheduler looks for accounts that are due.
    pub tick: Seconds,
    /// Accounts collected at the same time.
    pub max_concurrent_accounts: usize,
    /// Collection interval of a new account when none is given.
    pub default_interval: Seconds,
    /// Connect and answer timeout of a new account when none is given.
    pub default_timeout: Seconds,
    /// Largest message collected; a larger one stops the account's run with an error.
    pub max_message_size: ByteSize,
    /// Messages of one run being stored at once (their commits are grouped).
    pub deliveries_in_flight: usize,
    /// Messages asked for at once: POP3 RETRs pipelined, IMAP UIDs per UID FETCH.
    pub fetch_batch: usize,
}

impl Default for CollectSection {
    fn default() -> Self {
        CollectSection {
            enabled: true,
            tick: Seconds::secs(30),
            max_concurrent_accounts: 8,
            default_interval: Seconds::mins(15),
            default_timeout: Seconds::secs(60),
            max_message_size: ByteSize(64 * 1024 * 1024),
            deliveries_in_flight: 64,
            fetch_batch: 200,
        }
    }
}

impl CollectSection {
    /// The dotted key at fault and what is expected, if a value is out of range.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, m: &str| Err((format!("collect.{k}"), m.to_string()));
        if self.tick.get().as_secs() < 1 {
            return bad("tick", "expected at least 1s");
        }
        if self.max_concurrent_accounts == 0 {
            return bad("max_concurrent_accounts", "expected at least 1");
        }
        if self.default_interval.get().as_secs() < 1 {
            return bad("default_interval", "expected at least 1s");
        }
        if self.default_timeout.get().as_secs() < 1 {
            return bad("default_timeout", "expected at least 1s");
        }
        if self.max_message_size.0 < 1024 {
            return bad("max_message_size", "expected at least 1KiB");
        }
        if self.deliveries_in_flight == 0 || self.deliveries_in_flight > 4096 {
            return bad("deliveries_in_flight", "expected 1 to 4096");
        }
        if self.fetch_batch == 0 || self.fetch_batch > 10_000 {
            return bad("fetch_batch", "expected 1 to 10000");
        }
        Ok(())
    }
}
