//! "Log on using sender's Internet Mail Account settings" (eXchange POP3): the login of
//! the collection account whose remote address is the message's sender.

use pillarbox_client::sasl::{Credentials, Secret};
use pillarbox_store::Store;

/// The sender's collection-account login, if one collects mail for that address.
pub(crate) async fn for_sender(store: &Store, sender: &str) -> Result<Option<Credentials>, String> {
    let found = store
        .collection_login_for(sender)
        .await
        .map_err(|e| e.to_string())?;
    Ok(found.map(|(username, secret)| Credentials {
        username,
        secret: Secret::Password(secret),
    }))
}
