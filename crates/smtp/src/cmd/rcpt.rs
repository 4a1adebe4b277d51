//! RCPT TO (RFC 5321 §4.1.1.3): local recipients must exist (accounts, aliases,
//! catch-all); anything else is relaying, allowed only to authenticated clients and
//! relay networks. DSN NOTIFY/ORCPT are kept for the queue.

use pillarbox_directory::Resolution;

use crate::proto::{RcptParams, Reply, catalogue};
use crate::session::{Phase, Rcpt, Session};

/// RFC 5321 §4.1.1.3.
pub async fn rcpt(s: &mut Session, to: String, params: RcptParams) {
    let (count, smtputf8, size) = match &s.phase {
        Phase::Mail(_, tx) => (tx.rcpts.len(), tx.params.smtputf8, tx.params.size as u64),
        _ => {
            s.reply(catalogue::bad_sequence("Need MAIL before RCPT"));
            return;
        }
    };
    if count >= s.svc.settings.smtp.max_recipients {
        s.reply(catalogue::too_many_recipients());
        return;
    }
    if !to.is_ascii() && !smtputf8 {
        s.reply(catalogue::smtputf8_required());
        return;
    }
    let resolved = match accept(s, &to, size).await {
        Ok(r) => r,
        Err(r) => {
            tracing::info!(rcpt = %to, code = r.code, "recipient refused");
            s.reply(r);
            return;
        }
    };
    if let Err(r) = greylist(s, &to).await {
        s.reply(r);
        return;
    }
    if let Phase::Mail(_, tx) = &mut s.phase {
        tx.rcpts.push(Rcpt {
            address: to,
            params,
            resolved,
        });
    }
    s.reply(catalogue::recipient_ok());
}

/// Greylisting (`[scan.greylist]`): the first attempt of an unknown (network, sender,
/// recipient) triplet is refused for now; a retry after the delay passes.
async fn greylist(s: &Session, to: &str) -> Result<(), Reply> {
    let Some(policy) = s.svc.settings.screen.as_ref().and_then(|g| g.greylist) else {
        return Ok(());
    };
    let Phase::Mail(_, tx) = &s.phase else {
        return Ok(());
    };
    if !s.screened || s.auth.is_some() {
        return Ok(());
    }
    let network = crate::screen::greylist_network(s.peer.ip());
    let triplet = format!(
        "{network}|{}|{}",
        tx.sender.to_ascii_lowercase(),
        to.to_ascii_lowercase()
    );
    let store = s.svc.pipeline.directory().store();
    match store
        .greylist_check(&network, &triplet, policy, pillarbox_delivery::now())
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(wait)) => {
            tracing::info!(ip = %s.peer.ip(), rcpt = %to, wait, "greylisted");
            Err(Reply::new(
                451,
                Some((4, 7, 1)),
                format!("Greylisted, please try again in {wait} seconds"),
            ))
        }
        Err(e) => {
            // The store down: let the message through rather than refuse all mail.
            tracing::warn!(error = %e, "greylist lookup failed; accepting");
            Ok(())
        }
    }
}

/// Resolves the recipient and applies the policy; the resolution goes on to delivery.
async fn accept(s: &Session, to: &str, size: u64) -> Result<Resolution, Reply> {
    let directory = s.svc.pipeline.directory();
    let resolution = directory.resolve(to).await.map_err(|e| {
        tracing::warn!(error = %e, "recipient lookup failed");
        catalogue::local_error()
    })?;
    match &resolution {
        Resolution::Unknown => return Err(catalogue::no_such_user()),
        Resolution::NotLocal => {
            let may_relay = s.auth.is_some() || s.svc.settings.relay.contains(s.peer.ip());
            if !may_relay {
                return Err(catalogue::relay_denied());
            }
        }
        Resolution::Deliver { local, remote } => {
            // Refuse early when every local mailbox behind the address is full.
            let full = |a: &pillarbox_store::Account| {
                a.quota_bytes > 0 && a.used_bytes.saturating_add(size.max(1)) > a.quota_bytes
            };
            if remote.is_empty() && !local.is_empty() && local.iter().all(full) {
                return Err(catalogue::mailbox_full());
            }
        }
    }
    Ok(resolution)
}
