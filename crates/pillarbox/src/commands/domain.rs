//! `pillarbox domain add|list|remove`.

use anyhow::Result;
use pillarbox_directory::Directory;

use crate::args::DomainCommand;

pub async fn run(cmd: DomainCommand, dir: &Directory) -> Result<()> {
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
    }
    Ok(())
}
