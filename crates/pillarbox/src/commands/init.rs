//! `pillarbox init`: a new server in one command, as a set-up wizard would do it — a
//! commented configuration, the data directory, the first domain with its DKIM keys,
//! an administrator, and the DNS records to publish.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pillarbox_config::Config;
use pillarbox_store::ServiceFlags;

use crate::args::{DkimCommand, DomainCommand, InitArgs};

pub async fn run(a: InitArgs, config_path: Option<&Path>) -> Result<()> {
    let hostname = crate::names::domain(&a.hostname)
        .with_context(|| format!("--hostname {:?}", a.hostname))?;
    if !hostname.contains('.') {
        bail!(
            "--hostname {hostname:?}: give the fully-qualified name the MX record will point to, e.g. mail.example.com"
        );
    }
    let domain =
        crate::names::domain(&a.domain).with_context(|| format!("--domain {:?}", a.domain))?;
    let admin = crate::names::address(
        &a.admin
            .clone()
            .unwrap_or_else(|| format!("postmaster@{domain}")),
    )?;
    if !admin.ends_with(&format!("@{domain}")) {
        bail!("--admin {admin:?}: the administrator's address must be in {domain}");
    }
    let path = config_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("pillarbox.toml"));
    if path.exists() && !a.force {
        bail!(
            "{} exists already: `pillarbox --config {} config check {}` checks it; --force writes a new one",
            path.display(),
            path.display(),
            path.display()
        );
    }
    let data_dir = match &a.data_dir {
        Some(d) => d.clone(),
        None if path.starts_with("/etc") => PathBuf::from("/var/lib/pillarbox"),
        None => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || PathBuf::from("pillarbox-data"),
                |p| p.join("pillarbox-data"),
            ),
    };
    let data_dir = if data_dir.is_relative() {
        std::env::current_dir()?.join(data_dir)
    } else {
        data_dir
    };
    if data_dir.join("pillarbox.db").exists() {
        bail!(
            "{} already holds a Pillarbox store; init sets up a new server only",
            data_dir.display()
        );
    }
    let password = super::read_password(a.password_stdin, true)?;

    let text = config_text(&hostname, &data_dir, a.public);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    let config = Config::parse(&text, &path)?;
    println!("wrote {}", path.display());

    let store = super::open_store(&config, pillarbox_store::Role::Tool)
        .with_context(|| format!("cannot create {}", super::store_location(&config)))?;
    let dir = pillarbox_directory::Directory::new(store, config.network.lan.clone(), &config.auth);
    println!("created the store in {}", data_dir.display());
    super::domain::run(
        DomainCommand::Add {
            name: domain.clone(),
        },
        &config,
        &dir,
    )
    .await?;
    dir.add_account(&admin, &password, ServiceFlags::default())
        .await?;
    println!("account {admin} added (log in with the full address)");
    super::domain::run(
        DomainCommand::Dkim {
            command: DkimCommand::Generate {
                domain: domain.clone(),
            },
        },
        &config,
        &dir,
    )
    .await?;
    println!();
    println!("DNS records for {domain} (publish them at your DNS provider):");
    super::domain::run(
        DomainCommand::Dns {
            args: vec![domain.clone()],
            http_host: None,
        },
        &config,
        &dir,
    )
    .await?;
    println!();
    println!(
        "next: `pillarbox --config {} serve`, then `pillarbox --config {} domain dns check {domain}` once the records are live",
        path.display(),
        path.display()
    );
    Ok(())
}

fn config_text(hostname: &str, data_dir: &Path, public: bool) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    let listen = if public {
        r#"[listen]
smtp        = ["0.0.0.0:25", "[::]:25"]       # mail from the Internet (MX)
submission  = ["0.0.0.0:587", "[::]:587"]     # your users' clients, STARTTLS
submissions = ["0.0.0.0:465", "[::]:465"]     # the same over implicit TLS
imap        = ["0.0.0.0:143", "[::]:143"]
imaps       = ["0.0.0.0:993", "[::]:993"]
pop3        = ["0.0.0.0:110", "[::]:110"]
pop3s       = ["0.0.0.0:995", "[::]:995"]
http        = ["0.0.0.0:80"]                  # client autoconfig
https       = ["0.0.0.0:443"]
managesieve = ["0.0.0.0:4190"]
"#
    } else {
        r#"# Listening on 127.0.0.1 and unprivileged ports (2525, 2587, 2465, 2143, 2993,
# 2110, 2995, 8080). For production, listen on the standard ports of every address:
# [listen]
# smtp        = ["0.0.0.0:25", "[::]:25"]
# submission  = ["0.0.0.0:587", "[::]:587"]
# submissions = ["0.0.0.0:465", "[::]:465"]
# imap        = ["0.0.0.0:143", "[::]:143"]
# imaps       = ["0.0.0.0:993", "[::]:993"]
# pop3        = ["0.0.0.0:110", "[::]:110"]
# pop3s       = ["0.0.0.0:995", "[::]:995"]
# http        = ["0.0.0.0:80"]
# https       = ["0.0.0.0:443"]
# managesieve = ["0.0.0.0:4190"]
"#
    };
    format!(
        r#"# Pillarbox configuration, written by `pillarbox init` on {date}.
# Every key has a default; only what differs needs to be here. `pillarbox config check
# FILE` checks a change before `systemctl reload pillarbox` (or a restart) applies it.

[server]
hostname = "{hostname}"      # in greetings, Received lines, the certificate, Message-IDs
data_dir = "{data}"

{listen}
# [tls]                                   # without these, a certificate is generated
# certificate = "/etc/letsencrypt/live/{hostname}/fullchain.pem"
# private_key = "/etc/letsencrypt/live/{hostname}/privkey.pem"

[network]
trusted = ["127.0.0.0/8", "::1/128"]     # may log in without TLS
relay = []                               # may send out without logging in

# [scan]                                  # antivirus and spam (see the README)
# clamd = "unix:/run/clamav/clamd.ctl"
# rspamd = "127.0.0.1:11333"
"#,
        data = data_dir.display()
    )
}
