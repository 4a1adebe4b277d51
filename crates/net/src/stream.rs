//! The stream type sessions read and write: any async byte stream, boxed, so a plain TCP
//! socket, a TLS stream over it, or a test duplex all look the same.

use tokio::io::{AsyncRead, AsyncWrite};

/// A bidirectional async byte stream.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> AsyncStream for T {}

/// The boxed stream a session owns.
pub type BoxedStream = Box<dyn AsyncStream>;

/// What was negotiated on a TLS connection, for logs and `Received:` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// e.g. `TLSv1.3`.
    pub version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
}

impl TlsInfo {
    /// Reads the negotiated parameters off a rustls connection.
    pub fn from_common(c: &rustls::CommonState) -> TlsInfo {
        let version = match c.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(v) => format!("{v:?}"),
            None => "unknown".to_string(),
        };
        let cipher = c
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_else(|| "unknown".to_string());
        TlsInfo { version, cipher }
    }
}

impl std::fmt::Display for TlsInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} with cipher {}", self.version, self.cipher)
    }
}
