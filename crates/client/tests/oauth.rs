//! The OAuth2 token source against a token endpoint written here, which checks the
//! form fields RFC 6749 requires, rotates refresh tokens and issues two-second
//! tokens. Time passes through the injectable clock, never by sleeping.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use pillarbox_client::oauth::{
    ClientAuth, Grant, ManualClock, OAuthConfig, OAuthError, TokenSource,
};
use pillarbox_net::dial::{ProxyConfig, ProxyKind};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the endpoint saw and what it considers the valid refresh token.
#[derive(Default)]
struct Endpoint {
    requests: Vec<HashMap<String, String>>,
    authorization: Vec<Option<String>>,
    current_refresh_token: String,
    issued: usize,
}

struct TokenServer {
    addr: SocketAddr,
    tls: Option<Arc<support::TestCert>>,
    state: Arc<Mutex<Endpoint>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() + 1 => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

impl TokenServer {
    async fn start() -> TokenServer {
        TokenServer::start_with(None).await
    }

    /// Serves HTTPS with a generated certificate when `tls` is given.
    async fn start_with(tls: Option<Arc<support::TestCert>>) -> TokenServer {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let acceptor = tls.clone();
        let addr = l.local_addr().unwrap();
        let state = Arc::new(Mutex::new(Endpoint {
            current_refresh_token: "rt-1".into(),
            ..Endpoint::default()
        }));
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = l.accept().await {
                let s = s.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let sock: pillarbox_net::BoxedStream = match acceptor {
                        Some(cert) => Box::new(cert.acceptor.accept(sock).await.unwrap()),
                        None => Box::new(sock),
                    };
                    let mut r = BufReader::new(sock);
                    let mut request_line = String::new();
                    r.read_line(&mut request_line).await.unwrap();
                    let mut headers = HashMap::new();
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).await.unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
                    }
                    let len: usize = headers["content-length"].parse().unwrap();
                    let mut body = vec![0u8; len];
                    r.read_exact(&mut body).await.unwrap();
                    let (status, json) = respond(&s, &request_line, &headers, &body);
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                        json.len()
                    );
                    r.get_mut().write_all(reply.as_bytes()).await.unwrap();
                });
            }
        });
        TokenServer {
            addr,
            tls,
            state,
            task,
        }
    }

    fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}/token", self.addr.port()),
            None => format!("http://{}/token", self.addr),
        }
    }
}

/// The endpoint's logic: RFC 6749 §6 and §4.4 with client authentication per §2.3.1.
fn respond(
    state: &Mutex<Endpoint>,
    request_line: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> (&'static str, String) {
    assert!(
        request_line.starts_with("POST /token HTTP/1.1"),
        "{request_line}"
    );
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let form: HashMap<String, String> = std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (urldecode(k), urldecode(v)))
        .collect();
    let mut st = state.lock().unwrap();
    st.requests.push(form.clone());
    let auth = headers.get("authorization").cloned();
    st.authorization.push(auth.clone());
    let error = |e: &str, d: &str| {
        (
            "400 Bad Request",
            format!(r#"{{"error":"{e}","error_description":"{d}"}}"#),
        )
    };
    // Client authentication: Basic header or body fields, never both.
    let client_ok = match &auth {
        Some(a) => {
            let expected =
                base64::engine::general_purpose::STANDARD.encode("client%3Aone:se+cret%21");
            *a == format!("Basic {expected}") && !form.contains_key("client_secret")
        }
        None => {
            form.get("client_id").map(String::as_str) == Some("client:one")
                && form.get("client_secret").map(String::as_str) == Some("se cret!")
        }
    };
    if !client_ok {
        return ("401 Unauthorized", r#"{"error":"invalid_client"}"#.into());
    }
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            let Some(rt) = form.get("refresh_token") else {
                return error("invalid_request", "refresh_token missing");
            };
            if *rt != st.current_refresh_token {
                return error("invalid_grant", "Token has been expired or revoked.");
            }
            st.issued += 1;
            let n = st.issued;
            st.current_refresh_token = format!("rt-{}", n + 1);
            let json = format!(
                r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":2,"refresh_token":"rt-{}","scope":"{}"}}"#,
                n + 1,
                form.get("scope").cloned().unwrap_or_default()
            );
            ("200 OK", json)
        }
        Some("client_credentials") => {
            if form.get("scope").map(String::as_str)
                != Some("https://outlook.office365.com/.default")
            {
                return error("invalid_scope", "wrong scope");
            }
            st.issued += 1;
            (
                "200 OK",
                format!(
                    r#"{{"access_token":"app-{}","token_type":"bearer","expires_in":3599}}"#,
                    st.issued
                ),
            )
        }
        _ => error("unsupported_grant_type", "?"),
    }
}

fn config(server: &TokenServer, grant: Grant) -> OAuthConfig {
    let mut c = OAuthConfig::new(server.url(), "client:one", grant);
    c.client_secret = Some("se cret!".into());
    c.scope = Some("https://outlook.office.com/SMTP.Send offline_access".into());
    c.timeout = Duration::from_secs(10);
    c
}

