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
    let refusal = check(s, &from, &params).await;
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
                },
            );
            s.reply(catalogue::sender_ok());
        }
    }
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
