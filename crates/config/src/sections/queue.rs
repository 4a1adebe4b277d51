//! `[queue]`: the outbound queue's retry schedule and expiry.

use serde::Deserialize;

use crate::types::Seconds;

/// `[queue]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSection {
    /// "Retry failed messages every…": the waits between attempts; the last one repeats.
    pub retry_intervals: Vec<Seconds>,
    /// "Delete failed messages after…": when a recipient still undelivered expires.
    pub expire_after: Seconds,
    /// Send a delay warning to the sender after this long, if set.
    pub delay_warning_after: Option<Seconds>,
    /// "Send any waiting messages immediately"; when false, only inside send windows.
    pub send_immediately: bool,
}

impl Default for QueueSection {
    fn default() -> Self {
        QueueSection {
            retry_intervals: vec![
                Seconds::mins(1),
                Seconds::mins(5),
                Seconds::mins(15),
                Seconds::mins(30),
                Seconds::mins(60),
                Seconds::mins(120),
                Seconds::mins(240),
            ],
            expire_after: Seconds::secs(5 * 24 * 3600),
            delay_warning_after: None,
            send_immediately: true,
        }
    }
}
