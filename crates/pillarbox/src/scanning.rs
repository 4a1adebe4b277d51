//! Content scanning as the binary wires it: the scanners of `[scan]` (shared by the
//! SMTP listeners, collection and IMAP's Junk learning) and the Junk scores the
//! delivery pipeline applies.

use std::sync::Arc;

use pillarbox_config::Config;
use pillarbox_delivery::SpamPolicy;
use pillarbox_scan::policy::Scanners;

/// The scanners `[scan]` configures (`None`: none, or a setting that does not work,
/// logged).
pub fn scanners(config: &Config) -> Option<Arc<Scanners>> {
    match Scanners::new(&config.scan, &config.server.hostname) {
        Ok(s) => s.map(Arc::new),
        Err(e) => {
            tracing::error!(error = %e, "content scanning is off");
            None
        }
    }
}

/// The scores at which scanned mail goes to Junk (`[scan]`, `[[scan.domain]]`).
pub fn spam_policy(config: &Config) -> SpamPolicy {
    let scan = &config.scan;
    SpamPolicy {
        junk_score: scan.junk_score,
        reject_score: scan.reject_score,
        domain_junk: scan
            .domain
            .iter()
            .map(|d| {
                (
                    d.name.to_ascii_lowercase(),
                    d.junk_score.unwrap_or(scan.junk_score),
                )
            })
            .collect(),
    }
}
