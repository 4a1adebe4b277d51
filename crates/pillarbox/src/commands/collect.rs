//! `pillarbox collect add|list|show|set|remove|run|test`: collection accounts
//! (MultiPOP) in the store, a manual run with a progress bar (messages and bytes) and a
//! summary, and the account's connection test. Secrets come from standard input and
//! are never printed.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use pillarbox_collect::account::{
    AuthMethod, ProxyUrl, RecipientSource, Schedule, provider_preset,
};
use pillarbox_collect::connect::{self, TokenCache};
use pillarbox_collect::probe::{self, ProbeProtocol, ProbeRequest};
use pillarbox_collect::{
    AccountSettings, Destination, Encryption, Progress, Protocol, RemoteAccount, RunLimits, Runner,
    Secrets, registry,
};
use pillarbox_config::Config;
use pillarbox_delivery::DeliveryPipeline;
use pillarbox_directory::Directory;
use pillarbox_store::Role;

use crate::args::{CollectCommand, CollectOptions};

pub async fn run(cmd: CollectCommand, config: &Config) -> Result<()> {
    let store = super::open_store(config, Role::Tool)
        .with_context(|| format!("cannot open {}", super::store_location(config)))?;
    let dir = super::with_srs(
        Directory::new(store, config.network.lan.clone(), &config.auth),
        config,
    )
    .await?;
    match cmd {
        CollectCommand::Add { name, options } => {
            let owner = options.owner.clone().ok_or_else(|| {
                anyhow!("--owner is required (the local account that receives the mail)")
            })?;
            let mut secrets = Secrets::default();
            let settings = new_settings(&options, config)?;
            let mut settings = settings;
            apply(&options, &mut settings, &mut secrets, config)?;
            let enabled = options.enabled.is_none_or(|e| e.get());
            let a = registry::create(&dir, &owner, &name, enabled, settings, secrets).await?;
            println!(
                "collection account {} added: {}",
                a.name,
                a.settings.summary()
            );
        }
        CollectCommand::List { owner, json } => {
            let owner_id = match owner {
                Some(o) => Some(
                    dir.store()
                        .account_get(&o)
                        .await?
                        .ok_or_else(|| anyhow!("no account {o}"))?
                        .id,
                ),
                None => None,
            };
            let accounts = registry::list(&dir, owner_id).await?;
            if json {
                let v: Vec<_> = accounts.iter().map(public_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if accounts.is_empty() {
                println!("no collection accounts");
            } else {
                for a in &accounts {
                    println!(
                        "{}{}  {}",
                        a.name,
                        if a.enabled { "" } else { " (disabled)" },
                        a.settings.summary()
                    );
                }
            }
        }
        CollectCommand::Show { name, json } => {
            let a = registry::get(&dir, &name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&public_json(&a))?);
            } else {
                print_account(&dir, &a).await?;
            }
        }
        CollectCommand::Set { name, options } => {
            let mut a = registry::get(&dir, &name).await?;
            if options.owner.is_some() {
                bail!("the owner cannot change; remove the account and add it again");
            }
            apply(&options, &mut a.settings, &mut a.secrets, config)?;
            if let Some(e) = options.enabled {
                a.enabled = e.get();
            }
            registry::save(&dir, &a).await?;
            println!(
                "collection account {} updated: {}",
                a.name,
                a.settings.summary()
            );
        }
        CollectCommand::Remove { name } => {
            registry::remove(&dir, &name).await?;
            println!("collection account {name} removed");
        }
        CollectCommand::Run { name, all, json } => run_now(dir, config, name, all, json).await?,
        CollectCommand::Test { name, json } => {
            let a = registry::get(&dir, &name).await?;
            let s = &a.settings;
            let tokens = TokenCache::default();
            let credentials = tokens
                .credentials(a.id, s, &a.secrets)
                .await
                .map_err(|e| anyhow!(e))?;
            let req = ProbeRequest {
                protocol: match s.protocol {
                    Protocol::Pop3 => ProbeProtocol::Pop3,
                    Protocol::Imap => ProbeProtocol::Imap,
                },
                target: connect::target(s),
                dial: connect::dial_options(s, &a.secrets).map_err(|e| anyhow!(e))?,
                timeout: std::time::Duration::from_secs(s.timeout_secs),
                credentials: Some(credentials),
                ehlo_name: config.server.hostname.clone(),
            };
            super::test_connection::print_report(&probe::probe(&req).await, json)?;
        }
    }
    Ok(())
}

