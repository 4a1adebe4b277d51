//! Figures shared by every protocol's load: counts, elapsed time, rates, latency
//! percentiles, printed as one JSON object.

use std::time::Duration;

/// What a run measured.
#[derive(Debug, Default)]
pub struct Stats {
    pub sessions: u64,
    pub messages: u64,
    pub octets: u64,
    pub errors: u64,
    /// Per-operation latencies (one per message retrieved).
    pub latencies: Vec<Duration>,
    /// Time to log in, per session.
    pub logins: Vec<Duration>,
    /// Time from QUIT to the server's reply (a POP3 server commits deletions there).
    pub quits: Vec<Duration>,
}

impl Stats {
    pub fn merge(&mut self, other: Stats) {
        self.sessions += other.sessions;
        self.messages += other.messages;
        self.octets += other.octets;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
        self.logins.extend(other.logins);
        self.quits.extend(other.quits);
    }

    /// The JSON report for a run that took `elapsed`.
    pub fn report(mut self, elapsed: Duration) -> serde_json::Value {
        fn pct(v: &mut [Duration], p: f64) -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            v.sort();
            let i = ((v.len() - 1) as f64 * p).round() as usize;
            v[i].as_secs_f64() * 1000.0
        }
        let secs = elapsed.as_secs_f64().max(1e-9);
        serde_json::json!({
            "sessions": self.sessions,
            "messages": self.messages,
            "octets": self.octets,
            "errors": self.errors,
            "seconds": secs,
            "messages_per_sec": self.messages as f64 / secs,
            "mib_per_sec": self.octets as f64 / secs / (1024.0 * 1024.0),
            "latency_ms_p50": pct(&mut self.latencies, 0.50),
            "latency_ms_p99": pct(&mut self.latencies, 0.99),
            "login_ms_p50": pct(&mut self.logins, 0.50),
            "login_ms_max": pct(&mut self.logins, 1.0),
            "quit_ms_p50": pct(&mut self.quits, 0.50),
            "quit_ms_max": pct(&mut self.quits, 1.0),
        })
    }
}
