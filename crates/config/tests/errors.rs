//! One test per class of configuration error: each must name the file, the line and the key.

use std::path::Path;

use pillarbox_config::{Config, ConfigError};

fn err(text: &str) -> ConfigError {
    Config::parse(text, Path::new("/etc/pillarbox/pillarbox.toml")).expect_err("must be refused")
}

fn assert_names(e: &ConfigError, line: usize, key: &str, expect: &str) {
    let shown = e.to_string();
    assert_eq!(e.line(), Some(line), "{shown}");
    assert_eq!(e.key(), Some(key), "{shown}");
    assert!(
        shown.starts_with(&format!(
            "/etc/pillarbox/pillarbox.toml:{line}: key `{key}`"
        )),
        "{shown}"
    );
    assert!(shown.contains(expect), "{shown} should contain {expect:?}");
}

#[test]
fn empty_file_is_the_default_configuration() {
    let c = Config::parse("", Path::new("x.toml")).unwrap();
    assert_eq!(c.listen.smtp[0].port(), 2525);
    assert_eq!(c.listen.imaps[0].port(), 2993);
    assert_eq!(c.smtp.max_recipients, 100);
}

#[test]
fn unknown_key() {
    let e = err("[server]\nhostname = \"mx.example.com\"\nhostnam = \"typo\"\n");
    assert_names(&e, 3, "server.hostnam", "unknown key; expected one of");
}

#[test]
fn unknown_section() {
    let e = err("\n[smpt]\nmax_recipients = 5\n");
    assert_names(&e, 2, "smpt", "unknown key");
}

#[test]
fn wrong_type() {
    let e = err("[smtp]\nmax_recipients = \"lots\"\n");
    assert_names(&e, 2, "smtp.max_recipients", "invalid type");
}

#[test]
fn bad_cidr() {
    let e = err("[network]\nlan = [\"10.0.0.0/8\",\n  \"192.168.1.0/33\"]\n");
    assert_names(
        &e,
        2,
        "network.lan",
        "expected a CIDR such as 192.168.0.0/16",
    );
}

#[test]
fn proxy_trusted_networks_and_header_timeout() {
    let c = Config::parse("", Path::new("x.toml")).unwrap();
    assert!(c.network.proxy_trusted.is_empty(), "off by default");
    assert_eq!(c.limits.proxy_header_timeout.get().as_secs(), 5);
    let c = Config::parse(
        "[network]\nproxy_trusted = [\"10.0.0.0/8\", \"fd00::1\"]\n[limits]\nproxy_header_timeout = \"3s\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    assert!(
        c.network
            .proxy_trusted
            .contains("10.1.2.3".parse().unwrap())
    );
    assert!(c.network.proxy_trusted.contains("fd00::1".parse().unwrap()));
    assert!(
        !c.network
            .proxy_trusted
            .contains("192.0.2.1".parse().unwrap())
    );
    let e = err("[network]\nlan = []\nproxy_trusted = [\"10.0.0.0/33\"]\n");
    assert_names(&e, 3, "network.proxy_trusted", "expected a CIDR such as");
    let e = err("[limits]\n\nproxy_header_timeout = 0\n");
    assert_names(&e, 3, "limits.proxy_header_timeout", "at least 1s");
}

#[test]
fn bad_listen_address() {
    let e = err("[listen]\nsmtp = [\"0.0.0.0\"]\n");
    assert_names(&e, 2, "listen.smtp", "expected IP:PORT");
}

#[test]
fn bad_duration() {
    let e = err("[smtp]\ntimeout = \"five minutes\"\n");
    assert_names(&e, 2, "smtp.timeout", "expected a duration such as");
}

#[test]
fn bad_size() {
    let e = err("[smtp]\nmax_message_size = \"10 parsecs\"\n");
    assert_names(&e, 2, "smtp.max_message_size", "expected a number of bytes");
}

#[test]
fn bad_enum_value() {
    let e = err("[smtp]\nbare_newline = \"ignore\"\n");
    assert_names(&e, 2, "smtp.bare_newline", "reject");
}

#[test]
fn missing_certificate_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "x").unwrap();
    let text = format!(
        "[server]\nhostname = \"mx.example.com\"\n\n[tls]\ncertificate = \"/nonexistent/cert.pem\"\nprivate_key = \"{}\"\n",
        key.display()
    );
    let e = err(&text);
    assert_names(&e, 5, "tls.certificate", "does not exist");
}

