//! Pure rules both engines apply the same way, kept apart so the two SQL trees stay
//! mirrors of each other without copying logic: splitting an address, merging IMAP
//! keywords on STORE, the next Sieve generation, the METADATA entry limit.

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

/// Whether setting `changes` over a scope holding `names` would add an entry and
/// leave more than `max` (RFC 5464 §4.3 `[METADATA TOOMANY]`). Names compare
/// case-insensitively (RFC 5464 §3.2).
pub(crate) fn metadata_too_many(
    names: &[String],
    changes: &[(String, Option<Vec<u8>>)],
    max: usize,
) -> bool {
    let mut after: std::collections::BTreeSet<String> =
        names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let mut added = false;
    for (name, value) in changes {
        let name = name.to_ascii_lowercase();
        if value.is_some() {
            added |= after.insert(name);
        } else {
            after.remove(&name);
        }
    }
    added && after.len() > max
}

/// A new `accounts.sieve_generation` for an account whose active script changed: the
/// time in microseconds (the SQL keeps the larger of it and the last value plus one).
pub(crate) fn next_sieve_generation() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Greylisting: the new `(first_seen, last_seen, passes)` of a triplet seen again at
/// `now` (`None`: never seen), and whether this attempt passes (`Err(retry_in)`: not
/// yet). A triplet first seen longer than the retry window ago, or accepted last longer
/// than `remember` ago, starts over.
pub(crate) fn greylist_step(
    row: Option<(i64, i64, i64)>,
    p: crate::api::GreylistPolicy,
    now: i64,
) -> ((i64, i64, i64), std::result::Result<(), i64>) {
    match row {
        Some((first, last, passes))
            if (passes == 0 && now - first <= p.retry_window)
                || (passes > 0 && now - last <= p.remember) =>
        {
            if passes == 0 && now - first < p.delay {
                ((first, now, 0), Err(p.delay - (now - first)))
            } else {
                ((first, now, passes + 1), Ok(()))
            }
        }
        _ if p.delay <= 0 => ((now, now, 1), Ok(())),
        _ => ((now, now, 0), Err(p.delay)),
    }
}
