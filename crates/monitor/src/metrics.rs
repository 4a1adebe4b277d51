//! Prometheus metrics in the text exposition format (version 0.0.4): the counters
//! since start as `pillarbox_<name>_total` (a `domain` label for the per-domain ones),
//! and the gauges the caller measures at scrape time (queue, sessions, certificate,
//! store latency). Names and units follow Prometheus' conventions: snake case, the
//! `_total` suffix for counters, base units (seconds, bytes).

use std::fmt::Write;

/// One sample measured at scrape time: a gauge, or a counter kept elsewhere.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub help: String,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Metric {
    pub fn gauge(name: &str, help: &str, value: f64) -> Metric {
        Metric {
            name: name.to_string(),
            help: help.to_string(),
            kind: "gauge",
            labels: Vec::new(),
            value,
        }
    }

    /// A counter (its name ends in `_total`).
    pub fn counter(name: &str, help: &str, value: f64) -> Metric {
        Metric {
            kind: "counter",
            ..Metric::gauge(name, help, value)
        }
    }

    pub fn label(mut self, k: &str, v: &str) -> Metric {
        self.labels.push((k.to_string(), v.to_string()));
        self
    }
}

/// Counters shown from the start, at zero until something happens, so that `rate()`
/// and alert rules have a series to work on.
const ALWAYS: &[&str] = &[
    "received",
    "bytes.received",
    "accepted",
    "delivered.local",
    "relayed",
    "deferred",
    "bounced",
    "collected",
    "login.ok.imap",
    "login.ok.pop3",
    "login.ok.submission",
    "login.failed.imap",
    "login.failed.pop3",
    "login.failed.submission",
];

/// The metric family and labels of a counter: `rejected.5.7.1` is
/// `pillarbox_smtp_rejected_total{status="5.7.1"}`, `login.failed.imap` is
/// `pillarbox_login_failed_total{protocol="imap"}`, `bytes.received` is
/// `pillarbox_received_bytes_total`, anything else `pillarbox_<name>_total`.
fn family(counter: &str) -> (String, Vec<(String, String)>) {
    if let Some(status) = counter.strip_prefix("rejected.") {
        return (
            "pillarbox_smtp_rejected_total".into(),
            vec![("status".into(), status.into())],
        );
    }
    for prefix in ["login.ok.", "login.failed."] {
        if let Some(protocol) = counter.strip_prefix(prefix) {
            return (
                format!(
                    "pillarbox_{}_total",
                    metric_name(&prefix[..prefix.len() - 1])
                ),
                vec![("protocol".into(), protocol.into())],
            );
        }
    }
    if let Some(what) = counter.strip_prefix("bytes.") {
        return (
            format!("pillarbox_{}_bytes_total", metric_name(what)),
            Vec::new(),
        );
    }
    (
        format!("pillarbox_{}_total", metric_name(counter)),
        Vec::new(),
    )
}

/// A metric name from a counter name (`delivered.local` → `delivered_local`).
fn metric_name(counter: &str) -> String {
    counter
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A label value, escaped as the format asks (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(l: &[(String, String)]) -> String {
    if l.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// One counter sample: its family, the counter it came from, labels, value.
type Sample = (String, String, Vec<(String, String)>, u64);

/// The exposition text for `counters` (name, domain, total), `timings` (name, sum of
/// seconds, count; as summaries) and the `measured` samples.
pub fn render(
    counters: &[(String, String, u64)],
    timings: &[(String, f64, u64)],
    measured: &[Metric],
) -> String {
    let mut out = String::new();
    for (name, sum, count) in timings {
        let m = format!("pillarbox_{}_seconds", metric_name(name));
        let _ = writeln!(out, "# HELP {m} Time taken by {}.", name.replace('.', " "));
        let _ = writeln!(out, "# TYPE {m} summary");
        let _ = writeln!(out, "{m}_sum {sum}");
        let _ = writeln!(out, "{m}_count {count}");
    }
    // Counters grouped by family (each family's HELP and TYPE once).
    let mut samples: Vec<Sample> = ALWAYS
        .iter()
        .filter(|a| !counters.iter().any(|(n, d, _)| n == *a && d.is_empty()))
        .map(|a| {
            let (f, l) = family(a);
            (f, a.to_string(), l, 0)
        })
        .collect();
    for (name, domain, v) in counters {
        let (f, mut l) = family(name);
        if !domain.is_empty() {
            l.push(("domain".into(), domain.clone()));
        }
        samples.push((f, name.clone(), l, *v));
    }
    samples.sort();
    let mut last = String::new();
    for (f, name, l, v) in &samples {
        if *f != last {
            let what = name.split('.').take(2).collect::<Vec<_>>().join(" ");
            let what = what.strip_prefix("rejected").map_or(what.clone(), |_| {
                "SMTP commands refused, by enhanced status".to_string()
            });
            let _ = writeln!(out, "# HELP {f} {what} since the server started.");
            let _ = writeln!(out, "# TYPE {f} counter");
            last = f.clone();
        }
        let _ = writeln!(out, "{f}{} {v}", labels(l));
    }
    let mut last = String::new();
    for g in measured {
        if g.name != last {
            let _ = writeln!(out, "# HELP {} {}", g.name, g.help);
            let _ = writeln!(out, "# TYPE {} {}", g.name, g.kind);
            last = g.name.clone();
        }
        let _ = writeln!(out, "{}{} {}", g.name, labels(&g.labels), g.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_in_the_text_format() {
        let text = render(
            &[
                ("login.failed.imap".into(), "".into(), 3),
                ("login.failed.pop3".into(), "".into(), 1),
                ("received".into(), "".into(), 5),
                ("received".into(), "ex\"ample.test".into(), 2),
                ("rejected.5.7.1".into(), "".into(), 4),
            ],
            &[("store.deliver".into(), 0.5, 2)],
            &[
                Metric::gauge("pillarbox_queue_recipients", "Recipients waiting.", 4.0),
                Metric::counter("pillarbox_store_commits_total", "Commits.", 9.0),
            ],
        );
        assert!(text.contains(
            "# TYPE pillarbox_login_failed_total counter\n\
             pillarbox_login_failed_total{protocol=\"imap\"} 3\n\
             pillarbox_login_failed_total{protocol=\"pop3\"} 1\n"
        ));
        assert!(text.contains("pillarbox_received_total 5\n"));
        assert!(text.contains("pillarbox_received_total{domain=\"ex\\\"ample.test\"} 2\n"));
        assert_eq!(text.matches("# TYPE pillarbox_received_total").count(), 1);
        assert!(text.contains("pillarbox_smtp_rejected_total{status=\"5.7.1\"} 4\n"));
        // Counters nothing has touched yet are there, at zero.
        assert!(text.contains("pillarbox_bounced_total 0\n"));
        assert!(text.contains("pillarbox_received_bytes_total 0\n"));
        assert!(
            text.contains(
                "# TYPE pillarbox_queue_recipients gauge\npillarbox_queue_recipients 4\n"
            )
        );
        assert!(text.contains("# TYPE pillarbox_store_commits_total counter\n"));
        assert!(text.contains(
            "pillarbox_store_deliver_seconds_sum 0.5\npillarbox_store_deliver_seconds_count 2\n"
        ));
    }
}
