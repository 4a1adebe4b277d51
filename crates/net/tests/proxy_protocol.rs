//! The accept path with PROXY protocol headers, over real loopback sockets: a trusted
//! peer's header replaces the peer address the session sees (v1, v2, v2 LOCAL keeping
//! the real one), per-address limits count the client named by the header, bytes sent
//! with the header reach the session (implicit TLS), a trusted peer without a valid
//! header is closed, and an untrusted peer's PROXY line is plain protocol input.

use std::net::SocketAddr;
use std::time::Duration;

use pillarbox_config::{IpRanges, TlsSection};
use pillarbox_net::{
    AcceptContext, Connection, ConnectionLimits, ListenerSpec, ServerTls, Shutdown, TlsMode,
    TrustedProxies, serve,
};
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const REFUSAL: &str = "421 too many\r\n";

/// A listener on 127.0.0.1 trusting PROXY headers from 127.0.0.1 only (its certificate
/// in the returned directory). Each session writes `peer=… local=… proxy=…`, then
/// echoes one line.
async fn start(tls: TlsMode, max_per_ip: usize) -> (SocketAddr, ServerTls, tempfile::TempDir) {
    pillarbox_net::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let server_tls = ServerTls::load(&TlsSection::default(), dir.path(), "localhost").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = AcceptContext {
        tls: server_tls.clone(),
        limits: ConnectionLimits::new(100, max_per_ip),
        shutdown: Shutdown::new(),
        handshake_timeout: Duration::from_secs(10),
        proxies: TrustedProxies {
            networks: IpRanges::from_static(&["127.0.0.1/32"]),
            header_timeout: Duration::from_secs(10),
        },
    };
    let spec = ListenerSpec {
        service: "test",
        tls,
        refusal: REFUSAL,
    };
    tokio::spawn(serve(listener, spec, ctx, |conn: Connection| async move {
        let proxy = conn.proxy.map(|p| p.ip().to_string());
        let mut s = BufReader::new(conn.stream);
        let hello = format!(
            "peer={} local={} proxy={}\r\n",
            conn.peer,
            conn.local,
            proxy.as_deref().unwrap_or("-")
        );
        let _ = s.write_all(hello.as_bytes()).await;
        let _ = s.flush().await;
        let mut line = String::new();
        let _ = s.read_line(&mut line).await;
        let _ = s.write_all(format!("echo {line}").as_bytes()).await;
        let _ = s.flush().await;
    }));
    (addr, server_tls, dir)
}

/// Connects to `addr` from `source` and sends `first`.
async fn connect_from(source: &str, addr: SocketAddr, first: &[u8]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(first).await.unwrap();
    s
}

async fn line<S: AsyncRead + Unpin>(s: &mut BufReader<S>) -> String {
    let mut l = String::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_line(&mut l))
        .await
        .expect("a line within the safety limit")
        .unwrap();
    l
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> (String, String) {
    let mut s = BufReader::new(s);
    let hello = line(&mut s).await;
    s.get_mut().write_all(b"NOOP\r\n").await.unwrap();
    let echo = line(&mut s).await;
    (hello, echo)
}

fn v2_inet(cmd: u8, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x20 | cmd, 0x11, 0, 12]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h
}

#[tokio::test]
async fn trusted_headers_name_the_client() {
    let (addr, _, _dir) = start(TlsMode::Plain, 10).await;
    let v1 = connect_from(
        "127.0.0.1",
        addr,
        b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n",
    )
    .await;
    assert_eq!(
        exchange(v1).await,
        (
            "peer=192.0.2.7:40000 local=198.51.100.1:25 proxy=127.0.0.1\r\n".into(),
            "echo NOOP\r\n".into()
        )
    );
    let v6 = connect_from(
        "127.0.0.1",
        addr,
        b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 143\r\n",
    )
    .await;
    assert_eq!(
        exchange(v6).await.0,
        "peer=[2001:db8::7]:40000 local=[2001:db8::1]:143 proxy=127.0.0.1\r\n"
    );
    let v2 = connect_from(
        "127.0.0.1",
        addr,
        &v2_inet(1, [203, 0, 113, 9], 5555, [198, 51, 100, 1], 110),
    )
    .await;
    assert_eq!(
        exchange(v2).await.0,
        "peer=203.0.113.9:5555 local=198.51.100.1:110 proxy=127.0.0.1\r\n"
    );
    // LOCAL (a health check): the real endpoints, whatever the address block says.
    let local = connect_from(
        "127.0.0.1",
        addr,
        &v2_inet(0, [1, 1, 1, 1], 1, [2, 2, 2, 2], 2),
    )
    .await;
    let me = local.local_addr().unwrap();
    assert_eq!(
        exchange(local).await.0,
        format!("peer={me} local={addr} proxy=127.0.0.1\r\n")
    );
}

