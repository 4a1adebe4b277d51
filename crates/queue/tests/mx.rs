//! MX resolution against a real DNS server on loopback (dnsmasq, started by the test).

#[path = "common/dnsmasq.rs"]
mod dnsmasq;

use dnsmasq::Dnsmasq;
use pillarbox_queue::mx::{MxError, MxResolver};

#[tokio::test]
async fn mx_in_preference_order_implicit_mx_null_mx_and_nxdomain() {
    let dns = Dnsmasq::start(&[
        "--mx-host=one.test,mx2.one.test,20",
        "--mx-host=one.test,mx1.one.test,10",
        "--host-record=mx1.one.test,127.0.0.2",
        "--host-record=mx2.one.test,127.0.0.3",
        "--host-record=bare.test,127.0.0.4",
        "--mx-host=null.test,.,0",
    ]);
    let r = MxResolver::new(&[dns.addr]).unwrap();
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
