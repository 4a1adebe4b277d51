//! `pillarbox alias add|list|remove`.

use anyhow::Result;
use pillarbox_directory::Directory;

use crate::args::AliasCommand;

pub async fn run(cmd: AliasCommand, dir: &Directory) -> Result<()> {
    let store = dir.store();
    match cmd {
        AliasCommand::Add { source, target } => {
            let source = crate::names::alias_source(&source)?;
            for t in target.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                crate::names::address(t).map_err(|e| anyhow::anyhow!("alias target {t:?}: {e}"))?;
            }
            let a = store.alias_create(&source, &target).await?;
            println!("alias {} -> {} added", a.address(), a.target);
        }
        AliasCommand::List { domain, json } => {
            let aliases = store.alias_list(domain.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&aliases)?);
            } else {
                for a in aliases {
                    println!("{} -> {}", a.address(), a.target);
                }
            }
        }
        AliasCommand::Remove { source, target } => {
            let n = store.alias_delete(&source, target.as_deref()).await?;
            println!("{n} alias(es) of {source} removed");
        }
    }
    Ok(())
}
