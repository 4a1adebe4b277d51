//! The DNS resolver the mail path uses (MX lookups, DNS block lists): the system's
//! configuration, or the nameservers a configuration names (`ip:port`, UDP then TCP).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};

/// A resolver asking `nameservers` (empty: the system's), each query within `timeout`,
/// tried twice.
pub fn resolver(nameservers: &[SocketAddr], timeout: Duration) -> Result<TokioResolver, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 2;
    let builder = if nameservers.is_empty() {
        Resolver::builder_tokio().map_err(|e| e.to_string())?
    } else {
        let servers = nameservers
            .iter()
            .map(|sa| {
                let mut udp = ConnectionConfig::udp();
                udp.port = sa.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = sa.port();
                let mut ns = NameServerConfig::udp_and_tcp(sa.ip());
                ns.connections = vec![udp, tcp];
                ns
            })
            .collect();
        Resolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
    };
    builder
        .with_options(opts)
        .build()
        .map_err(|e| e.to_string())
}
