//! FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2) with every data item: FLAGS, UID,
//! INTERNALDATE, RFC822.SIZE, MODSEQ (RFC 7162 §3.1.4), ENVELOPE, BODY, BODYSTRUCTURE,
//! BODY[section]<partial> and BODY.PEEK, BINARY/BINARY.PEEK/BINARY.SIZE (RFC 3516),
//! RFC822, RFC822.HEADER, RFC822.TEXT, EMAILID and THREADID (RFC 8474), PREVIEW
//! (RFC 8970); CHANGEDSINCE and VANISHED (RFC 7162 §3.1.4.1, §3.2.6), PARTIAL (RFC 9394
//! §3.2), MESSAGELIMIT (RFC 9738, `limit`).
//!
//! Items answered from the view (flags, sizes, dates) cost no store access; the rest is
//! loaded per batch (`load`). A non-PEEK body fetch sets `\Seen` with one store call for
//! the whole set before anything is rendered. A message expunged by someone else while
//! being fetched is skipped and the command ends `NO [EXPUNGEISSUED]`. No literal but a
//! BINARY one (`~{n}`) ever carries a NUL octet (RFC 9051 §4.3, RFC 3516 §4.2): the
//! encoder replaces it, leaving the part's transfer encoding as it is.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use pillarbox_store::{FlagChange, FlagOp, MessageId, flags};

use super::Outcome;
use super::enable_id::condstore_used;
use crate::catalogue as cat;
use crate::limit;
use crate::load::{self, Loaded, Raw};
use crate::proto::objectid;
use crate::proto::{
    Code, DateTime, EncodeOptions, Fetch, FetchAttr, FetchItem, FetchWriter, PreRendered,
    SequenceSet, StreamedItem, Tag,
};
use crate::render::{bodystructure, envelope, preview, section};
use crate::session::{Selected, Session};
use crate::view::ViewEntry;

/// What the requested items need from the store.
struct Plan {
    structure: bool,
    raw: Raw,
    sets_seen: bool,
}

fn plan(attrs: &[FetchAttr]) -> Plan {
    let mut p = Plan {
        structure: false,
        raw: Raw::None,
        sets_seen: false,
    };
    for a in attrs {
        let (structure, raw, seen) = match a {
            FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure => {
                (true, Raw::None, false)
            }
            FetchAttr::BodySection { peek, section, .. } => {
                let raw = match section::extent(section) {
                    section::Extent::Header => Raw::Header,
                    section::Extent::Whole => Raw::Whole,
                };
                (true, raw, !peek)
            }
            FetchAttr::Binary { peek, .. } => (true, Raw::Whole, !peek),
            FetchAttr::BinarySize { .. } => (true, Raw::Whole, false),
            FetchAttr::Rfc822 | FetchAttr::Rfc822Text => (true, Raw::Whole, true),
            FetchAttr::Rfc822Header => (true, Raw::Header, false),
            FetchAttr::Preview { .. } => (true, Raw::Whole, false),
            FetchAttr::EmailId
            | FetchAttr::ThreadId
            | FetchAttr::SaveDate
            | FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::Uid
            | FetchAttr::ModSeq => (false, Raw::None, false),
        };
        p.structure |= structure;
        p.raw = p.raw.max(raw);
        p.sets_seen |= seen;
    }
    p
}

/// How one FETCH command went, beyond the responses sent.
#[derive(Default)]
struct Trouble {
    expunge_issued: bool,
    unknown_cte: bool,
}

