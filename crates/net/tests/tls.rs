//! Server TLS: the generated certificate is usable, the minimum version is enforced by
//! configuration, and a reload swaps the certificate for new handshakes.

use std::sync::Arc;
use std::time::Duration;

use pillarbox_config::{TlsSection, TlsVersion};
use pillarbox_net::{
    AcceptContext, ClientTls, ClientTlsMode, ConnectionLimits, ListenerSpec, ServerTls, Shutdown,
    TlsMode, serve,
};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(tls: ServerTls) -> std::net::SocketAddr {
    pillarbox_net::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = AcceptContext {
        tls,
        limits: ConnectionLimits::new(100, 10),
        shutdown: Shutdown::new(),
        handshake_timeout: Duration::from_secs(5),
        proxies: pillarbox_net::TrustedProxies::default(),
    };
    let spec = ListenerSpec {
        service: "test",
        tls: TlsMode::Implicit,
        refusal: "",
    };
    tokio::spawn(serve(
        listener,
        spec,
        ctx,
        |mut conn: pillarbox_net::Connection| async move {
            let _ = conn.stream.write_all(b"hello\r\n").await;
            let _ = conn.stream.flush().await;
            let mut buf = [0u8; 1];
            let _ = conn.stream.read(&mut buf).await;
        },
    ));
    addr
}

/// Connects trusting exactly `ca_pem`, returns the greeting and the presented certificate.
async fn connect(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    max13: bool,
) -> Result<(String, Vec<u8>), String> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if max13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 7];
    tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    let cert = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    Ok((String::from_utf8(buf).unwrap(), cert))
}

#[tokio::test]
async fn generated_certificate_completes_a_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let tls = ServerTls::load(&TlsSection::default(), dir.path(), "localhost").unwrap();
    assert!(tls.is_generated());
    let pem = std::fs::read_to_string(dir.path().join("tls/cert.pem")).unwrap();
    let addr = start(tls).await;
    let (greeting, _) = connect(addr, &pem, true).await.unwrap();
    assert_eq!(greeting, "hello\r\n");
    let (greeting, _) = connect(addr, &pem, false).await.unwrap();
    assert_eq!(greeting, "hello\r\n", "TLS 1.2 accepted by default");
    // A second start reuses the generated certificate instead of making a new one.
    let again = ServerTls::load(&TlsSection::default(), dir.path(), "localhost").unwrap();
    assert_eq!(
        std::fs::read_to_string(again.certificate_path()).unwrap(),
        pem
    );
}

#[tokio::test]
async fn minimum_version_13_refuses_tls12() {
    let dir = tempfile::tempdir().unwrap();
    let section = TlsSection {
        min_version: TlsVersion::Tls13,
        ..TlsSection::default()
    };
    let tls = ServerTls::load(&section, dir.path(), "localhost").unwrap();
    let pem = std::fs::read_to_string(dir.path().join("tls/cert.pem")).unwrap();
    let addr = start(tls).await;
    assert!(connect(addr, &pem, false).await.is_err());
    assert!(connect(addr, &pem, true).await.is_ok());
}

#[test]
fn legacy_minimum_versions_are_refused_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let section = TlsSection {
        min_version: TlsVersion::Tls11,
        ..TlsSection::default()
    };
    let err = ServerTls::load(&section, dir.path(), "localhost").unwrap_err();
    assert!(err.to_string().contains("minimum for clients is TLS 1.2"));
}

fn write_cert(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), name.to_string()])
        .unwrap();
    let (cp, kp) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cp, c.cert.pem()).unwrap();
    std::fs::write(&kp, c.signing_key.serialize_pem()).unwrap();
    (cp, kp, c.cert.pem())
}

#[tokio::test]
async fn reload_presents_the_new_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cp, kp, first_pem) = write_cert(dir.path(), "first.example");
    let section = TlsSection {
        certificate: Some(cp),
        private_key: Some(kp),
        ..TlsSection::default()
    };
    let tls = ServerTls::load(&section, dir.path(), "localhost").unwrap();
    let addr = start(tls.clone()).await;
    let (_, cert1) = connect(addr, &first_pem, true).await.unwrap();

    let (_, _, second_pem) = write_cert(dir.path(), "second.example");
    // Before the reload the old certificate is still served.
    assert!(connect(addr, &second_pem, true).await.is_err());
    tls.reload().unwrap();
    let (_, cert2) = connect(addr, &second_pem, true).await.unwrap();
    assert_ne!(cert1, cert2);

    // A broken file on reload keeps the current certificate.
    std::fs::write(dir.path().join("cert.pem"), "garbage").unwrap();
    assert!(tls.reload().is_err());
    assert!(connect(addr, &second_pem, true).await.is_ok());
}

#[tokio::test]
async fn client_tls_records_verification_and_honours_verify_off() {
    let dir = tempfile::tempdir().unwrap();
    let tls = ServerTls::load(&TlsSection::default(), dir.path(), "localhost").unwrap();
    let addr = start(tls).await;
    for verify in [true, false] {
        let client = ClientTls {
            mode: ClientTlsMode::Implicit,
            verify,
            ..ClientTls::default()
        };
        let (connector, outcome) = client.connector().unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let result = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await;
        assert_eq!(result.is_ok(), !verify, "self-signed: verify={verify}");
        let o = outcome.lock().unwrap().clone();
        assert!(
            matches!(o.result, Some(Err(_))),
            "verification failure is recorded"
        );
        assert!(o.certificate.is_some());
    }
    // With the generated certificate as an extra CA, verification succeeds.
    let client = ClientTls {
        mode: ClientTlsMode::Implicit,
        extra_ca: Some(dir.path().join("tls/cert.pem")),
        ..ClientTls::default()
    };
    let (connector, outcome) = client.connector().unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(outcome.lock().unwrap().result, Some(Ok(())));
}
