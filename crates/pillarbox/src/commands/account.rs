//! `pillarbox account add|list|show|set|passwd|remove`.

use anyhow::{Context, Result, anyhow};
use pillarbox_config::ByteSize;
use pillarbox_directory::Directory;
use pillarbox_store::{Account, AccountUpdate, ServiceFlags};

use super::read_password;
use crate::args::{AccountCommand, AccountSettings};

pub async fn run(cmd: AccountCommand, dir: &Directory) -> Result<()> {
    match cmd {
        AccountCommand::Add {
            address,
            password_stdin,
            settings,
        } => {
            if settings.smarthost_password_stdin {
                return Err(anyhow!(
                    "set the smart host password with `account set --smarthost-password-stdin`"
                ));
            }
            let address = crate::names::address(&address)?;
            let password = read_password(password_stdin, true)?;
            let flags = apply_flags(ServiceFlags::default(), &settings);
            let account = dir.add_account(&address, &password, flags).await?;
            let update = settings_update(&settings, None)?;
            let account = dir.update_account(&account, update).await?;
            println!("account {} added", account.address());
        }
        AccountCommand::List { domain, json } => {
            let accounts = dir.store().account_list(domain.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else {
                for a in accounts {
                    println!(
                        "{}{}",
                        a.address(),
                        if a.disabled { " (disabled)" } else { "" }
                    );
                }
            }
        }
        AccountCommand::Show { address, json } => {
            let a = find(dir, &address).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&a)?);
            } else {
                print_account(&a);
            }
        }
        AccountCommand::Set { address, settings } => {
            let a = find(dir, &address).await?;
            let password = if settings.smarthost_password_stdin {
                Some(read_password(true, false)?)
            } else {
                None
            };
            let mut update = settings_update(&settings, password)?;
            update.services = Some(apply_flags(a.services, &settings));
            let a = dir.update_account(&a, update).await?;
            println!("account {} updated", a.address());
        }
        AccountCommand::Passwd {
            address,
            password_stdin,
        } => {
            let a = find(dir, &address).await?;
            let password = read_password(password_stdin, true)?;
            dir.set_password(&a, &password).await?;
            println!("password of {} changed", a.address());
        }
        AccountCommand::Remove { address, yes } => {
            let a = find(dir, &address).await?;
            use std::io::IsTerminal;
            if !yes && std::io::stdin().is_terminal() {
                let mut used = String::new();
                if a.used_bytes > 0 {
                    used = format!(" and its {} bytes of mail", a.used_bytes);
                }
                eprint!("delete {}{used}? type yes: ", a.address());
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != "yes" {
                    anyhow::bail!("not removed");
                }
            }
            dir.store().account_delete(a.id).await?;
            println!("account {} removed", a.address());
        }
    }
    Ok(())
}

async fn find(dir: &Directory, address: &str) -> Result<Account> {
    dir.store()
        .account_get(address)
        .await?
        .ok_or_else(|| anyhow!("no account {address}"))
}

fn apply_flags(mut f: ServiceFlags, s: &AccountSettings) -> ServiceFlags {
    let set = |field: &mut bool, v: Option<crate::args::Switch>| {
        if let Some(v) = v {
            *field = v.get();
        }
    };
    set(&mut f.pop, s.pop);
    set(&mut f.pop_lan_only, s.pop_lan_only);
    set(&mut f.imap, s.imap);
    set(&mut f.imap_lan_only, s.imap_lan_only);
    set(&mut f.multipop, s.multipop);
    set(&mut f.connector, s.connector);
    f
}

fn settings_update(
    s: &AccountSettings,
    smarthost_password: Option<String>,
) -> Result<AccountUpdate> {
    let quota = match &s.quota {
        Some(q) => Some(
            q.parse::<ByteSize>()
                .map_err(|e| anyhow!(e))
                .context("--quota")?
                .0,
        ),
        None => None,
    };
    let opt = |v: &Option<String>| {
        v.as_ref()
            .map(|x| Some(x.clone()).filter(|x| !x.is_empty()))
    };
    Ok(AccountUpdate {
        display_name: opt(&s.display_name),
        quota_bytes: quota,
        disabled: s.disabled.map(|d| d.get()),
        smarthost_username: opt(&s.smarthost_user),
        smarthost_password: smarthost_password.map(Some),
        ..Default::default()
    })
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn print_account(a: &Account) {
    let s = &a.services;
    println!("address:        {}", a.address());
    println!(
        "display name:   {}",
        a.display_name.as_deref().unwrap_or("-")
    );
    println!("disabled:       {}", on(a.disabled));
    let quota = if a.quota_bytes == 0 {
        "unlimited".to_string()
    } else {
        format!("{} bytes", a.quota_bytes)
    };
    println!("quota:          {quota}, {} bytes used", a.used_bytes);
    println!(
        "pop:            {} (LAN only: {})",
        on(s.pop),
        on(s.pop_lan_only)
    );
    println!(
        "imap:           {} (LAN only: {})",
        on(s.imap),
        on(s.imap_lan_only)
    );
    println!("multipop:       {}", on(s.multipop));
    println!("connector:      {}", on(s.connector));
    println!(
        "smart host:     {}",
        match (&a.smarthost_username, &a.smarthost_password) {
            (Some(u), Some(_)) => format!("{u} (password set)"),
            (Some(u), None) => u.clone(),
            _ => "-".to_string(),
        }
    );
}
