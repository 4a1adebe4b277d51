//! OAuth2 tokens for routes that log in with XOAUTH2/OAUTHBEARER (the Accredo seed's
//! "Authentication Model: OAuth2"): one token source per route, built from the route's
//! `oauth2` settings or a provider preset, cached until shortly before expiry and
//! dropped when the server refuses it.

use std::collections::HashMap;
use std::time::Duration;

use pillarbox_client::oauth::{Grant, OAuthConfig, TokenSource, preset};
use pillarbox_config::RouteConfig;

use crate::QueueError;

/// The token sources, by route name.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    sources: HashMap<String, TokenSource>,
}

impl Tokens {
    pub fn new(routes: &[RouteConfig]) -> Result<Tokens, QueueError> {
        let mut sources = HashMap::new();
        for r in routes {
            let Some(o) = &r.oauth2 else { continue };
            let p = o.preset.as_deref().and_then(preset);
            let token_url = match (&o.token_url, p) {
                (Some(u), _) => u.clone(),
                (None, Some(p)) => p
                    .token_url
                    .replace("{tenant}", o.tenant.as_deref().unwrap_or("common")),
                (None, None) => {
                    return Err(QueueError::Config(format!(
                        "route {}: oauth2 needs token_url or a preset",
                        r.name
                    )));
                }
            };
            let grant = match &o.refresh_token {
                Some(t) => Grant::RefreshToken(t.clone()),
                None => Grant::ClientCredentials,
            };
            let mut config = OAuthConfig::new(token_url, o.client_id.clone(), grant);
            config.client_secret = o.client_secret.clone();
            config.scope = o.scope.clone().or_else(|| {
                p.map(|p| match o.refresh_token {
                    Some(_) => p.smtp_scope.to_string(),
                    None => p
                        .client_credentials_scope
                        .unwrap_or(p.smtp_scope)
                        .to_string(),
                })
            });
            config.timeout = Duration::from_millis(r.connect_timeout_ms.max(1000));
            let source = TokenSource::new(config)
                .map_err(|e| QueueError::Config(format!("route {}: {e}", r.name)))?;
            sources.insert(r.name.clone(), source);
        }
        Ok(Tokens { sources })
    }

    /// A valid access token for `route`.
    pub async fn token(&self, route: &str) -> Result<String, String> {
        let source = self
            .sources
            .get(route)
            .ok_or_else(|| format!("route {route} has no oauth2 settings"))?;
        source
            .access_token()
            .await
            .map(|t| t.token)
            .map_err(|e| format!("OAuth2 token for route {route}: {e}"))
    }

    /// Forgets the cached token of `route` (the server refused it).
    pub fn invalidate(&self, route: &str) {
        if let Some(s) = self.sources.get(route) {
            s.invalidate();
        }
    }
}
