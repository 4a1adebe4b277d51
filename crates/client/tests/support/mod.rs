//! Test peers shared by the client's integration tests: a scriptable SMTP server
//! (STARTTLS, implicit TLS, AUTH with every mechanism, per-recipient replies, a record
//! of what arrived in each read) and helpers for TLS certificates.
//!
//! Test code: every server binds 127.0.0.1 port 0 and stops when dropped.

#![allow(dead_code)]

pub mod smtp_server;

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A generated certificate for "localhost" and a TLS acceptor using it.
pub struct TestCert {
    pub pem: String,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl TestCert {
    pub fn new() -> TestCert {
        pillarbox_net::install_crypto_provider();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let pem = cert.cert.pem();
        let key =
            PrivateKeyDer::from_pem_slice(cert.signing_key.serialize_pem().as_bytes()).unwrap();
        let chain = vec![CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()];
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        TestCert {
            pem,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        }
    }

    /// Writes the certificate to a file a client can trust as an extra CA.
    pub fn ca_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

/// Polls `ready` (bounded: up to five seconds) until it is true, e.g. for an external
/// server to start listening. Not a timing assumption: it returns as soon as it can.
pub async fn wait_until<F: AsyncFnMut() -> bool>(mut ready: F) {
    for _ in 0..500 {
        if ready().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("condition not reached within five seconds");
}
