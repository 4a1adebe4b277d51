//! "Batch emails per minute": spaces messages through a route evenly, at most N a
//! minute, across every node sharing the store (the store hands out the slots; see
//! `Store::pace`).

use std::time::Duration;

use pillarbox_store::Store;

/// A per-route message rate limit.
#[derive(Debug)]
pub struct RateLimit {
    key: String,
    interval: Duration,
}

impl RateLimit {
    /// At most `per_minute` messages a minute through `route`; None when `per_minute`
    /// is 0.
    pub fn per_minute(route: &str, per_minute: u32) -> Option<RateLimit> {
        (per_minute > 0).then(|| RateLimit {
            key: format!("route:{route}"),
            interval: Duration::from_secs(60) / per_minute,
        })
    }

    /// The spacing between two messages.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for this message's slot. When the store cannot be asked, the message
    /// waits one interval, so a limit is never exceeded for lack of an answer.
    pub async fn acquire(&self, store: &Store) {
        let wait = match store.pace(&self.key, self.interval).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "queue: cannot pace through the store");
                self.interval
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_follows_the_limit() {
        assert_eq!(
            RateLimit::per_minute("r", 30).unwrap().interval(),
            Duration::from_secs(2)
        );
        assert!(RateLimit::per_minute("r", 0).is_none());
    }

    #[tokio::test]
    async fn messages_are_spaced_evenly_and_idle_routes_bank_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), pillarbox_store::Role::Server).unwrap();
        let step = Duration::from_secs(2);
        let waits: Vec<Duration> = [
            store.pace("route:r", step).await.unwrap(),
            store.pace("route:r", step).await.unwrap(),
            store.pace("route:r", step).await.unwrap(),
        ]
        .to_vec();
        // Each slot is one interval after the previous one (allowing for the
        // milliseconds the calls take).
        assert_eq!(waits[0], Duration::ZERO);
        assert!(waits[1] > Duration::from_millis(1900) && waits[1] <= step);
        assert!(waits[2] > Duration::from_millis(3900) && waits[2] <= step * 2);
        // Another route is not held up.
        assert_eq!(store.pace("route:s", step).await.unwrap(), Duration::ZERO);
    }
}
