//! DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030): receive the message into a spool,
//! then deliver it through the pipeline and reply `250` once it is durable. A local
//! recipient that fails only then (its mailbox filled up since RCPT) while others took
//! the message gets a failure notice (RFC 3464) before the `250`.

use pillarbox_delivery::dsn::{self, Action, DsnInput, DsnKind, DsnRecipient};
use pillarbox_delivery::{Envelope, Recipient, RecipientOutcome};

use pillarbox_scan::policy::Fate;

use crate::proto::data::{DataDecoder, DataViolation};
use crate::proto::{Reply, catalogue};
use crate::received;
use crate::session::{Flow, Helo, Phase, Session, Transaction};
use crate::spool::Spool;

/// Why a DATA/BDAT cannot start.
fn sequence_error(s: &Session, bdat: bool) -> Option<Reply> {
    match &s.phase {
        Phase::Mail(_, tx) if tx.rcpts.is_empty() => Some(catalogue::no_valid_recipients()),
        Phase::Mail(_, tx) if !bdat && (tx.bdat.is_some() || tx.bdat_failed.is_some()) => {
            Some(catalogue::bad_sequence("DATA cannot follow BDAT"))
        }
        Phase::Mail(..) => None,
        _ => Some(catalogue::bad_sequence(
            "Need MAIL and RCPT before message data",
        )),
    }
}

async fn new_spool(s: &mut Session, helo: &Helo, tx: &Transaction) -> Spool {
    let single = (tx.rcpts.len() == 1).then(|| tx.rcpts[0].address.as_str());
    let rdns = s
        .reverse()
        .await
        .and_then(crate::auth_checks::verified_name);
    let trace = received::header(&received::Trace {
        helo: &helo.name,
        rdns: rdns.as_deref(),
        esmtp: helo.esmtp,
        peer: s.peer.ip(),
        host: s.host(),
        tls: s.tls.as_ref(),
        authenticated: s.auth.is_some(),
        smtputf8: tx.params.smtputf8,
        id: &tx.id,
        single_rcpt: single,
    });
    let add_missing =
        (s.auth.is_some() || s.svc.kind.is_submission()).then(|| s.host().to_string());
    Spool::new(
        s.svc.pipeline.directory().store().blobs(),
        trace,
        s.svc.settings.smtp.max_message_size.0,
        add_missing,
    )
}

fn take_transaction(s: &mut Session) -> Option<(Helo, Transaction)> {
    match std::mem::replace(&mut s.phase, Phase::Connected) {
        Phase::Mail(h, tx) => Some((h, tx)),
        other => {
            s.phase = other;
            None
        }
    }
}

/// RFC 5321 §4.1.1.4.
pub async fn data(s: &mut Session) -> Flow {
    if let Some(r) = sequence_error(s, false) {
        s.reply(r);
        return Flow::Continue;
    }
    let Some((helo, tx)) = take_transaction(s) else {
        return Flow::Continue;
    };
    s.io.reply(&catalogue::start_data());
    if s.io.flush().await.is_err() {
        return Flow::Close;
    }
    let smtp = &s.svc.settings.smtp;
    let mut decoder = DataDecoder::new(smtp.bare_newline, smtp.max_line_length);
    let mut spool = new_spool(s, &helo, &tx).await;
    let mut out = Vec::with_capacity(16 * 1024);
    let mut store_error = None;
    loop {
        out.clear();
        let buf = s.io.buffered();
        let end = decoder.feed(buf, &mut out);
        let consumed = end.unwrap_or(buf.len());
        s.io.consume(consumed);
        if store_error.is_none()
            && let Err(e) = spool.push(&out).await
        {
            store_error = Some(e);
        }
        if end.is_some() {
            break;
        }
        match s.io.fill().await {
            Ok(0) => {
                tracing::info!(id = %tx.id, "connection lost during DATA; nothing kept");
                return Flow::Close;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                let r = catalogue::timeout(s.host());
                s.io.reply(&r);
                return Flow::Close;
            }
            Err(_) => return Flow::Close,
        }
    }
    let reply = match (decoder.violation(), spool.too_big(), store_error) {
        (Some(DataViolation::LineTooLong), _, _) => catalogue::text_line_too_long(),
        (Some(_), _, _) => catalogue::bare_newline(),
        (None, true, _) => catalogue::message_too_big(),
        (None, false, Some(e)) => store_reply(&e),
        (None, false, None) => deliver(s, &helo, &tx, spool).await,
    };
    s.phase = Phase::Greeted(helo);
    s.reply(reply);
    Flow::Continue
}