/// Settings for `add`, before the options are applied: protocol, server and TLS from
/// the options or the preset, defaults from `[collect]`.
fn new_settings(o: &CollectOptions, config: &Config) -> Result<AccountSettings> {
    let protocol = match o.protocol.as_deref() {
        Some(p) => parse_protocol(p)?,
        None => bail!("--protocol is required (pop3 or imap)"),
    };
    let preset = match &o.preset {
        Some(p) => Some(
            provider_preset(p, protocol)
                .ok_or_else(|| anyhow!("unknown preset {p:?}: expected microsoft365 or gmail"))?,
        ),
        None => None,
    };
    let host = o
        .host
        .clone()
        .or(preset.as_ref().map(|p| p.host.to_string()))
        .ok_or_else(|| anyhow!("--host is required (or --preset)"))?;
    let user = o
        .user
        .clone()
        .ok_or_else(|| anyhow!("--user is required (the remote login name)"))?;
    let encryption = match (&o.tls, &preset, o.port) {
        (Some(t), _, _) => Encryption::parse(t).map_err(|e| anyhow!(e))?,
        (None, Some(p), _) => p.encryption,
        (None, None, Some(993 | 995)) => Encryption::Ssl,
        (None, None, _) => Encryption::Tls,
    };
    let port = o
        .port
        .or(preset.as_ref().map(|p| p.port))
        .unwrap_or(protocol.default_port(encryption));
    let auth = match (&o.oauth_client_id, &preset) {
        (Some(id), p) => AuthMethod::OAuth2 {
            preset: p.as_ref().map(|p| p.oauth_preset.to_string()),
            tenant: o.oauth_tenant.clone(),
            token_url: o.oauth_token_url.clone(),
            client_id: id.clone(),
            scope: o.oauth_scope.clone(),
        },
        (None, _) => AuthMethod::Password,
    };
    Ok(AccountSettings {
        protocol,
        host,
        port,
        timeout_secs: config.collect.default_timeout.get().as_secs(),
        encryption,
        tls_versions: vec!["1.2".into(), "1.3".into()],
        tls_verify: true,
        auth,
        remote_address: o
            .address
            .clone()
            .or_else(|| user.contains('@').then(|| user.clone()))
            .ok_or_else(|| {
                anyhow!(
                    "--address is required when --user is not an address: the remote mailbox's \
                     own address, the recipient of collected mail forwarded downstream and the \
                     account's name in listings"
                )
            })?,
        username: user,
        proxy: None,
        schedule: Schedule {
            interval_secs: config.collect.default_interval.get().as_secs(),
            windows: Vec::new(),
            timezone: "+00:00".into(),
        },
        leave_on_server: true,
        delete_after_days: None,
        folders: vec!["INBOX".into()],
        mark_seen: false,
        only_unseen: false,
        code_page: None,
        destination: Destination::Folder {
            name: "INBOX".into(),
        },
    })
}

fn parse_protocol(p: &str) -> Result<Protocol> {
    match p.to_ascii_lowercase().as_str() {
        "pop3" | "pop" => Ok(Protocol::Pop3),
        "imap" | "imap4" => Ok(Protocol::Imap),
        _ => bail!("unknown protocol {p:?}: expected pop3 or imap"),
    }
}

