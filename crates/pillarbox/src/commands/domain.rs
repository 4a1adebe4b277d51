//! `pillarbox domain add|list|remove|clients|dkim|dns`.

use anyhow::{Result, bail};
use pillarbox_config::{ClientSecurity, Config};
use pillarbox_directory::Directory;
use pillarbox_web::formats;
use pillarbox_web::profile::{Login, Profile};

use pillarbox_delivery::dkim::{self, DomainKeys, KeyState};

use crate::args::{ClientsFormat, DkimCommand, DomainCommand};

pub async fn run(cmd: DomainCommand, config: &Config, dir: &Directory) -> Result<()> {
    let store = dir.store();
    match cmd {
        DomainCommand::Add { name } => {
            let ascii = crate::names::domain(&name)?;
            let d = store.domain_create(&ascii).await?;
            let shown = crate::names::show_domain(&d.name);
            if shown == d.name {
                println!("domain {} added", d.name);
            } else {
                println!("domain {shown} added (stored as {})", d.name);
            }
        }
        DomainCommand::List { json } => {
            let domains = store.domain_list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&domains)?);
            } else {
                for d in domains {
                    println!("{}", d.name);
                }
            }
        }
        DomainCommand::Remove { name } => {
            store.domain_delete(&name).await?;
            println!("domain {name} removed");
        }
        DomainCommand::Clients {
            name,
            format,
            address,
            http_host,
        } => {
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            if store.domain_get(&name).await?.is_none() {
                bail!("no local domain {name} (add it with `pillarbox domain add {name}`)");
            }
            let Some(p) = Profile::build(
                &config.clients,
                &config.server.hostname,
                &config.listen,
                &name,
            ) else {
                bail!("client settings are switched off for {name} (clients.enabled)");
            };
            let address = address.unwrap_or_else(|| format!("user@{name}"));
            let http_host = http_host.unwrap_or_else(|| config.server.hostname.clone());
            match format {
                ClientsFormat::Summary => print!("{}", summary(&p)),
                ClientsFormat::Dns => {
                    let https = config.listen.https.first().map_or(443, |a| a.port());
                    print!("{}", formats::dns_records(&p, &http_host, https));
                }
                ClientsFormat::Autoconfig => print!("{}", formats::autoconfig(&p)),
                ClientsFormat::Autodiscover => print!("{}", formats::autodiscover(&p, &address)),
                ClientsFormat::Mobileconfig => print!("{}", formats::mobileconfig(&p, &address)),
            }
        }
        DomainCommand::Dkim { command } => dkim_command(command, dir).await?,
        DomainCommand::Dns { args, http_host } => match args.as_slice() {
            [name] => {
                let name = local_domain(dir, name).await?;
                let keys = dkim::load(store, &name).await?;
                let http_host = http_host.unwrap_or_else(|| config.server.hostname.clone());
                print!("{}", dns_zone(config, &name, &keys, &http_host));
            }
            [check, name] if check == "check" => {
                let name = local_domain(dir, name).await?;
                let keys = dkim::load(store, &name).await?;
                let problems = dns_check(config, &name, &keys).await?;
                if problems > 0 {
                    bail!("{problems} record(s) of {name} missing or wrong");
                }
            }
            _ => bail!("say `domain dns DOMAIN` or `domain dns check DOMAIN`"),
        },
    }
    Ok(())
}

/// `name`, normalised, if it is a local domain.
async fn local_domain(dir: &Directory, name: &str) -> Result<String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if dir.store().domain_get(&name).await?.is_none() {
        bail!("no local domain {name} (add it with `pillarbox domain add {name}`)");
    }
    Ok(name)
}