/// RFC 3030 §2: `BDAT size [LAST]`; the chunk is read whatever the reply will be.
pub async fn bdat(s: &mut Session, size: usize, last: bool) -> Flow {
    let refusal = sequence_error(s, true);
    // Take the chunk's octets off the wire first, into the spool when we keep them.
    let mut spool = match (&refusal, &mut s.phase) {
        (None, Phase::Mail(_, tx)) if tx.bdat_failed.is_none() => tx.bdat.take(),
        _ => None,
    };
    if refusal.is_none()
        && spool.is_none()
        && let Some((helo, tx)) = take_transaction(s)
    {
        if tx.bdat_failed.is_none() {
            spool = Some(new_spool(s, &helo, &tx).await);
        }
        s.phase = Phase::Mail(helo, tx);
    }
    let mut store_error = None;
    let mut left = size;
    while left > 0 {
        if s.io.buffered().is_empty() {
            match s.io.fill().await {
                Ok(0) | Err(_) => return Flow::Close,
                Ok(_) => {}
            }
        }
        let buf = s.io.buffered();
        let n = buf.len().min(left);
        if let Some(sp) = spool.as_mut()
            && store_error.is_none()
            && let Err(e) = sp.push(&buf[..n]).await
        {
            store_error = Some(e);
        }
        s.io.consume(n);
        left -= n;
    }
    if let Some(r) = refusal {
        s.reply(r);
        return Flow::Continue;
    }
    let Some((helo, mut tx)) = take_transaction(s) else {
        return Flow::Continue;
    };
    let failed = tx
        .bdat_failed
        .clone()
        .or_else(|| match (&spool, &store_error) {
            (Some(sp), _) if sp.too_big() => Some(catalogue::message_too_big()),
            (_, Some(e)) => Some(store_reply(e)),
            _ => None,
        });
    if let Some(r) = failed {
        // The transaction is dead; later chunks are read and refused (RFC 3030 §2).
        if last {
            s.phase = Phase::Greeted(helo);
        } else {
            tx.bdat_failed = Some(r.clone());
            tx.bdat = None;
            s.phase = Phase::Mail(helo, tx);
        }
        s.reply(r);
        return Flow::Continue;
    }
    let Some(sp) = spool else {
        s.phase = Phase::Mail(helo, tx);
        s.reply(catalogue::local_error());
        return Flow::Continue;
    };
    if last {
        let r = deliver(s, &helo, &tx, sp).await;
        s.phase = Phase::Greeted(helo);
        s.reply(r);
    } else {
        tx.bdat = Some(sp);
        s.phase = Phase::Mail(helo, tx);
        s.reply(catalogue::chunk_ok(size));
    }
    Flow::Continue
}

fn store_reply(e: &pillarbox_store::StoreError) -> Reply {
    tracing::error!(error = %e, "spooling failed");
    if e.is_disk_full() {
        catalogue::storage_full()
    } else {
        catalogue::local_error()
    }
}

/// What the MX's checks made of a message.
enum Checked {
    /// Not checked (submission, an authenticated client, checks off).
    Unchanged,
    /// DMARC says no.
    Refused(Reply),
    /// With its `Authentication-Results` (and without forged ones); `quarantine`: to
    /// the Junk mailbox.
    Rewritten { raw: Vec<u8>, quarantine: bool },
}

