//! Several Pillarbox nodes on one PostgreSQL (a fresh database on the test binary's
//! server, see `postgres.rs`), each a real `pillarbox serve` with its own data
//! directory and node name and the cluster's one secrets key (HAProxy goes in front of
//! them with `peers::HaProxy::balance`).
#![allow(dead_code)]

use std::net::SocketAddr;

use super::{TestServer, listen_any};

/// The nodes and the database they share.
pub struct Cluster {
    pub url: String,
    pub keys: tempfile::TempDir,
    pub nodes: Vec<Option<TestServer>>,
    extra: String,
}

/// The name of node `i` (a, b, c, ...).
pub fn name(i: usize) -> String {
    format!("node-{}", (b'a' + i as u8) as char)
}

impl Cluster {
    /// Starts `n` nodes with `extra` configuration (sections other than `[server]`,
    /// `[listen]` and `[store]`), one after the other.
    pub fn start(n: usize, extra: &str) -> Cluster {
        Self::start_on(&super::postgres::server().fresh_database(), n, extra)
    }

    /// [`Cluster::start`] on the database at `url`.
    pub fn start_on(url: &str, n: usize, extra: &str) -> Cluster {
        let url = url.to_string();
        let mut c = Cluster {
            url,
            keys: tempfile::tempdir().unwrap(),
            nodes: Vec::new(),
            extra: extra.to_string(),
        };
        for i in 0..n {
            let node = c.start_node(i, tempfile::tempdir().unwrap());
            c.nodes.push(Some(node));
        }
        c
    }

    /// The configuration of node `i`.
    pub fn config(&self, i: usize) -> String {
        format!(
            "{}\n[store]\nengine = \"postgres\"\nurl = \"{}\"\nnode_name = \"{}\"\n\
             secrets_key_file = \"{}\"\npool_size = 8\n\n{}\n",
            listen_any("127.0.0.1"),
            self.url,
            name(i),
            self.keys.path().join("secrets.key").display(),
            self.extra
        )
    }

    fn start_node(&self, i: usize, dir: tempfile::TempDir) -> TestServer {
        TestServer::start_in(dir, &self.config(i))
    }

    pub fn node(&self, i: usize) -> &TestServer {
        self.nodes[i].as_ref().expect("node running")
    }

    /// kill -9 of node `i`; returns its directory for a restart.
    pub fn kill9(&mut self, i: usize) -> tempfile::TempDir {
        self.nodes[i].take().expect("node running").kill9()
    }

    /// Starts node `i` again in `dir` (its previous data directory).
    pub fn restart(&mut self, i: usize, dir: tempfile::TempDir) {
        let node = self.start_node(i, dir);
        self.nodes[i] = Some(node);
    }

    /// Every running node's address for `service`.
    pub fn addrs(&self, service: &str) -> Vec<SocketAddr> {
        self.nodes
            .iter()
            .flatten()
            .map(|n| n.addr(service))
            .collect()
    }
}
