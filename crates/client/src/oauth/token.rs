//! `TokenSource`: obtains OAuth2 access tokens from an RFC 6749 token endpoint with
//! the refresh-token grant (§6) or the client-credentials grant (§4.4), caches each
//! until shortly before it expires, and fetches a new one on expiry or when a mail
//! server refused it ([`TokenSource::invalidate`]). A refresh token the endpoint
//! rotates is kept in memory and handed out for the caller to persist.
//!
//! Never logs a token, secret or refresh token (their `Debug` is redacted), never
//! shares a cached token past its expiry, and runs at most one request at a time.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pillarbox_net::dial::ProxyConfig;
use pillarbox_net::{ClientTls, ClientTlsMode};
use serde::Deserialize;

use super::clock::{Clock, SystemClock};
use super::http;
use crate::sasl::Secret;

/// Longest token endpoint response read.
const MAX_BODY: usize = 256 * 1024;
/// Renew this long before expiry (at most half the lifetime).
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// How the client proves itself to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    #[default]
    Body,
    /// HTTP Basic with the form-urlencoded id and secret.
    Basic,
}

/// Which grant obtains the tokens.
#[derive(Clone, PartialEq, Eq)]
pub enum Grant {
    /// RFC 6749 §6, with the refresh token the user's consent produced.
    RefreshToken(String),
    /// RFC 6749 §4.4 (application access, e.g. Microsoft 365 app-only).
    ClientCredentials,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::RefreshToken(_) => f.write_str("RefreshToken(<redacted>)"),
            Grant::ClientCredentials => f.write_str("ClientCredentials"),
        }
    }
}

/// Where and how to get tokens.
#[derive(Clone)]
pub struct OAuthConfig {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub client_auth: ClientAuth,
    pub grant: Grant,
    /// Space-separated scopes; `None` leaves the endpoint's default.
    pub scope: Option<String>,
    /// Bound on each token request.
    pub timeout: Duration,
    /// Proxy for the token endpoint (the same as the mail connection's, usually).
    pub proxy: Option<ProxyConfig>,
    /// Certificate checking and extra CAs for the endpoint (its mode is ignored).
    pub tls: ClientTls,
}

impl OAuthConfig {
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        grant: Grant,
    ) -> OAuthConfig {
        OAuthConfig {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: None,
            client_auth: ClientAuth::Body,
            grant,
            scope: None,
            timeout: Duration::from_secs(30),
            proxy: None,
            tls: ClientTls {
                mode: ClientTlsMode::Implicit,
                ..ClientTls::default()
            },
        }
    }
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_auth", &self.client_auth)
            .field("grant", &self.grant)
            .field("scope", &self.scope)
            .field("timeout", &self.timeout)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// An access token as issued.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    /// `Bearer` (RFC 6750).
    pub token_type: String,
    pub expires_in: Option<Duration>,
    pub scope: Option<String>,
}

impl AccessToken {
    /// The token as a SASL secret for XOAUTH2/OAUTHBEARER.
    pub fn secret(&self) -> Secret {
        Secret::BearerToken(self.token.clone())
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("OAuth2 configuration: {0}")]
    Config(String),
    #[error("token endpoint {url} unreachable: {reason}")]
    Http { url: String, reason: String },
    #[error("the token endpoint refused the request ({status}): {error}{}{}",
        .description.as_ref().map(|d| format!(": {d}")).unwrap_or_default(),
        if .error == "invalid_grant" { " — the refresh token is expired or revoked; authorise the account again" } else { "" })]
    Endpoint {
        status: u16,
        /// The RFC 6749 §5.2 error code (`invalid_grant`, `invalid_client`, …).
        error: String,
        description: Option<String>,
    },
    #[error("unexpected answer from the token endpoint ({status}): {detail}")]
    BadResponse { status: u16, detail: String },
    #[error("the token endpoint issued a {0:?} token; only Bearer tokens work for mail")]
    UnsupportedTokenType(String),
}

impl OAuthError {
    /// The grant itself is no longer valid: a person must authorise again.
    pub fn needs_reauthorisation(&self) -> bool {
        matches!(self, OAuthError::Endpoint { error, .. } if error == "invalid_grant")
    }
}

struct Cached {
    token: AccessToken,
    /// `None`: no lifetime given; used until invalidated.
    renew_at: Option<Instant>,
}

struct State {
    cached: Option<Cached>,
    refresh_token: Option<String>,
    /// A rotated refresh token not yet taken by the caller.
    rotated: Option<String>,
}

/// A cached source of access tokens for one account or route.
pub struct TokenSource {
    config: OAuthConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Serialises fetches so concurrent callers share one request.
    fetching: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub fn new(config: OAuthConfig) -> Result<TokenSource, OAuthError> {
        TokenSource::with_clock(config, Arc::new(SystemClock))
    }

