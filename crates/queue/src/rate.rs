//! "Batch emails per minute": spaces messages through a route evenly, at most N a
//! minute. Uses tokio's clock, so tests run it under paused time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A per-route message rate limit.
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimit {
    /// At most `per_minute` messages a minute; None when `per_minute` is 0.
    pub fn per_minute(per_minute: u32) -> Option<RateLimit> {
        (per_minute > 0).then(|| RateLimit {
            interval: Duration::from_secs(60) / per_minute,
            next: Mutex::new(None),
        })
    }

    /// Waits for this message's slot.
    pub async fn acquire(&self) {
        let slot = {
            let now = Instant::now();
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_messages_evenly() {
        let r = RateLimit::per_minute(30).unwrap();
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..4 {
            r.acquire().await;
            at.push((Instant::now() - start).as_secs());
        }
        assert_eq!(at, vec![0, 2, 4, 6]);
        assert!(RateLimit::per_minute(0).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_route_does_not_bank_slots() {
        let r = RateLimit::per_minute(60).unwrap();
        r.acquire().await;
        tokio::time::advance(Duration::from_secs(10)).await;
        let t = Instant::now();
        r.acquire().await;
        r.acquire().await;
        assert_eq!((Instant::now() - t).as_secs(), 1);
    }
}
