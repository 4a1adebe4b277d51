//! Client TLS 1.0 and 1.1 for old servers, through OpenSSL (rustls speaks only 1.2 and
//! 1.3). Used only when a connection's lowest allowed version is 1.0 or 1.1; the
//! handshake still prefers the newest version both sides speak. OpenSSL 3 refuses these
//! versions at its default security level, so the connection runs at level 0
//! (`DEFAULT:@SECLEVEL=0`): that is what allowing them means.
//!
//! Verification is performed as on the rustls path (system roots plus the extra CA,
//! host name checked) and recorded; `verify = false` only stops a failure from aborting.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509VerifyResult;
use tokio::time::Instant;

use super::DialError;
use super::tls::{CertSummary, TlsReport};
use crate::stream::BoxedStream;
use crate::tls::client::ClientTls;
use pillarbox_config::TlsVersion;

/// Client TLS on `stream` with OpenSSL, allowing versions from `tls.min_version` up.
pub(crate) async fn upgrade(
    stream: BoxedStream,
    server_name: &str,
    tls: &ClientTls,
) -> Result<(BoxedStream, TlsReport), (DialError, Option<CertSummary>)> {
    let config_error = |e: openssl::error::ErrorStack| {
        (
            DialError::TlsConfig(crate::tls::client::ClientTlsError::new(format!(
                "legacy TLS: {e}"
            ))),
            None,
        )
    };
    let bare = server_name.trim_start_matches('[').trim_end_matches(']');
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(config_error)?;
    builder
        .set_cipher_list("DEFAULT:@SECLEVEL=0")
        .map_err(config_error)?;
    builder.set_security_level(0);
    let min = match tls.min_version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        _ => SslVersion::TLS1_1,
    };
    builder
        .set_min_proto_version(Some(min))
        .map_err(config_error)?;
    // The system's roots as the rustls path sees them (a vendored OpenSSL does not know
    // where this system keeps them), then the extra CA.
    for der in rustls_native_certs::load_native_certs().certs {
        if let Ok(cert) = openssl::x509::X509::from_der(der.as_ref()) {
            let _ = builder.cert_store_mut().add_cert(cert);
        }
    }
    if let Some(ca) = &tls.extra_ca {
        builder.set_ca_file(ca).map_err(config_error)?;
    }
    // Record OpenSSL's verdict on the chain and the host name; abort only if asked to.
    let verdict: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let seen = verdict.clone();
    let enforce = tls.verify;
    builder.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if !ok && let Ok(mut v) = seen.lock() {
            v.get_or_insert_with(|| {
                let e: X509VerifyResult = ctx.error();
                e.error_string().to_string()
            });
        }
        ok || !enforce
    });
    let connector = builder.build();
    let mut config = connector.configure().map_err(config_error)?;
    config.set_verify_hostname(true);
    let ssl = config.into_ssl(bare).map_err(config_error)?;
    let mut s = tokio_openssl::SslStream::new(ssl, stream).map_err(config_error)?;
    let started = Instant::now();
    let result = Pin::new(&mut s).connect().await;
    let certificate = s
        .ssl()
        .peer_certificate()
        .and_then(|c| c.to_der().ok())
        .and_then(|der| CertSummary::from_der(&der));
    let recorded = verdict.lock().map(|v| v.clone()).unwrap_or_default();
    if let Err(e) = result {
        let error = match recorded {
            Some(reason) if enforce => DialError::TlsUntrusted {
                server_name: server_name.to_string(),
                reason,
            },
            _ => DialError::TlsHandshake {
                server_name: server_name.to_string(),
                reason: e.to_string(),
            },
        };
        return Err((error, certificate));
    }
    let report = TlsReport {
        version: match s.ssl().version_str() {
            "TLSv1" => "TLSv1.0".to_string(),
            v => v.to_string(),
        },
        cipher: s
            .ssl()
            .current_cipher()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "unknown".to_string()),
        duration: started.elapsed(),
        certificate,
        verified: match recorded {
            None => Ok(()),
            Some(reason) => Err(reason),
        },
    };
    Ok((Box::new(s), report))
}
