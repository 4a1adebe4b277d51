//! Where mail for an address goes: local accounts (directly, through aliases, through
//! the domain's catch-all, with `+tag` subaddresses), remote addresses an alias points
//! to, or nowhere. Aliases may chain; loops and depth are bounded.

use std::collections::HashSet;

use pillarbox_store::{Account, AddressLookup, StoreError};

use crate::Directory;

/// Alias chains deeper than this are cut.
const MAX_DEPTH: usize = 8;

/// The subaddress separator: `user+tag@domain` is delivered to `user@domain`.
pub const SUBADDRESS_DELIMITER: char = '+';

/// The outcome of resolving one recipient address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The domain is not local: this is relaying.
    NotLocal,
    /// The domain is local but nothing answers for this address.
    Unknown,
    /// Deliver to these local accounts and forward to these remote addresses.
    Deliver {
        local: Vec<Account>,
        remote: Vec<String>,
    },
}

impl Directory {
    /// Resolves `address` (the part inside `<...>` of RCPT TO).
    pub async fn resolve(&self, address: &str) -> Result<Resolution, StoreError> {
        let Some((lp, domain)) = address.rsplit_once('@') else {
            return Ok(Resolution::Unknown);
        };
        if let Some(srs) = &self.srs
            && srs.is_srs(lp, domain)
        {
            return self.resolve_srs(srs, lp).await;
        }
        let first = self.store.address_lookup(lp, domain).await?;
        if !first.local_domain {
            return Ok(Resolution::NotLocal);
        }
        let mut local = Vec::new();
        let mut remote = Vec::new();
        let mut seen = HashSet::new();
        seen.insert(address.to_ascii_lowercase());
        self.expand_found(address, first, 0, &mut seen, &mut local, &mut remote)
            .await?;
        if local.is_empty() && remote.is_empty() {
            return Ok(Resolution::Unknown);
        }
        Ok(Resolution::Deliver { local, remote })
    }

    /// An address of ours written by SRS: a bounce to a message we forwarded. It goes
    /// to the original sender (an address here, or elsewhere through the queue); one
    /// that does not open (forged, altered, expired) does not exist.
    async fn resolve_srs(
        &self,
        srs: &crate::srs::Srs,
        local: &str,
    ) -> Result<Resolution, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        match srs.reverse(local, now) {
            Ok(original) => {
                let is_srs_again = original
                    .rsplit_once('@')
                    .is_some_and(|(l, d)| srs.is_srs(l, d));
                if is_srs_again {
                    return Ok(Resolution::Unknown);
                }
                match Box::pin(self.resolve(&original)).await? {
                    Resolution::NotLocal => Ok(Resolution::Deliver {
                        local: Vec::new(),
                        remote: vec![original],
                    }),
                    other => Ok(other),
                }
            }
            Err(e) => {
                tracing::info!(address = %local, error = %e, "SRS address refused");
                Ok(Resolution::Unknown)
            }
        }
    }

    /// Expands one address into accounts and remote addresses.
    async fn expand(
        &self,
        address: &str,
        depth: usize,
        seen: &mut HashSet<String>,
        local: &mut Vec<Account>,
        remote: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        if depth > MAX_DEPTH || !seen.insert(address.to_ascii_lowercase()) {
            return Ok(());
        }
        let Some((lp, domain)) = address.rsplit_once('@') else {
            return Ok(());
        };
        let found = self.store.address_lookup(lp, domain).await?;
        if !found.local_domain {
            remote.push(address.to_string());
            return Ok(());
        }
        self.expand_found(address, found, depth, seen, local, remote)
            .await
    }

    /// Continues the expansion of a local address whose lookup is `found`: the account,
    /// else its aliases, else the base address of a `+tag`, else the catch-all.
    async fn expand_found(
        &self,
        address: &str,
        found: AddressLookup,
        depth: usize,
        seen: &mut HashSet<String>,
        local: &mut Vec<Account>,
        remote: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        if let Some(account) = found.account {
            if !account.disabled && !local.iter().any(|a: &Account| a.id == account.id) {
                local.push(account);
            }
            return Ok(());
        }
        if !found.aliases.is_empty() {
            for t in found.aliases {
                Box::pin(self.expand(&t, depth + 1, seen, local, remote)).await?;
            }
            return Ok(());
        }
        let (lp, domain) = address.rsplit_once('@').unwrap_or((address, ""));
        if let Some((base, _)) = lp.split_once(SUBADDRESS_DELIMITER)
            && !base.is_empty()
        {
            let base_found = self.store.address_lookup(base, domain).await?;
            if base_found.account.is_some() || !base_found.aliases.is_empty() {
                let base_address = format!("{base}@{domain}");
                return Box::pin(self.expand_found(
                    &base_address,
                    base_found,
                    depth,
                    seen,
                    local,
                    remote,
                ))
                .await;
            }
        }
        for t in found.catch_all {
            Box::pin(self.expand(&t, depth + 1, seen, local, remote)).await?;
        }
        Ok(())
    }

    /// True when `account` may use `address` as its envelope sender: its own address
    /// (with or without a +tag), or an alias whose targets include it.
    pub async fn may_send_as(&self, account: &Account, address: &str) -> Result<bool, StoreError> {
        let own = account.address();
        let Some((lp, domain)) = address.rsplit_once('@') else {
            return Ok(false);
        };
        let base = lp
            .split_once(SUBADDRESS_DELIMITER)
            .map(|(b, _)| b)
            .unwrap_or(lp);
        if format!("{base}@{domain}").eq_ignore_ascii_case(&own) {
            return Ok(true);
        }
        for candidate in [lp, base] {
            let targets = self.store.alias_targets(candidate, domain).await?;
            if targets.iter().any(|t| t.eq_ignore_ascii_case(&own)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
