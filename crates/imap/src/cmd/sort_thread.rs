//! SORT and THREAD, with their UID forms (RFC 5256 §3; SORT=DISPLAY per RFC 5957):
//! the matching messages come from the SEARCH machinery, their keys from the structures
//! computed at delivery (one batched load: sort keys and ENVELOPE), the ordering from
//! the pure `sort` and `thread` modules. A SORT using MODSEQ reports the highest
//! mod-sequence (RFC 7162 §3.1.5). SORT RETURN (RFC 5267 ESORT: MIN, MAX, ALL, COUNT;
//! SAVE per RFC 5182; PARTIAL per RFC 9394) answers with ESEARCH data in sort order.
//! CONTEXT=SORT (UPDATE, CANCELUPDATE) is not implemented.

use std::collections::HashMap;

use pillarbox_mime::{Envelope, MessageStructure, SortKeys, decode_encoded_words};
use pillarbox_store::MessageId;

use super::Outcome;
use super::enable_id::condstore_used;
use super::search::{check_return_opts, esearch_items, esearch_modseq, matching, saved_result};
use crate::catalogue as cat;
use crate::load::{self, Raw};
use crate::proto::{Data, SearchReturn, Sort, Tag, Thread, ThreadAlgorithm};
use crate::session::{Selected, Session};
use crate::sort::{SortItem, sort as order};
use crate::thread::{ThreadMessage, ordered_subject, references};

/// The structures of the messages at `indexes`, by message id.
async fn structures(
    s: &Session,
    sel: &Selected,
    tag: &Tag,
    indexes: &[usize],
) -> Result<HashMap<MessageId, std::sync::Arc<MessageStructure>>, crate::proto::StatusResponse> {
    let store = s.svc.directory.store().clone();
    let mut out = HashMap::with_capacity(indexes.len());
    let items: Vec<(usize, u64)> = indexes.iter().map(|&i| (i, 0)).collect();
    for batch in load::batches(&items, false) {
        let ids = batch
            .iter()
            .filter_map(|&i| sel.view.get(i).map(|e| (e.message, e.blob)))
            .collect();
        let loaded = load::load(&store, &s.svc.cache, ids, Raw::None)
            .await
            .map_err(|e| cat::for_store_error(tag, &e))?;
        out.extend(loaded.into_iter().map(|(id, l)| (id, l.structure)));
    }
    Ok(out)
}

