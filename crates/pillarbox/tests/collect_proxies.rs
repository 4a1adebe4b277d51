//! Collection through real proxies on loopback: microsocks (SOCKS5 with username and
//! password), danted (SOCKS4 and SOCKS4a, its own configuration file) and tinyproxy
//! (HTTP CONNECT with Basic credentials, CONNECT allowed to the Dovecot ports only).

mod support;

use support::remote::{Dovecot, Local, Proxy, unique_ids};

fn collect_through(dc: &Dovecot, protocol: &str, proxy: &str) {
    let l = Local::new("");
    let port = if protocol == "pop3" { dc.pop3 } else { dc.imap };
    l.add(
        "px",
        &[
            "--protocol",
            protocol,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--tls",
            "starttls",
            "--proxy",
            proxy,
        ],
    );
    let out = l.run("px");
    assert!(out.contains("40 collected"), "{proxy}: {out}");
    let out = l.run("px");
    assert!(out.contains(" 0 collected"), "{proxy}: {out}");
    assert_eq!(unique_ids(&l.folder("INBOX")).len(), 40, "{proxy}");
}

#[test]
fn socks5_with_credentials_through_microsocks() {
    let dc = Dovecot::start(true);
    dc.fill(0, 40);
    let socks = Proxy::microsocks("puser", "ppass");
    let url = format!("socks5://puser:ppass@127.0.0.1:{}", socks.port);
    collect_through(&dc, "imap", &url);
    collect_through(&dc, "pop3", &url);
}

#[test]
fn socks4_and_socks4a_through_dante() {
    let dc = Dovecot::start(true);
    dc.fill(0, 40);
    let dante = Proxy::danted();
    collect_through(&dc, "imap", &format!("socks4://127.0.0.1:{}", dante.port));
    collect_through(&dc, "pop3", &format!("socks4a://127.0.0.1:{}", dante.port));
}

#[test]
fn http_connect_with_basic_credentials_through_tinyproxy() {
    let dc = Dovecot::start(true);
    dc.fill(0, 40);
    let tiny = Proxy::tinyproxy("puser", "ppass", &[dc.imap, dc.pop3]);
    let url = format!("http://puser:ppass@127.0.0.1:{}", tiny.port);
    collect_through(&dc, "imap", &url);
    collect_through(&dc, "pop3", &url);
    // The proxy password comes from standard input as well.
    let l = Local::new("");
    let out = l.cli(
        &[
            "collect",
            "add",
            "px",
            "--owner",
            "alice@example.test",
            "--protocol",
            "imap",
            "--host",
            "127.0.0.1",
            "--port",
            &dc.imap.to_string(),
            "--tls",
            "none",
            "--user",
            "remote",
            "--address",
            "remote@remote.test",
            "--password-stdin",
            "--proxy-password-stdin",
            "--proxy",
            &format!("http://puser@127.0.0.1:{}", tiny.port),
        ],
        Some("secret\nppass\n"),
    );
    support::ok(out);
    assert!(l.run("px").contains("40 collected"));
}
