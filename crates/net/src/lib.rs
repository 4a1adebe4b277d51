//! Everything between a socket and a protocol session: listeners, the PROXY protocol
//! from trusted load balancers, TLS (server side with certificate reload, client side for
//! the queue and collection), connection limits (total and per IP), and graceful
//! shutdown.
//!
//! Protocol crates receive a [`Connection`] whose stream is a boxed [`AsyncStream`], so
//! STARTTLS can replace it with its TLS-wrapped self and tests can hand in an in-memory
//! duplex. This crate knows no mail protocol: the refusal line sent when a limit is hit
//! is supplied by the caller.

pub mod dial;
pub mod dns;
pub mod limits;
pub mod listener;
pub mod proxy_protocol;
pub mod shutdown;
pub mod stream;
pub mod tls;

pub use limits::ConnectionLimits;
pub use listener::{AcceptContext, Connection, ListenerSpec, TlsMode, TrustedProxies, serve};
pub use shutdown::Shutdown;
pub use stream::{AsyncStream, BoxedStream, TlsInfo};
pub use tls::client::{ClientTls, ClientTlsMode};
pub use tls::server::ServerTls;

/// Installs ring as the process-wide rustls crypto provider. Call once at start-up;
/// calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