/// SPF, DKIM and DMARC for mail from other servers on the MX (`auth_checks`).
async fn check(s: &Session, helo: &Helo, tx: &Transaction, raw: &[u8]) -> Checked {
    let Some(checks) = s.svc.settings.checks.as_ref() else {
        return Checked::Unchanged;
    };
    // Mail from our own clients: authenticated, or from a network allowed to relay.
    if s.svc.kind.is_submission() || s.auth.is_some() || s.svc.settings.relay.contains(s.peer.ip())
    {
        return Checked::Unchanged;
    }
    let iprev = match &s.reverse {
        crate::session::Reverse::Done(out) => out.as_ref(),
        _ => None,
    };
    let verdict = checks
        .check(s.peer.ip(), &helo.name, &tx.sender, raw, iprev)
        .await;
    let m = s.svc.pipeline.directory().monitor();
    m.step(
        &tx.id,
        "checked",
        serde_json::json!({
            "results": verdict.summary,
            "refused": verdict.reject,
            "quarantine": verdict.quarantine,
        }),
        Vec::new(),
    );
    if let Some(why) = verdict.reject {
        m.count("rejected.5.7.1", None, 1);
        m.event(
            pillarbox_monitor::NewEvent::new(
                pillarbox_monitor::EventKind::SmtpRejected,
                format!("refused at end of DATA from {}: {why}", s.peer.ip()),
            )
            .ip(s.peer.ip())
            .trace(&tx.id),
        );
        return Checked::Refused(Reply::new(550, Some((5, 7, 1)), why));
    }
    // Received (ours) comes first in `raw`; the results go above it.
    let body = crate::auth_checks::strip_forged(raw, checks.authserv_id());
    let body = body.as_deref().unwrap_or(raw);
    let mut out = Vec::with_capacity(verdict.header.len() + body.len());
    out.extend_from_slice(verdict.header.as_bytes());
    out.extend_from_slice(body);
    Checked::Rewritten {
        raw: out,
        quarantine: verdict.quarantine,
    }
}

/// Makes the message durable and delivers it; the reply says whether it was accepted.
async fn deliver(s: &Session, helo: &Helo, tx: &Transaction, spool: Spool) -> Reply {
    let size = spool.size();
    let (blob, content) = match spool.finish().await {
        Ok(x) => x,
        Err(e) => return store_reply(&e),
    };
    let store = s.svc.pipeline.directory().store();
    let raw = match content {
        Some(c) => c,
        None => match store.blobs().read(&blob.hash).await {
            Ok(c) => c,
            Err(e) => return store_reply(&e),
        },
    };
    record_received(s, helo, tx, raw.len());
    let mut junk = false;
    let mut changed = false;
    let mut raw = raw;
    match check(s, helo, tx, &raw).await {
        Checked::Unchanged => {}
        Checked::Refused(reply) => return reply,
        Checked::Rewritten {
            raw: rewritten,
            quarantine,
        } => {
            junk = quarantine;
            raw = rewritten;
            changed = true;
        }
    }
    let mut verdict = None;
    if let Some(outcome) = scan(s, helo, tx, &raw).await {
        verdict = Some(pillarbox_delivery::ScanVerdict {
            spam_score: outcome.spam_score,
            infected: outcome.infected,
        });
        if let Some(m) = outcome.message {
            raw = m;
            changed = true;
        }
        match outcome.fate {
            Fate::Accept => {}
            Fate::Reject { code, status, text } => {
                let mut parts = status.split('.').map(|p| p.parse::<u16>().unwrap_or(0));
                let st = (
                    u8::try_from(parts.next().unwrap_or(5)).unwrap_or(5),
                    parts.next().unwrap_or(7),
                    parts.next().unwrap_or(1),
                );
                return Reply::new(code, Some(st), text);
            }
            Fate::TempFail { text } => return Reply::new(451, Some((4, 7, 1)), text),
            Fate::Discard => {
                tracing::info!(id = %tx.id, "message discarded by a content filter");
                return catalogue::queued(&tx.id);
            }
            Fate::Quarantine { reason } => {
                return quarantine(s, tx, raw, &reason, outcome.summary).await;
            }
        }
    }
    let blob = if changed {
        match store.blobs().put(raw.clone()).await {
            Ok(b) => b,
            Err(e) => return store_reply(&e),
        }
    } else {
        blob
    };
    let envelope = Envelope {
        trace: Some(tx.id.clone()),
        sender: tx.sender.clone(),
        recipients: tx
            .rcpts
            .iter()
            .map(|r| Recipient {
                address: r.address.clone(),
                orcpt: r.params.orcpt.clone(),
                notify: r.params.notify.clone(),
                resolved: Some(r.resolved.clone()),
            })
            .collect(),
        envid: tx.params.envid.clone(),
        ret: tx.params.ret.map(str::to_string),
        submitted_by: s.auth.as_ref().map(|a| a.id),
        source: format!("smtp {}", s.peer.ip()),
        mailbox: junk.then(|| "Junk".to_string()),
        route: None,
        enforce_quota: true,
        sign: s.auth.is_some(),
        scan: verdict,
    };
    let outcomes = match s.svc.pipeline.deliver(blob, &raw, &envelope).await {
        Ok(o) => o,
        Err(pillarbox_delivery::DeliveryError::Store(e)) => return store_reply(&e),
        Err(pillarbox_delivery::DeliveryError::Dkim(_)) => {
            return Reply::new(
                451,
                Some((4, 3, 0)),
                "The sender domain's DKIM key is unusable, try again later",
            );
        }
    };
    let accepted = outcomes.iter().filter(|o| o.accepted()).count();
    if accepted == 0 {
        let rejected = outcomes.iter().find_map(|o| match o {
            RecipientOutcome::Rejected(reason) => Some(reason),
            _ => None,
        });
        return if let Some(reason) = rejected {
            catalogue::sieve_rejected(reason)
        } else if outcomes.contains(&RecipientOutcome::OverQuota) {
            catalogue::mailbox_full()
        } else {
            catalogue::no_such_user()
        };
    }
    if accepted < outcomes.len() {
        notify_failed(s, tx, &raw, &outcomes).await;
    }
    tracing::info!(
        id = %tx.id,
        from = %tx.sender,
        rcpts = tx.rcpts.len(),
        size,
        user = s.auth.as_ref().map(|a| a.address()),
        "message accepted"
    );
    catalogue::queued(&tx.id)
}