/// Applies the options given (and the secrets from standard input) to `s`.
fn apply(
    o: &CollectOptions,
    s: &mut AccountSettings,
    secrets: &mut Secrets,
    config: &Config,
) -> Result<()> {
    if let Some(p) = &o.protocol {
        s.protocol = parse_protocol(p)?;
    }
    if let Some(h) = &o.host {
        s.host = h.clone();
    }
    if let Some(p) = o.port {
        s.port = p;
    }
    if let Some(t) = &o.tls {
        s.encryption = Encryption::parse(t).map_err(|e| anyhow!(e))?;
    }
    if let Some(v) = &o.tls_versions {
        s.tls_versions = v.split(',').map(|x| x.trim().to_string()).collect();
    }
    if let Some(v) = o.tls_verify {
        s.tls_verify = v.get();
    }
    if let Some(t) = o.timeout {
        s.timeout_secs = t;
    }
    if let Some(u) = &o.user {
        s.username = u.clone();
    }
    if let Some(a) = &o.address {
        s.remote_address = a.clone();
    }
    if let Some(id) = &o.oauth_client_id {
        if let AuthMethod::OAuth2 { client_id, .. } = &mut s.auth {
            *client_id = id.clone();
        } else {
            s.auth = AuthMethod::OAuth2 {
                preset: o.preset.clone(),
                tenant: o.oauth_tenant.clone(),
                token_url: o.oauth_token_url.clone(),
                client_id: id.clone(),
                scope: o.oauth_scope.clone(),
            };
        }
    }
    if let Some(p) = &o.proxy {
        if p.eq_ignore_ascii_case("none") {
            s.proxy = None;
            secrets.proxy_password = None;
        } else {
            let url = ProxyUrl::parse(p).map_err(|e| anyhow!(e))?;
            s.proxy = Some(url.settings);
            if url.password.is_some() {
                secrets.proxy_password = url.password;
            }
        }
    }
    if let Some(i) = &o.interval {
        let d = humantime::parse_duration(i).map_err(|e| anyhow!("--interval {i:?}: {e}"))?;
        s.schedule.interval_secs = d.as_secs();
    }
    if !o.window.is_empty() {
        s.schedule.windows = o
            .window
            .iter()
            .filter(|w| !w.eq_ignore_ascii_case("none"))
            .cloned()
            .collect();
    }
    if let Some(tz) = &o.timezone {
        s.schedule.timezone = tz.clone();
    }
    if let Some(l) = o.leave_on_server {
        s.leave_on_server = l.get();
        if !s.leave_on_server {
            s.delete_after_days = None;
        }
    }
    if let Some(d) = o.delete_after_days {
        s.delete_after_days = (d > 0).then_some(d);
    }
    if !o.folder.is_empty() {
        s.folders = o.folder.clone();
    }
    if let Some(m) = o.mark_seen {
        s.mark_seen = m.get();
    }
    if let Some(u) = o.only_unseen {
        s.only_unseen = u.get();
    }
    if let Some(cp) = &o.code_page {
        s.code_page = Some(cp.clone()).filter(|c| !c.is_empty());
    }
    if let Some(f) = &o.deliver_to {
        s.destination = Destination::Folder { name: f.clone() };
    }
    if let Some(route) = &o.forward {
        if !config.queue.routes.iter().any(|r| &r.name == route) {
            bail!("--forward {route}: no [[queue.route]] named {route:?} in the configuration");
        }
        s.destination = Destination::Forward {
            route: route.clone(),
            recipient: RecipientSource::RemoteAddress,
        };
    }
    if let Some(r) = &o.recipient {
        let Destination::Forward { recipient, .. } = &mut s.destination else {
            bail!("--recipient only applies with --forward");
        };
        *recipient = match r.as_str() {
            "remote" | "remote-address" => RecipientSource::RemoteAddress,
            "headers" => RecipientSource::Headers,
            a if a.contains('@') => RecipientSource::Fixed(a.to_string()),
            _ => bail!("--recipient: expected remote, headers or an address"),
        };
    }
    read_secrets(o, secrets)
}

