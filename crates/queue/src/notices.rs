//! Sends delivery status notifications to the original sender through the delivery
//! pipeline: a local sender gets it in the INBOX, a remote one through the queue, always
//! with the null sender so a notice never causes another notice.

use pillarbox_delivery::DeliveryPipeline;
use pillarbox_store::{BlobHash, QueueId, Store};

use crate::dsn::{DsnInput, DsnKind, DsnRecipient};

/// One notice about one queued message.
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub kind: DsnKind,
    pub queue_id: QueueId,
    pub sender: String,
    pub envid: Option<String>,
    pub ret_hdrs: bool,
    pub arrival: i64,
    pub blob: BlobHash,
    pub recipients: Vec<DsnRecipient>,
    pub retry_until: Option<i64>,
}

/// Adds `r` to the notice of its kind for `queue_id`, creating it.
pub(crate) fn add(notices: &mut Vec<Notice>, template: Notice, r: DsnRecipient) {
    match notices
        .iter_mut()
        .find(|n| n.queue_id == template.queue_id && n.kind == template.kind)
    {
        Some(n) => n.recipients.push(r),
        None => {
            let mut n = template;
            n.recipients = vec![r];
            notices.push(n);
        }
    }
}

/// Builds and delivers each notice. Failures are logged: a lost notice never blocks
/// the queue.
pub(crate) async fn send(
    store: &Store,
    pipeline: &DeliveryPipeline,
    reporting_mta: &str,
    from: &str,
    notices: Vec<Notice>,
    now: i64,
) {
    for n in notices {
        if n.sender.is_empty() {
            continue;
        }
        let original = match store.blobs().read(&n.blob).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(queue_id = %n.queue_id, error = %e, "cannot read the message for its notice");
                Vec::new()
            }
        };
        let input = DsnInput {
            kind: n.kind,
            reporting_mta,
            from,
            to: &n.sender,
            envid: n.envid.as_deref(),
            arrival: n.arrival,
            headers_only: n.ret_hdrs,
            original: &original,
            recipients: n.recipients.clone(),
            retry_until: n.retry_until,
        };
        let source = format!("notice for queue id {}", n.queue_id);
        match pipeline.send_notice(&input, now, source).await {
            Ok(outcome) => {
                tracing::info!(queue_id = %n.queue_id, kind = ?n.kind, to = %n.sender, ?outcome, "delivery notice sent")
            }
            Err(e) => {
                tracing::error!(queue_id = %n.queue_id, error = %e, "cannot deliver a delivery notice")
            }
        }
    }
}
