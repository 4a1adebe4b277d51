//! `pillarbox domain add|list|remove|clients`.

use anyhow::{Result, bail};
use pillarbox_config::{ClientSecurity, Config};
use pillarbox_directory::Directory;
use pillarbox_web::formats;
use pillarbox_web::profile::{Login, Profile};

use crate::args::{ClientsFormat, DomainCommand};

pub async fn run(cmd: DomainCommand, config: &Config, dir: &Directory) -> Result<()> {
    let store = dir.store();
    match cmd {
        DomainCommand::Add { name } => {
            let d = store.domain_create(&name).await?;
            println!("domain {} added", d.name);
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
    }
    Ok(())
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
