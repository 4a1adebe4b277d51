//! Client TLS on an open stream: implicit TLS in `connect` and STARTTLS/STLS in the
//! protocol clients both come here. The handshake's version, cipher, duration, the
//! server certificate's summary and the verification verdict go into a [`TlsReport`].
//!
//! Never decides policy: whether an untrusted certificate aborts is the caller's
//! [`ClientTls::verify`]; this code only reports the difference between "certificate
//! not trusted" and "handshake failed".

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rustls_pki_types::ServerName;
use tokio::time::Instant;
use x509_parser::extensions::GeneralName;

use super::DialError;
use crate::stream::{BoxedStream, TlsInfo};
use crate::tls::client::ClientTls;

/// What a TLS handshake negotiated and what the server presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    /// e.g. `TLSv1.3`.
    pub version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    pub duration: Duration,
    /// The server's end-entity certificate, when it could be parsed.
    pub certificate: Option<CertSummary>,
    /// `Ok` when the certificate chains to a trusted root and matches the name;
    /// otherwise why not (recorded even when `verify` is off).
    pub verified: Result<(), String>,
}

impl fmt::Display for TlsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} with cipher {} in {} ms; ",
            self.version,
            self.cipher,
            self.duration.as_millis()
        )?;
        match &self.verified {
            Ok(()) => f.write_str("certificate verified")?,
            Err(e) => write!(f, "certificate NOT verified ({e})")?,
        }
        if let Some(c) = &self.certificate {
            write!(f, "; {c}")?;
        }
        Ok(())
    }
}

/// The parts of an X.509 certificate a person checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    /// Subject alternative names: DNS names and IP addresses as text.
    pub sans: Vec<String>,
}

impl CertSummary {
    /// Parses a DER certificate; `None` if it is not one.
    pub fn from_der(der: &[u8]) -> Option<CertSummary> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(d) => sans.push(d.to_string()),
                    GeneralName::IPAddress(b) => sans.push(ip_text(b)),
                    GeneralName::RFC822Name(m) => sans.push(format!("email:{m}")),
                    _ => {}
                }
            }
        }
        let validity = cert.validity();
        Some(CertSummary {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: unix_time(validity.not_before.timestamp()),
            not_after: unix_time(validity.not_after.timestamp()),
            sans,
        })
    }
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expiry = match self.not_after.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => format!("{} (unix)", d.as_secs()),
            Err(_) => "before 1970".to_string(),
        };
        write!(
            f,
            "subject {:?}, issuer {:?}, expires {expiry}, names [{}]",
            self.subject,
            self.issuer,
            self.sans.join(", ")
        )
    }
}

fn unix_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => {
            let b: [u8; 4] = [bytes[0], bytes[1], bytes[2], bytes[3]];
            IpAddr::from(b).to_string()
        }
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(bytes);
            IpAddr::from(b).to_string()
        }
        _ => format!("ip:{bytes:02x?}"),
    }
}

/// Starts client TLS on `stream` for `server_name` (a DNS name or IP literal) with the
/// settings of `tls` (its mode is ignored: the caller decided TLS starts now). Bound it
/// with a timeout: a silent peer makes this wait.
pub async fn upgrade_tls(
    stream: BoxedStream,
    server_name: &str,
    tls: &ClientTls,
) -> Result<(BoxedStream, TlsReport), DialError> {
    upgrade_tls_reporting(stream, server_name, tls)
        .await
        .map_err(|(e, _)| e)
}

/// [`upgrade_tls`] that, on failure, also hands back the certificate the server
/// presented when the handshake got that far (for the connection test).
pub async fn upgrade_tls_reporting(
    stream: BoxedStream,
    server_name: &str,
    tls: &ClientTls,
) -> Result<(BoxedStream, TlsReport), (DialError, Option<CertSummary>)> {
    if matches!(
        tls.min_version,
        pillarbox_config::TlsVersion::Tls10 | pillarbox_config::TlsVersion::Tls11
    ) {
        #[cfg(feature = "legacy-tls")]
        return super::legacy::upgrade(stream, server_name, tls).await;
        #[cfg(not(feature = "legacy-tls"))]
        return Err((
            DialError::TlsConfig(crate::tls::client::ClientTlsError::new(
                "TLS 1.0 and 1.1 need a build with the legacy-tls feature".into(),
            )),
            None,
        ));
    }
    let (connector, outcome) = tls.connector().map_err(|e| (e.into(), None))?;
    let bare = server_name.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string()).map_err(|_| {
        (
            DialError::InvalidServerName {
                name: server_name.to_string(),
            },
            None,
        )
    })?;
    let started = Instant::now();
    let result = connector.connect(name, stream).await;
    let recorded = outcome.lock().map(|o| o.clone()).unwrap_or_default();
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            let cert = recorded
                .certificate
                .as_deref()
                .and_then(CertSummary::from_der);
            let error = match recorded.result {
                Some(Err(reason)) if tls.verify => DialError::TlsUntrusted {
                    server_name: server_name.to_string(),
                    reason,
                },
                _ => DialError::TlsHandshake {
                    server_name: server_name.to_string(),
                    reason: e.to_string(),
                },
            };
            return Err((error, cert));
        }
    };
    let duration = started.elapsed();
    let (_, conn) = s.get_ref();
    let info = TlsInfo::from_common(conn);
    let certificate = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| CertSummary::from_der(c.as_ref()));
    let verified = recorded
        .result
        .unwrap_or_else(|| Err("the server presented no certificate".to_string()));
    let report = TlsReport {
        version: info.version,
        cipher: info.cipher,
        duration,
        certificate,
        verified,
    };
    Ok((Box::new(s), report))
}
