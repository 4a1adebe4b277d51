//! The outbound dialer against real local peers: a TCP greeter, a rustls server with a
//! generated certificate, an HTTP CONNECT proxy and a SOCKS4 proxy written here, the
//! real `microsocks` SOCKS5 server, and silent listeners for the timeouts. Every peer
//! binds 127.0.0.1 port 0 and ends with the test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use pillarbox_config::TlsVersion;
use pillarbox_net::dial::{
    self, DialError, DialOptions, DialStage, ProxyConfig, ProxyKind, Target,
};
use pillarbox_net::{ClientTls, ClientTlsMode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that writes `hello\r\n` on accept, then echoes one line back.
async fn greeter() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(b"hello\r\n").await;
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf).await {
                    let _ = s.write_all(&buf[..n]).await;
                }
            });
        }
    });
    addr
}

/// Reads the greeting and checks an echo round trip through `stream`.
async fn talk(mut stream: pillarbox_net::BoxedStream) {
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello\r\n");
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
}

fn plain() -> DialOptions {
    DialOptions {
        connect_timeout: Duration::from_secs(10),
        ..DialOptions::default()
    }
}

fn target(addr: SocketAddr) -> Target {
    Target::new(addr.ip().to_string(), addr.port())
}

#[tokio::test]
async fn direct_tcp_by_ip_and_by_name() {
    let addr = greeter().await;
    let d = dial::connect(&target(addr), &plain()).await.unwrap();
    assert!(d.report.dns.is_none(), "an IP literal needs no DNS");
    assert_eq!(d.report.tcp.1, addr);
    assert!(d.report.proxy.is_none() && d.report.tls.is_none());
    talk(d.stream).await;

    let d = dial::connect(&Target::new("localhost", addr.port()), &plain())
        .await
        .unwrap();
    let (_, ips) = d.report.dns.clone().expect("a name is resolved");
    assert!(ips.contains(&addr.ip()), "{ips:?}");
    talk(d.stream).await;
}

#[tokio::test]
async fn refused_connection_names_the_address() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let err = dial::connect(&target(addr), &plain()).await.unwrap_err();
    assert!(matches!(err, DialError::Connect { .. }), "{err:?}");
    assert_eq!(err.stage(), DialStage::Connect);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

/// A TLS server (generated certificate for "localhost") that greets like [`greeter`].
/// Returns its address and the certificate PEM.
async fn tls_greeter() -> (SocketAddr, String) {
    pillarbox_net::install_crypto_provider();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = cert.cert.pem();
    let key = PrivateKeyDer::from_pem_slice(cert.signing_key.serialize_pem().as_bytes()).unwrap();
    let chain = vec![CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()];
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                let _ = s.write_all(b"hello\r\n").await;
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf).await {
                    let _ = s.write_all(&buf[..n]).await;
                    let _ = s.flush().await;
                }
            });
        }
    });
    (addr, pem)
}

fn implicit(verify: bool, extra_ca: Option<std::path::PathBuf>) -> DialOptions {
    DialOptions {
        connect_timeout: Duration::from_secs(10),
        tls: ClientTls {
            mode: ClientTlsMode::Implicit,
            min_version: TlsVersion::Tls12,
            verify,
            extra_ca,
        },
        sni: Some("localhost".into()),
        proxy: None,
    }
}

#[tokio::test]
async fn implicit_tls_with_verification_on_refuses_an_untrusted_certificate() {
    let (addr, _) = tls_greeter().await;
    let err = dial::connect(&target(addr), &implicit(true, None))
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::TlsUntrusted { .. }), "{err:?}");
    assert!(err.to_string().contains("not trusted"), "{err}");
}

#[tokio::test]
async fn implicit_tls_with_verification_off_connects_and_records_the_verdict() {
    let (addr, _) = tls_greeter().await;
    let d = dial::connect(&target(addr), &implicit(false, None))
        .await
        .unwrap();
    let tls = d.report.tls.clone().unwrap();
    assert!(tls.verified.is_err(), "{tls:?}");
    assert!(tls.version.starts_with("TLSv1."), "{tls:?}");
    let cert = tls.certificate.clone().expect("certificate summary");
    assert_eq!(cert.sans, vec!["localhost".to_string()]);
    assert!(cert.subject.contains("rcgen"), "{cert:?}");
    assert!(cert.not_after > std::time::SystemTime::now());
    assert!(tls.to_string().contains("NOT verified"), "{tls}");
    talk(d.stream).await;
}

#[tokio::test]
async fn implicit_tls_trusting_the_extra_ca_verifies() {
    let (addr, pem) = tls_greeter().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let d = dial::connect(&target(addr), &implicit(true, Some(ca)))
        .await
        .unwrap();
    assert_eq!(d.report.tls.as_ref().unwrap().verified, Ok(()));
    talk(d.stream).await;
}

