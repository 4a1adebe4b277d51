//! `pillarbox sieve …` (scripts of accounts and of the server) and `pillarbox rules …`
//! (simple rules kept as a generated Sieve script).

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use pillarbox_directory::Directory;
use pillarbox_store::{Account, Store};
use serde::{Deserialize, Serialize};

use crate::args::{RulesCommand, SieveCommand};

/// The name of the script `pillarbox rules` writes.
const RULES_SCRIPT: &str = "rules";
/// The first line of that script holds the rules it was made from.
const RULES_MARK: &str = "# pillarbox-rules ";

pub async fn run(cmd: SieveCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    match cmd {
        SieveCommand::Check { file } => {
            let source = read_source(&file)?;
            compile(&source, &file.display().to_string())?;
            println!("{}: compiles", file.display());
        }
        SieveCommand::Put {
            account,
            name,
            file,
            activate,
        } => {
            let a = account_of(store, &account).await?;
            check_name(&name)?;
            let source = read_source(&file)?;
            compile(&source, &name)?;
            store.sieve_put(a.id, &name, &source).await?;
            if activate {
                store.sieve_activate(a.id, Some(&name)).await?;
            }
            println!(
                "script {name:?} of {account} stored{}",
                if activate { " and active" } else { "" }
            );
        }
        SieveCommand::List { account } => {
            let a = account_of(store, &account).await?;
            for s in store.sieve_list(a.id).await? {
                println!(
                    "{}{}  ({} bytes)",
                    s.name,
                    if s.active { "  ACTIVE" } else { "" },
                    s.content.len()
                );
            }
        }
        SieveCommand::Show { account, name } => {
            let a = account_of(store, &account).await?;
            let s = store
                .sieve_get(a.id, &name)
                .await?
                .ok_or_else(|| anyhow!("{account} has no script named {name:?}"))?;
            print!("{}", s.content);
        }
        SieveCommand::Activate { account, name } => {
            let a = account_of(store, &account).await?;
            store
                .sieve_activate(a.id, name.as_deref())
                .await
                .with_context(|| format!("{account} has no script named {name:?}"))?;
            match name {
                Some(n) => println!("script {n:?} of {account} is active"),
                None => println!("no script of {account} is active"),
            }
        }
        SieveCommand::Rename { account, old, new } => {
            let a = account_of(store, &account).await?;
            check_name(&new)?;
            store.sieve_rename(a.id, &old, &new).await?;
            println!("script {old:?} of {account} renamed {new:?}");
        }
        SieveCommand::Remove { account, name } => {
            let a = account_of(store, &account).await?;
            store.sieve_delete(a.id, &name).await?;
            println!("script {name:?} of {account} removed");
        }
        SieveCommand::ServerSet {
            when,
            file,
            domain,
            name,
        } => {
            let setting = server_setting(&when, domain.as_deref(), name.as_deref())?;
            let source = read_source(&file)?;
            compile(&source, &setting)?;
            store.setting_put(&setting, &source).await?;
            println!("{setting} set");
        }
        SieveCommand::ServerRemove { when, domain, name } => {
            let setting = server_setting(&when, domain.as_deref(), name.as_deref())?;
            if store.setting_delete(&setting).await? {
                println!("{setting} removed");
            } else {
                bail!("{setting} is not set");
            }
        }
        SieveCommand::ServerList => {
            let found = store.sieve_for_delivery(Vec::new()).await?;
            for (name, source) in found.server {
                println!("{name}  ({} bytes)", source.len());
            }
        }
    }
    Ok(())
}

/// The setting that holds a server-wide script.
fn server_setting(when: &str, domain: Option<&str>, name: Option<&str>) -> Result<String> {
    match (when, domain, name) {
        ("before" | "after", None, None) => Ok(format!("sieve:{when}")),
        ("before" | "after", Some(d), None) => {
            Ok(format!("sieve:{when}:{}", d.to_ascii_lowercase()))
        }
        ("global", None, Some(n)) => {
            check_name(n)?;
            Ok(format!("sieve:global:{n}"))
        }
        ("global", _, _) => bail!("a global script needs --name (and no --domain)"),
        ("before" | "after", _, Some(_)) => bail!("--name is for global scripts only"),
        (other, _, _) => bail!("{other:?}: say before, after or global"),
    }
}

