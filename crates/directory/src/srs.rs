//! The Sender Rewriting Scheme: mail we forward (an alias pointing outside, a Sieve
//! redirect) leaves with an envelope sender in our own domain, so the next server's
//! SPF check sees our address, not a domain that never authorised us; a bounce to that
//! address comes back to us and is sent on to the original sender.
//!
//! The formats are the usual ones (Shevek's SRS, as Postfix's postsrsd and libsrs2
//! write them):
//!
//! - `SRS0=HHHHHH=TT=orig-domain=orig-local@ours` for a sender from elsewhere;
//! - `SRS1=HHHHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@ours` for a sender
//!   another forwarder already rewrote (its `SRS0` part is kept, so a bounce goes back
//!   through it, and only it can open that part).
//!
//! `HHHHHH` is an HMAC-SHA256 under our secret key, truncated to 30 bits and written in
//! base32 (mail systems may change the case of a local part: base32 survives it); `TT`
//! is the day (modulo 1024) in base32, so an address stops working after
//! `max_age_days`. Pure: no I/O.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Hash characters (6 × 5 = 30 bits).
const HASH_LEN: usize = 6;

/// Why an SRS address does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrsError {
    #[error("not an SRS address")]
    NotSrs,
    #[error("malformed SRS address")]
    Malformed,
    #[error("SRS hash does not match (forged or altered)")]
    BadHash,
    #[error("SRS address has expired")]
    Expired,
}

/// Rewrites and reverses SRS addresses for one domain under one key.
#[derive(Clone)]
pub struct Srs {
    key: Vec<u8>,
    domain: String,
    max_age_days: i64,
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Srs")
            .field("domain", &self.domain)
            .field("max_age_days", &self.max_age_days)
            .finish_non_exhaustive()
    }
}

impl Srs {
    /// A rewriter for addresses `…@domain` under `key`, valid `max_age_days`.
    pub fn new(key: &[u8], domain: &str, max_age_days: u32) -> Srs {
        Srs {
            key: key.to_vec(),
            domain: domain.to_ascii_lowercase(),
            max_age_days: i64::from(max_age_days.clamp(1, 1000)),
        }
    }

    /// The domain of the addresses this writes.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The envelope sender to use when forwarding mail from `sender` at time `now`
    /// (seconds since the epoch). The null sender and our own SRS addresses stay as
    /// they are.
    pub fn forward(&self, sender: &str, now: i64) -> String {
        let Some((local, domain)) = sender.rsplit_once('@') else {
            return sender.to_string();
        };
        if local.is_empty() || domain.is_empty() || domain.eq_ignore_ascii_case(&self.domain) {
            return sender.to_string();
        }
        if let Some(rest) = strip_tag(local, "SRS0") {
            // Another forwarder's SRS0: wrap it, keeping its part for it to open.
            let h = self.hash(&[domain, rest]);
            return format!("SRS1={h}={domain}={rest}@{}", self.domain);
        }
        if let Some(rest) = strip_tag(local, "SRS1") {
            // An SRS1 already: keep its first forwarder and what it holds.
            if let Some((_, tail)) = rest.trim_start_matches('=').split_once('=')
                && let Some((first, inner)) = tail.split_once('=')
            {
                let h = self.hash(&[first, inner]);
                return format!("SRS1={h}={first}={inner}@{}", self.domain);
            }
        }
        let ts = timestamp(now);
        let h = self.hash(&[&ts, domain, local]);
        format!("SRS0={h}={ts}={domain}={local}@{}", self.domain)
    }

    /// Whether `local@domain` looks like one of our SRS addresses (it may still be
    /// forged: [`Srs::reverse`] says).
    pub fn is_srs(&self, local: &str, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.domain)
            && (strip_tag(local, "SRS0").is_some() || strip_tag(local, "SRS1").is_some())
    }

    /// The address a bounce to our SRS address `local@…` must go to at `now`.
    pub fn reverse(&self, local: &str, now: i64) -> Result<String, SrsError> {
        if let Some(rest) = strip_tag(local, "SRS0") {
            let rest = rest.strip_prefix('=').ok_or(SrsError::Malformed)?;
            let mut parts = rest.splitn(4, '=');
            let (Some(h), Some(ts), Some(domain), Some(orig)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(SrsError::Malformed);
            };
            if domain.is_empty() || orig.is_empty() || ts.len() != 2 {
                return Err(SrsError::Malformed);
            }
            self.check(h, &[ts, domain, orig])?;
            let day = decode_timestamp(ts).ok_or(SrsError::Malformed)?;
            let today = day_number(now);
            if (today - day).rem_euclid(1024) > self.max_age_days {
                return Err(SrsError::Expired);
            }
            return Ok(format!("{orig}@{domain}"));
        }
        if let Some(rest) = strip_tag(local, "SRS1") {
            let rest = rest.strip_prefix('=').ok_or(SrsError::Malformed)?;
            let mut parts = rest.splitn(3, '=');
            let (Some(h), Some(first), Some(inner)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(SrsError::Malformed);
            };
            if first.is_empty() || !inner.starts_with(['=', '+', '-']) {
                return Err(SrsError::Malformed);
            }
            self.check(h, &[first, inner])?;
            return Ok(format!("SRS0{inner}@{first}"));
        }
        Err(SrsError::NotSrs)
    }

    fn check(&self, given: &str, fields: &[&str]) -> Result<(), SrsError> {
        let want = self.hash(fields);
        let given = given.to_ascii_uppercase();
        if given.len() == want.len()
            && subtle::ConstantTimeEq::ct_eq(given.as_bytes(), want.as_bytes()).into()
        {
            Ok(())
        } else {
            Err(SrsError::BadHash)
        }
    }

    /// The hash of `fields` (lower-cased, separated), base32, [`HASH_LEN`] characters.
    fn hash(&self, fields: &[&str]) -> String {
        // HMAC takes a key of any length: this never fails.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            return "A".repeat(HASH_LEN);
        };
        for f in fields {
            mac.update(f.to_ascii_lowercase().as_bytes());
            mac.update(b"\0");
        }
        let digest = mac.finalize().into_bytes();
        let bits = u64::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        (0..HASH_LEN)
            .map(|i| BASE32[((bits >> (59 - 5 * i)) & 31) as usize] as char)
            .collect()
    }
}

