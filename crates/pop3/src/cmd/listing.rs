//! RFC 1939 §5 STAT and LIST, §7 UIDL: counts, sizes and unique ids of the messages not
//! marked deleted. Read-only on the session's snapshot; never reads the store.

use crate::maildrop::MessageRefusal;
use crate::proto::reply::{write_scan_line, write_uid_line};
use crate::proto::{Reply, TERMINATOR, catalogue};
use crate::session::{Session, Transaction};

/// RFC 1939 §5 STAT.
pub(crate) fn stat(s: &mut Session, t: &Transaction) {
    let (count, octets) = t.maildrop.stat();
    s.reply(catalogue::stat(count, octets));
}

/// RFC 1939 §5 LIST [msg].
pub(crate) fn list(s: &mut Session, t: &Transaction, msg: Option<u32>) {
    match msg {
        Some(n) => match t.maildrop.get(n) {
            Ok(m) => s.reply(catalogue::scan_listing(n, m.size)),
            Err(e) => s.reply(refusal(n, e)),
        },
        None => {
            let (count, octets) = t.maildrop.stat();
            s.reply(catalogue::listing_follows(count, octets));
            let out = s.io.out();
            for (n, m) in t.maildrop.live() {
                write_scan_line(out, n, m.size);
            }
            out.extend_from_slice(TERMINATOR);
        }
    }
}

/// RFC 1939 §7 UIDL [msg].
pub(crate) fn uidl(s: &mut Session, t: &Transaction, msg: Option<u32>) {
    match msg {
        Some(n) => match t.maildrop.get(n) {
            Ok(m) => {
                let id = t.maildrop.unique_id(m);
                s.reply(catalogue::unique_id(n, &id));
            }
            Err(e) => s.reply(refusal(n, e)),
        },
        None => {
            s.reply(catalogue::unique_ids_follow());
            let out = s.io.out();
            for (n, m) in t.maildrop.live() {
                write_uid_line(out, n, &t.maildrop.unique_id(m));
            }
            out.extend_from_slice(TERMINATOR);
        }
    }
}

/// The reply for a message number that cannot be used.
pub(crate) fn refusal(msg: u32, why: MessageRefusal) -> Reply {
    match why {
        MessageRefusal::NoSuchMessage { count } => catalogue::no_such_message(msg, count),
        MessageRefusal::Deleted => catalogue::already_deleted(msg),
    }
}
