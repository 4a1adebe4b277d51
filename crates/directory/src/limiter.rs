//! Failed-login limits, on two levels:
//!
//! - per (client address, account): after `max_failures` failures for one login name
//!   from one address inside `window`, that name is refused from that address for
//!   `lockout`; other accounts from the same address still log in;
//! - per client address alone: after `max_per_address` failures from the address,
//!   whatever the names, every login from it is refused for `lockout`. Much higher, since
//!   a webmail or an application server speaks for many users; the caller exempts
//!   `network.trusted` from it.
//!
//! This is the node's own count; `authenticate` also keeps one in the store, which the
//! nodes of a cluster share, under [`LockKey::store_key`].
//! IPv6 clients are grouped by /64, since one host usually owns the whole prefix.
//! Time comes from tokio's clock, so tests run it under paused time; the wall-clock
//! moment a lock began is kept too, to compare with unblock requests from the CLI.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Entries kept before old ones are pruned.
const PRUNE_AT: usize = 100_000;

/// What a count (and a lock) is kept for: a client network, or a login name from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockKey {
    /// The client's address (its /64 for IPv6).
    pub source: IpAddr,
    /// The login name as given (trimmed, lower case); `None` for the address alone.
    pub account: Option<String>,
}

impl LockKey {
    /// The key for the address alone.
    pub fn address(ip: IpAddr) -> LockKey {
        LockKey {
            source: key(ip),
            account: None,
        }
    }

    /// The key for `account` from `ip`.
    pub fn pair(ip: IpAddr, account: &str) -> LockKey {
        LockKey {
            source: key(ip),
            account: Some(normalise_account(account)),
        }
    }

    /// The name under which this count is kept in the store (shared by a cluster's
    /// nodes): the address, or `address|account`.
    pub fn store_key(&self) -> String {
        match &self.account {
            None => self.source.to_string(),
            Some(a) => format!("{}|{a}", self.source),
        }
    }

    /// The inverse of [`LockKey::store_key`].
    pub fn from_store_key(s: &str) -> Option<LockKey> {
        let (ip, account) = match s.split_once('|') {
            Some((ip, a)) => (ip, Some(a.to_string())),
            None => (s, None),
        };
        Some(LockKey {
            source: ip.parse().ok()?,
            account,
        })
    }
}

impl std::fmt::Display for LockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.account {
            None => write!(f, "{}", self.source),
            Some(a) => write!(f, "{a} from {}", self.source),
        }
    }
}

/// A login name as counted: trimmed, lower case.
pub fn normalise_account(account: &str) -> String {
    account.trim().to_lowercase()
}

/// A lock in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// What is locked.
    pub key: LockKey,
    /// How long it stays locked.
    pub remaining: Duration,
    /// When (wall clock) the lock began.
    pub since: SystemTime,
}

#[derive(Debug, Default)]
struct Entry {
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
    locked_since: Option<SystemTime>,
}

/// The limits the limiter applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures per (address, account).
    pub max_failures: u32,
    /// Failures per address (0: no address-only limit).
    pub max_per_address: u32,
    /// The counting window.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
}

/// The shared failed-login limiter.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    limits: Limits,
    entries: Arc<Mutex<HashMap<LockKey, Entry>>>,
}

/// The name under which failures from `ip` are counted across the nodes of a cluster
/// (its /64 for IPv6).
pub fn source_key(ip: IpAddr) -> String {
    key(ip).to_string()
}

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
        v4 => v4,
    }
}

impl LoginLimiter {
    /// A limiter; `max_failures == 0` disables it, `max_per_address == 0` disables the
    /// address-only limit.
    pub fn new(
        max_failures: u32,
        max_per_address: u32,
        window: Duration,
        lockout: Duration,
    ) -> LoginLimiter {
        LoginLimiter {
            limits: Limits {
                max_failures,
                max_per_address,
                window,
                lockout,
            },
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The limits; `None` when the limiter is off.
    pub fn limits(&self) -> Option<Limits> {
        (self.limits.max_failures > 0).then_some(self.limits)
    }

    /// The keys a login of `account` from `ip` is counted under: the pair, then the
    /// address unless `exempt` (a trusted network) or the address limit is off.
    pub fn keys(&self, ip: IpAddr, account: &str, exempt: bool) -> Vec<(LockKey, u32)> {
        let mut keys = vec![(LockKey::pair(ip, account), self.limits.max_failures)];
        if !exempt && self.limits.max_per_address > 0 {
            keys.push((LockKey::address(ip), self.limits.max_per_address));
        }
        keys
    }

    /// `Err` while `account` is locked out from `ip`, or (unless `exempt`) `ip` is.
    pub fn check(&self, ip: IpAddr, account: &str, exempt: bool) -> Result<(), Locked> {
        if self.limits.max_failures == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(map) = self.entries.lock() else {
            return Ok(());
        };
        for (k, _) in self.keys(ip, account, exempt) {
            if let Some(e) = map.get(&k)
                && let Some(until) = e.locked_until
                && until > now
            {
                return Err(Locked {
                    remaining: until - now,
                    since: e.locked_since.unwrap_or(SystemTime::UNIX_EPOCH),
                    key: k,
                });
            }
        }
        Ok(())
    }

    /// Records a failed login of `account` from `ip`; returns the keys this failure
    /// locked.
    pub fn record_failure(&self, ip: IpAddr, account: &str, exempt: bool) -> Vec<LockKey> {
        if self.limits.max_failures == 0 {
            return Vec::new();
        }
        let now = Instant::now();
        let Ok(mut map) = self.entries.lock() else {
            return Vec::new();
        };
        let window = self.limits.window;
        if map.len() >= PRUNE_AT {
            map.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || e.failures.iter().any(|t| now - *t < window)
            });
        }
        let mut locked = Vec::new();
        for (k, max) in self.keys(ip, account, exempt) {
            let e = map.entry(k.clone()).or_default();
            e.failures.retain(|t| now - *t < window);
            e.failures.push(now);
            if e.failures.len() >= max as usize {
                e.failures.clear();
                e.locked_until = Some(now + self.limits.lockout);
                e.locked_since = Some(SystemTime::now());
                locked.push(k);
            }
        }
        locked
    }