/// Script names as ManageSieve allows them (RFC 5804 §1.6): no control characters,
/// at most 128 characters.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        bail!("{name:?} is not a script name (1 to 128 characters, no control characters)");
    }
    Ok(())
}

fn read_source(file: &Path) -> Result<String> {
    let bytes = if file == Path::new("-") {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
        b
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 (RFC 5228 §2.2)", file.display()))
}

fn compile(source: &str, label: &str) -> Result<()> {
    pillarbox_sieve::compile(source.as_bytes(), &Default::default())
        .map(|_| ())
        .map_err(|e| anyhow!("{label}: {e}"))
}

async fn account_of(store: &Store, address: &str) -> Result<Account> {
    store
        .account_get(address)
        .await?
        .ok_or_else(|| anyhow!("no account {address}"))
}

/// What `pillarbox rules` keeps.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Rules {
    #[serde(default)]
    forward: Option<Forward>,
    #[serde(default)]
    vacation: Option<Vacation>,
    #[serde(default)]
    moves: Vec<Move>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Forward {
    address: String,
    keep: bool,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vacation {
    text: String,
    subject: Option<String>,
    days: u32,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Move {
    from: String,
    folder: String,
}

pub async fn rules(cmd: RulesCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    let address = match &cmd {
        RulesCommand::Forward { account, .. }
        | RulesCommand::Vacation { account, .. }
        | RulesCommand::Move { account, .. }
        | RulesCommand::List { account }
        | RulesCommand::Clear { account, .. } => account.clone(),
    };
    let a = account_of(store, &address).await?;
    let existing = store.sieve_get(a.id, RULES_SCRIPT).await?;
    let mut rules = match &existing {
        Some(s) => parse_rules(&s.content)?,
        None => Rules::default(),
    };
    match cmd {
        RulesCommand::List { .. } => {
            println!("{}", serde_json::to_string_pretty(&rules)?);
            if let Some(s) = existing {
                println!(
                    "\n{}{}",
                    s.content,
                    if s.active { "" } else { "(not active)\n" }
                );
            }
            return Ok(());
        }
        RulesCommand::Forward { address, keep, .. } => {
            if !address.contains('@') || address.chars().any(|c| c.is_whitespace() || c == '"') {
                bail!("{address:?} is not an address");
            }
            rules.forward = Some(Forward { address, keep });
        }
        RulesCommand::Vacation {
            text,
            subject,
            days,
            start,
            end,
            ..
        } => {
            for d in [&start, &end].into_iter().flatten() {
                check_date(d)?;
            }
            if days == 0 {
                bail!("--days must be at least 1 (RFC 5230 §4.1)");
            }
            rules.vacation = Some(Vacation {
                text,
                subject,
                days,
                start,
                end,
            });
        }
        RulesCommand::Move { from, folder, .. } => {
            if folder.is_empty() {
                bail!("the folder name is empty");
            }
            rules.moves.retain(|m| m.from != from);
            rules.moves.push(Move { from, folder });
        }
        RulesCommand::Clear { kind, .. } => match kind.as_deref() {
            None => rules = Rules::default(),
            Some("forward") => rules.forward = None,
            Some("vacation") => rules.vacation = None,
            Some("move") => rules.moves.clear(),
            Some(k) => bail!("{k:?}: say forward, vacation or move"),
        },
    }
    let script = generate(&rules)?;
    compile(&script, RULES_SCRIPT)?;
    store.sieve_put(a.id, RULES_SCRIPT, &script).await?;
    let active = store.sieve_list(a.id).await?.into_iter().find(|s| s.active);
    if let Some(other) = active.as_ref().filter(|s| s.name != RULES_SCRIPT) {
        println!(
            "note: {address}'s active script {:?} is replaced by the rules (it is kept; `pillarbox sieve activate` brings it back)",
            other.name
        );
    }
    store.sieve_activate(a.id, Some(RULES_SCRIPT)).await?;
    print!("{script}");
    Ok(())
}

fn parse_rules(script: &str) -> Result<Rules> {
    let first = script.lines().next().unwrap_or_default();
    match first.strip_prefix(RULES_MARK) {
        Some(json) => serde_json::from_str(json)
            .with_context(|| "the rules script's first line no longer holds its rules"),
        None => bail!(
            "the script {RULES_SCRIPT:?} was not written by `pillarbox rules` (edit it with a Sieve editor, or remove it first)"
        ),
    }
}

fn check_date(d: &str) -> Result<()> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(d, &fmt)
        .map_err(|_| anyhow!("{d:?} is not a date of the form YYYY-MM-DD"))?;
    Ok(())
}

/// A Sieve string (RFC 5228 §2.4.2): `\` and `"` escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The script for a set of rules: vacation first (it files nothing), then moves, then
/// the forward.
fn generate(rules: &Rules) -> Result<String> {
    let mut require: Vec<&str> = Vec::new();
    let mut body = String::new();
    if let Some(v) = &rules.vacation {
        require.push("vacation");
        let mut conds = Vec::new();
        if let Some(s) = &v.start {
            conds.push(format!("currentdate :value \"ge\" \"date\" {}", quoted(s)));
        }
        if let Some(e) = &v.end {
            conds.push(format!("currentdate :value \"le\" \"date\" {}", quoted(e)));
        }
        if !conds.is_empty() {
            require.extend(["date", "relational"]);
        }
        let mut action = format!("vacation :days {}", v.days);
        if let Some(s) = &v.subject {
            action.push_str(&format!(" :subject {}", quoted(s)));
        }
        action.push_str(&format!(" {};", quoted(&v.text)));
        if conds.is_empty() {
            body.push_str(&format!("{action}\n"));
        } else {
            body.push_str(&format!(
                "if allof ({}) {{\n    {action}\n}}\n",
                conds.join(", ")
            ));
        }
    }
    if !rules.moves.is_empty() {
        require.extend(["fileinto", "mailbox"]);
        for m in &rules.moves {
            body.push_str(&format!(
                "if address :contains \"from\" {} {{\n    fileinto :create {};\n}}\n",
                quoted(&m.from),
                quoted(&m.folder)
            ));
        }
    }
    if let Some(f) = &rules.forward {
        if f.keep {
            require.push("copy");
            body.push_str(&format!("redirect :copy {};\n", quoted(&f.address)));
        } else {
            body.push_str(&format!("redirect {};\n", quoted(&f.address)));
        }
    }
    let mut script = format!("{RULES_MARK}{}\n", serde_json::to_string(rules)?);
    script.push_str(
        "# Written by `pillarbox rules`: the next `pillarbox rules` command rewrites it.\n",
    );
    if !require.is_empty() {
        let list: Vec<String> = require.iter().map(|r| quoted(r)).collect();
        script.push_str(&format!("require [{}];\n", list.join(", ")));
    }
    script.push_str(&body);
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_and_compile() {
        let rules = Rules {
            forward: Some(Forward {
                address: "a@example.org".into(),
                keep: true,
            }),
            vacation: Some(Vacation {
                text: "Away \"until\" Monday".into(),
                subject: Some("Out".into()),
                days: 3,
                start: Some("2026-12-01".into()),
                end: None,
            }),
            moves: vec![Move {
                from: "news@".into(),
                folder: "News".into(),
            }],
        };
        let script = generate(&rules).unwrap();
        compile(&script, "rules").unwrap();
        assert_eq!(parse_rules(&script).unwrap(), rules);
        assert!(script.contains("redirect :copy \"a@example.org\";"));
        assert!(script.contains("\"Away \\\"until\\\" Monday\""));
    }

    #[test]
    fn server_settings_are_named() {
        assert_eq!(
            server_setting("before", None, None).unwrap(),
            "sieve:before"
        );
        assert_eq!(
            server_setting("after", Some("Example.COM"), None).unwrap(),
            "sieve:after:example.com"
        );
        assert_eq!(
            server_setting("global", None, Some("spam")).unwrap(),
            "sieve:global:spam"
        );
        assert!(server_setting("global", None, None).is_err());
        assert!(server_setting("during", None, None).is_err());
    }
}