/// RFC 9051 §6.4.5.
pub(crate) async fn fetch(s: &mut Session, sel: &mut Selected, tag: &Tag, f: Fetch) -> Outcome {
    let Ok(mut indexes) = sel.view.resolve(&f.set, f.uid, &sel.saved) else {
        return Outcome::reply(cat::bad(Some(tag), cat::BAD_SEQUENCE));
    };
    let mut attrs = f.attrs.expand();
    if f.uid && !attrs.contains(&FetchAttr::Uid) {
        attrs.insert(0, FetchAttr::Uid);
    }
    if f.changed_since.is_some() || attrs.contains(&FetchAttr::ModSeq) {
        condstore_used(s, Some(sel));
    }
    // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ; once CONDSTORE is on, flags go
    // with their MODSEQ so the client's cache stays exact.
    let wants_modseq =
        f.changed_since.is_some() || (s.enabled.condstore && attrs.contains(&FetchAttr::Flags));
    if wants_modseq && !attrs.contains(&FetchAttr::ModSeq) {
        attrs.push(FetchAttr::ModSeq);
    }
    if let Some(since) = f.changed_since {
        if f.vanished {
            if !s.enabled.qresync {
                return Outcome::reply(cat::bad(Some(tag), cat::NOT_IN_STATE));
            }
            if let Err(e) = vanished_since(s, sel, since, &f.set).await {
                return Outcome::reply(cat::for_store_error(tag, &e));
            }
        }
        indexes.retain(|&i| sel.view.get(i).is_some_and(|e| e.modseq > since));
    }
    // RFC 9394 §3.2: only the messages at the range's positions among those the
    // command would return (in ascending order; `-1` is the last).
    if let Some(range) = f.partial {
        indexes.sort_unstable();
        indexes = indexes[range.positions(indexes.len())].to_vec();
    }
    // RFC 9738: over MESSAGELIMIT, the lowest UIDs only (or nothing by number).
    let limited = match limit::apply(&mut indexes, s.svc.message_limit, f.uid) {
        Ok(l) => l,
        Err(limit::Refused) => return Outcome::reply(cat::no(tag, Code::Limit, cat::OVER_LIMIT)),
    };
    let plan = plan(&attrs);
    let seen_now = if plan.sets_seen && !sel.read_only {
        match mark_seen(s, sel, &indexes).await {
            Ok(set) => set,
            Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
        }
    } else {
        HashSet::new()
    };
    let mut trouble = Trouble::default();
    if plan.structure {
        let items: Vec<(usize, u64)> = indexes
            .iter()
            .filter_map(|&i| sel.view.get(i).map(|e| (i, e.size)))
            .collect();
        for batch in load::batches(&items, plan.raw == Raw::Whole) {
            let ids: Vec<(MessageId, crate::view::BlobKey)> = batch
                .iter()
                .filter_map(|&i| sel.view.get(i).map(|e| (e.message, e.blob)))
                .collect();
            let store = s.svc.directory.store().clone();
            let loaded = match load::load(&store, &s.svc.cache, ids, plan.raw).await {
                Ok(l) => l,
                Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
            };
            render_batch(s, sel, &batch, &attrs, &loaded, &seen_now, &mut trouble);
            s.io.write_if_large().await;
            if s.io.failed() {
                return Outcome::Stay(None);
            }
        }
    } else {
        for chunk in indexes.chunks(load::BATCH_MESSAGES) {
            render_batch(
                s,
                sel,
                chunk,
                &attrs,
                &HashMap::new(),
                &seen_now,
                &mut trouble,
            );
            s.io.write_if_large().await;
            if s.io.failed() {
                return Outcome::Stay(None);
            }
        }
    }
    if trouble.unknown_cte {
        let code = Code::Other {
            name: Bytes::from_static(b"UNKNOWN-CTE"),
            value: None,
        };
        return Outcome::reply(cat::no(tag, code, cat::UNKNOWN_CTE));
    }
    if trouble.expunge_issued && !f.uid {
        return Outcome::reply(cat::no(tag, Code::ExpungeIssued, cat::EXPUNGE_ISSUED));
    }
    if limited == limit::Limited::Truncated {
        return Outcome::reply(cat::ok_code(tag, Code::Limit, cat::LIMITED));
    }
    Outcome::reply(cat::ok(tag, cat::FETCH_DONE))
}

/// RFC 7162 §3.2.6: `* VANISHED (EARLIER)` for UIDs of `set` expunged after `since`.
async fn vanished_since(
    s: &mut Session,
    sel: &Selected,
    since: u64,
    set: &SequenceSet,
) -> Result<(), pillarbox_store::StoreError> {
    let store = s.svc.directory.store().clone();
    let (_, expunged) = store.entries_changed_since(sel.mailbox, since).await?;
    let largest = sel.view.uid_next.saturating_sub(1);
    let uids: Vec<u32> = expunged
        .into_iter()
        .filter(|&u| match set {
            SequenceSet::Saved => sel.saved.contains(&u),
            ranges => ranges.contains(u, largest),
        })
        .collect();
    if let Some(uids) = SequenceSet::from_unsorted(uids) {
        s.data_owned(crate::proto::Data::Vanished {
            earlier: true,
            uids,
        });
    }
    Ok(())
}