async fn dkim_command(cmd: DkimCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match cmd {
        DkimCommand::Generate { domain } => {
            let domain = local_domain(dir, &domain).await?;
            let mut keys = dkim::load(store, &domain).await?;
            if keys.keys.iter().any(|k| k.state == KeyState::Active) {
                bail!(
                    "{domain} has DKIM keys already: `pillarbox domain dkim rotate {domain}` makes new ones"
                );
            }
            let pair = dkim::generate_pair(&keys, now, KeyState::Active)?;
            keys.keys.extend(pair.clone());
            dkim::save(store, &domain, &keys).await?;
            println!("{domain} signs with these keys from now on; publish:");
            print_records(&domain, &pair);
        }
        DkimCommand::Rotate { domain } => {
            let domain = local_domain(dir, &domain).await?;
            let mut keys = dkim::load(store, &domain).await?;
            if !keys.keys.iter().any(|k| k.state == KeyState::Active) {
                bail!("{domain} has no DKIM keys: `pillarbox domain dkim generate {domain}`");
            }
            if keys.keys.iter().any(|k| k.state == KeyState::Pending) {
                bail!(
                    "{domain} has a pending pair already: publish it, then `pillarbox domain dkim activate {domain}`"
                );
            }
            let pair = dkim::generate_pair(&keys, now, KeyState::Pending)?;
            keys.keys.extend(pair.clone());
            dkim::save(store, &domain, &keys).await?;
            println!(
                "new keys for {domain}, pending: the current ones go on signing. Publish these, \
                 then run `pillarbox domain dkim activate {domain}`:"
            );
            print_records(&domain, &pair);
        }
        DkimCommand::Activate { domain } => {
            let domain = local_domain(dir, &domain).await?;
            let mut keys = dkim::load(store, &domain).await?;
            if !keys.keys.iter().any(|k| k.state == KeyState::Pending) {
                bail!(
                    "{domain} has no pending DKIM keys (`pillarbox domain dkim rotate {domain}`)"
                );
            }
            for k in &mut keys.keys {
                k.state = match k.state {
                    KeyState::Pending => KeyState::Active,
                    KeyState::Active | KeyState::Retired => KeyState::Retired,
                };
            }
            dkim::save(store, &domain, &keys).await?;
            println!(
                "{domain} signs with the new keys (within 30 seconds on a running server); \
                 the old ones are retired: leave their records published for a few days."
            );
        }
        DkimCommand::Show { domain, json } => {
            let domain = local_domain(dir, &domain).await?;
            let keys = dkim::load(store, &domain).await?;
            if json {
                let shown: Vec<serde_json::Value> = keys
                    .keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "selector": k.selector,
                            "algorithm": k.algorithm,
                            "state": k.state,
                            "created": k.created,
                            "name": format!("{}._domainkey.{domain}", k.selector),
                            "txt": k.txt_record(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else if keys.keys.is_empty() {
                println!("{domain} has no DKIM keys: mail from it goes out unsigned");
            } else {
                for k in &keys.keys {
                    println!("{} {:?} {:?}", k.selector, k.algorithm, k.state);
                }
                print_records(&domain, &keys.keys);
            }
        }
        DkimCommand::Remove { domain, retired } => {
            let domain = local_domain(dir, &domain).await?;
            let mut keys = dkim::load(store, &domain).await?;
            let before = keys.keys.len();
            if retired {
                keys.keys.retain(|k| k.state != KeyState::Retired);
            } else {
                keys = DomainKeys::default();
            }
            dkim::save(store, &domain, &keys).await?;
            println!(
                "removed {} DKIM key(s) of {domain}",
                before - keys.keys.len()
            );
        }
    }
    Ok(())
}

/// TXT records in zone-file form (long values split in 255-octet strings).
fn print_records(domain: &str, keys: &[dkim::DkimKey]) {
    for k in keys {
        println!(
            "{}",
            txt_line(
                &format!("{}._domainkey.{domain}", k.selector),
                &k.txt_record()
            )
        );
    }
}

fn txt_line(name: &str, value: &str) -> String {
    let chunks: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!("{name}. 3600 IN TXT {}", chunks.join(" "))
}

/// Every record `domain` needs, as zone-file lines.
fn dns_zone(config: &Config, domain: &str, keys: &DomainKeys, http_host: &str) -> String {
    use std::fmt::Write as _;
    let host = &config.server.hostname;
    let mut out = String::new();
    let _ = writeln!(out, "; mail for {domain} comes to this server");
    let _ = writeln!(out, "{domain}. 3600 IN MX 10 {host}.");
    let _ = writeln!(out, "; only this server sends for {domain} (SPF, RFC 7208)");
    let _ = writeln!(out, "{}", txt_line(domain, "v=spf1 mx -all"));
    let signing: Vec<_> = keys
        .keys
        .iter()
        .filter(|k| k.state != KeyState::Retired)
        .cloned()
        .collect();
    if signing.is_empty() {
        let _ = writeln!(
            out,
            "; no DKIM keys yet: `pillarbox domain dkim generate {domain}` makes them"
        );
    } else {
        let _ = writeln!(out, "; DKIM public keys (RFC 6376, RFC 8463)");
        for k in &signing {
            let _ = writeln!(
                out,
                "{}",
                txt_line(
                    &format!("{}._domainkey.{domain}", k.selector),
                    &k.txt_record()
                )
            );
        }
    }
    let _ = writeln!(
        out,
        "; DMARC (RFC 7489): report only to start with; move to p=quarantine, then p=reject"
    );
    let _ = writeln!(
        out,
        "{}",
        txt_line(
            &format!("_dmarc.{domain}"),
            &format!("v=DMARC1; p=none; rua=mailto:postmaster@{domain}")
        )
    );
    let _ = writeln!(
        out,
        "; the server's address needs a PTR record naming {host}, and {host} an A/AAAA record"
    );
    if let Some(p) = Profile::build(&config.clients, host, &config.listen, domain) {
        let https = config.listen.https.first().map_or(443, |a| a.port());
        let _ = writeln!(
            out,
            "; mail clients (RFC 6186 SRV, autoconfig, autodiscover)"
        );
        out.push_str(&formats::dns_records(&p, http_host, https));
    }
    out
}

/// Looks up the records [`dns_zone`] lists and prints, one line each, whether they
/// are right, missing or wrong; returns how many are not right.
async fn dns_check(config: &Config, domain: &str, keys: &DomainKeys) -> Result<usize> {
    let servers = if config.mail_auth.resolver.is_empty() {
        &config.queue.resolver
    } else {
        &config.mail_auth.resolver
    };
    let resolver = pillarbox_queue::mx::MxResolver::new(servers)?;
    let host = config
        .server
        .hostname
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut problems = 0;
    let mut say = |ok: Option<bool>, what: &str, detail: &str| {
        let status = match ok {
            Some(true) => "ok",
            Some(false) => "WRONG",
            None => "MISSING",
        };
        if ok != Some(true) {
            problems += 1;
        }
        println!("{status:<8} {what:<36} {detail}");
    };

    let mx_label = format!("MX {domain}");
    match resolver.mx_names(domain).await {
        Ok(names) if names.iter().any(|n| n.eq_ignore_ascii_case(&host)) => {
            say(Some(true), &mx_label, &names.join(", "))
        }
        Ok(names) if names.is_empty() => say(
            None,
            &mx_label,
            &format!("publish: {domain}. MX 10 {host}."),
        ),
        Ok(names) => say(
            Some(false),
            &mx_label,
            &format!("{} (this server is {host})", names.join(", ")),
        ),
        Err(e) => say(Some(false), &mx_label, &e.to_string()),
    }

    let txt = |name: String| {
        let resolver = resolver.clone();
        async move { resolver.txt(&name).await }
    };
    let starting = |values: Vec<String>, tag: &str| -> Vec<String> {
        values
            .into_iter()
            .filter(|v| {
                v.trim_start()
                    .get(..tag.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(tag))
            })
            .collect()
    };

    let spf_label = format!("SPF {domain}");
    match txt(domain.to_string()).await.map(|v| starting(v, "v=spf1")) {
        Ok(v) if v.len() == 1 => say(Some(true), &spf_label, &v[0]),
        Ok(v) if v.is_empty() => say(None, &spf_label, "publish: \"v=spf1 mx -all\""),
        Ok(v) => say(
            Some(false),
            &spf_label,
            &format!("{} SPF records; there must be one (RFC 7208 §4.5)", v.len()),
        ),
        Err(e) => say(Some(false), &spf_label, &e.to_string()),
    }

    for k in keys.keys.iter().filter(|k| k.state != KeyState::Retired) {
        let name = format!("{}._domainkey.{domain}", k.selector);
        let label = format!("DKIM {name}");
        let want = dkim_p(&k.txt_record());
        let state = format!("{:?}", k.state).to_ascii_lowercase();
        match txt(name.clone()).await {
            Ok(v) if v.iter().any(|r| dkim_p(r) == want) => {
                say(Some(true), &label, &format!("{state} key published"))
            }
            Ok(v) if v.is_empty() => say(
                None,
                &label,
                &format!("publish the {state} key: `pillarbox domain dkim show {domain}`"),
            ),
            Ok(_) => say(
                Some(false),
                &label,
                "the published key is not this key (`pillarbox domain dkim show`)",
            ),
            Err(e) => say(Some(false), &label, &e.to_string()),
        }
    }

    let dmarc = format!("_dmarc.{domain}");
    let dmarc_label = format!("DMARC {dmarc}");
    match txt(dmarc.clone()).await.map(|v| starting(v, "v=DMARC1")) {
        Ok(v) if v.len() == 1 => say(Some(true), &dmarc_label, &v[0]),
        Ok(v) if v.is_empty() => say(
            None,
            &dmarc_label,
            &format!("publish: \"v=DMARC1; p=none; rua=mailto:postmaster@{domain}\""),
        ),
        Ok(v) => say(
            Some(false),
            &dmarc_label,
            &format!(
                "{} DMARC records; there must be one (RFC 7489 §6.6.3)",
                v.len()
            ),
        ),
        Err(e) => say(Some(false), &dmarc_label, &e.to_string()),
    }
    Ok(problems)
}

/// The `p=` tag of a DKIM key record, without white space.
fn dkim_p(record: &str) -> String {
    record
        .split(';')
        .filter_map(|t| t.split_once('='))
        .find(|(k, _)| k.trim() == "p")
        .map(|(_, v)| v.chars().filter(|c| !c.is_whitespace()).collect())
        .unwrap_or_default()
}

/// One line per server, as a person reads the settings.
fn summary(p: &Profile) -> String {
    let mut out = format!("{} ({})\n", p.domain, p.display_name);
    for s in p.incoming.iter().chain(std::iter::once(&p.outgoing)) {
        let login = match &s.login {
            Login::None => "no authentication".to_string(),
            Login::Address => "login: the e-mail address".to_string(),
            Login::Fixed(u) => format!("login: {u}"),
            Login::Ask => "login: a separate SMTP login".to_string(),
        };
        let security = match s.security {
            ClientSecurity::Ssl => "implicit TLS (SSL)",
            ClientSecurity::Starttls => "STARTTLS",
            ClientSecurity::None => "no TLS",
        };
        out.push_str(&format!(
            "  {:<5} {}:{} {security}, {login}\n",
            format!("{:?}", s.protocol).to_uppercase(),
            s.host,
            s.port,
        ));
    }
    out
}
