//! The HTTP side of the token source: a reqwest client whose rustls configuration is
//! built here on the ring provider (reqwest's own default would pull aws-lc-rs), with
//! the configured proxy and no environment proxies; and the token request itself
//! (form POST, bounded body, RFC 6749 §5.2 errors sorted out).
//!
//! Never logs the form (it carries secrets) and never reads an unbounded body.

use base64::Engine;
use pillarbox_net::dial::{ProxyConfig, ProxyKind};

use super::token::{ClientAuth, OAuthConfig, OAuthError};

/// Builds the HTTP client for one token source.
pub(super) fn client(config: &OAuthConfig) -> Result<reqwest::Client, OAuthError> {
    let (connector, _) = config
        .tls
        .connector()
        .map_err(|e| OAuthError::Config(format!("TLS: {e}")))?;
    let tls = (**connector.config()).clone();
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .tcp_nodelay(true)
        .no_proxy()
        .user_agent(concat!("Pillarbox/", env!("CARGO_PKG_VERSION")));
    if let Some(p) = &config.proxy {
        builder = builder.proxy(proxy(p)?);
    }
    builder
        .build()
        .map_err(|e| OAuthError::Config(format!("HTTP client: {}", chain(&e))))
}

/// Maps a dialer proxy to reqwest's: SOCKS5 resolves names at the proxy (`socks5h`),
/// as the dialer does.
fn proxy(p: &ProxyConfig) -> Result<reqwest::Proxy, OAuthError> {
    let scheme = match p.kind {
        ProxyKind::HttpConnect => "http",
        ProxyKind::Socks4 => "socks4",
        ProxyKind::Socks4a => "socks4a",
        ProxyKind::Socks5 => "socks5h",
    };
    let host = if p.host.contains(':') && !p.host.starts_with('[') {
        format!("[{}]", p.host)
    } else {
        p.host.clone()
    };
    let mut proxy = reqwest::Proxy::all(format!("{scheme}://{host}:{}", p.port))
        .map_err(|e| OAuthError::Config(format!("proxy: {}", chain(&e))))?;
    if let Some(user) = &p.username {
        let user = match (&p.domain, p.kind) {
            (Some(d), ProxyKind::HttpConnect) if !d.is_empty() => format!("{d}\\{user}"),
            _ => user.clone(),
        };
        proxy = proxy.basic_auth(&user, p.password.as_deref().unwrap_or(""));
    }
    Ok(proxy)
}

/// Posts the token request and returns the body of a 200 answer.
pub(super) async fn request_token(
    http: &reqwest::Client,
    config: &OAuthConfig,
    form: &[(&'static str, String)],
    max_body: usize,
) -> Result<Vec<u8>, OAuthError> {
    let unreachable = |e: reqwest::Error| OAuthError::Http {
        url: config.token_url.clone(),
        reason: chain(&e),
    };
    let mut request = http
        .post(&config.token_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form);
    if config.client_auth == ClientAuth::Basic {
        // RFC 6749 §2.3.1: id and secret form-urlencoded before Basic encoding.
        let id = form_urlencode(&config.client_id);
        let secret = form_urlencode(config.client_secret.as_deref().unwrap_or(""));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let mut response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > max_body {
            return Err(OAuthError::BadResponse {
                status,
                detail: format!("response larger than {max_body} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    if status == 200 {
        return Ok(body);
    }
    Err(error_response(status, &body))
}

/// RFC 6749 §5.2 error response, or a description of whatever came instead.
fn error_response(status: u16, body: &[u8]) -> OAuthError {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => OAuthError::Endpoint {
            status,
            error: e.error,
            description: e.error_description,
        },
        Err(_) => {
            let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
            OAuthError::BadResponse {
                status,
                detail: if text.trim().is_empty() {
                    "empty body".into()
                } else {
                    text
                },
            }
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An error with its sources, for a message a person can act on.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoding_and_errors() {
        assert_eq!(form_urlencode("a b+c/d~"), "a+b%2Bc%2Fd%7E");
        let e = error_response(
            400,
            br#"{"error":"invalid_grant","error_description":"expired"}"#,
        );
        assert!(
            matches!(e, OAuthError::Endpoint { status: 400, ref error, .. } if error == "invalid_grant")
        );
        let e = error_response(502, b"<html>Bad Gateway</html>");
        assert!(
            e.to_string().contains("502") && e.to_string().contains("Bad Gateway"),
            "{e}"
        );
    }
}