/// Sets `\Seen` on the messages of `indexes` that lack it (RFC 9051 §6.4.5: a body
/// fetch without PEEK); returns their UIDs.
async fn mark_seen(
    s: &mut Session,
    sel: &mut Selected,
    indexes: &[usize],
) -> Result<HashSet<u32>, pillarbox_store::StoreError> {
    let uids: Vec<u32> = indexes
        .iter()
        .filter_map(|&i| sel.view.get(i))
        .filter(|e| !e.expunged && !e.has(flags::SEEN))
        .map(|e| e.uid)
        .collect();
    if uids.is_empty() {
        return Ok(HashSet::new());
    }
    let change = FlagChange {
        op: FlagOp::Add,
        flags: flags::SEEN,
        keywords: Vec::new(),
        unchanged_since: None,
    };
    let store = s.svc.directory.store().clone();
    let outcome = store.store_flags(sel.mailbox, uids, change).await?;
    sel.view.update_flags(&outcome.changed);
    if let Some(e) = outcome.changed.first() {
        super::sync::own_change(sel, e.modseq);
    }
    Ok(outcome.changed.iter().map(|e| e.uid).collect())
}

/// Renders the FETCH responses of one batch.
fn render_batch(
    s: &mut Session,
    sel: &Selected,
    batch: &[usize],
    attrs: &[FetchAttr],
    loaded: &HashMap<MessageId, Loaded>,
    seen_now: &HashSet<u32>,
    trouble: &mut Trouble,
) {
    let opts = s.opts();
    let rev2 = s.enabled.rev2;
    let condstore = s.enabled.condstore;
    let uid_only = s.enabled.uid_only;
    let needs_data = attrs.iter().any(needs_message);
    let out = s.io.out();
    for &i in batch {
        let Some(e) = sel.view.get(i) else { continue };
        let msg = loaded.get(&e.message);
        if needs_data && msg.is_none() {
            trouble.expunge_issued = true;
            continue;
        }
        let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let ctx = Render {
            entry: e,
            recent: !rev2 && sel.view.is_recent(e.uid),
            msg,
            opts,
        };
        // RFC 9586 §3.3: with UIDONLY, `* uid UIDFETCH (...)`, the UID not repeated.
        let mut w = if uid_only {
            FetchWriter::begin_uid(out, e.uid)
        } else {
            FetchWriter::begin(out, seq)
        };
        for a in attrs {
            if uid_only && *a == FetchAttr::Uid {
                continue;
            }
            if !ctx.item(out, &mut w, a) {
                trouble.unknown_cte = true;
            }
        }
        if seen_now.contains(&e.uid) && !attrs.contains(&FetchAttr::Flags) {
            w.item(out, &FetchItem::Flags(e.flag_list(ctx.recent)), opts);
            if condstore && !attrs.contains(&FetchAttr::ModSeq) {
                w.item(out, &FetchItem::ModSeq(e.modseq), opts);
            }
        }
        w.end(out);
    }
}

fn needs_message(a: &FetchAttr) -> bool {
    !matches!(
        a,
        FetchAttr::EmailId
            | FetchAttr::ThreadId
            | FetchAttr::SaveDate
            | FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::Uid
            | FetchAttr::ModSeq
    )
}

/// One message being rendered.
struct Render<'a> {
    entry: &'a ViewEntry,
    recent: bool,
    msg: Option<&'a Loaded>,
    opts: EncodeOptions,
}