/// RFC 5256 §3 SORT.
pub(crate) async fn sort(s: &mut Session, sel: &mut Selected, tag: &Tag, st: Sort) -> Outcome {
    let saving = st
        .return_opts
        .as_ref()
        .is_some_and(|o| o.contains(&SearchReturn::Save));
    let opts = st.return_opts.as_ref().map(|o| {
        if o.is_empty() {
            vec![SearchReturn::All]
        } else {
            o.clone()
        }
    });
    if let Some(opts) = &opts
        && let Err(text) = check_return_opts(opts)
    {
        if saving {
            sel.saved.clear();
        }
        return Outcome::reply(cat::bad(Some(tag), text));
    }
    let (indexes, q) = match matching(s, sel, tag, &st.search, Some(&st.charset)).await {
        Ok(x) => x,
        Err(r) => {
            if saving {
                sel.saved.clear();
            }
            return Outcome::reply(r);
        }
    };
    // RFC 7162 §3.1.5: a SORT using the MODSEQ criterion answers with the highest
    // mod-sequence of the messages it returns, like SEARCH.
    let modseq = if q.uses_modseq() {
        condstore_used(s, Some(sel));
        indexes
            .iter()
            .filter_map(|&i| sel.view.get(i))
            .map(|e| e.modseq)
            .max()
    } else {
        None
    };
    let structures = match structures(s, sel, tag, &indexes).await {
        Ok(x) => x,
        Err(r) => {
            if saving {
                sel.saved.clear();
            }
            return Outcome::reply(r);
        }
    };
    // A message that vanished meanwhile sorts with empty keys.
    let (no_keys, no_envelope) = (SortKeys::default(), Envelope::default());
    let mut items: Vec<SortItem<'_>> = indexes
        .iter()
        .filter_map(|&i| {
            let e = sel.view.get(i)?;
            let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let (keys, envelope) = structures
                .get(&e.message)
                .map_or((&no_keys, &no_envelope), |m| (&m.sort_keys, &m.envelope));
            let id = if st.uid { e.uid } else { seq };
            Some(SortItem::new(
                id,
                seq,
                e.internal_date,
                e.size,
                keys,
                envelope,
            ))
        })
        .collect();
    order(&mut items, &st.criteria);
    let numbers: Vec<u32> = items.iter().map(|i| i.id).collect();
    let Some(opts) = opts else {
        s.data_owned(Data::Sort { numbers, modseq });
        return Outcome::reply(cat::ok(tag, cat::SORT_DONE));
    };
    // RFC 5267 §3.2 ESORT: the results as ESEARCH data, in sort order.
    let seqs: Vec<u32> = items.iter().map(|i| i.seq).collect();
    let entry = |seq: &u32| {
        sel.view
            .get(usize::try_from(*seq).unwrap_or(0).wrapping_sub(1))
    };
    let modseq = modseq.and_then(|_| {
        let modseqs: Vec<u64> = seqs.iter().filter_map(entry).map(|e| e.modseq).collect();
        esearch_modseq(&opts, &modseqs)
    });
    if opts.contains(&SearchReturn::Save) {
        let uids: Vec<u32> = seqs.iter().filter_map(entry).map(|e| e.uid).collect();
        sel.saved = saved_result(&opts, &uids);
    }
    if opts.iter().all(|o| *o == SearchReturn::Save) {
        return Outcome::reply(cat::ok(tag, cat::SORT_DONE));
    }
    let items = esearch_items(&opts, &numbers, modseq, true);
    s.data_owned(Data::ESearch {
        tag: Some(tag.clone()),
        uid: st.uid,
        items,
    });
    Outcome::reply(cat::ok(tag, cat::SORT_DONE))
}

/// RFC 5256 §3 THREAD.
pub(crate) async fn thread(s: &mut Session, sel: &mut Selected, tag: &Tag, t: Thread) -> Outcome {
    let (indexes, _) = match matching(s, sel, tag, &t.search, Some(&t.charset)).await {
        Ok(x) => x,
        Err(r) => return Outcome::reply(r),
    };
    let structures = match structures(s, sel, tag, &indexes).await {
        Ok(x) => x,
        Err(r) => return Outcome::reply(r),
    };
    let msgs: Vec<ThreadMessage> = indexes
        .iter()
        .filter_map(|&i| {
            let e = sel.view.get(i)?;
            let st = structures.get(&e.message)?;
            let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            Some(thread_message(
                if t.uid { e.uid } else { seq },
                seq,
                e.internal_date,
                st,
            ))
        })
        .collect();
    let threads = match t.algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(msgs),
        ThreadAlgorithm::References => references(&msgs),
    };
    s.data_owned(Data::Thread(threads));
    Outcome::reply(cat::ok(tag, cat::THREAD_DONE))
}

fn thread_message(id: u32, seq: u32, arrival: i64, st: &MessageStructure) -> ThreadMessage {
    let k = &st.sort_keys;
    let references = if k.references.is_empty() {
        k.in_reply_to.iter().take(1).cloned().collect()
    } else {
        k.references.clone()
    };
    // RFC 5256 §2.1: a reply or forward is a subject whose base subject is shorter
    // than the subject itself, once decoded and whitespace-collapsed.
    let full = st
        .envelope
        .subject
        .as_deref()
        .map(|s| decode_encoded_words(s.as_bytes()))
        .unwrap_or_default();
    let collapsed: String = full.split_whitespace().collect::<Vec<_>>().join(" ");
    ThreadMessage {
        id,
        seq,
        date: k.date.unwrap_or(arrival),
        message_id: k.message_id.clone(),
        references,
        is_reply: collapsed.len() > k.base_subject.len(),
        base_subject: k.base_subject.clone(),
    }
}
