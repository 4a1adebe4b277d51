//! Counters: added to in memory by the services (a lock and a map update, nothing
//! else), taken by the writer on every flush and added to the store's minute, hour and
//! day buckets; the totals since start stay in memory for `/metrics`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The counters of this process. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    inner: Arc<Mutex<State>>,
}

/// Values by name, then by domain: looked up by `&str` without allocating, so a
/// counter already seen costs a lock and two hash lookups.
type Values = HashMap<String, HashMap<String, u64>>;

fn bump(map: &mut Values, name: &str, domain: &str, n: u64) {
    let by_domain = match map.get_mut(name) {
        Some(m) => m,
        None => map.entry(name.to_string()).or_default(),
    };
    match by_domain.get_mut(domain) {
        Some(v) => *v += n,
        None => {
            by_domain.insert(domain.to_string(), n);
        }
    }
}

fn flatten(map: impl IntoIterator<Item = (String, HashMap<String, u64>)>) -> Vec<Key3> {
    map.into_iter()
        .flat_map(|(n, ds)| ds.into_iter().map(move |(d, v)| (n.clone(), d, v)))
        .collect()
}

/// (name, domain, value).
type Key3 = (String, String, u64);

#[derive(Debug, Default)]
struct State {
    /// Added since the last flush.
    pending: Values,
    /// Since start.
    totals: Values,
    /// Durations observed since start: sum of seconds and count, by name.
    timings: HashMap<String, (f64, u64)>,
}

impl Counters {
    /// Adds `n` to `name` in total and, when given, for `domain`.
    pub fn add(&self, name: &str, domain: Option<&str>, n: u64) {
        let Ok(mut s) = self.inner.lock() else { return };
        let s = &mut *s;
        bump(&mut s.pending, name, "", n);
        bump(&mut s.totals, name, "", n);
        if let Some(d) = domain.filter(|d| !d.is_empty()) {
            if d.bytes().any(|b| b.is_ascii_uppercase()) {
                let d = d.to_ascii_lowercase();
                bump(&mut s.pending, name, &d, n);
                bump(&mut s.totals, name, &d, n);
            } else {
                bump(&mut s.pending, name, d, n);
                bump(&mut s.totals, name, d, n);
            }
        }
    }

    /// What was added since the last call.
    pub(crate) fn take(&self) -> Vec<(String, String, u64)> {
        let Ok(mut s) = self.inner.lock() else {
            return Vec::new();
        };
        flatten(std::mem::take(&mut s.pending))
    }

    /// Puts back what a failed flush took.
    pub(crate) fn restore(&self, taken: Vec<(String, String, u64)>) {
        if let Ok(mut s) = self.inner.lock() {
            for (n, d, v) in taken {
                bump(&mut s.pending, &n, &d, v);
            }
        }
    }

    /// Every counter's total since start: (name, domain, value), sorted.
    pub fn totals(&self) -> Vec<(String, String, u64)> {
        let Ok(s) = self.inner.lock() else {
            return Vec::new();
        };
        let mut all = flatten(s.totals.clone());
        all.sort();
        all
    }

    /// Records one duration of `name` (e.g. a store write).
    pub fn observe(&self, name: &str, seconds: f64) {
        if let Ok(mut s) = self.inner.lock() {
            let t = match s.timings.get_mut(name) {
                Some(t) => t,
                None => s.timings.entry(name.to_string()).or_default(),
            };
            t.0 += seconds;
            t.1 += 1;
        }
    }

    /// Every duration's sum and count since start, sorted by name.
    pub fn timings(&self) -> Vec<(String, f64, u64)> {
        let Ok(s) = self.inner.lock() else {
            return Vec::new();
        };
        let mut all: Vec<_> = s
            .timings
            .iter()
            .map(|(n, (sum, c))| (n.clone(), *sum, *c))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// One counter's total since start.
    pub fn total(&self, name: &str) -> u64 {
        self.inner
            .lock()
            .ok()
            .and_then(|s| s.totals.get(name).and_then(|d| d.get("")).copied())
            .unwrap_or(0)
    }
}