    /// Forgets the failures of `account` from `ip` after a successful login; true when
    /// there were any. The address's own count stays: one good password from an
    /// address must not reset the count of guesses at other accounts.
    pub fn record_success(&self, ip: IpAddr, account: &str) -> bool {
        match self.entries.lock() {
            Ok(mut map) => map.remove(&LockKey::pair(ip, account)).is_some(),
            Err(_) => false,
        }
    }

    /// Lifts the lock (and forgets the count) of `key`; true when there was one.
    pub fn unblock(&self, key: &LockKey) -> bool {
        match self.entries.lock() {
            Ok(mut map) => map.remove(key).is_some(),
            Err(_) => false,
        }
    }

    /// The locks in force, with the time each has left.
    pub fn blocked(&self) -> Vec<(LockKey, Duration)> {
        let now = Instant::now();
        let Ok(map) = self.entries.lock() else {
            return Vec::new();
        };
        let mut out: Vec<_> = map
            .iter()
            .filter_map(|(k, e)| {
                let until = e.locked_until?;
                (until > now).then(|| (k.clone(), until - now))
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max: u32, per_address: u32) -> LoginLimiter {
        LoginLimiter::new(
            max,
            per_address,
            Duration::from_secs(60),
            Duration::from_secs(300),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn locks_one_account_from_one_address_and_not_others() {
        let l = limiter(3, 50);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.record_failure(a, "bob@x", false).is_empty());
        assert!(l.record_failure(a, "bob@x", false).is_empty());
        assert!(l.check(a, "bob@x", false).is_ok());
        assert_eq!(
            l.record_failure(a, " Bob@X ", false),
            vec![LockKey::pair(a, "bob@x")]
        );
        let locked = l.check(a, "BOB@x", false).unwrap_err();
        assert_eq!(locked.key, LockKey::pair(a, "bob@x"));
        // Another account from the same address, the same account from elsewhere.
        assert!(l.check(a, "alice@x", false).is_ok());
        assert!(l.check(b, "bob@x", false).is_ok());
        tokio::time::advance(Duration::from_secs(301)).await;
        assert!(l.check(a, "bob@x", false).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_address_alone_is_locked_at_the_higher_threshold() {
        let l = limiter(3, 10);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..9 {
            assert!(l.record_failure(a, &format!("user{i}@x"), false).is_empty());
        }
        assert!(l.check(a, "someone@x", false).is_ok());
        assert_eq!(
            l.record_failure(a, "user9@x", false),
            vec![LockKey::address(a)]
        );
        let locked = l.check(a, "someone@x", false).unwrap_err();
        assert_eq!(locked.key, LockKey::address(a));
        assert_eq!(
            l.blocked(),
            vec![(LockKey::address(a), Duration::from_secs(300))]
        );
        // A success for one account does not reset the address's count or lock.
        l.record_success(a, "someone@x");
        assert!(l.check(a, "someone@x", false).is_err());
        assert!(l.unblock(&LockKey::address(a)));
        assert!(l.check(a, "someone@x", false).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn exempt_addresses_are_never_locked_as_a_whole_but_accounts_are() {
        let l = limiter(3, 10);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..30 {
            l.record_failure(a, &format!("user{}@x", i % 15), true);
        }
        assert!(l.check(a, "someone@x", true).is_ok());
        for _ in 0..3 {
            l.record_failure(a, "bob@x", true);
        }
        assert!(l.check(a, "bob@x", true).is_err());
        assert!(l.check(a, "alice@x", true).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_per_address_turns_the_address_limit_off() {
        let l = limiter(3, 0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..100 {
            assert!(l.record_failure(a, &format!("u{i}"), false).is_empty());
        }
        assert!(l.check(a, "x", false).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_outside_the_window_do_not_count() {
        let l = limiter(3, 50);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        l.record_failure(a, "bob", false);
        l.record_failure(a, "bob", false);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(l.record_failure(a, "bob", false).is_empty());
        assert!(l.check(a, "bob", false).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_is_limited_per_64() {
        let l = limiter(2, 50);
        l.record_failure("2001:db8:1:2::1".parse().unwrap(), "bob", false);
        l.record_failure("2001:db8:1:2::99".parse().unwrap(), "bob", false);
        assert!(
            l.check("2001:db8:1:2:ffff::1".parse().unwrap(), "bob", false)
                .is_err()
        );
        assert!(
            l.check("2001:db8:1:3::1".parse().unwrap(), "bob", false)
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_the_accounts_failures() {
        let l = limiter(2, 50);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        l.record_failure(a, "bob", false);
        l.record_success(a, "bob");
        assert!(l.record_failure(a, "bob", false).is_empty());
    }

    #[test]
    fn store_keys_round_trip() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for k in [LockKey::address(a), LockKey::pair(a, "Bob@Example.test")] {
            assert_eq!(LockKey::from_store_key(&k.store_key()), Some(k));
        }
        assert_eq!(LockKey::address(a).store_key(), "192.0.2.1");
        assert_eq!(
            LockKey::pair(a, "Bob@Example.test").store_key(),
            "192.0.2.1|bob@example.test"
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let k = LockKey::pair(v6, "a|b");
        assert_eq!(LockKey::from_store_key(&k.store_key()), Some(k));
    }
}
