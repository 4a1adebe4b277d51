//! TLS: the server side (certificates, reload, minimum version) and the client side
//! (modes and verification for outbound connections).

pub mod client;
pub mod server;

use pillarbox_config::TlsVersion;

/// rustls protocol versions from `min` upward. rustls has nothing below TLS 1.2, so
/// lower minimums mean 1.2.
pub(crate) fn versions_from(min: TlsVersion) -> Vec<&'static rustls::SupportedProtocolVersion> {
    match min {
        TlsVersion::Tls13 => vec![&rustls::version::TLS13],
        _ => vec![&rustls::version::TLS12, &rustls::version::TLS13],
    }
}
