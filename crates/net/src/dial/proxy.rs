//! Proxy handshakes over an open TCP connection to the proxy: SOCKS4/4a/5 through
//! `tokio-socks`, HTTP CONNECT written here. Each returns the tunnel as a stream that
//! carries the target's bytes and nothing of the proxy's.
//!
//! Never logs credentials; never reads past the end of the proxy's reply (the target
//! may speak first, as SMTP and POP3 servers do, and those bytes belong to the caller).

use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_socks::tcp::{Socks4Stream, Socks5Stream};

use super::{DialError, ProxyConfig, ProxyKind, Target};
use crate::stream::BoxedStream;

/// Longest HTTP proxy reply head we read.
const MAX_HTTP_HEAD: usize = 16 * 1024;

/// Runs the proxy protocol of `proxy` on `socket` to reach `target`.
pub(super) async fn handshake(
    socket: TcpStream,
    proxy: &ProxyConfig,
    target: &Target,
) -> Result<BoxedStream, DialError> {
    match proxy.kind {
        ProxyKind::HttpConnect => http_connect(socket, proxy, target).await,
        ProxyKind::Socks5 => socks5(socket, proxy, target).await,
        ProxyKind::Socks4 | ProxyKind::Socks4a => socks4(socket, proxy, target).await,
    }
}

fn proxy_error(proxy: &ProxyConfig, reason: impl Into<String>) -> DialError {
    DialError::Proxy {
        kind: proxy.kind,
        proxy: proxy.target().to_string(),
        reason: reason.into(),
    }
}

fn auth_error(proxy: &ProxyConfig, reason: impl Into<String>) -> DialError {
    DialError::ProxyAuth {
        kind: proxy.kind,
        proxy: proxy.target().to_string(),
        reason: reason.into(),
    }
}

/// Sorts a `tokio-socks` error into "credentials refused" or another proxy failure.
fn socks_error(proxy: &ProxyConfig, target: &Target, e: tokio_socks::Error) -> DialError {
    use tokio_socks::Error as E;
    match e {
        E::PasswordAuthFailure(_)
        | E::NoAcceptableAuthMethods
        | E::AuthorizationRequired
        | E::IdentdAuthFailure
        | E::InvalidUserIdAuthFailure => auth_error(proxy, e.to_string()),
        E::ConnectionRefused
        | E::HostUnreachable
        | E::NetworkUnreachable
        | E::TtlExpired
        | E::ConnectionNotAllowedByRuleset => {
            proxy_error(proxy, format!("cannot reach {target}: {e}"))
        }
        other => proxy_error(proxy, other.to_string()),
    }
}

/// RFC 1928 with RFC 1929 username/password when a username is configured. The target
/// name is resolved by the proxy.
async fn socks5(
    socket: TcpStream,
    proxy: &ProxyConfig,
    target: &Target,
) -> Result<BoxedStream, DialError> {
    let host = target.ip().map(|ip| ip.to_string());
    let host = host.as_deref().unwrap_or(&target.host);
    let result = match &proxy.username {
        Some(user) => {
            let pass = proxy.password.as_deref().unwrap_or("");
            Socks5Stream::connect_with_password_and_socket(socket, (host, target.port), user, pass)
                .await
        }
        None => Socks5Stream::connect_with_socket(socket, (host, target.port)).await,
    };
    let stream = result.map_err(|e| socks_error(proxy, target, e))?;
    Ok(Box::new(stream.into_inner()))
}

/// SOCKS4 (target resolved here, IPv4 only) or SOCKS4a (the proxy resolves the name).
/// The username, when set, is sent as the SOCKS4 user id.
async fn socks4(
    socket: TcpStream,
    proxy: &ProxyConfig,
    target: &Target,
) -> Result<BoxedStream, DialError> {
    let addr: tokio_socks::TargetAddr<'_> = match (proxy.kind, target.ip()) {
        (_, Some(ip)) => tokio_socks::TargetAddr::Ip(SocketAddr::new(ip, target.port)),
        (ProxyKind::Socks4a, None) => {
            tokio_socks::TargetAddr::Domain(target.host.as_str().into(), target.port)
        }
        (_, None) => {
            let ip = resolve_v4(target)
                .await
                .map_err(|reason| proxy_error(proxy, reason))?;
            tokio_socks::TargetAddr::Ip(SocketAddr::new(ip, target.port))
        }
    };
    if let tokio_socks::TargetAddr::Ip(a) = &addr
        && a.is_ipv6()
    {
        return Err(proxy_error(
            proxy,
            format!("SOCKS4 cannot reach the IPv6 address {a}"),
        ));
    }
    let result = match &proxy.username {
        Some(user) => Socks4Stream::connect_with_userid_and_socket(socket, addr, user).await,
        None => Socks4Stream::connect_with_socket(socket, addr).await,
    };
    let stream = result.map_err(|e| socks_error(proxy, target, e))?;
    Ok(Box::new(stream.into_inner()))
}

