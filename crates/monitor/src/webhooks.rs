//! Posting webhooks: the durable outbox (in the store) drained by every node, each post
//! of a subscription after the previous one (in order), as JSON over HTTP or HTTPS,
//! signed with HMAC-SHA256 over the timestamp and the body:
//!
//! ```text
//! X-Pillarbox-Event: message.new
//! X-Pillarbox-Delivery: 42
//! X-Pillarbox-Signature: t=1796300000,v1=<hex of HMAC-SHA256(secret, "1796300000." + body)>
//! ```
//!
//! A receiver that answers anything but 2xx (a redirect included: none is followed),
//! is slow (10 s) or cannot be reached is tried again with growing pauses
//! (`[monitor] webhook_retry`, 5 s, doubling up to an hour) for 24 hours from the event, then the post is marked failed with the
//! last reason and an event says so. One receiver's trouble never holds up another's.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use pillarbox_store::{OutboxItem, OutboxResult, Store, Webhook};
use tokio_util::sync::CancellationToken;

use crate::{EventKind, Monitor, NewEvent};

/// How long a node holds a post it is sending.
const LEASE: Duration = Duration::from_secs(60);
/// How long a post is tried.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// A receiver's time to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The signature header's value for `body` at `timestamp` (seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| Hmac::<sha2::Sha256>::new_from_slice(b"").expect("empty key"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// When to try a post again after `attempts` failed ones, the first pause being `first`.
pub fn backoff(first: Duration, attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 20) as u32;
    first
        .saturating_mul(2u32.saturating_pow(exp))
        .min(Duration::from_secs(3600))
}

fn client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Pillarbox/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Sends due posts until `shutdown`; a failed post waits `retry` (doubling) before the
/// next try.
pub async fn run(store: Store, monitor: Monitor, retry: Duration, shutdown: CancellationToken) {
    let http = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: cannot build the HTTP client");
            return;
        }
    };
    let mut hooks: Vec<Webhook> = Vec::new();
    let mut hooks_at: Option<tokio::time::Instant> = None;
    loop {
        let now = crate::now_ms();
        let due = match store
            .outbox_lease(now, now + LEASE.as_millis() as i64)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the outbox");
                Vec::new()
            }
        };
        if !due.is_empty() {
            if hooks_at.is_none_or(|t| t.elapsed() > Duration::from_secs(5))
                && let Ok(list) = store.webhook_list(None).await
            {
                hooks = list;
                hooks_at = Some(tokio::time::Instant::now());
            }
            // Each webhook's head post at once: a slow receiver holds up only its own.
            let mut sends = tokio::task::JoinSet::new();
            for item in due {
                let hook = hooks.iter().find(|h| h.id == item.webhook).cloned();
                let (http, store, monitor) = (http.clone(), store.clone(), monitor.clone());
                sends.spawn(async move { send(&http, &store, &monitor, hook, item, retry).await });
            }
            while sends.join_next().await.is_some() {}
            continue;
        }
        let wait = match store.outbox_next_due().await {
            Ok(Some(t)) => Duration::from_millis((t - now).clamp(50, 1000) as u64),
            _ => Duration::from_secs(1),
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn send(
    http: &reqwest::Client,
    store: &Store,
    monitor: &Monitor,
    hook: Option<Webhook>,
    item: OutboxItem,
    retry: Duration,
) {
    let result = match hook {
        None => OutboxResult::Failed {
            error: "the webhook was removed".into(),
        },
        Some(h) if !h.enabled => OutboxResult::Failed {
            error: "the webhook is disabled".into(),
        },
        Some(h) => attempt(http, &h, &item).await.map_or_else(
            |error| {
                let age = crate::now_ms() - item.created_ms;
                if age >= GIVE_UP_AFTER.as_millis() as i64 {
                    monitor.event(NewEvent::new(
                        EventKind::WebhookFailed,
                        format!(
                            "webhook {} ({}) gave up on post {} ({}) after {} attempts: {error}",
                            h.id,
                            h.url,
                            item.id,
                            item.event,
                            item.attempts + 1
                        ),
                    ));
                    OutboxResult::Failed { error }
                } else {
                    OutboxResult::Retry {
                        next_ms: crate::now_ms() + backoff(retry, item.attempts).as_millis() as i64,
                        error,
                    }
                }
            },
            |()| OutboxResult::Delivered,
        ),
    };
    if let Err(e) = store.outbox_record(item.id, result).await {
        tracing::warn!(error = %e, "webhooks: cannot record a post");
    }
}

/// One POST; Err says why it did not count as received.
async fn attempt(http: &reqwest::Client, h: &Webhook, item: &OutboxItem) -> Result<(), String> {
    let ts = crate::now_ms() / 1000;
    let response = http
        .post(&h.url)
        .header("content-type", "application/json")
        .header("x-pillarbox-event", &item.event)
        .header("x-pillarbox-delivery", item.id.to_string())
        .header(
            "x-pillarbox-signature",
            signature(&h.secret, ts, &item.payload),
        )
        .body(item.payload.clone())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "the receiver did not answer in time".to_string()
            } else {
                format!("cannot reach the receiver: {e}")
            }
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        let to = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return Err(format!(
            "HTTP {status}: redirected to {to:?} (not followed)"
        ));
    }
    Err(format!("HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_backoff() {
        // HMAC-SHA256 with key "key" over "1.{}", computed with Python's hmac module.
        assert_eq!(
            signature("key", 1, "{}"),
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        let first = Duration::from_secs(5);
        assert_eq!(backoff(first, 0), Duration::from_secs(5));
        assert_eq!(backoff(first, 3), Duration::from_secs(40));
        assert_eq!(backoff(first, 50), Duration::from_secs(3600));
    }
}
