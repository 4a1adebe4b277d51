//! The HTTP side of Pillarbox. Today: client provisioning — each local domain's client
//! settings profile (`profile`), rendered per client (`formats`) and served over the
//! `http`/`https` listeners: Thunderbird autoconfig, Outlook autodiscover, Apple
//! configuration profiles. Every answer carries an ETag so a client that asks again gets
//! `304 Not Modified` unless a setting changed. Also `/metrics` for Prometheus on a
//! listener of its own (`metrics`). (The admin REST API and web console will live here
//! too.)

#![forbid(unsafe_code)]

pub mod formats;
pub mod metrics;
pub mod profile;

pub use metrics::MetricsService;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use pillarbox_config::{ClientsSection, ListenSection};
use pillarbox_net::Connection;
use pillarbox_store::Store;
use serde::Deserialize;

use crate::profile::{Profile, domain_of};

/// The longest autodiscover request read.
const MAX_BODY: usize = 16 * 1024;
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the HTTP service needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub clients: ClientsSection,
    pub hostname: String,
    pub listen: ListenSection,
}

struct Inner {
    settings: WebSettings,
    store: Store,
}

/// The HTTP service shared by the `http` and `https` listeners.
#[derive(Clone)]
pub struct WebService {
    router: Router,
    /// The live sessions, to show each connection's last request method.
    sessions: Option<pillarbox_monitor::Sessions>,
}

impl WebService {
    pub fn new(settings: WebSettings, store: Store) -> WebService {
        let state = Arc::new(Inner { settings, store });
        let router = Router::new()
            .route(
                "/.well-known/autoconfig/mail/config-v1.1.xml",
                get(autoconfig),
            )
            .route("/mail/config-v1.1.xml", get(autoconfig))
            .route("/autodiscover/autodiscover.xml", post(autodiscover))
            .route("/Autodiscover/Autodiscover.xml", post(autodiscover))
            .route("/AutoDiscover/AutoDiscover.xml", post(autodiscover))
            .route("/.well-known/mobileconfig", get(mobileconfig))
            .fallback(|| async { text(StatusCode::NOT_FOUND, "not found\n") })
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(state);
        WebService {
            router,
            sessions: None,
        }
    }

    /// Shows each connection's last request method in the live sessions.
    pub fn with_sessions(mut self, sessions: Option<pillarbox_monitor::Sessions>) -> Self {
        self.sessions = sessions;
        self
    }

    /// Serves one connection (HTTP/1.1 with keep-alive) until the client closes it or
    /// the server shuts down.
    pub async fn handle(&self, conn: Connection) {
        let mut router = self.router.clone();
        let tls = conn.tls.is_some();
        router = router.layer(axum::middleware::map_response(
            move |mut r: axum::response::Response| {
                security_headers(r.headers_mut(), tls);
                std::future::ready(r)
            },
        ));
        if let Some(live) = self.sessions.as_ref().and_then(|s| s.get(conn.id)) {
            router = router.layer(axum::middleware::map_request(
                move |req: axum::extract::Request| {
                    live.set_command(req.method().as_str());
                    std::future::ready(req)
                },
            ));
        }
        serve_connection(router, conn).await;
    }
}

/// Serves `router` on one connection (HTTP/1.1 with keep-alive) until the client
/// closes it or the server shuts down.
pub(crate) async fn serve_connection(router: Router, conn: Connection) {
    {
        let service = TowerToHyperService::new(router);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT);
        let served = builder.serve_connection(TokioIo::new(conn.stream), service);
        let mut served = std::pin::pin!(served);
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "HTTP connection ended");
                }
            }
            _ = conn.shutdown.cancelled() => {
                served.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(5), served).await;
            }
        }
    }
}

/// The headers every answer carries: no MIME sniffing, no framing, no referrer, no
/// active content; over TLS, HSTS (a year) so a browser never falls back to HTTP.
fn security_headers(h: &mut HeaderMap, tls: bool) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The profile of a local domain, or the response that says why there is none.
async fn profile_for(inner: &Inner, domain: &str) -> Result<Profile, Response> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    match inner.store.domain_get(&domain).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(text(StatusCode::NOT_FOUND, "no such domain here\n")),
        Err(e) => {
            tracing::error!(error = %e, "cannot look up a domain for client settings");
            return Err(text(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable\n",
            ));
        }
    }
    let s = &inner.settings;
    Profile::build(&s.clients, &s.hostname, &s.listen, &domain)
        .ok_or_else(|| text(StatusCode::NOT_FOUND, "client settings are not published\n"))
}

/// `body` with a strong ETag of its bytes; `304` when the client already has it.
fn versioned(headers: &HeaderMap, content_type: &'static str, body: String) -> Response {
    let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let etag = format!("\"{hex}\"");
    let cached = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Debug, Deserialize)]
struct AddressQuery {
    emailaddress: Option<String>,
}

/// Thunderbird asks `autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=…` or
/// `DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`; the domain comes from the
/// address when given, else from the host name asked for.
async fn autoconfig(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<AddressQuery>,
    headers: HeaderMap,
) -> Response {
    let domain = match q.emailaddress.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(address) => match domain_of(address) {
            Some(d) => d.to_string(),
            None => return text(StatusCode::BAD_REQUEST, "emailaddress is not an address\n"),
        },
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let host = host.rsplit_once(':').map_or(host, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            });
            host.strip_prefix("autoconfig.").unwrap_or(host).to_string()
        }
    };
    match profile_for(&inner, &domain).await {
        Ok(p) => versioned(
            &headers,
            "application/xml; charset=utf-8",
            formats::autoconfig(&p),
        ),
        Err(r) => r,
    }
}

/// Outlook POSTs its request (POX, "outlook" response schema).
async fn autodiscover(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let xml = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let Some(req) = std::str::from_utf8(&body)
        .ok()
        .and_then(formats::parse_autodiscover_request)
    else {
        return xml(
            StatusCode::BAD_REQUEST,
            formats::autodiscover_error(600, "Invalid Request"),
        );
    };
    if req
        .schema
        .as_deref()
        .is_some_and(|s| s != formats::OUTLOOK_SCHEMA)
    {
        // ActiveSync (mobilesync) and others: this server speaks only IMAP/POP3/SMTP.
        return xml(
            StatusCode::OK,
            formats::autodiscover_error(601, "Provider is not available"),
        );
    }
    let Some(domain) = domain_of(&req.address) else {
        return xml(
            StatusCode::BAD_REQUEST,
            formats::autodiscover_error(600, "Invalid Request"),
        );
    };
    match profile_for(&inner, domain).await {
        Ok(p) => versioned(
            &headers,
            "application/xml; charset=utf-8",
            formats::autodiscover(&p, req.address.trim()),
        ),
        Err(_) => xml(
            StatusCode::OK,
            formats::autodiscover_error(603, "Unknown user"),
        ),
    }
}

/// An Apple configuration profile for `?emailaddress=…`.
async fn mobileconfig(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<AddressQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(address) = q.emailaddress.as_deref().map(str::trim) else {
        return text(StatusCode::BAD_REQUEST, "emailaddress is required\n");
    };
    let Some(domain) = domain_of(address) else {
        return text(StatusCode::BAD_REQUEST, "emailaddress is not an address\n");
    };
    match profile_for(&inner, domain).await {
        Ok(p) => {
            let mut r = versioned(
                &headers,
                "application/x-apple-aspen-config",
                formats::mobileconfig(&p, address),
            );
            let name = format!("attachment; filename=\"{}.mobileconfig\"", p.domain);
            if let Ok(v) = HeaderValue::from_str(&name) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(r) => r,
    }
}
