//! Real peers for outbound tests: a DNS server (dnsmasq) serving MX records on
//! loopback, and receiving SMTP servers (aiosmtpd, Debian's python3-aiosmtpd) with a
//! per-recipient policy. Each runs as a child process killed on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (also free for UDP in practice).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// dnsmasq answering for `.test` with the given `--mx-host`/`--host-record` options.
#[path = "../../../queue/tests/common/dnsmasq.rs"]
mod dnsmasq;

#[allow(unused_imports)] // not every test binary that includes the peers resolves MX
pub use dnsmasq::Dnsmasq as Dns;

/// The Python that has aiosmtpd (Debian's).
fn python_with_aiosmtpd() -> &'static str {
    for p in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return p;
        }
    }
    panic!("python3-aiosmtpd is not installed (scripts/test installs it)");
}

/// A receiving SMTP server with a policy (see `smtp_peer.py`).
pub struct SmtpPeer {
    child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message a peer accepted.
#[derive(Debug, serde::Deserialize)]
pub struct Received {
    pub from: String,
    pub rcpts: Vec<String>,
    pub data: String,
    pub tls: bool,
    pub auth: serde_json::Value,
    pub mail_options: Vec<String>,
}

impl SmtpPeer {
    /// Starts a peer on `ip:port` with extra JSON settings merged into its config.
    pub fn start(ip: &str, port: u16, extra: serde_json::Value) -> SmtpPeer {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("received");
        let mut cfg = serde_json::json!({ "host": ip, "port": port, "dir": dir });
        if let (Some(obj), Some(more)) = (cfg.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                obj.insert(k.clone(), v.clone());
            }
        }
        let cfg_path = tmp.path().join("peer.json");
        std::fs::write(&cfg_path, cfg.to_string()).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_peer.py");
        let mut child = Command::new(python_with_aiosmtpd())
            .arg(script)
            .arg(&cfg_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "peer did not start");
        SmtpPeer {
            child,
            addr: format!("{ip}:{port}").parse().unwrap(),
            dir,
            _tmp: tmp,
        }
    }

    /// The messages accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        // NNNN.json, one per message (sessions.json is the connection count).
        files.retain(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
        });
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until `n` messages arrived (or panics after `timeout`).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.received();
            if r.len() >= n {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages at {}, got {}",
                self.addr,
                r.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The most connections that were open at once.
    pub fn max_sessions(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("sessions.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["max"].as_u64())
            .unwrap_or(0)
    }

    /// The AUTH log lines.
    pub fn auth_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("auth.log"))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// How HAProxy announces the client to the server behind it.
#[derive(Debug, Clone, Copy)]
pub enum SendProxy {
    /// Nothing: the server sees HAProxy as its client.
    None,
    /// `send-proxy`: the version 1 text line.
    V1,
    /// `send-proxy-v2`: the binary header.
    V2,
    /// `send-proxy-v2` with health checks every 200 ms (each a v2 LOCAL header).
    V2Checked,
}

/// HAProxy (Debian's `haproxy`) in TCP mode, one `listen` section per route, each bound
/// on 127.0.0.1 at a free port and balancing round-robin over its backends (several
/// nodes of a cluster, or one server), with or without a PROXY header. Runs in the
/// foreground (`-db`) and is killed by PID on drop.
pub struct HaProxy {
    child: Child,
    /// The frontend address of each route, by name.
    pub front: std::collections::HashMap<String, SocketAddr>,
    _tmp: tempfile::TempDir,
}

impl HaProxy {
    /// Starts HAProxy with `routes` as (name, backend, header kind).
    pub fn start(routes: &[(&str, SocketAddr, SendProxy)]) -> HaProxy {
        let routes: Vec<(&str, Vec<SocketAddr>, SendProxy)> =
            routes.iter().map(|(n, b, k)| (*n, vec![*b], *k)).collect();
        Self::balance(&routes)
    }

    /// Starts HAProxy with `routes` as (name, backends, header kind).
    pub fn balance(routes: &[(&str, Vec<SocketAddr>, SendProxy)]) -> HaProxy {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = String::from(
            "global\n    maxconn 200\n\ndefaults\n    mode tcp\n    timeout connect 10s\n    timeout client 60s\n    timeout server 60s\n",
        );
        let mut front = std::collections::HashMap::new();
        for (name, backends, kind) in routes {
            let port = free_port();
            let option = match kind {
                SendProxy::None => "",
                SendProxy::V1 => "send-proxy",
                SendProxy::V2 => "send-proxy-v2",
                SendProxy::V2Checked => "send-proxy-v2 check inter 200ms",
            };
            cfg.push_str(&format!(
                "\nlisten {name}\n    bind 127.0.0.1:{port}\n    balance roundrobin\n"
            ));
            for (i, backend) in backends.iter().enumerate() {
                cfg.push_str(&format!("    server s{i} {backend} {option}\n"));
            }
            front.insert(name.to_string(), SocketAddr::from(([127, 0, 0, 1], port)));
        }
        let cfg_path = tmp.path().join("haproxy.cfg");
        std::fs::write(&cfg_path, &cfg).unwrap();
        let check = Command::new("haproxy")
            .args(["-c", "-q", "-f"])
            .arg(&cfg_path)
            .output()
            .expect("haproxy is installed (scripts/test installs it)");
        assert!(
            check.status.success(),
            "haproxy refused its configuration:\n{cfg}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let mut child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready when every frontend accepts: bounded polling, not a timing assumption.
        let deadline = Instant::now() + Duration::from_secs(30);
        for addr in front.values() {
            while std::net::TcpStream::connect(addr).is_err() {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("haproxy exited at start: {status}");
                }
                assert!(
                    Instant::now() < deadline,
                    "haproxy did not listen on {addr}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        HaProxy {
            child,
            front,
            _tmp: tmp,
        }
    }

    /// The frontend of route `name`.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.front[name]
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
