//! When to try again and when to give up: the retry schedule ("retry failed messages
//! every…"), expiry ("delete failed messages after…") and delay warnings. Pure
//! functions of the item and the current time.

use pillarbox_config::QueueSection;
use pillarbox_store::{QueueItem, RecipientResult};

/// The retry policy, from `[queue]`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Waits after the 1st, 2nd, … failed attempt; the last repeats.
    pub intervals: Vec<i64>,
    pub expire_after: i64,
    pub delay_warning_after: Option<i64>,
}

impl RetryPolicy {
    pub fn from_config(q: &QueueSection) -> RetryPolicy {
        RetryPolicy {
            intervals: q
                .retry_intervals
                .iter()
                .map(|s| s.get().as_secs() as i64)
                .collect(),
            expire_after: q.expire_after.get().as_secs() as i64,
            delay_warning_after: q.delay_warning_after.map(|s| s.get().as_secs() as i64),
        }
    }

    /// The wait after `attempts` failed attempts (1-based).
    pub fn wait_after(&self, attempts: u32) -> i64 {
        let i = (attempts.max(1) as usize - 1).min(self.intervals.len().saturating_sub(1));
        self.intervals.get(i).copied().unwrap_or(300).max(1)
    }

    /// True when the item has been in the queue past the expiry time.
    pub fn expired(&self, item: &QueueItem, now: i64) -> bool {
        now >= item.created_at + self.expire_after
    }

    /// The result of a temporary failure at `now`: another try, or expiry when the next
    /// try would come after the message expires.
    pub fn after_temporary_failure(
        &self,
        item: &QueueItem,
        now: i64,
        error: String,
    ) -> RecipientResult {
        let next = now + self.wait_after(item.attempts + 1);
        if self.expired(item, now) || next >= item.created_at + self.expire_after {
            RecipientResult::Expired { error }
        } else {
            RecipientResult::Retry {
                next_attempt: next,
                error,
            }
        }
    }

    /// True when a delay warning is due for `item` (not yet sent, old enough, and the
    /// sender asked for (or did not refuse) delay notices, RFC 3461 §4.1).
    pub fn delay_warning_due(&self, item: &QueueItem, now: i64) -> bool {
        let Some(after) = self.delay_warning_after else {
            return false;
        };
        if item.delay_warned || item.sender.is_empty() || now < item.created_at + after {
            return false;
        }
        match item.notify.as_deref() {
            None => true,
            Some(n) => n
                .to_ascii_uppercase()
                .split(',')
                .any(|x| x.trim() == "DELAY"),
        }
    }
}

/// True when the sender wants a failure notice for this recipient (RFC 3461 §4.1:
/// FAILURE is the default; NEVER suppresses) — never for the null sender.
pub fn wants_failure_notice(item: &QueueItem) -> bool {
    crate::dsn::wants_failure_notice(&item.sender, item.notify.as_deref())
}

/// True when the sender asked for a success notice.
pub fn wants_success_notice(item: &QueueItem) -> bool {
    crate::dsn::wants_success_notice(&item.sender, item.notify.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pillarbox_store::{BlobHash, QueueId};

    fn item(created: i64, attempts: u32) -> QueueItem {
        QueueItem {
            recipient_id: 1,
            trace: None,
            queue_id: QueueId(1),
            recipient: "x@y".into(),
            domain: "y".into(),
            orcpt: None,
            notify: None,
            attempts,
            delay_warned: false,
            created_at: created,
            sender: "s@example.test".into(),
            envid: None,
            ret: None,
            account: None,
            blob: BlobHash::parse(&"a".repeat(64)).unwrap(),
            size: 1,
            route: None,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            intervals: vec![60, 300, 900],
            expire_after: 3600,
            delay_warning_after: Some(600),
        }
    }

    #[test]
    fn retry_schedule_follows_the_intervals_then_repeats_the_last() {
        let p = policy();
        assert_eq!(p.wait_after(1), 60);
        assert_eq!(p.wait_after(2), 300);
        assert_eq!(p.wait_after(3), 900);
        assert_eq!(p.wait_after(10), 900);
        // A first failure at t=100 retries at 160.
        assert_eq!(
            p.after_temporary_failure(&item(100, 0), 100, "451".into()),
            RecipientResult::Retry {
                next_attempt: 160,
                error: "451".into()
            }
        );
        // The third failure waits 900 s.
        assert_eq!(
            p.after_temporary_failure(&item(0, 2), 1000, "451".into()),
            RecipientResult::Retry {
                next_attempt: 1900,
                error: "451".into()
            }
        );
    }

    #[test]
    fn expiry_when_the_next_try_would_come_too_late() {
        let p = policy();
        assert!(matches!(
            p.after_temporary_failure(&item(0, 5), 3000, "451".into()),
            RecipientResult::Expired { .. }
        ));
        assert!(p.expired(&item(0, 0), 3600));
        assert!(!p.expired(&item(0, 0), 3599));
    }

    #[test]
    fn delay_warnings_and_notify() {
        let p = policy();
        assert!(!p.delay_warning_due(&item(0, 1), 599));
        assert!(p.delay_warning_due(&item(0, 1), 600));
        let mut warned = item(0, 1);
        warned.delay_warned = true;
        assert!(!p.delay_warning_due(&warned, 700));
        let mut never = item(0, 1);
        never.notify = Some("NEVER".into());
        assert!(!p.delay_warning_due(&never, 700));
        assert!(!wants_failure_notice(&never));
        let mut null_sender = item(0, 1);
        null_sender.sender = String::new();
        assert!(!wants_failure_notice(&null_sender), "never a bounce for <>");
        assert!(!p.delay_warning_due(&null_sender, 700));
        let mut success = item(0, 1);
        success.notify = Some("SUCCESS,FAILURE".into());
        assert!(wants_success_notice(&success) && wants_failure_notice(&success));
    }
}
