//! The server certificate: loaded from configured PEM files, or generated (self-signed,
//! for the host name and the local domains' provisioning names, valid for a year) on
//! first start, kept in `<data_dir>/tls/`, and generated again at a start within 30 days
//! of its end. [`ServerTls::reload`]
//! re-reads the files (SIGHUP); handshakes after the reload use the new certificate.
//! The minimum protocol version comes from configuration (TLS 1.2 by default).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use pillarbox_config::{TlsSection, TlsVersion};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why the certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn file_err(path: &Path, message: impl fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Hands out the current certificate; swapped on reload.
#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| k.clone())
    }
}

/// Server-side TLS for every listener.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    current: Arc<CurrentCert>,
    cert_path: PathBuf,
    key_path: PathBuf,
    generated: bool,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_path", &self.cert_path)
            .field("generated", &self.generated)
            .finish()
    }
}

impl ServerTls {
    /// Loads the configured certificate, or the generated one in `data_dir/tls`
    /// (generating it when missing or expiring): [`ServerTls::load_for_domains`]
    /// without local domains.
    pub fn load(tls: &TlsSection, data_dir: &Path, hostname: &str) -> Result<ServerTls, TlsError> {
        Self::load_for_domains(tls, data_dir, hostname, &[])
    }

    /// Loads the configured certificate, or the generated one in `data_dir/tls`. A
    /// generated certificate names `hostname` (subject CN and SAN, with `localhost`)
    /// and, for each of `domains` (the local domains), `autoconfig.`, `autodiscover.`
    /// and `mta-sts.` of it, so client provisioning over HTTPS can validate it; it is
    /// valid for [`GENERATED_VALIDITY`]. It is generated again when missing, when it
    /// ends within [`RENEW_BEFORE`], or when one of those names is not in it.
    pub fn load_for_domains(
        tls: &TlsSection,
        data_dir: &Path,
        hostname: &str,
        domains: &[String],
    ) -> Result<ServerTls, TlsError> {
        if tls.min_version < TlsVersion::Tls12 {
            return Err(TlsError::Config(format!(
                "tls.min_version {} is not served: the minimum for clients is TLS 1.2",
                tls.min_version
            )));
        }
        let (cert_path, key_path, generated) = match (&tls.certificate, &tls.private_key) {
            (Some(c), Some(k)) => (c.clone(), k.clone(), false),
            _ => {
                let dir = data_dir.join("tls");
                let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
                let names = generated_names(hostname, domains);
                let renew = match std::fs::read(&c) {
                    Ok(pem) if k.is_file() => needs_renewal(&pem, &names, SystemTime::now()),
                    _ => Some("none yet"),
                };
                if let Some(why) = renew {
                    tracing::info!(reason = why, "generating the server certificate");
                    generate_self_signed(&dir, &c, &k, hostname, &names, SystemTime::now())?;
                }
                (c, k, true)
            }
        };
        let key = load_certified_key(&cert_path, &key_path)?;
        let current = Arc::new(CurrentCert(RwLock::new(Arc::new(key))));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&super::versions_from(tls.min_version))
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        Ok(ServerTls {
            config: Arc::new(config),
            current,
            cert_path,
            key_path,
            generated,
        })
    }

    /// Re-reads the certificate and key files. On error the old certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_certified_key(&self.cert_path, &self.key_path)?;
        if let Ok(mut cur) = self.current.0.write() {
            *cur = Arc::new(key);
        }
        Ok(())
    }

    /// An acceptor for handshakes.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }

    /// The certificate file in use.
    pub fn certificate_path(&self) -> &Path {
        &self.cert_path
    }

    /// True when the certificate was generated by Pillarbox (self-signed).
    pub fn is_generated(&self) -> bool {
        self.generated
    }
}

fn load_certified_key(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| file_err(cert_path, format!("cannot read certificate: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(cert_path, format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(file_err(cert_path, "no CERTIFICATE block found"));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| file_err(key_path, format!("not a PEM private key: {e}")))?;
    CertifiedKey::from_der(certs, key, &rustls::crypto::ring::default_provider()).map_err(|e| {
        file_err(
            key_path,
            format!("key does not fit the certificate or is unsupported: {e}"),
        )
    })
}

/// How long a generated certificate is valid for.
pub const GENERATED_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A generated certificate is made again at start when it ends within this.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The names a generated certificate carries: the host name, `localhost`, then
/// `autoconfig.D`, `autodiscover.D` and `mta-sts.D` for each local domain D.
pub fn generated_names(hostname: &str, domains: &[String]) -> Vec<String> {
    let mut names = vec![hostname.to_ascii_lowercase()];
    let mut push = |n: String| {
        if !names.contains(&n) {
            names.push(n);
        }
    };
    push("localhost".to_string());
    for d in domains {
        let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
        if d.is_empty() {
            continue;
        }
        for prefix in ["autoconfig", "autodiscover", "mta-sts"] {
            push(format!("{prefix}.{d}"));
        }
    }
    names
}

/// Why the generated certificate in `pem` must be made again at `now` (`None`: it
/// serves): unreadable, ending within [`RENEW_BEFORE`], or missing one of `names`.
pub fn needs_renewal(pem: &[u8], names: &[String], now: SystemTime) -> Option<&'static str> {
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(pem) else {
        return Some("unreadable");
    };
    let Ok(cert) = pem.parse_x509() else {
        return Some("unreadable");
    };
    let now = unix(now);
    let not_after = cert.validity().not_after.timestamp();
    if not_after - (RENEW_BEFORE.as_secs() as i64) <= now {
        return Some("expiring");
    }
    let sans: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => {
                        Some(d.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if names.iter().any(|n| !sans.contains(n)) {
        return Some("names changed");
    }
    None
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Writes a self-signed ECDSA P-256 certificate whose subject CN is `hostname` and
/// whose SANs are `names`, valid from a day before `now` for [`GENERATED_VALIDITY`].
fn generate_self_signed(
    dir: &Path,
    cert: &Path,
    key: &Path,
    hostname: &str,
    names: &[String],
    now: SystemTime,
) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let config = |e: rcgen::Error| TlsError::Config(e.to_string());
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(config)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, hostname);
    params.distinguished_name = dn;
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let since_epoch = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let day = Duration::from_secs(24 * 3600);
    params.not_before = epoch + since_epoch.saturating_sub(day);
    params.not_after = epoch + since_epoch + GENERATED_VALIDITY;
    let signing_key = rcgen::KeyPair::generate().map_err(config)?;
    let generated = params.self_signed(&signing_key).map_err(config)?;
    write_private(key, signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert, generated.pem()).map_err(|e| file_err(cert, e))?;
    tracing::info!(path = %cert.display(), %hostname, names = names.len(), "generated a self-signed certificate");
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(|e| file_err(path, e))?;
    f.write_all(data).map_err(|e| file_err(path, e))
}