impl Render<'_> {
    /// Writes one item; false when a BINARY item met an unknown transfer encoding (the
    /// item is left out).
    fn item(&self, out: &mut Vec<u8>, w: &mut FetchWriter, a: &FetchAttr) -> bool {
        let e = self.entry;
        let opts = self.opts;
        let simple = match a {
            FetchAttr::Uid => Some(FetchItem::Uid(e.uid)),
            FetchAttr::Flags => Some(FetchItem::Flags(e.flag_list(self.recent))),
            FetchAttr::InternalDate => {
                Some(FetchItem::InternalDate(internal_date(e.internal_date)))
            }
            FetchAttr::Rfc822Size => Some(FetchItem::Rfc822Size(e.size)),
            FetchAttr::ModSeq => Some(FetchItem::ModSeq(e.modseq)),
            // RFC 8474 §5.1: the stored message's id, shared by its copies.
            FetchAttr::EmailId => Some(FetchItem::EmailId(Bytes::from(objectid::email(
                u64::try_from(e.message.0).unwrap_or(0),
            )))),
            // RFC 8474 §5.2: threads are not tracked, so THREADID is NIL.
            FetchAttr::ThreadId => Some(FetchItem::ThreadId(None)),
            // RFC 8514 §4.2: when the entry was saved into this mailbox; NIL for an
            // entry saved before save dates were kept.
            FetchAttr::SaveDate => Some(FetchItem::SaveDate(e.saved_at.map(internal_date))),
            _ => None,
        };
        if let Some(item) = simple {
            w.item(out, &item, opts);
            return true;
        }
        let Some(m) = self.msg else { return true };
        let st = &m.structure;
        let raw = &m.raw[..];
        match a {
            FetchAttr::Envelope => {
                let mut buf = Vec::new();
                envelope::write_envelope(&mut buf, &st.envelope, opts);
                w.item(
                    out,
                    &FetchItem::Envelope(PreRendered(Bytes::from(buf))),
                    opts,
                );
            }
            FetchAttr::Body | FetchAttr::BodyStructure => {
                let extensible = matches!(a, FetchAttr::BodyStructure);
                let mut buf = Vec::new();
                bodystructure::write_body(&mut buf, &st.root, extensible, opts);
                let pre = PreRendered(Bytes::from(buf));
                let item = if extensible {
                    FetchItem::BodyStructure(pre)
                } else {
                    FetchItem::Body(pre)
                };
                w.item(out, &item, opts);
            }
            FetchAttr::BodySection {
                section: sec,
                partial,
                ..
            } => {
                let data = section::body_section(raw, st, sec);
                let data = section::partial(&data, *partial);
                let origin = partial.map(|p| p.offset);
                let item = StreamedItem::BodySection {
                    section: sec,
                    origin,
                };
                w.streamed(out, item, data);
            }
            FetchAttr::Binary { part, partial, .. } => {
                let Ok(data) = section::binary_section(raw, st, part) else {
                    return false;
                };
                let data = section::partial(&data, *partial);
                let origin = partial.map(|p| p.offset);
                let item = StreamedItem::Binary { part, origin };
                w.streamed(out, item, data);
            }
            FetchAttr::BinarySize { part } => {
                let Ok(size) = section::binary_size(raw, st, part) else {
                    return false;
                };
                let item = FetchItem::BinarySize {
                    part: part.clone(),
                    size,
                };
                w.item(out, &item, opts);
            }
            FetchAttr::Rfc822 => w.streamed(out, StreamedItem::Rfc822, raw),
            FetchAttr::Rfc822Header => {
                w.streamed(out, StreamedItem::Rfc822Header, st.root.header(raw));
            }
            FetchAttr::Rfc822Text => w.streamed(out, StreamedItem::Rfc822Text, st.root.body(raw)),
            FetchAttr::Preview { .. } => {
                let text = preview::preview(raw, st);
                w.item(out, &FetchItem::Preview(Some(Bytes::from(text))), opts);
            }
            FetchAttr::EmailId
            | FetchAttr::ThreadId
            | FetchAttr::SaveDate
            | FetchAttr::Uid
            | FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::ModSeq => {}
        }
        true
    }
}

/// INTERNALDATE in UTC.
pub(crate) fn internal_date(ts: i64) -> DateTime {
    DateTime::from_unix(ts, 0)
        .or_else(|| DateTime::from_unix(0, 0))
        .unwrap_or(DateTime {
            date: crate::proto::Date {
                year: 1970,
                month: 1,
                day: 1,
            },
            hour: 0,
            minute: 0,
            second: 0,
            zone_minutes: 0,
        })
}
