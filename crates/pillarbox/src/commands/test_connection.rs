//! `pillarbox test-connection smtp|imap|pop3 HOST[:PORT]`: the connection test from the
//! command line, printed as aligned steps with times and a verdict (or JSON). Exits
//! non-zero when a step failed. The password comes from standard input only.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use pillarbox_client::sasl::{Credentials, Secret};
use pillarbox_collect::account::{ProxyUrl, min_tls_version, split_host_port};
use pillarbox_collect::probe::{self, ProbeProtocol, ProbeReport, ProbeRequest};
use pillarbox_config::Config;
use pillarbox_net::dial::{DialOptions, ProxyConfig, Target};
use pillarbox_net::{ClientTls, ClientTlsMode};

use crate::args::TestConnectionArgs;

pub async fn run(a: TestConnectionArgs, config: &Config) -> Result<()> {
    let protocol = match a.protocol.to_ascii_lowercase().as_str() {
        "smtp" => ProbeProtocol::Smtp,
        "imap" => ProbeProtocol::Imap,
        "pop3" | "pop" => ProbeProtocol::Pop3,
        p => bail!("unknown protocol {p:?}: expected smtp, imap or pop3"),
    };
    let tls = match a.tls.as_deref() {
        None => None,
        Some("none") => Some(ClientTlsMode::None),
        Some("implicit" | "ssl") => Some(ClientTlsMode::Implicit),
        Some("starttls" | "tls" | "stls") => Some(ClientTlsMode::StartTls),
        Some(t) => bail!("--tls {t:?}: expected none, implicit or starttls"),
    };
    let (host, port) = match split_host_port(&a.server) {
        Some((h, p)) if !a.server.ends_with(']') => (h, Some(p)),
        _ => (
            a.server
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            None,
        ),
    };
    let (tls, port) = match (tls, port) {
        (Some(t), Some(p)) => (t, p),
        (Some(t), None) => (t, protocol.default_port(t)),
        (None, Some(p)) => (protocol.default_tls(p), p),
        (None, None) => {
            let t = ClientTlsMode::StartTls;
            (t, protocol.default_port(t))
        }
    };
    let versions: Vec<String> = a
        .tls_versions
        .as_deref()
        .unwrap_or("1.2,1.3")
        .split(',')
        .map(|v| v.trim().to_string())
        .collect();
    let proxy = match &a.proxy {
        Some(url) => {
            let p = ProxyUrl::parse(url).map_err(|e| anyhow!(e))?;
            Some(ProxyConfig {
                kind: p.settings.kind.kind(),
                host: p.settings.host,
                port: p.settings.port,
                username: p.settings.username,
                password: p.password,
                domain: p.settings.domain,
            })
        }
        None => None,
    };
    let credentials = match (&a.user, a.password_stdin) {
        (Some(u), true) => Some(Credentials {
            username: u.clone(),
            secret: Secret::Password(super::read_password(true, false)?),
        }),
        (Some(_), false) => bail!("--user needs --password-stdin"),
        (None, true) => bail!("--password-stdin needs --user"),
        (None, false) => None,
    };
    let timeout = Duration::from_secs(a.timeout.max(1));
    let req = ProbeRequest {
        protocol,
        target: Target::new(host, port),
        dial: DialOptions {
            connect_timeout: timeout,
            proxy,
            tls: ClientTls {
                mode: tls,
                min_version: min_tls_version(&versions).map_err(|e| anyhow!(e))?,
                verify: !a.no_verify,
                extra_ca: a.ca_file.clone(),
            },
            sni: None,
        },
        timeout,
        credentials,
        ehlo_name: a.ehlo.unwrap_or_else(|| config.server.hostname.clone()),
    };
    print_report(&probe::probe(&req).await, a.json)
}

/// Prints a report; an error (non-zero exit) when it failed.
pub fn print_report(report: &ProbeReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", report.render_text());
    }
    if !report.ok {
        bail!("connection test failed");
    }
    Ok(())
}