#[tokio::test]
async fn tls_handshake_against_a_silent_server_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let mut s = s;
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    let mut opts = implicit(false, None);
    opts.connect_timeout = Duration::from_millis(300);
    let err = dial::connect(&target(addr), &opts).await.unwrap_err();
    assert!(
        matches!(
            err,
            DialError::Timeout {
                stage: DialStage::Tls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("TLS handshake"), "{err}");
    held.abort();
}

/// An HTTP CONNECT proxy that demands `Basic user:pass` and then relays bytes.
async fn http_proxy(user: &'static str, pass: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let expected = format!(
        "Proxy-Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let expected = expected.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let Ok(b) = s.read_u8().await else { return };
                    head.push(b);
                }
                let head = String::from_utf8(head).unwrap();
                let mut lines = head.split("\r\n");
                let request = lines.next().unwrap().to_string();
                let authority = request
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.strip_suffix(" HTTP/1.1"))
                    .unwrap()
                    .to_string();
                assert!(head.contains(&format!("\r\nHost: {authority}\r\n")));
                if !head.lines().any(|l| l == expected) {
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                              Proxy-Authenticate: Basic realm=\"test\"\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let Ok(mut up) = TcpStream::connect(&authority).await else {
                    let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = s
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
            });
        }
    });
    addr
}

fn via(kind: ProxyKind, proxy: SocketAddr, user: Option<&str>, pass: Option<&str>) -> DialOptions {
    DialOptions {
        proxy: Some(ProxyConfig {
            kind,
            host: proxy.ip().to_string(),
            port: proxy.port(),
            username: user.map(Into::into),
            password: pass.map(Into::into),
            domain: None,
        }),
        ..plain()
    }
}

#[tokio::test]
async fn http_connect_proxy_with_basic_credentials() {
    let target_addr = greeter().await;
    let proxy = http_proxy("alice", "s3cret").await;
    let opts = via(ProxyKind::HttpConnect, proxy, Some("alice"), Some("s3cret"));
    let d = dial::connect(&target(target_addr), &opts).await.unwrap();
    let p = d.report.proxy.clone().unwrap();
    assert_eq!(p.kind, ProxyKind::HttpConnect);
    assert_eq!(d.report.tcp.1, proxy, "TCP goes to the proxy");
    talk(d.stream).await;
}

#[tokio::test]
async fn http_connect_proxy_refusing_credentials_is_a_proxy_auth_error() {
    let target_addr = greeter().await;
    let proxy = http_proxy("alice", "s3cret").await;
    let opts = via(ProxyKind::HttpConnect, proxy, Some("alice"), Some("wrong"));
    let err = dial::connect(&target(target_addr), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::ProxyAuth { .. }), "{err:?}");
    assert!(err.to_string().contains("407"), "{err}");
    assert!(!format!("{opts:?}").contains("wrong"), "password redacted");
}

#[tokio::test]
async fn http_connect_proxy_failure_names_the_status_line() {
    let proxy = http_proxy("a", "b").await;
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let opts = via(ProxyKind::HttpConnect, proxy, Some("a"), Some("b"));
    let err = dial::connect(&target(dead), &opts).await.unwrap_err();
    assert!(matches!(err, DialError::Proxy { .. }), "{err:?}");
    assert!(err.to_string().contains("502 Bad Gateway"), "{err}");
}

#[tokio::test]
async fn implicit_tls_through_an_http_proxy() {
    let (addr, _) = tls_greeter().await;
    let proxy = http_proxy("u", "p").await;
    let mut opts = implicit(false, None);
    opts.proxy = via(ProxyKind::HttpConnect, proxy, Some("u"), Some("p")).proxy;
    let d = dial::connect(&target(addr), &opts).await.unwrap();
    assert!(d.report.proxy.is_some() && d.report.tls.is_some());
    talk(d.stream).await;
}

#[tokio::test]
async fn silent_proxy_times_out_in_the_proxy_stage() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = l.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    let mut opts = via(ProxyKind::HttpConnect, proxy, None, None);
    opts.connect_timeout = Duration::from_millis(300);
    let err = dial::connect(&Target::new("192.0.2.1", 25), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DialError::Timeout {
                stage: DialStage::Proxy,
                ..
            }
        ),
        "{err:?}"
    );
    held.abort();
}