async fn resolve_v4(target: &Target) -> Result<IpAddr, String> {
    let found = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot resolve {} for SOCKS4: {e}", target.host))?;
    found
        .map(|a| a.ip())
        .find(IpAddr::is_ipv4)
        .ok_or_else(|| format!("{} has no IPv4 address for SOCKS4", target.host))
}

/// The request head of an HTTP CONNECT tunnel (RFC 9110 §9.3.6), with Basic proxy
/// credentials (RFC 7617) when a username is configured.
fn connect_request(proxy: &ProxyConfig, target: &Target) -> String {
    let authority = match target.ip() {
        Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", target.port),
        _ => format!("{}:{}", target.host, target.port),
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(user) = &proxy.username {
        let user = match &proxy.domain {
            Some(d) if !d.is_empty() => format!("{d}\\{user}"),
            _ => user.clone(),
        };
        let pass = proxy.password.as_deref().unwrap_or("");
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// Sends CONNECT, reads the reply head byte by byte (so nothing of the tunnel is
/// consumed), and hands back the socket when the status is 2xx.
async fn http_connect(
    mut socket: TcpStream,
    proxy: &ProxyConfig,
    target: &Target,
) -> Result<BoxedStream, DialError> {
    let io = |e: std::io::Error| proxy_error(proxy, format!("connection failed: {e}"));
    socket
        .write_all(connect_request(proxy, target).as_bytes())
        .await
        .map_err(io)?;
    let mut head = Vec::with_capacity(256);
    loop {
        let b = match socket.read_u8().await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(proxy_error(proxy, "closed the connection without a reply"));
            }
            Err(e) => return Err(io(e)),
        };
        head.push(b);
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            break;
        }
        if head.len() > MAX_HTTP_HEAD {
            return Err(proxy_error(proxy, "reply head longer than 16 KiB"));
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("").trim().to_string();
    let code = parse_status(&status_line)
        .ok_or_else(|| proxy_error(proxy, format!("not an HTTP reply: {status_line:?}")))?;
    match code {
        200..=299 => Ok(Box::new(socket)),
        // 407 is the standard answer; some proxies (tinyproxy's BasicAuth) send 401.
        401 | 407 if proxy.username.is_some() => Err(auth_error(proxy, format!("{status_line:?}"))),
        401 | 407 => Err(auth_error(
            proxy,
            format!("{status_line:?} (the proxy wants credentials and none are configured)"),
        )),
        _ => Err(proxy_error(
            proxy,
            format!("CONNECT {target} answered {status_line:?}"),
        )),
    }
}

/// The status code of an HTTP/1.x status line.
fn parse_status(line: &str) -> Option<u16> {
    let mut parts = line.split_ascii_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(user: Option<&str>, pass: Option<&str>, domain: Option<&str>) -> ProxyConfig {
        ProxyConfig {
            kind: ProxyKind::HttpConnect,
            host: "proxy.example".into(),
            port: 3128,
            username: user.map(Into::into),
            password: pass.map(Into::into),
            domain: domain.map(Into::into),
        }
    }

    #[test]
    fn connect_request_without_credentials() {
        let req = connect_request(&proxy(None, None, None), &Target::new("mx.example", 25));
        assert_eq!(
            req,
            "CONNECT mx.example:25 HTTP/1.1\r\nHost: mx.example:25\r\n\r\n"
        );
    }

    #[test]
    fn connect_request_with_basic_credentials_and_domain() {
        // RFC 7617 §2: "Aladdin:open sesame" → QWxhZGRpbjpvcGVuIHNlc2FtZQ==
        let req = connect_request(
            &proxy(Some("Aladdin"), Some("open sesame"), None),
            &Target::new("192.0.2.1", 587),
        );
        assert!(req.contains("Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
        let req = connect_request(
            &proxy(Some("u"), Some("p"), Some("CORP")),
            &Target::new("2001:db8::1", 25),
        );
        assert!(req.starts_with("CONNECT [2001:db8::1]:25 HTTP/1.1\r\n"));
        let token = base64::engine::general_purpose::STANDARD.encode("CORP\\u:p");
        assert!(req.contains(&token));
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status("HTTP/1.1 200 Connection established"),
            Some(200)
        );
        assert_eq!(
            parse_status("HTTP/1.0 407 Proxy Authentication Required"),
            Some(407)
        );
        assert_eq!(parse_status("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status("HTTP/1.1 2000 x"), None);
        assert_eq!(parse_status(""), None);
    }
}
