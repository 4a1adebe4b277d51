//! MAIL FROM (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8
//! (RFC 6531) and DSN RET/ENVID (RFC 3461), and the submission rules: authentication
//! first, and an authenticated user sends only as its own addresses.

use crate::proto::{MailParams, catalogue};
use crate::session::{Phase, Session, Transaction};

/// RFC 5321 §4.1.1.2.
pub async fn mail(s: &mut Session, from: String, params: MailParams) {
    let helo = match std::mem::replace(&mut s.phase, Phase::Connected) {
        Phase::Greeted(h) => h,
        Phase::Connected => {
            s.reply(catalogue::bad_sequence("Send HELO/EHLO first"));
            return;
        }
        Phase::Mail(h, tx) => {
            s.phase = Phase::Mail(h, tx);
            s.reply(catalogue::bad_sequence("Nested MAIL command"));
            return;
        }
    };
    let mut refusal = check(s, &from, &params).await;
    let mut listings = Vec::new();
    if refusal.is_none() {
        match screen(s, &helo.name, &from).await {
            Ok(l) => listings = l,
            Err(r) => refusal = Some(r),
        }
    }
    match refusal {
        Some(r) => {
            s.phase = Phase::Greeted(helo);
            s.reply(r);
        }
        None => {
            // The transaction's id is the message's trace id (monitoring): it is in the
            // Received header, the 250 reply and every step recorded about it.
            let id = pillarbox_monitor::new_trace_id();
            s.phase = Phase::Mail(
                helo,
                Transaction {
                    id,
                    sender: from,
                    params,
                    rcpts: Vec::new(),
                    bdat: None,
                    bdat_failed: None,
                    listings,
                },
            );
            s.reply(catalogue::sender_ok());
        }
    }
}

/// The MX's screening at MAIL: the client's message rate, and the DNS lists of its
/// address, its HELO name and its sender's domain. The listings below the refusal
/// weight go on to the spam score.
async fn screen(
    s: &mut Session,
    helo: &str,
    from: &str,
) -> Result<Vec<crate::screen::Listing>, crate::proto::Reply> {
    let Some(screen) = s.svc.settings.screen.clone() else {
        return Ok(Vec::new());
    };
    if !s.screened || s.auth.is_some() {
        return Ok(Vec::new());
    }
    let ip = s.peer.ip();
    if !screen.admit_message(ip) {
        return Err(crate::proto::Reply::new(
            451,
            Some((4, 7, 1)),
            "Too many messages from your address, try again later",
        ));
    }
    let mut listings = s.listed().await.to_vec();
    let sender_domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let mut domains = vec![helo];
    if !sender_domain.eq_ignore_ascii_case(helo) {
        domains.push(sender_domain);
    }
    listings.extend(screen.check_domains(&domains).await);
    if screen.refuses(&listings) {
        let names: Vec<String> = listings
            .iter()
            .map(|l| format!("{} listed by {}", l.listed, l.zone))
            .collect();
        tracing::info!(%ip, listings = %names.join(", "), "refused: DNS lists");
        return Err(crate::proto::Reply::new(
            554,
            Some((5, 7, 1)),
            format!("Service unavailable; {}", names.join(", ")),
        ));
    }
    Ok(listings)
}

async fn check(s: &Session, from: &str, params: &MailParams) -> Option<crate::proto::Reply> {
    let settings = &s.svc.settings;
    if s.svc.kind.is_submission() && s.auth.is_none() {
        if !s.auth_allowed() {
            return Some(catalogue::tls_required());
        }
        return Some(catalogue::auth_required());
    }
    if params.size as u64 > settings.smtp.max_message_size.0 {
        return Some(catalogue::message_too_big());
    }
    if !from.is_ascii() && !params.smtputf8 {
        return Some(catalogue::smtputf8_required());
    }
    if let Some(account) = &s.auth
        && settings.smtp.submission_sender_must_match
    {
        let allowed = if from.is_empty() {
            false
        } else {
            match s.svc.pipeline.directory().may_send_as(account, from).await {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!(error = %e, "sender check failed");
                    return Some(catalogue::local_error());
                }
            }
        };
        if !allowed {
            tracing::info!(user = %account.address(), sender = %from, "sender address refused");
            return Some(catalogue::sender_not_owned());
        }
    }
    None
}