/// Content scanning (`[scan]`): clamd, milters, rspamd, with the DNS list listings
/// made at MAIL counting towards the spam score. `None` when the message is not
/// scanned (no scanners, or not on this listener, or from a relay network).
async fn scan(
    s: &Session,
    helo: &Helo,
    tx: &Transaction,
    raw: &[u8],
) -> Option<pillarbox_scan::policy::Outcome> {
    let scanners = s.svc.settings.scanners.as_ref()?;
    let listener = s.svc.kind.name();
    if !scanners.scans(listener) || (!s.svc.kind.is_submission() && s.auth.is_some()) {
        return None;
    }
    if !s.svc.kind.is_submission() && s.svc.settings.relay.contains(s.peer.ip()) {
        return None;
    }
    let rcpts: Vec<String> = tx.rcpts.iter().map(|r| r.address.clone()).collect();
    let user = s.auth.as_ref().map(|a| a.address());
    let hostname = match &s.reverse {
        crate::session::Reverse::Done(out) => {
            out.as_ref().and_then(crate::auth_checks::verified_name)
        }
        _ => None,
    };
    let cx = pillarbox_scan::policy::Context {
        listener,
        ip: Some(s.peer.ip()),
        port: s.peer.port(),
        helo: &helo.name,
        hostname: hostname.as_deref(),
        from: &tx.sender,
        rcpts: &rcpts,
        user: user.as_deref(),
        queue_id: &tx.id,
        extra: tx
            .listings
            .iter()
            .map(|l| (format!("DNSBL({})", l.zone), l.weight))
            .collect(),
    };
    let started = std::time::Instant::now();
    let outcome = scanners.scan(&cx, raw).await;
    let m = s.svc.pipeline.directory().monitor();
    m.observe("scan", started.elapsed());
    m.step(&tx.id, "scanned", outcome.summary.clone(), Vec::new());
    for f in &outcome.failures {
        tracing::error!(id = %tx.id, problem = %f, "content scanning");
        m.event(
            pillarbox_monitor::NewEvent::new(
                pillarbox_monitor::EventKind::ScannerFailed,
                f.clone(),
            )
            .ip(s.peer.ip())
            .trace(&tx.id),
        );
    }
    match &outcome.fate {
        Fate::Reject { text, .. } => m.event(
            pillarbox_monitor::NewEvent::new(
                pillarbox_monitor::EventKind::ScannerVerdict,
                format!("refused from {}: {text}", s.peer.ip()),
            )
            .ip(s.peer.ip())
            .trace(&tx.id),
        ),
        Fate::Discard => m.event(
            pillarbox_monitor::NewEvent::new(
                pillarbox_monitor::EventKind::ScannerVerdict,
                format!("discarded (a milter said so), from {}", s.peer.ip()),
            )
            .ip(s.peer.ip())
            .trace(&tx.id),
        ),
        _ => {}
    }
    Some(outcome)
}

