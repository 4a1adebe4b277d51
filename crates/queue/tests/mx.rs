//! MX resolution against a real DNS server on loopback (dnsmasq, started by the test).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use pillarbox_queue::mx::{MxError, MxResolver};

struct Dnsmasq(Child, SocketAddr);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

fn dnsmasq(records: &[&str]) -> Dnsmasq {
    let port = free_udp_port();
    let mut cmd = Command::new("dnsmasq");
    cmd.args([
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
    .args(records)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let child = cmd.spawn().expect("dnsmasq (dnsmasq-base) is installed");
    // Wait until it answers on TCP.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Dnsmasq(child, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test]
async fn mx_in_preference_order_implicit_mx_null_mx_and_nxdomain() {
    let dns = dnsmasq(&[
        "--mx-host=one.test,mx2.one.test,20",
        "--mx-host=one.test,mx1.one.test,10",
        "--host-record=mx1.one.test,127.0.0.2",
        "--host-record=mx2.one.test,127.0.0.3",
        "--host-record=bare.test,127.0.0.4",
        "--mx-host=null.test,.,0",
    ]);
    let r = MxResolver::new(&[dns.1]).unwrap();
    let hosts = r.hosts("one.test").await.unwrap();
    let names: Vec<(&str, u16)> = hosts
        .iter()
        .map(|h| (h.name.as_str(), h.preference))
        .collect();
    assert_eq!(names, vec![("mx1.one.test", 10), ("mx2.one.test", 20)]);
    assert_eq!(
        hosts[0].addrs,
        vec!["127.0.0.2".parse::<std::net::IpAddr>().unwrap()]
    );

    let implicit = r.hosts("bare.test").await.unwrap();
    assert_eq!(
        implicit[0].addrs,
        vec!["127.0.0.4".parse::<std::net::IpAddr>().unwrap()]
    );

    assert_eq!(
        r.hosts("null.test").await,
        Err(MxError::NullMx("null.test".into()))
    );
    let missing = r.hosts("missing.test").await.unwrap_err();
    assert!(missing.is_permanent(), "{missing:?}");
}
