//! Pure rules both engines apply the same way, kept apart so the two SQL trees stay
//! mirrors of each other without copying logic: splitting an address, merging IMAP
//! keywords on STORE, the next Sieve generation.

use crate::error::{Result, StoreError};
use crate::types::FlagOp;

/// Splits `local@domain` at the last `@`.
pub(crate) fn split_address(address: &str) -> Result<(&str, &str)> {
    match address.rsplit_once('@') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() => Ok((l, d)),
        _ => Err(StoreError::Conflict(format!(
            "{address:?} is not an address of the form user@domain"
        ))),
    }
}

/// The keywords after a STORE: `given` added to, removed from, or replacing
/// `current` (space separated, compared without regard to case, order kept).
pub(crate) fn merge_keywords(current: &str, op: FlagOp, given: &[String]) -> String {
    let mut kws: Vec<&str> = match op {
        FlagOp::Replace => Vec::new(),
        _ => current.split(' ').filter(|k| !k.is_empty()).collect(),
    };
    match op {
        FlagOp::Add | FlagOp::Replace => {
            for k in given {
                if !kws.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                    kws.push(k);
                }
            }
        }
        FlagOp::Remove => kws.retain(|x| !given.iter().any(|k| k.eq_ignore_ascii_case(x))),
    }
    kws.join(" ")
}

/// A new `accounts.sieve_generation` for an account whose active script changed: the
/// time in microseconds (the SQL keeps the larger of it and the last value plus one).
pub(crate) fn next_sieve_generation() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