#[tokio::test]
async fn refresh_grant_caches_until_expiry_and_rotates() {
    let server = TokenServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let source = TokenSource::with_clock(
        config(&server, Grant::RefreshToken("rt-1".into())),
        clock.clone(),
    )
    .unwrap();
    let t1 = source.access_token().await.unwrap();
    assert_eq!(t1.token, "at-1");
    assert_eq!(t1.expires_in, Some(Duration::from_secs(2)));
    clock.advance(Duration::from_millis(500));
    assert_eq!(source.access_token().await.unwrap().token, "at-1", "cached");
    assert_eq!(server.state.lock().unwrap().requests.len(), 1);

    clock.advance(Duration::from_secs(2));
    let t2 = source.access_token().await.unwrap();
    assert_eq!(t2.token, "at-2", "refreshed after expiry");
    {
        let st = server.state.lock().unwrap();
        assert_eq!(st.requests.len(), 2);
        assert_eq!(
            st.requests[1]["refresh_token"], "rt-2",
            "the rotated token was used"
        );
        assert_eq!(st.requests[1]["grant_type"], "refresh_token");
        assert_eq!(
            st.requests[1]["scope"],
            "https://outlook.office.com/SMTP.Send offline_access"
        );
    }
    assert_eq!(source.take_rotated_refresh_token().as_deref(), Some("rt-3"));
    assert_eq!(source.take_rotated_refresh_token(), None);
    assert_eq!(source.refresh_token().as_deref(), Some("rt-3"));

    // The mail server refused the token: the next call fetches a new one.
    source.invalidate();
    assert_eq!(source.access_token().await.unwrap().token, "at-3");
    assert!(
        !format!("{source:?}").contains("se cret"),
        "secrets redacted"
    );
}

#[tokio::test]
async fn invalid_grant_is_reported_clearly() {
    let server = TokenServer::start().await;
    let source = TokenSource::new(config(&server, Grant::RefreshToken("revoked".into()))).unwrap();
    let err = source.access_token().await.unwrap_err();
    assert!(err.needs_reauthorisation(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the token endpoint refused the request (400): invalid_grant: Token has been expired or revoked. \
         — the refresh token is expired or revoked; authorise the account again"
    );
}

#[tokio::test]
async fn client_credentials_with_basic_authentication() {
    let server = TokenServer::start().await;
    let mut c = config(&server, Grant::ClientCredentials);
    c.client_auth = ClientAuth::Basic;
    c.scope = Some("https://outlook.office365.com/.default".into());
    let source = TokenSource::new(c).unwrap();
    let t = source.access_token().await.unwrap();
    assert_eq!(t.token, "app-1");
    let st = server.state.lock().unwrap();
    assert!(st.authorization[0].is_some());
    assert!(
        !st.requests[0].contains_key("client_id"),
        "Basic: no id in the body"
    );
    assert_eq!(st.requests[0]["grant_type"], "client_credentials");
}

#[tokio::test]
async fn wrong_client_secret_and_unreachable_endpoint() {
    let server = TokenServer::start().await;
    let mut c = config(&server, Grant::RefreshToken("rt-1".into()));
    c.client_secret = Some("nope".into());
    let err = TokenSource::new(c)
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::Endpoint { status: 401, error, .. } if error == "invalid_client"),
        "{err:?}"
    );

    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let mut c = config(&server, Grant::RefreshToken("rt-1".into()));
    c.token_url = format!("http://{dead}/token");
    let err = TokenSource::new(c)
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Http { .. }), "{err:?}");
    assert!(err.to_string().contains(&dead.to_string()), "{err}");
}

#[tokio::test]
async fn through_a_socks5_proxy() {
    let server = TokenServer::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut socks = tokio::process::Command::new("microsocks")
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-u",
            "puser",
            "-P",
            "ppass",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("microsocks is installed (scripts/test installs it)");
    support::wait_until(async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    let mut c = config(&server, Grant::RefreshToken("rt-1".into()));
    c.proxy = Some(ProxyConfig {
        kind: ProxyKind::Socks5,
        host: "127.0.0.1".into(),
        port,
        username: Some("puser".into()),
        password: Some("ppass".into()),
        domain: None,
    });
    let source = TokenSource::new(c.clone()).unwrap();
    assert_eq!(source.access_token().await.unwrap().token, "at-1");

    c.proxy.as_mut().unwrap().password = Some("wrong".into());
    let err = TokenSource::new(c)
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Http { .. }), "{err:?}");
    socks.kill().await.unwrap();
}

#[tokio::test]
async fn https_endpoint_with_ring_backed_rustls() {
    let cert = Arc::new(support::TestCert::new());
    let server = TokenServer::start_with(Some(cert.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, Grant::RefreshToken("rt-1".into()));
    // Untrusted certificate: refused, and the reason says so.
    let err = TokenSource::new(c.clone())
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Http { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    // Trusted through the extra CA file.
    c.tls.extra_ca = Some(cert.ca_file(dir.path()));
    let source = TokenSource::new(c).unwrap();
    assert_eq!(source.access_token().await.unwrap().token, "at-1");
}
