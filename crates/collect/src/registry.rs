//! Collection accounts as the collector and the CLI see them ([`RemoteAccount`]:
//! settings and secrets decoded), read from and written to the store. Creating one
//! requires an owner with MultiPOP enabled; the remote address and login are kept in
//! their own columns for the queue's "log on using sender's Internet Mail Account".
//!
//! Never logs secrets; never writes settings that do not validate.

use pillarbox_directory::{Directory, Service};
use pillarbox_store::{
    Account, AccountId, CollectionAccount, CollectionId, CollectionUpdate, NewCollectionAccount,
};

use crate::CollectError;
use crate::account::{AccountSettings, AuthMethod, Secrets};

/// A collection account, decoded.
#[derive(Debug, Clone)]
pub struct RemoteAccount {
    pub id: CollectionId,
    pub owner: AccountId,
    pub name: String,
    pub enabled: bool,
    pub settings: AccountSettings,
    pub secrets: Secrets,
    pub last_run_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// The last run's report (JSON written by the runner).
    pub last_result: Option<String>,
}

impl RemoteAccount {
    /// Decodes a stored row.
    pub fn from_row(row: &CollectionAccount) -> Result<RemoteAccount, CollectError> {
        let settings: AccountSettings = serde_json::from_str(&row.settings).map_err(|e| {
            CollectError::Corrupt(format!("settings of collection account {}: {e}", row.name))
        })?;
        Ok(RemoteAccount {
            id: row.id,
            owner: row.account,
            name: row.name.clone(),
            enabled: row.enabled,
            secrets: Secrets::from_columns(row.remote_secret.clone(), row.secrets.as_deref()),
            settings,
            last_run_at: row.last_run_at,
            last_success_at: row.last_success_at,
            last_result: row.last_result.clone(),
        })
    }
}

fn password_column(settings: &AccountSettings, secrets: &Secrets) -> Option<String> {
    match settings.auth {
        AuthMethod::Password => secrets.password.clone(),
        AuthMethod::OAuth2 { .. } => None,
    }
}

/// Refuses an owner that may not collect (MultiPOP off, account disabled).
pub fn check_owner(directory: &Directory, owner: &Account) -> Result<(), CollectError> {
    directory
        .check_service(
            owner,
            Service::Collection,
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        )
        .map_err(|d| CollectError::NotAllowed(format!("{}: {d}", owner.address())))
}

/// Creates a collection account for `owner` (an address).
pub async fn create(
    directory: &Directory,
    owner: &str,
    name: &str,
    enabled: bool,
    settings: AccountSettings,
    secrets: Secrets,
) -> Result<RemoteAccount, CollectError> {
    let store = directory.store();
    let account = store
        .account_get(owner)
        .await?
        .ok_or_else(|| CollectError::NotFound(format!("no account {owner}")))?;
    check_owner(directory, &account)?;
    validate_name(name)?;
    settings.validate(&secrets).map_err(CollectError::Invalid)?;
    let row = store
        .collection_create(NewCollectionAccount {
            account: account.id,
            name: name.to_string(),
            remote_address: Some(settings.remote_address.clone()),
            remote_username: Some(settings.username.clone()),
            remote_secret: password_column(&settings, &secrets),
            secrets: secrets.to_column(),
            settings: serde_json::to_string(&settings).unwrap_or_default(),
            enabled,
        })
        .await?;
    RemoteAccount::from_row(&row)
}

fn validate_name(name: &str) -> Result<(), CollectError> {
    if name.is_empty()
        || name.len() > 100
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(CollectError::Invalid(
            "name: expected 1 to 100 characters without spaces".into(),
        ));
    }
    Ok(())
}

/// Reads one account by name.
pub async fn get(directory: &Directory, name: &str) -> Result<RemoteAccount, CollectError> {
    let row = directory
        .store()
        .collection_get(name)
        .await?
        .ok_or_else(|| CollectError::NotFound(format!("no collection account {name:?}")))?;
    RemoteAccount::from_row(&row)
}

/// Every account (of one owner when given).
pub async fn list(
    directory: &Directory,
    owner: Option<AccountId>,
) -> Result<Vec<RemoteAccount>, CollectError> {
    let rows = directory.store().collection_list(owner).await?;
    rows.iter().map(RemoteAccount::from_row).collect()
}

/// Writes changed settings, secrets or the enabled switch of `account`.
pub async fn save(directory: &Directory, account: &RemoteAccount) -> Result<(), CollectError> {
    account
        .settings
        .validate(&account.secrets)
        .map_err(CollectError::Invalid)?;
    let s = &account.settings;
    directory
        .store()
        .collection_update(
            account.id,
            CollectionUpdate {
                remote_address: Some(Some(s.remote_address.clone())),
                remote_username: Some(Some(s.username.clone())),
                remote_secret: Some(password_column(s, &account.secrets)),
                secrets: Some(account.secrets.to_column()),
                settings: Some(serde_json::to_string(s).unwrap_or_default()),
                enabled: Some(account.enabled),
            },
        )
        .await?;
    Ok(())
}

/// Deletes an account and what it remembers having collected.
pub async fn remove(directory: &Directory, name: &str) -> Result<(), CollectError> {
    let a = get(directory, name).await?;
    directory.store().collection_delete(a.id).await?;
    Ok(())
}
