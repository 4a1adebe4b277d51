//! Starts dnsmasq, a real DNS server, on a free loopback port for tests that resolve MX
//! records (shared by the queue's tests and the binary's through `#[path]`). A port is
//! taken only once dnsmasq answers a DNS query on it over UDP: a port whose TCP twin
//! belongs to another process makes dnsmasq exit, and a TCP connect alone would then
//! reach that other process; so an exited dnsmasq is started again on another port.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running dnsmasq answering for `.test`; killed on drop.
pub struct Dnsmasq {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dnsmasq {
    /// Starts dnsmasq with extra options such as `--mx-host=…` and `--host-record=…`.
    pub fn start<S: AsRef<str>>(records: &[S]) -> Dnsmasq {
        for _ in 0..10 {
            let port = UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.local_addr())
                .unwrap()
                .port();
            let mut child = Command::new("dnsmasq")
                .args([
                    "--keep-in-foreground",
                    "--no-resolv",
                    "--no-hosts",
                    "--conf-file=/dev/null",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--user=root",
                    "--pid-file",
                    "--local=/test/",
                ])
                .arg(format!("--port={port}"))
                .args(records.iter().map(|r| r.as_ref()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dnsmasq (dnsmasq-base) is installed");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if answers(port) {
                    return Dnsmasq {
                        child,
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                    };
                }
                if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break; // another port
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("dnsmasq did not start on any of ten ports");
    }
}

/// True when a DNS server answers a query for `test. A` on `port` (RFC 1035 §4.1).
fn answers(port: u16) -> bool {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
    let query = [
        0x4e, 0x51, // id
        0x01, 0x00, // recursion desired
        0, 1, 0, 0, 0, 0, 0, 0, // one question
        4, b't', b'e', b's', b't', 0, // test.
        0, 1, 0, 1, // A, IN
    ];
    if sock.send_to(&query, ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[..2] == query[..2] && buf[2] & 0x80 != 0)
}
