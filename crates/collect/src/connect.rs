//! From an account's settings to a connection: dial options (timeout, proxy with its
//! password, TLS mode, versions, verification), POP3 and IMAP client configurations,
//! and the credentials (the password, or an OAuth2 access token from a token source
//! kept per account so tokens are reused until they expire).
//!
//! Never logs a secret; knows nothing of what a run does once connected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pillarbox_client::TlsPolicy;
use pillarbox_client::imap::ImapClientConfig;
use pillarbox_client::oauth::{Grant, OAuthConfig, TokenSource, preset};
use pillarbox_client::pop3::Pop3ClientConfig;
use pillarbox_client::sasl::{Credentials, Mechanism, Secret};
use pillarbox_net::ClientTls;
use pillarbox_net::dial::{DialOptions, ProxyConfig, Target};
use pillarbox_store::CollectionId;

use crate::account::{AccountSettings, AuthMethod, Protocol, Secrets, min_tls_version};

/// The server of an account.
pub fn target(s: &AccountSettings) -> Target {
    Target::new(s.host.clone(), s.port)
}

/// How to dial the account's server.
pub fn dial_options(s: &AccountSettings, secrets: &Secrets) -> Result<DialOptions, String> {
    let timeout = Duration::from_secs(s.timeout_secs.max(1));
    Ok(DialOptions {
        connect_timeout: timeout,
        proxy: s.proxy.as_ref().map(|p| ProxyConfig {
            kind: p.kind.kind(),
            host: p.host.clone(),
            port: p.port,
            username: p.username.clone(),
            password: secrets.proxy_password.clone(),
            domain: p.domain.clone(),
        }),
        tls: ClientTls {
            mode: s.encryption.mode(),
            min_version: min_tls_version(&s.tls_versions)?,
            verify: s.tls_verify,
            extra_ca: None,
        },
        sni: None,
    })
}

fn mechanisms() -> Vec<Mechanism> {
    vec![Mechanism::XOAuth2, Mechanism::OAuthBearer, Mechanism::Plain]
}

pub fn pop3_config(s: &AccountSettings, secrets: &Secrets) -> Result<Pop3ClientConfig, String> {
    Ok(Pop3ClientConfig {
        dial: dial_options(s, secrets)?,
        tls_policy: TlsPolicy::Required,
        timeout: Duration::from_secs(s.timeout_secs.max(1)),
        mechanisms: mechanisms(),
    })
}

pub fn imap_config(
    s: &AccountSettings,
    secrets: &Secrets,
    max_literal: u64,
) -> Result<ImapClientConfig, String> {
    Ok(ImapClientConfig {
        dial: dial_options(s, secrets)?,
        tls_policy: TlsPolicy::Required,
        timeout: Duration::from_secs(s.timeout_secs.max(1)),
        mechanisms: mechanisms(),
        max_literal,
    })
}

/// OAuth2 token sources by account, reused across runs.
#[derive(Debug, Default)]
pub struct TokenCache {
    sources: Mutex<HashMap<CollectionId, (String, Arc<TokenSource>)>>,
}

impl TokenCache {
    /// The login for `account`: its password, or a fresh (or cached) access token.
    pub async fn credentials(
        &self,
        id: CollectionId,
        s: &AccountSettings,
        secrets: &Secrets,
    ) -> Result<Credentials, String> {
        let AuthMethod::OAuth2 {
            preset: preset_name,
            tenant,
            token_url,
            client_id,
            scope,
        } = &s.auth
        else {
            let password = secrets
                .password
                .clone()
                .ok_or_else(|| "no password is set".to_string())?;
            return Ok(Credentials {
                username: s.username.clone(),
                secret: Secret::Password(password),
            });
        };
        let p = preset_name.as_deref().and_then(preset);
        let url = match (token_url, p) {
            (Some(u), _) => u.clone(),
            (None, Some(p)) => p.token_url_for(tenant.as_deref()),
            (None, None) => return Err("OAuth2 needs a token URL or a preset".into()),
        };
        let grant = match &secrets.oauth_refresh_token {
            Some(t) => Grant::RefreshToken(t.clone()),
            None => Grant::ClientCredentials,
        };
        let scope = scope.clone().or_else(|| {
            p.map(|p| match (&grant, s.protocol) {
                (Grant::ClientCredentials, _) => p
                    .client_credentials_scope
                    .unwrap_or(p.imap_scope)
                    .to_string(),
                (_, Protocol::Imap) => p.imap_scope.to_string(),
                (_, Protocol::Pop3) => p.pop3_scope.to_string(),
            })
        });
        // The cached source is reused while its settings are the same.
        let fingerprint = format!(
            "{url}|{client_id}|{scope:?}|{:?}",
            secrets.oauth_refresh_token.as_ref().map(|t| t.len())
        );
        let source = {
            let mut map = self
                .sources
                .lock()
                .map_err(|_| "token cache poisoned".to_string())?;
            match map.get(&id) {
                Some((f, src)) if *f == fingerprint => src.clone(),
                _ => {
                    let mut config = OAuthConfig::new(url, client_id.clone(), grant);
                    config.client_secret = secrets.oauth_client_secret.clone();
                    config.scope = scope;
                    config.timeout = Duration::from_secs(s.timeout_secs.max(1));
                    let src = Arc::new(TokenSource::new(config).map_err(|e| e.to_string())?);
                    map.insert(id, (fingerprint, src.clone()));
                    src
                }
            }
        };
        let token = source
            .access_token()
            .await
            .map_err(|e| format!("OAuth2 token: {e}"))?;
        Ok(Credentials {
            username: s.username.clone(),
            secret: token.secret(),
        })
    }

    /// Forgets the token of `id` (the server refused it).
    pub fn invalidate(&self, id: CollectionId) {
        if let Ok(map) = self.sources.lock()
            && let Some((_, s)) = map.get(&id)
        {
            s.invalidate();
        }
    }
}