/// Reads the secrets flagged `--*-stdin`, one line each, in the documented order.
fn read_secrets(o: &CollectOptions, secrets: &mut Secrets) -> Result<()> {
    let wanted = [
        o.password_stdin,
        o.proxy_password_stdin,
        o.oauth_refresh_token_stdin,
        o.oauth_client_secret_stdin,
    ];
    if !wanted.contains(&true) {
        return Ok(());
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read secrets from standard input")?;
    let mut lines = input.lines();
    let mut next = |what: &str| -> Result<String> {
        let l = lines
            .next()
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| anyhow!("standard input has no line for the {what}"))?;
        Ok(l)
    };
    if o.password_stdin {
        secrets.password = Some(next("password")?);
    }
    if o.proxy_password_stdin {
        secrets.proxy_password = Some(next("proxy password")?);
    }
    if o.oauth_refresh_token_stdin {
        secrets.oauth_refresh_token = Some(next("OAuth2 refresh token")?);
    }
    if o.oauth_client_secret_stdin {
        secrets.oauth_client_secret = Some(next("OAuth2 client secret")?);
    }
    Ok(())
}

/// An account as JSON, without secrets (only whether each is set).
fn public_json(a: &RemoteAccount) -> serde_json::Value {
    serde_json::json!({
        "name": a.name,
        "enabled": a.enabled,
        "settings": a.settings,
        "password_set": a.secrets.password.is_some(),
        "proxy_password_set": a.secrets.proxy_password.is_some(),
        "oauth_refresh_token_set": a.secrets.oauth_refresh_token.is_some(),
        "last_run_at": a.last_run_at,
        "last_success_at": a.last_success_at,
        "last_result": a.last_result.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()),
    })
}

async fn print_account(dir: &Directory, a: &RemoteAccount) -> Result<()> {
    let owner = dir
        .store()
        .account_get_by_id(a.owner)
        .await?
        .map(|o| o.address())
        .unwrap_or_else(|| "?".into());
    let s = &a.settings;
    println!(
        "{} (owner {owner}){}",
        a.name,
        if a.enabled { "" } else { ", disabled" }
    );
    println!("  {}", s.summary());
    println!(
        "  remote address {}, TLS versions {}, certificate check {}",
        s.remote_address,
        s.tls_versions.join(","),
        if s.tls_verify { "on" } else { "off" }
    );
    if let Some(p) = &s.proxy {
        println!(
            "  proxy {:?} {}:{}{}",
            p.kind,
            p.host,
            p.port,
            p.username
                .as_deref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default()
        );
    }
    if !s.schedule.windows.is_empty() {
        println!(
            "  windows {} ({})",
            s.schedule.windows.join("; "),
            s.schedule.timezone
        );
    }
    if s.protocol == Protocol::Imap {
        println!(
            "  folders {}{}",
            s.folders.join(", "),
            if s.mark_seen { ", mark seen" } else { "" }
        );
    }
    if let Some(cp) = &s.code_page {
        println!("  code page {cp}");
    }
    if let Some(r) = &a.last_result {
        let line = serde_json::from_str::<serde_json::Value>(r)
            .ok()
            .and_then(|v| v["line"].as_str().map(str::to_string))
            .unwrap_or_else(|| r.clone());
        println!("  last run: {line}");
    }
    Ok(())
}

/// The progress bar of a manual run: messages, and bytes in the message.
struct Bar {
    bar: indicatif::ProgressBar,
    bytes: AtomicU64,
}

impl Progress for Bar {
    fn listed(&self, messages: u64, _bytes: Option<u64>) {
        self.bar.inc_length(messages);
    }
    fn collected(&self, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bar.inc(1);
        self.bar
            .set_message(format!("{:.1} KiB", total as f64 / 1024.0));
    }
}

