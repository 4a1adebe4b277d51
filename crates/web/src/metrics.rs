//! `/metrics` for Prometheus, on a listener of its own (`[listen] metrics`, 127.0.0.1
//! by default), optionally behind a bearer token (`[monitor] metrics_token`, compared
//! in constant time): the monitor's counters and timings since start, and gauges read
//! at scrape time (the queue, open sessions, the certificate's expiry, the data
//! directory's free space, records the monitor had to drop).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pillarbox_monitor::Monitor;
use pillarbox_monitor::metrics::{Metric, render};
use pillarbox_net::Connection;
use pillarbox_store::Store;

struct Inner {
    store: Store,
    monitor: Monitor,
    token: Option<String>,
    certificate_not_after: Arc<AtomicI64>,
    data_dir: PathBuf,
}

/// The metrics endpoint.
#[derive(Clone)]
pub struct MetricsService {
    router: Router,
}

impl MetricsService {
    pub fn new(
        store: Store,
        monitor: Monitor,
        token: Option<String>,
        certificate_not_after: Arc<AtomicI64>,
        data_dir: PathBuf,
    ) -> MetricsService {
        let state = Arc::new(Inner {
            store,
            monitor,
            token,
            certificate_not_after,
            data_dir,
        });
        let router = Router::new()
            .route("/metrics", get(metrics))
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
            .with_state(state);
        MetricsService { router }
    }

    /// Serves one connection.
    pub async fn handle(&self, conn: Connection) {
        crate::serve_connection(self.router.clone(), conn).await;
    }
}

fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some(token) = &inner.token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let a = ring::digest::digest(&ring::digest::SHA256, given.as_bytes());
    let b = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    // Equal-length digests, compared without an early exit.
    a.as_ref()
        .iter()
        .zip(b.as_ref())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn metrics(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if !authorised(&inner, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is needed\n",
        )
            .into_response();
    }
    let m = &inner.monitor;
    let mut gauges = Vec::new();
    let now = pillarbox_monitor::now_ms() / 1000;
    if let Ok(n) = inner.store.queue_pending_count().await {
        gauges.push(Metric::gauge(
            "pillarbox_queue_recipients",
            "Recipients waiting in the outbound queue.",
            n as f64,
        ));
    }
    if let Ok(oldest) = inner.store.queue_oldest().await {
        gauges.push(Metric::gauge(
            "pillarbox_queue_oldest_age_seconds",
            "Age of the oldest message waiting in the queue.",
            oldest.map_or(0, |t| (now - t).max(0)) as f64,
        ));
    }
    if let Some(s) = m.sessions() {
        let counts = s.counts();
        for protocol in ["http", "imap", "pop3", "smtp"] {
            let n = counts
                .iter()
                .find(|(p, _)| *p == protocol)
                .map_or(0, |c| c.1);
            gauges.push(
                Metric::gauge("pillarbox_sessions", "Open sessions by protocol.", n as f64)
                    .label("protocol", protocol),
            );
        }
    }
    let not_after = inner.certificate_not_after.load(Ordering::Relaxed);
    if not_after > 0 {
        gauges.push(Metric::gauge(
            "pillarbox_tls_certificate_expiry_timestamp_seconds",
            "When the server certificate expires (Unix time).",
            not_after as f64,
        ));
    }
    if let Some((avail, size)) = pillarbox_monitor::disk_space(&inner.data_dir) {
        gauges.push(Metric::gauge(
            "pillarbox_data_dir_available_bytes",
            "Space left for the data directory's file system.",
            avail as f64,
        ));
        gauges.push(Metric::gauge(
            "pillarbox_data_dir_size_bytes",
            "Size of the data directory's file system.",
            size as f64,
        ));
    }
    gauges.push(Metric::counter(
        "pillarbox_monitor_dropped_records_total",
        "Monitoring records dropped because the writer fell behind.",
        m.dropped() as f64,
    ));
    gauges.push(Metric::counter(
        "pillarbox_store_commits_total",
        "Write transactions committed by this process.",
        inner.store.commits() as f64,
    ));
    let (counters, timings) = m
        .counters()
        .map(|c| (c.totals(), c.timings()))
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&counters, &timings, &gauges),
    )
        .into_response()
}
