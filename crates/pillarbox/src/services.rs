//! Wiring of each listener to its protocol service. One function per service kind; the
//! protocol crates own their sessions.

use anyhow::Result;
use pillarbox_config::Config;
use pillarbox_directory::Directory;
use pillarbox_net::AcceptContext;
use tokio::net::TcpListener;

/// Starts the accept loop for `service` on `listener`.
pub fn start(service: &'static str, listener: TcpListener, config: &Config, directory: &Directory, accept: &AcceptContext) -> Result<()> {
    let _ = (config, directory, accept);
    tracing::warn!(service, address = ?listener.local_addr().ok(), "service not available in this build yet");
    Ok(())
}