    /// A token source measuring expiry with `clock`.
    pub fn with_clock(
        config: OAuthConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<TokenSource, OAuthError> {
        if config.client_id.is_empty() {
            return Err(OAuthError::Config("client_id is empty".into()));
        }
        let refresh_token = match &config.grant {
            Grant::RefreshToken(t) if t.is_empty() => {
                return Err(OAuthError::Config("the refresh token is empty".into()));
            }
            Grant::RefreshToken(t) => Some(t.clone()),
            Grant::ClientCredentials => None,
        };
        if config.client_auth == ClientAuth::Basic && config.client_secret.is_none() {
            return Err(OAuthError::Config(
                "HTTP Basic client authentication needs a client secret".into(),
            ));
        }
        let http = http::client(&config)?;
        Ok(TokenSource {
            config,
            http,
            clock,
            state: Mutex::new(State {
                cached: None,
                refresh_token,
                rotated: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// A valid access token: the cached one, or a fresh one from the endpoint.
    pub async fn access_token(&self) -> Result<AccessToken, OAuthError> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let _one_at_a_time = self.fetching.lock().await;
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let refresh_token = self.lock().refresh_token.clone();
        let form = self.form(refresh_token.as_deref());
        let requested_at = self.clock.now();
        let issued = http::request_token(&self.http, &self.config, &form, MAX_BODY).await?;
        let token = parse_token(issued)?;
        let mut state = self.lock();
        if let Some(new) = token
            .refresh_token
            .filter(|n| Some(n) != state.refresh_token.as_ref())
        {
            state.refresh_token = Some(new.clone());
            state.rotated = Some(new);
        }
        let renew_at = token.access.expires_in.map(|life| {
            let margin = EXPIRY_MARGIN.min(life / 2);
            requested_at + (life - margin)
        });
        state.cached = Some(Cached {
            token: token.access.clone(),
            renew_at,
        });
        Ok(token.access)
    }

    /// Forgets the cached token (the mail server refused it); the next call fetches.
    pub fn invalidate(&self) {
        self.lock().cached = None;
    }

    /// The refresh token in use (the configured one or the latest rotated one).
    pub fn refresh_token(&self) -> Option<String> {
        self.lock().refresh_token.clone()
    }

    /// A refresh token the endpoint issued in place of the old one, once: the caller
    /// persists it so a restart does not fall back to a revoked token.
    pub fn take_rotated_refresh_token(&self) -> Option<String> {
        self.lock().rotated.take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> Option<AccessToken> {
        let now = self.clock.now();
        let state = self.lock();
        let c = state.cached.as_ref()?;
        match c.renew_at {
            Some(at) if now >= at => None,
            _ => Some(c.token.clone()),
        }
    }

    /// The form fields of the token request (RFC 6749 §4.4.2, §6, §2.3.1).
    fn form(&self, refresh_token: Option<&str>) -> Vec<(&'static str, String)> {
        let c = &self.config;
        let mut form = Vec::new();
        match (&c.grant, refresh_token) {
            (Grant::RefreshToken(_), Some(rt)) => {
                form.push(("grant_type", "refresh_token".to_string()));
                form.push(("refresh_token", rt.to_string()));
            }
            _ => form.push(("grant_type", "client_credentials".to_string())),
        }
        if let Some(scope) = &c.scope {
            form.push(("scope", scope.clone()));
        }
        if c.client_auth == ClientAuth::Body {
            form.push(("client_id", c.client_id.clone()));
            if let Some(secret) = &c.client_secret {
                form.push(("client_secret", secret.clone()));
            }
        }
        form
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: Option<String>,
    /// A number, though some endpoints send a string.
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

struct Issued {
    access: AccessToken,
    refresh_token: Option<String>,
}

fn parse_token(body: Vec<u8>) -> Result<Issued, OAuthError> {
    let r: TokenResponse = serde_json::from_slice(&body).map_err(|e| OAuthError::BadResponse {
        status: 200,
        detail: format!("not a token response: {e}"),
    })?;
    if r.access_token.is_empty() {
        return Err(OAuthError::BadResponse {
            status: 200,
            detail: "empty access_token".into(),
        });
    }
    let token_type = r.token_type.unwrap_or_else(|| "Bearer".into());
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(OAuthError::UnsupportedTokenType(token_type));
    }
    let expires_in = match r.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .map(Duration::from_secs);
    Ok(Issued {
        access: AccessToken {
            token: r.access_token,
            token_type,
            expires_in,
            scope: r.scope,
        },
        refresh_token: r.refresh_token.filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses() {
        let ok = parse_token(
            br#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example_x","expires_in":3600}"#.to_vec(),
        );
        assert!(matches!(ok, Err(OAuthError::UnsupportedTokenType(_))));
        // RFC 6749 §5.1 example with a Bearer type.
        let t = parse_token(
            br#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}"#.to_vec(),
        )
        .unwrap();
        assert_eq!(t.access.expires_in, Some(Duration::from_secs(3600)));
        assert_eq!(t.refresh_token.as_deref(), Some("tGzv3JOkF0XG5Qx2TlKWIA"));
        let t = parse_token(
            br#"{"access_token":"x","token_type":"Bearer","expires_in":"599"}"#.to_vec(),
        )
        .unwrap();
        assert_eq!(t.access.expires_in, Some(Duration::from_secs(599)));
        assert!(parse_token(b"<html>".to_vec()).is_err());
        assert!(!format!("{:?}", t.access).contains("\"x\""));
    }

    #[test]
    fn invalid_grant_message_says_what_to_do() {
        let e = OAuthError::Endpoint {
            status: 400,
            error: "invalid_grant".into(),
            description: Some("Token has been expired or revoked.".into()),
        };
        assert!(e.needs_reauthorisation());
        assert!(e.to_string().contains("authorise the account again"), "{e}");
    }
}