/// `local` after its `TAG` prefix (any case), when the tag is followed by `=`, `+` or
/// `-` (the separators implementations use); the separator is kept.
fn strip_tag<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    let head = local.get(..tag.len())?;
    let rest = &local[tag.len()..];
    (head.eq_ignore_ascii_case(tag) && rest.starts_with(['=', '+', '-'])).then_some(rest)
}

fn day_number(now: i64) -> i64 {
    now.div_euclid(86_400)
}

/// Today modulo 1024 in two base32 characters.
fn timestamp(now: i64) -> String {
    let d = day_number(now).rem_euclid(1024) as usize;
    let mut s = String::with_capacity(2);
    s.push(BASE32[d >> 5] as char);
    s.push(BASE32[d & 31] as char);
    s
}

fn decode_timestamp(ts: &str) -> Option<i64> {
    let value = |c: u8| {
        BASE32
            .iter()
            .position(|&b| b == c.to_ascii_uppercase())
            .map(|p| p as i64)
    };
    let b = ts.as_bytes();
    Some(value(*b.first()?)? * 32 + value(*b.get(1)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;

    fn srs() -> Srs {
        Srs::new(b"0123456789abcdef", "fwd.example", 21)
    }

    #[test]
    fn srs0_round_trip_and_case_insensitive() {
        let s = srs();
        let a = s.forward("Alice.Smith@Remote.example", NOW);
        assert!(a.starts_with("SRS0=") && a.ends_with("@fwd.example"), "{a}");
        let local = a.rsplit_once('@').unwrap().0;
        assert!(s.is_srs(local, "FWD.example"));
        assert_eq!(s.reverse(local, NOW).unwrap(), "Alice.Smith@Remote.example");
        assert_eq!(
            s.reverse(&local.to_ascii_lowercase(), NOW).unwrap(),
            "alice.smith@remote.example"
        );
        // Within the age, not after it.
        assert!(s.reverse(local, NOW + 20 * 86_400).is_ok());
        assert_eq!(s.reverse(local, NOW + 30 * 86_400), Err(SrsError::Expired));
    }

    #[test]
    fn forged_and_malformed_addresses_are_refused() {
        let s = srs();
        assert_eq!(
            s.reverse("SRS0=AAAAAA=AB=remote.example=alice", NOW),
            Err(SrsError::BadHash)
        );
        let other = Srs::new(b"another key", "fwd.example", 21);
        let a = other.forward("alice@remote.example", NOW);
        assert_eq!(
            s.reverse(a.rsplit_once('@').unwrap().0, NOW),
            Err(SrsError::BadHash)
        );
        assert_eq!(s.reverse("SRS0=x", NOW), Err(SrsError::Malformed));
        assert_eq!(s.reverse("alice", NOW), Err(SrsError::NotSrs));
        assert_eq!(
            s.reverse("SRS1=ABCDEF=x.example=y", NOW),
            Err(SrsError::Malformed)
        );
    }

    #[test]
    fn another_forwarders_srs0_becomes_srs1_and_opens_to_it() {
        let first = Srs::new(b"first", "first.example", 21);
        let s = srs();
        let a = first.forward("alice@remote.example", NOW);
        let b = s.forward(&a, NOW);
        assert!(
            b.starts_with("SRS1=") && b.contains("=first.example=="),
            "{b}"
        );
        let back = s.reverse(b.rsplit_once('@').unwrap().0, NOW).unwrap();
        assert_eq!(back, a, "the bounce goes back to the first forwarder");
        // And an SRS1 forwarded again keeps its first forwarder.
        let third = Srs::new(b"third", "third.example", 21);
        let c = third.forward(&b, NOW);
        assert!(c.contains("=first.example=="), "{c}");
        assert_eq!(
            third.reverse(c.rsplit_once('@').unwrap().0, NOW).unwrap(),
            a
        );
    }

    #[test]
    fn null_sender_and_our_own_addresses_stay() {
        let s = srs();
        assert_eq!(s.forward("", NOW), "");
        assert_eq!(s.forward("bob@fwd.example", NOW), "bob@fwd.example");
        assert_eq!(s.forward("nodomain", NOW), "nodomain");
    }
}