/// Holds the message in quarantine instead of delivering it; `250` once it is durable
/// there.
async fn quarantine(
    s: &Session,
    tx: &Transaction,
    raw: Vec<u8>,
    reason: &str,
    summary: serde_json::Value,
) -> Reply {
    let store = s.svc.pipeline.directory().store();
    let blob = match store.blobs().put(raw).await {
        Ok(b) => b,
        Err(e) => return store_reply(&e),
    };
    let days = s
        .svc
        .settings
        .scanners
        .as_ref()
        .map_or(30, |sc| sc.quarantine_days());
    let q = pillarbox_store::NewQuarantined {
        blob,
        sender: tx.sender.clone(),
        recipients: tx.rcpts.iter().map(|r| r.address.clone()).collect(),
        account: None,
        reason: reason.to_string(),
        verdict: summary.to_string(),
        source: format!("smtp {}", s.peer.ip()),
        expires_at: pillarbox_delivery::now() + i64::from(days) * 86400,
    };
    match store.quarantine_put(q).await {
        Ok(id) => {
            let m = s.svc.pipeline.directory().monitor();
            m.event(
                pillarbox_monitor::NewEvent::new(
                    pillarbox_monitor::EventKind::MessageQuarantined,
                    format!("quarantined as {id}: {reason} (from {})", s.peer.ip()),
                )
                .ip(s.peer.ip())
                .trace(&tx.id),
            );
            tracing::info!(id = %tx.id, quarantine = id, reason, "message quarantined");
            catalogue::queued(&tx.id)
        }
        Err(e) => store_reply(&e),
    }
}

/// Records the message's first trace step: who sent it, how, to whom.
fn record_received(s: &Session, helo: &Helo, tx: &Transaction, size: usize) {
    let m = s.svc.pipeline.directory().monitor();
    if !m.is_enabled() {
        return;
    }
    m.count("received", None, 1);
    m.count("bytes.received", None, size as u64);
    m.step(
        &tx.id,
        "received",
        serde_json::json!({
            "listener": s.svc.kind.name(),
            "ip": s.peer.ip().to_string(),
            "helo": helo.name,
            "user": s.auth.as_ref().map(|a| a.address()),
            "tls": s.tls.as_ref().map(|t| format!("{} {}", t.version, t.cipher)),
            "from": tx.sender,
            "to": tx.rcpts.iter().map(|r| &r.address).collect::<Vec<_>>(),
            "size": size,
        }),
        Vec::new(),
    );
}

/// Sends the sender a failure notice for the recipients that failed after the message
/// was accepted for others (the `250` cannot say it). Logged, never fatal: the message
/// is already stored for the others.
async fn notify_failed(s: &Session, tx: &Transaction, raw: &[u8], outcomes: &[RecipientOutcome]) {
    let mut failed = Vec::new();
    for (r, o) in tx.rcpts.iter().zip(outcomes) {
        let reply = match o {
            RecipientOutcome::OverQuota => catalogue::mailbox_full(),
            RecipientOutcome::Unknown => catalogue::no_such_user(),
            RecipientOutcome::Rejected(reason) => catalogue::sieve_rejected(reason),
            _ => continue,
        };
        tracing::warn!(id = %tx.id, rcpt = %r.address, outcome = ?o, "recipient failed after DATA");
        if !dsn::wants_failure_notice(&tx.sender, r.params.notify.as_deref()) {
            continue;
        }
        let (class, subject, detail) = reply.status.unwrap_or((5, 0, 0));
        failed.push(DsnRecipient {
            address: r.address.clone(),
            orcpt: r.params.orcpt.clone(),
            action: Action::Failed,
            status: format!("{class}.{subject}.{detail}"),
            diagnostic: Some(format!(
                "{} {class}.{subject}.{detail} {}",
                reply.code,
                reply.lines.join(" ")
            )),
            remote_mta: None,
        });
    }
    if failed.is_empty() {
        return;
    }
    let now = pillarbox_delivery::now();
    let settings = &s.svc.settings;
    let input = DsnInput {
        kind: DsnKind::Failure,
        reporting_mta: &settings.hostname,
        from: &settings.bounce_from,
        to: &tx.sender,
        envid: tx.params.envid.as_deref(),
        arrival: now,
        headers_only: tx.params.ret == Some("HDRS"),
        original: raw,
        recipients: failed,
        retry_until: None,
    };
    let source = format!("notice for smtp id {}", tx.id);
    match s.svc.pipeline.send_notice(&input, now, source).await {
        Ok(outcome) => {
            tracing::info!(id = %tx.id, to = %tx.sender, ?outcome, "failure notice sent")
        }
        Err(e) => tracing::error!(id = %tx.id, error = %e, "cannot send a failure notice"),
    }
}
