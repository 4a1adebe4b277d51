//! The outbound queue: everything that leaves Pillarbox goes through it.
//!
//! Remote recipients are written to the queue tables by the delivery pipeline (in the
//! same transaction that accepted the message). The runner (`runner`) wakes exactly when
//! the next recipient is due (or when the store announces new work), leases due
//! recipients, groups them by route and destination, and hands each group to a delivery
//! task (`deliver`) that connects once and sends every message of the group. Results go
//! back to the store; permanent failures, expiry and (optionally) delays produce RFC
//! 3464 notices (`dsn`) that go out through the same pipeline. Routes (`route`) come
//! from `[[queue.route]]`/`[[queue.rule]]`; MX lookups (`mx`) use the configured
//! nameservers; schedules, windows and rates are decided by pure code over an injectable
//! clock (`clock`, `schedule`, `rate`).
//!
//! This crate contains no SQL and speaks SMTP only through `pillarbox-client`.

pub mod clock;
pub mod dsn;
pub mod mx;
pub mod rate;
pub mod route;
pub mod schedule;
