//! Client-side TLS for outbound connections (queue, collection, connection tests):
//! the mode (none / implicit / STARTTLS), the allowed versions, certificate verification
//! on or off, and extra trusted CA certificates. Verification is always *performed* so
//! its result can be reported; `verify = false` only stops a failure from aborting.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pillarbox_config::TlsVersion;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::TlsConnector;

/// How an outbound connection uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientTlsMode {
    /// No TLS.
    None,
    /// TLS from the first byte ("SSL": 465, 993, 995).
    Implicit,
    /// Plain first, then STARTTLS/STLS ("TLS": 587, 143, 110).
    StartTls,
}

/// Client TLS settings of one outbound connection.
#[derive(Debug, Clone)]
pub struct ClientTls {
    pub mode: ClientTlsMode,
    /// Lowest version allowed: 1.2 and 1.3 through rustls; 1.0 and 1.1 (old servers)
    /// through OpenSSL when built with the `legacy-tls` feature.
    pub min_version: TlsVersion,
    /// Abort when the server certificate does not verify.
    pub verify: bool,
    /// Extra PEM CA certificates to trust.
    pub extra_ca: Option<PathBuf>,
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls {
            mode: ClientTlsMode::StartTls,
            min_version: TlsVersion::Tls12,
            verify: true,
            extra_ca: None,
        }
    }
}

/// The outcome of certificate verification, recorded during the handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOutcome {
    /// `None` until the handshake got that far; `Some(Ok)` verified; `Some(Err(reason))`.
    pub result: Option<Result<(), String>>,
    /// The server's end-entity certificate (DER), for reporting.
    pub certificate: Option<Vec<u8>>,
}

/// Why a client TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientTlsError(String);

impl ClientTlsError {
    pub(crate) fn new(reason: String) -> ClientTlsError {
        ClientTlsError(reason)
    }
}

impl ClientTls {
    /// Builds a connector and the cell where the verification outcome will be recorded.
    pub fn connector(&self) -> Result<(TlsConnector, Arc<Mutex<VerifyOutcome>>), ClientTlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.extra_ca {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| ClientTlsError(format!("{}: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| ClientTlsError(format!("{}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| ClientTlsError(format!("{}: {e}", path.display())))?;
            }
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| ClientTlsError(e.to_string()))?;
        let outcome = Arc::new(Mutex::new(VerifyOutcome::default()));
        let verifier = Arc::new(RecordingVerifier {
            inner,
            enforce: self.verify,
            outcome: outcome.clone(),
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&super::versions_from(self.min_version))
            .map_err(|e| ClientTlsError(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok((TlsConnector::from(Arc::new(config)), outcome))
    }
}

/// Runs the standard WebPKI verification, records its result, and fails the handshake
/// only when verification is enforced.
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    enforce: bool,
    outcome: Arc<Mutex<VerifyOutcome>>,
}

impl fmt::Debug for RecordingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingVerifier")
            .field("enforce", &self.enforce)
            .finish()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        if let Ok(mut o) = self.outcome.lock() {
            o.certificate = Some(end_entity.to_vec());
            o.result = Some(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
        match result {
            Ok(v) => Ok(v),
            Err(e) if self.enforce => Err(e),
            Err(_) => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
