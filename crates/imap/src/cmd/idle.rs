//! IDLE (RFC 2177, RFC 9051 §6.3.13): after `+ idling`, changes to the selected mailbox
//! are pushed as they are committed (woken by the store's change feed, never by
//! polling) until the client sends DONE. A `* OK Still here` every `idle_keepalive`
//! keeps middleboxes from dropping the connection; the idle timeout still applies, so a
//! client re-issues IDLE before it ends (RFC 2177 §3). Shutdown ends IDLE with `BYE`.

use pillarbox_store::Change;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::Outcome;
use super::sync::{RefreshError, announce, is_news, refresh, sync};
use crate::catalogue as cat;
use crate::proto::{Continuation, FrameEvent, Tag, parse_idle_done};
use crate::session::{Selected, Session, State};

/// What woke the idling session.
enum Wake {
    Shutdown,
    Timeout,
    Keepalive,
    Change(Result<Change, RecvError>),
    Input(std::io::Result<usize>),
}

/// The next change notification, or never when no mailbox is selected.
async fn next_change(rx: Option<&mut broadcast::Receiver<Change>>) -> Result<Change, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// RFC 2177 §3.
pub(crate) async fn idle(s: &mut Session, tag: &Tag, mut sel: Option<&mut Selected>) -> Outcome {
    s.continuation(Continuation::Text(cat::IDLING.into()));
    if let Some(sel) = sel.as_deref_mut()
        && !sync(s, sel, true).await
    {
        return gone(s);
    }
    s.io.flush().await;
    let deadline = Instant::now() + s.idle_timeout();
    let period = s
        .svc
        .settings
        .imap
        .idle_keepalive
        .get()
        .max(std::time::Duration::from_millis(100));
    let mut keepalive = tokio::time::interval_at(Instant::now() + period, period);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let shutdown = s.shutdown.clone();
    s.framer.expect_line();
    let mut feed_open = true;
    loop {
        // A complete line may already be buffered (DONE pipelined with more commands).
        let adv = s.framer.advance(s.io.pending());
        let consumed = adv.consumed;
        match adv.event {
            FrameEvent::Command(line) => {
                s.io.consume(consumed);
                return match parse_idle_done(&line) {
                    Ok(()) => Outcome::reply(cat::ok(tag, cat::IDLE_DONE)),
                    Err(e) => Outcome::reply(cat::bad(Some(tag), e.reason)),
                };
            }
            FrameEvent::Error { error, .. } => {
                s.io.consume(consumed);
                return Outcome::reply(cat::bad(Some(tag), error.kind.to_string()));
            }
            _ => s.io.consume(consumed),
        }
        if s.io.failed() {
            return Outcome::Switch(State::Logout, None);
        }
        s.io.shrink();
        let rx = sel
            .as_deref_mut()
            .filter(|_| feed_open)
            .map(|sel| &mut sel.changes);
        let wake = tokio::select! {
            _ = shutdown.cancelled() => Wake::Shutdown,
            _ = tokio::time::sleep_until(deadline) => Wake::Timeout,
            _ = keepalive.tick() => Wake::Keepalive,
            r = next_change(rx) => Wake::Change(r),
            r = s.io.fill() => Wake::Input(r),
        };
        match wake {
            Wake::Shutdown => {
                s.reply(&cat::bye(cat::SHUTTING_DOWN));
                return Outcome::Switch(State::Logout, None);
            }
            Wake::Timeout => {
                tracing::info!("closing: idle timeout during IDLE");
                s.reply(&cat::bye(cat::AUTOLOGOUT));
                return Outcome::Switch(State::Logout, None);
            }
            Wake::Keepalive => {
                s.reply(&cat::untagged_ok(None, cat::STILL_HERE));
                s.io.flush().await;
            }
            Wake::Change(r) => {
                let Some(sel) = sel.as_deref_mut() else {
                    continue;
                };
                let relevant = match r {
                    Ok(Change::Mailbox { mailbox, .. }) if mailbox == sel.mailbox => {
                        is_news(sel, 1, false)
                    }
                    // Cut off from other nodes for a while: as if lagged.
                    Ok(Change::Resync) | Err(RecvError::Lagged(_)) => is_news(sel, 0, true),
                    Ok(_) => false,
                    Err(RecvError::Closed) => {
                        feed_open = false;
                        false
                    }
                };
                if relevant {
                    match refresh(s, sel).await {
                        Ok(changes) => announce(s, sel, &changes, true),
                        Err(RefreshError::Gone) => return gone(s),
                        Err(RefreshError::Store(e)) => {
                            tracing::warn!(error = %e, "cannot refresh during IDLE");
                        }
                    }
                    s.io.flush().await;
                }
            }
            Wake::Input(Ok(0) | Err(_)) => return Outcome::Switch(State::Logout, None),
            Wake::Input(Ok(_)) => {}
        }
    }
}

fn gone(s: &mut Session) -> Outcome {
    s.reply(&cat::bye(cat::MAILBOX_GONE));
    Outcome::Switch(State::Logout, None)
}
