//! IMAP test support: a server with accounts bob and carol (password `pw`) on loopback,
//! and Python scenarios run against it with the raw client `imapc.py` (imported as
//! `from imapc import *`, with the ports and the certificate path predefined).
#![allow(dead_code)]

use crate::support::{TestServer, accounts, listen_any, python_ok};

/// The LAN is 127.0.0.1 only; all of loopback may log in without TLS.
pub const NETWORK: &str = "[network]\nlan = [\"127.0.0.1/32\"]\ntrusted = [\"127.0.0.0/8\"]\n";

/// A running server for IMAP tests.
pub struct Imap {
    pub s: TestServer,
}

impl Imap {
    /// Default configuration plus `NETWORK`.
    pub fn start() -> Imap {
        Imap::start_with("")
    }

    /// Default configuration plus `NETWORK` and `extra` (which must not repeat those
    /// sections).
    pub fn start_with(extra: &str) -> Imap {
        let network = if extra.contains("[network]") {
            ""
        } else {
            NETWORK
        };
        let s = TestServer::start(&format!("{}\n{network}\n{extra}", listen_any("127.0.0.1")));
        accounts(&s, &["bob", "carol"]);
        Imap { s }
    }

    pub fn port(&self, service: &str) -> u16 {
        self.s.addr(service).port()
    }

    /// The Python prelude: the client module and the server's ports.
    pub fn prelude(&self) -> String {
        let support = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support");
        format!(
            "import sys, re, time, socket\nsys.path.insert(0, {support:?})\nfrom imapc import *\n\
IMAP = {}\nIMAPS = {}\nSMTP = {}\nPOP3 = {}\nCERT = {:?}\nPID = {}\n",
            self.port("imap"),
            self.port("imaps"),
            self.port("smtp"),
            self.port("pop3"),
            self.s.data_dir().join("tls/cert.pem").display().to_string(),
            self.s.child.id(),
        )
    }

    /// Runs a Python scenario (after the prelude); returns its output.
    pub fn py(&self, script: &str) -> String {
        python_ok(&format!("{}\n{script}", self.prelude()), &[])
    }

    /// Runs a CLI command, asserting success.
    pub fn cli(&self, args: &[&str]) -> String {
        crate::support::ok(self.s.cli(args, None))
    }
}