async fn run_now(
    dir: Directory,
    config: &Config,
    name: Option<String>,
    all: bool,
    json: bool,
) -> Result<()> {
    let accounts = match (name, all) {
        (Some(n), false) => vec![registry::get(&dir, &n).await?],
        (None, true) => registry::list(&dir, None)
            .await?
            .into_iter()
            .filter(|a| a.enabled)
            .collect(),
        _ => bail!("give an account name or --all"),
    };
    let runner = Runner {
        pipeline: DeliveryPipeline::new(dir)
            .with_hostname(&config.server.hostname)
            .with_sieve(config.sieve.enabled, config.sieve.server_scripts_refresh.0)
            .with_spam_policy(crate::scanning::spam_policy(config)),
        hostname: config.server.hostname.clone(),
        limits: RunLimits::from_config(&config.collect),
        tokens: Arc::new(TokenCache::default()),
        scanners: crate::scanning::scanners(config),
    };
    let mut failed = 0;
    let mut reports = Vec::new();
    for a in &accounts {
        let bar = indicatif::ProgressBar::new(0);
        if json {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len} messages, {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(a.name.clone());
        let progress = Bar {
            bar,
            bytes: AtomicU64::new(0),
        };
        let report = runner.run(a, &progress).await;
        progress.bar.finish_and_clear();
        if report.error.is_some() {
            failed += 1;
        }
        if json {
            reports.push(serde_json::json!({
                "name": a.name,
                "ok": report.error.is_none(),
                "summary": report.summary,
                "error": report.error.as_ref().map(|e| e.to_string()),
            }));
        } else {
            let secs = report.summary.millis as f64 / 1000.0;
            let rate = if secs > 0.0 {
                report.summary.collected as f64 / secs
            } else {
                0.0
            };
            println!(
                "{}: {} in {secs:.1} s ({rate:.0} msg/s)",
                a.name,
                report.line()
            );
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    if failed > 0 {
        bail!("{failed} of {} collection run(s) failed", accounts.len());
    }
    Ok(())
}

/// `pillarbox migrate imap`: connects like a collection account would (the same
/// options, presets and OAuth2), then copies every folder into `account`.
pub async fn migrate_imap(
    account: &str,
    from: Option<&str>,
    mut o: CollectOptions,
    quiet: bool,
    config: &Config,
) -> Result<()> {
    o.protocol = Some("imap".into());
    if let Some(url) = from {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            anyhow!("--from {url:?}: expected imaps://host[:port] or imap://host[:port]")
        })?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "imaps" => "implicit",
            "imap" => "starttls",
            _ => bail!("--from {url:?}: expected imaps:// or imap://"),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_matches(['[', ']']).to_string(),
                Some(
                    p.parse::<u16>()
                        .map_err(|_| anyhow!("--from {url:?}: bad port"))?,
                ),
            ),
            _ => (rest.to_string(), None),
        };
        o.host = Some(host);
        o.port = port.or(o.port);
        o.tls = o.tls.or(Some(tls.into()));
    }
    if o.address.is_none() {
        o.address = Some(
            o.user
                .clone()
                .filter(|u| u.contains('@'))
                .unwrap_or_else(|| format!("migration@{}", o.host.clone().unwrap_or_default())),
        );
    }
    let mut s = new_settings(&o, config)?;
    let mut secrets = Secrets::default();
    apply(&o, &mut s, &mut secrets, config)?;
    let dir = super::directory_for(config)?;
    let store = dir.store().clone();
    let local = store
        .account_get(account)
        .await?
        .ok_or_else(|| anyhow!("no account {account}"))?;
    let imap = pillarbox_collect::connect::imap_config(&s, &secrets, 256 * 1024 * 1024)
        .map_err(|e| anyhow!(e))?;
    let credentials = pillarbox_collect::connect::TokenCache::default()
        .credentials(pillarbox_store::CollectionId(0), &s, &secrets)
        .await
        .map_err(|e| anyhow!(e))?;
    let mut client =
        pillarbox_client::imap::ImapClient::connect(&pillarbox_collect::connect::target(&s), &imap)
            .await
            .map_err(|e| anyhow!("{}:{}: {e}", s.host, s.port))?;
    client
        .login(&credentials)
        .await
        .map_err(|e| anyhow!("{}:{}: {e}", s.host, s.port))?;
    let started = std::time::Instant::now();
    let bar = super::transfer::Bar::new(quiet);
    let report = pillarbox_transfer::migrate::imap(&store, &local, &mut client, &bar).await;
    bar.0.finish_and_clear();
    let _ = client.logout().await;
    let report = report?;
    println!("migrated {}:{} into {account}:", s.host, s.port);
    super::transfer::summary("copied", &report, started.elapsed().as_secs_f64());
    if report.flags_updated > 0 {
        println!(
            "{} messages had their flags brought up to date",
            report.flags_updated
        );
    }
    Ok(())
}
