//! What the queue tells monitoring: each attempt as a step of its message's trace (with
//! the remote's reply), the relayed, deferred and bounced counters per recipient
//! domain, an event per outcome, the `message.delivered|deferred|bounced` webhook
//! events, and the notices sent.

use pillarbox_delivery::dsn::DsnKind;
use pillarbox_monitor::{EventKind, Monitor, NewEvent};
use pillarbox_store::{QueueItem, RecipientResult};

use crate::notices::Notice;

/// Records the results of one settlement.
pub(crate) fn attempts(m: &Monitor, items: &[QueueItem], results: &[(i64, RecipientResult)]) {
    if !m.is_enabled() {
        return;
    }
    for (id, result) in results {
        let Some(item) = items.iter().find(|i| i.recipient_id == *id) else {
            continue;
        };
        let (outcome, text, counter, kind, hook) = match result {
            RecipientResult::Delivered { detail } => (
                "delivered",
                detail.as_str(),
                "relayed",
                EventKind::MessageRelayed,
                "message.delivered",
            ),
            RecipientResult::Retry { error, .. } => (
                "deferred",
                error.as_str(),
                "deferred",
                EventKind::MessageDeferred,
                "message.deferred",
            ),
            RecipientResult::Failed { error } => (
                "bounced",
                error.as_str(),
                "bounced",
                EventKind::MessageBounced,
                "message.bounced",
            ),
            RecipientResult::Expired { error } => (
                "expired",
                error.as_str(),
                "bounced",
                EventKind::MessageBounced,
                "message.bounced",
            ),
            RecipientResult::DelayWarned | RecipientResult::Released => continue,
        };
        m.count(counter, Some(&item.domain), 1);
        let mut e = NewEvent::new(kind, format!("{outcome} to <{}>: {text}", item.recipient))
            .queue(item.queue_id.0)
            .domain(&item.domain);
        if let Some(t) = &item.trace {
            e = e.trace(t);
            m.step(
                t,
                "attempt",
                serde_json::json!({
                    "recipient": item.recipient,
                    "attempt": item.attempts + 1,
                    "outcome": outcome,
                    "reply": text,
                }),
                Vec::new(),
            );
        }
        m.event(e);
        m.hook(
            hook,
            item.account,
            serde_json::json!({
                "queue_id": item.queue_id.0,
                "from": item.sender,
                "recipient": item.recipient,
                "outcome": outcome,
                "reply": text,
                "trace": item.trace,
            }),
        );
    }
}

/// Records the notices about to be sent, on the traces of the messages they are about.
pub(crate) fn notices(m: &Monitor, items: &[QueueItem], notices: &[Notice]) {
    for n in notices {
        let Some(trace) = items
            .iter()
            .find(|i| i.queue_id == n.queue_id)
            .and_then(|i| i.trace.as_deref())
        else {
            continue;
        };
        let kind = match n.kind {
            DsnKind::Failure => "failure",
            DsnKind::Delay => "delay",
            DsnKind::Success => "success",
        };
        m.step(
            trace,
            "dsn",
            serde_json::json!({
                "kind": kind,
                "to": n.sender,
                "recipients": n.recipients.iter().map(|r| &r.address).collect::<Vec<_>>(),
            }),
            Vec::new(),
        );
    }
}