#[test]
fn relative_certificate_resolves_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "x").unwrap();
    std::fs::write(dir.path().join("key.pem"), "x").unwrap();
    let file = dir.path().join("pillarbox.toml");
    std::fs::write(
        &file,
        "[tls]\ncertificate = \"cert.pem\"\nprivate_key = \"key.pem\"\n",
    )
    .unwrap();
    let c = Config::load(&file).unwrap();
    assert_eq!(c.tls.certificate.unwrap(), dir.path().join("cert.pem"));
}

#[test]
fn toml_syntax_error() {
    let e = err("[server]\nhostname = \"unterminated\n");
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(
        e.to_string()
            .starts_with("/etc/pillarbox/pillarbox.toml:2:"),
        "{e}"
    );
}

#[test]
fn key_that_must_agree_with_another() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "x").unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "[tls]\nmin_version = \"1.2\"\ncertificate = \"cert.pem\"\n",
    )
    .unwrap();
    let e = Config::load(&file).unwrap_err();
    assert_eq!(e.line(), Some(3));
    assert_eq!(e.key(), Some("tls.certificate"));
    assert!(e.to_string().contains("needs tls.private_key"));
}

#[test]
fn unreadable_file_names_the_file() {
    let e = Config::load(Path::new("/nonexistent/pillarbox.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/pillarbox.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn rule_naming_an_unknown_route() {
    let e = err(
        "[[queue.route]]\nname = \"isp\"\nkind = \"smarthost\"\nhost = \"smtp.isp.example\"\n\n[[queue.rule]]\nrecipient_domain = \"*\"\nroute = \"ips\"\n",
    );
    assert_names(&e, 8, "queue.rule.0.route", "no route named \"ips\"");
}

#[test]
fn smarthost_without_host_and_bad_window() {
    let e = err(
        "[queue]\nsend_immediately = false\n\n[[queue.route]]\nname = \"isp\"\nkind = \"smarthost\"\n",
    );
    assert_names(&e, 4, "queue.route.0.host", "needs a host");
    let e = err("[queue]\nsend_windows = [\"Mon-Fri 8-18\"]\n");
    assert_names(&e, 2, "queue.send_windows.0", "invalid");
}

#[test]
fn unknown_key_inside_a_route_names_its_index() {
    let e = err("[[queue.route]]\nname = \"a\"\n\n[[queue.route]]\nname = \"b\"\nhots = \"x\"\n");
    assert_eq!(e.line(), Some(6), "{e}");
    assert_eq!(e.key(), Some("queue.route.1.hots"), "{e}");
}

#[test]
fn collect_section_defaults_and_ranges() {
    let c = Config::parse("", Path::new("x.toml")).unwrap();
    assert!(c.collect.enabled);
    assert_eq!(c.collect.fetch_batch, 200);
    let c = Config::parse(
        "[collect]\ntick = \"5s\"\nmax_concurrent_accounts = 2\n",
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(c.collect.tick.get().as_secs(), 5);
    let e = err("[collect]\n\nfetch_batch = 0\n");
    assert_names(&e, 3, "collect.fetch_batch", "expected 1 to 10000");
    let e = err("[collect]\ntick = \"0s\"\n");
    assert_names(&e, 2, "collect.tick", "at least 1s");
}

#[test]
fn scan_settings_name_their_key() {
    let e = err("[scan]\nclamd = \"localhost\"\n");
    assert_names(&e, 2, "scan.clamd", "expected host:port");
    let e = err("[scan]\nlisteners = [\"smtp\", \"imap\"]\n");
    assert_names(&e, 2, "scan.listeners", "expected one of smtp");
    let e = err("[[scan.milter]]\nname = \"dkim\"\naddress = \"::1:8891\"\n");
    assert_names(&e, 3, "scan.milter.0.address", "[::1]:port for IPv6");
    let e = err("[scan]\noversize = \"truncate\"\n");
    assert_names(&e, 2, "scan.oversize", "unknown variant");
    let ok = Config::parse(
        "[scan]\nclamd = \"unix:/run/clamav/clamd.ctl\"\nrspamd = \"[::1]:11333\"\n\
         [[scan.dnsbl]]\nzone = \"zen.spamhaus.org\"\nreturns = [\"127.0.0.2\"]\n",
        Path::new("x.toml"),
    );
    assert!(ok.is_ok(), "{ok:?}");
}
