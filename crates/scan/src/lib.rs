//! Clients of the scanners administrators run: clamd, rspamd, any milter (pure wire
//! parsers, fuzzed), and [`policy`], which turns their verdicts into one outcome per
//! message as `[scan]` configures it.
//!
//! - [`clamd`]: ClamAV's daemon, `zINSTREAM` over TCP or a Unix socket; a verdict of
//!   clean or infected with the signature's name.
//! - [`rspamd`]: rspamd's normal worker (`POST /checkv2`) through our own small HTTP/1.1
//!   client, and its controller for learning (`/learnspam`, `/learnham`).
//! - [`milter`]: the Sendmail milter protocol, version 6, as the MTA side: the session
//!   for one message, the verdict and the modifications the milter asked for, and
//!   [`milter::apply`] to make those modifications to the message.
//!
//! The clients only report, with a [`ScanError`] whose [`ScanErrorKind`] tells an
//! unreachable scanner from a slow one and from one that answered nonsense; what to do
//! with a verdict (refuse, tempfail, tag, junk, quarantine) and with a scanner that is
//! down is [`policy`]'s, as the administrator configured it. Every network step runs under a timeout, every
//! reply is bounded in size, and no input makes any of it panic. The pure parsers
//! (`clamd::parse_reply`, `rspamd::parse_response`, `rspamd::parse_check`,
//! `milter::decode`, `milter::Reply::parse`, `milter::apply`) are fuzzed
//! (`fuzz/fuzz_targets/clamd_reply.rs`, `rspamd_response.rs`, `milter_packets.rs`).
//!
//! We wrote these clients ourselves instead of using the crates of the same names:
//! see `STACK-NEXT.md` (the rspamd crate forces aws-lc-rs or OpenSSL, the milter crate
//! hangs against rspamd and lacks `SMFIR_ACCEPT`).

pub mod clamd;
mod endpoint;
mod error;
pub mod milter;
pub mod policy;
pub mod rspamd;
#[cfg(test)]
mod test_peer;

pub use clamd::{Clamd, VirusVerdict};
pub use endpoint::{Conn, Endpoint, InvalidEndpoint};
pub use error::{ScanError, ScanErrorKind};
pub use milter::{HeaderEdit, Milter, MilterAction, MilterRequest, MilterResult};
pub use rspamd::{Action, CheckReply, CheckRequest, Rspamd};