/// A minimal SOCKS4/4a proxy (one CONNECT, user id must be `uid`).
async fn socks4_proxy() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 8];
                s.read_exact(&mut head).await.unwrap();
                assert_eq!(&head[..2], &[4, 1], "SOCKS4 CONNECT");
                let port = u16::from_be_bytes([head[2], head[3]]);
                let read_z = async |s: &mut TcpStream| {
                    let mut v = Vec::new();
                    loop {
                        let b = s.read_u8().await.unwrap();
                        if b == 0 {
                            return String::from_utf8(v).unwrap();
                        }
                        v.push(b);
                    }
                };
                let uid = read_z(&mut s).await;
                let host = if head[4..7] == [0, 0, 0] && head[7] != 0 {
                    read_z(&mut s).await // 4a: the name follows
                } else {
                    format!("{}.{}.{}.{}", head[4], head[5], head[6], head[7])
                };
                let host = if host == "localhost" {
                    "127.0.0.1".to_string()
                } else {
                    host
                };
                let up = TcpStream::connect((host.as_str(), port)).await;
                match (uid == "uid", up) {
                    (true, Ok(mut up)) => {
                        s.write_all(&[0, 0x5a, 0, 0, 0, 0, 0, 0]).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
                    }
                    (false, _) => {
                        let _ = s.write_all(&[0, 0x5d, 0, 0, 0, 0, 0, 0]).await;
                    }
                    (_, Err(_)) => {
                        let _ = s.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]).await;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn socks4_and_socks4a_proxies() {
    let target_addr = greeter().await;
    let proxy = socks4_proxy().await;
    for kind in [ProxyKind::Socks4, ProxyKind::Socks4a] {
        let opts = via(kind, proxy, Some("uid"), None);
        let t = Target::new("localhost", target_addr.port());
        let d = dial::connect(&t, &opts).await.unwrap();
        talk(d.stream).await;
    }
    let opts = via(ProxyKind::Socks4a, proxy, Some("other"), None);
    let err = dial::connect(&target(target_addr), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::ProxyAuth { .. }), "{err:?}");
}

/// The real `microsocks` SOCKS5 server with a username and password, killed on drop.
struct Microsocks {
    child: tokio::process::Child,
    addr: SocketAddr,
}

impl Microsocks {
    async fn start(user: &str, pass: &str) -> Microsocks {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = tokio::process::Command::new("microsocks")
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-u",
                user,
                "-P",
                pass,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("microsocks is installed (scripts/test installs it)");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        // Wait until it listens: bounded polling, not a timing assumption.
        for _ in 0..500 {
            if TcpStream::connect(addr).await.is_ok() {
                return Microsocks { child, addr };
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("microsocks did not start listening on {addr}");
    }
}

#[tokio::test]
async fn socks5_through_microsocks_with_right_and_wrong_credentials() {
    let target_addr = greeter().await;
    let mut socks = Microsocks::start("user", "pass").await;
    let opts = via(ProxyKind::Socks5, socks.addr, Some("user"), Some("pass"));
    let d = dial::connect(&target(target_addr), &opts).await.unwrap();
    assert_eq!(d.report.proxy.as_ref().unwrap().kind, ProxyKind::Socks5);
    talk(d.stream).await;

    let opts = via(ProxyKind::Socks5, socks.addr, Some("user"), Some("nope"));
    let err = dial::connect(&target(target_addr), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::ProxyAuth { .. }), "{err:?}");

    let opts = via(ProxyKind::Socks5, socks.addr, None, None);
    let err = dial::connect(&target(target_addr), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::ProxyAuth { .. }), "{err:?}");
    socks.child.kill().await.unwrap();
}

#[tokio::test]
async fn a_failed_dial_reports_the_steps_that_worked() {
    // Untrusted certificate: TCP worked, and the certificate is known.
    let (addr, _) = tls_greeter().await;
    let f = dial::connect_reporting(&target(addr), &implicit(true, None))
        .await
        .map(|_| ())
        .expect_err("untrusted");
    assert!(matches!(f.error, DialError::TlsUntrusted { .. }), "{f}");
    assert_eq!(f.partial.tcp.map(|t| t.1), Some(addr));
    assert!(f.partial.dns.is_none() && f.partial.proxy.is_none());
    let cert = f.partial.certificate.expect("certificate seen");
    assert!(cert.sans.iter().any(|n| n == "localhost"), "{cert:?}");

    // Proxy refusing the credentials: TCP to the proxy worked, the proxy step did not.
    let proxy = http_proxy("u", "right").await;
    let opts = via(ProxyKind::HttpConnect, proxy, Some("u"), Some("wrong"));
    let f = dial::connect_reporting(&target(greeter().await), &opts)
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(matches!(f.error, DialError::ProxyAuth { .. }), "{f}");
    assert_eq!(f.partial.tcp.map(|t| t.1), Some(proxy));
    assert!(f.partial.proxy.is_none());
}
