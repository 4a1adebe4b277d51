//! Graceful shutdown: one token every listener and long-lived session (IMAP IDLE,
//! collectors, the queue) watches, and a tracker of running sessions to wait for.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The drain token and the set of running sessions.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A fresh, not yet triggered shutdown.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// The token sessions watch; cancelled when shutdown begins.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Tracks `fut` as a running session.
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(fut)
    }

    /// Stops accepting, tells sessions to finish, and waits up to `grace` for them.
    /// Returns the number of sessions still running at the deadline.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.token.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            return self.tracker.len();
        }
        0
    }
}
