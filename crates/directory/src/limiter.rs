//! Failed-login limits per client address. After `max_failures` failures inside
//! `window`, the address is refused for `lockout`; other addresses are unaffected.
//! This is the node's own count; `authenticate` also keeps one in the store, which the
//! nodes of a cluster share.
//! IPv6 clients are grouped by /64, since one host usually owns the whole prefix.
//! Time comes from tokio's clock, so tests run it under paused time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Entries kept before old ones are pruned.
const PRUNE_AT: usize = 100_000;

#[derive(Debug, Default)]
struct Entry {
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
}

/// The shared failed-login limiter.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    entries: Arc<Mutex<HashMap<IpAddr, Entry>>>,
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
    /// A limiter; `max_failures == 0` disables it.
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> LoginLimiter {
        LoginLimiter {
            max_failures,
            window,
            lockout,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The limits: (failures, window, lockout); `None` when the limiter is off.
    pub fn limits(&self) -> Option<(u32, Duration, Duration)> {
        (self.max_failures > 0).then_some((self.max_failures, self.window, self.lockout))
    }

    /// `Err(remaining)` while `ip` is locked out.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(map) = self.entries.lock() else {
            return Ok(());
        };
        match map.get(&key(ip)).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login from `ip`; returns true when this failure locked it out.
    pub fn record_failure(&self, ip: IpAddr) -> bool {
        if self.max_failures == 0 {
            return false;
        }
        let now = Instant::now();
        let Ok(mut map) = self.entries.lock() else {
            return false;
        };
        if map.len() >= PRUNE_AT {
            let window = self.window;
            map.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || e.failures.iter().any(|t| now - *t < window)
            });
        }
        let e = map.entry(key(ip)).or_default();
        e.failures.retain(|t| now - *t < self.window);
        e.failures.push(now);
        if e.failures.len() >= self.max_failures as usize {
            e.failures.clear();
            e.locked_until = Some(now + self.lockout);
            return true;
        }
        false
    }

    /// Forgets the failures of `ip` after a successful login; true when there were any.
    pub fn record_success(&self, ip: IpAddr) -> bool {
        match self.entries.lock() {
            Ok(mut map) => map.remove(&key(ip)).is_some(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn locks_one_address_after_max_failures_and_not_others() {
        let l = LoginLimiter::new(3, Duration::from_secs(60), Duration::from_secs(300));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(!l.record_failure(a));
        assert!(!l.record_failure(a));
        assert!(l.check(a).is_ok());
        assert!(l.record_failure(a));
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok());
        tokio::time::advance(Duration::from_secs(301)).await;
        assert!(l.check(a).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_outside_the_window_do_not_count() {
        let l = LoginLimiter::new(3, Duration::from_secs(60), Duration::from_secs(300));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        l.record_failure(a);
        l.record_failure(a);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!l.record_failure(a));
        assert!(l.check(a).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_is_limited_per_64() {
        let l = LoginLimiter::new(2, Duration::from_secs(60), Duration::from_secs(300));
        l.record_failure("2001:db8:1:2::1".parse().unwrap());
        l.record_failure("2001:db8:1:2::99".parse().unwrap());
        assert!(l.check("2001:db8:1:2:ffff::1".parse().unwrap()).is_err());
        assert!(l.check("2001:db8:1:3::1".parse().unwrap()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_failures() {
        let l = LoginLimiter::new(2, Duration::from_secs(60), Duration::from_secs(300));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        l.record_failure(a);
        l.record_success(a);
        assert!(!l.record_failure(a));
    }
}