#[tokio::test]
async fn a_trusted_peer_without_a_valid_header_is_closed_and_the_listener_goes_on() {
    let (addr, _, _dir) = start(TlsMode::Plain, 10).await;
    for first in [
        &b"EHLO client.example\r\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    ] {
        let mut s = connect_from("127.0.0.1", addr, first).await;
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut got))
            .await
            .expect("closed within the safety limit")
            .unwrap();
        assert!(got.is_empty(), "nothing is sent before closing: {got:?}");
    }
    let ok = connect_from("127.0.0.1", addr, b"PROXY UNKNOWN\r\n").await;
    let me = ok.local_addr().unwrap();
    assert_eq!(
        exchange(ok).await.0,
        format!("peer={me} local={addr} proxy=127.0.0.1\r\n")
    );
}

#[tokio::test]
async fn an_untrusted_peers_proxy_line_is_protocol_input() {
    let (addr, _, _dir) = start(TlsMode::Plain, 10).await;
    let s = connect_from("127.0.0.2", addr, b"").await;
    let me = s.local_addr().unwrap();
    let mut s = BufReader::new(s);
    assert_eq!(
        line(&mut s).await,
        format!("peer={me} local={addr} proxy=-\r\n")
    );
    s.get_mut()
        .write_all(b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n")
        .await
        .unwrap();
    assert_eq!(
        line(&mut s).await,
        "echo PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n"
    );
}

#[tokio::test]
async fn per_address_limits_count_the_client_named_by_the_header() {
    let (addr, _, _dir) = start(TlsMode::Plain, 1).await;
    let header = |client: &str| format!("PROXY TCP4 {client} 198.51.100.1 40000 25\r\n");
    // Two clients through one balancer: both served although the balancer has two
    // connections open and the limit is one per address.
    let a = connect_from("127.0.0.1", addr, header("192.0.2.1").as_bytes()).await;
    let mut a = BufReader::new(a);
    assert!(line(&mut a).await.starts_with("peer=192.0.2.1:"));
    let b = connect_from("127.0.0.1", addr, header("192.0.2.2").as_bytes()).await;
    let mut b = BufReader::new(b);
    assert!(line(&mut b).await.starts_with("peer=192.0.2.2:"));
    // A second connection of the same client is refused with the protocol's line.
    let c = connect_from("127.0.0.1", addr, header("192.0.2.1").as_bytes()).await;
    let mut c = BufReader::new(c);
    assert_eq!(line(&mut c).await, REFUSAL);
}

#[tokio::test]
async fn implicit_tls_after_a_v2_header_sent_in_the_same_write_as_the_client_hello() {
    let (addr, server_tls, _dir) = start(TlsMode::Implicit, 10).await;
    let ca = std::fs::read_to_string(server_tls.certificate_path()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    // A stream that sends the header with the ClientHello in one write.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let prefixed = Prefixing {
        header: Some(v2_inet(1, [192, 0, 2, 99], 61000, [198, 51, 100, 1], 993)),
        inner: tcp,
    };
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), prefixed)
        .await
        .unwrap();
    let (hello, echo) = exchange(tls).await;
    assert_eq!(
        hello,
        "peer=192.0.2.99:61000 local=198.51.100.1:993 proxy=127.0.0.1\r\n"
    );
    assert_eq!(echo, "echo NOOP\r\n");
}

/// Prepends `header` to the first write (as a balancer does when the client's first
/// bytes are already waiting).
struct Prefixing {
    header: Option<Vec<u8>>,
    inner: TcpStream,
}

impl AsyncRead for Prefixing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixing {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if let Some(h) = self.header.take() {
            // Header and ClientHello in one write; a fresh loopback socket takes both.
            let mut all = h;
            all.extend_from_slice(buf);
            return std::task::Poll::Ready(match self.inner.try_write(&all) {
                Ok(n) if n == all.len() => Ok(buf.len()),
                Ok(n) => Err(std::io::Error::other(format!("short first write: {n}"))),
                Err(e) => Err(e),
            });
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
