//! SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH return options MIN, MAX, ALL,
//! COUNT (RFC 4731), SAVE and `$` (RFC 5182), PARTIAL (RFC 9394), and MODSEQ (RFC 7162
//! §3.1.5); the classic
//! `* SEARCH` answer for IMAP4rev1 clients, `* ESEARCH` after ENABLE IMAP4rev2.
//!
//! [`matching`] is shared with SORT and THREAD: a first pass over the view decides what
//! flags and numbers can; only undecided messages are loaded, batch by batch.

use bytes::Bytes;

use super::Outcome;
use super::enable_id::condstore_used;
use crate::catalogue as cat;
use crate::load::{self, Raw};
use crate::proto::{
    Code, Data, ESearchItem, PartialRange, Search, SearchKey, SearchReturn, SequenceSet,
    StatusResponse, Tag,
};
use crate::search::{Candidate, Context, Query, compile, eval};
use crate::session::{Selected, Session};

/// The 0-based view indexes of the messages matching `key`, ascending, and the
/// compiled query.
pub(crate) async fn matching(
    s: &Session,
    sel: &Selected,
    tag: &Tag,
    key: &SearchKey,
    charset: Option<&[u8]>,
) -> Result<(Vec<usize>, Query), StatusResponse> {
    let q = compile(key, charset).map_err(|_| {
        let supported = vec![
            Bytes::from_static(b"UTF-8"),
            Bytes::from_static(b"US-ASCII"),
        ];
        cat::no(tag, Code::BadCharset(supported), cat::BAD_CHARSET)
    })?;
    let view = &sel.view;
    let ctx = Context {
        exists: view.exists(),
        largest_uid: view.entries().last().map_or(0, |e| e.uid),
        saved: &sel.saved,
        now: now(),
    };
    let rev2 = s.enabled.rev2;
    let mut matched = Vec::new();
    let mut undecided = Vec::new();
    for (i, e) in view.entries().iter().enumerate() {
        if e.expunged {
            continue;
        }
        let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let c = Candidate::new(seq, e, !rev2 && view.is_recent(e.uid), None);
        match eval(&q, &c, &ctx) {
            Some(true) => matched.push(i),
            Some(false) => {}
            None => undecided.push((i, e.size)),
        }
    }
    if !undecided.is_empty() {
        let raw = q.needs();
        let store = s.svc.directory.store().clone();
        for batch in load::batches(&undecided, raw == Raw::Whole) {
            let ids = batch
                .iter()
                .filter_map(|&i| view.get(i).map(|e| (e.message, e.blob)))
                .collect();
            let loaded = load::load(&store, &s.svc.cache, ids, raw)
                .await
                .map_err(|e| cat::for_store_error(tag, &e))?;
            for i in batch {
                let Some(e) = view.get(i) else { continue };
                let Some(msg) = loaded.get(&e.message) else {
                    continue;
                };
                let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let c = Candidate::new(seq, e, !rev2 && view.is_recent(e.uid), Some(msg));
                if eval(&q, &c, &ctx) == Some(true) {
                    matched.push(i);
                }
            }
        }
        matched.sort_unstable();
    }
    Ok((matched, q))
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 9051 §6.4.4.
pub(crate) async fn search(s: &mut Session, sel: &mut Selected, tag: &Tag, sr: Search) -> Outcome {
    let saving = sr
        .return_opts
        .as_ref()
        .is_some_and(|o| o.contains(&SearchReturn::Save));
    let (indexes, q) = match matching(s, sel, tag, &sr.criteria, sr.charset.as_deref()).await {
        Ok(x) => x,
        Err(r) => {
            if saving {
                sel.saved.clear();
            }
            return Outcome::reply(r);
        }
    };
    let uses_modseq = q.uses_modseq();
    if uses_modseq {
        condstore_used(s, Some(sel));
    }
    let view = &sel.view;
    let uids: Vec<u32> = indexes
        .iter()
        .filter_map(|&i| view.get(i))
        .map(|e| e.uid)
        .collect();
    let numbers: Vec<u32> = if sr.uid {
        uids.clone()
    } else {
        indexes
            .iter()
            .map(|&i| u32::try_from(i + 1).unwrap_or(u32::MAX))
            .collect()
    };
    // Mod-sequences of the matches, in the order of `numbers` (ascending).
    let modseqs: Vec<u64> = if uses_modseq {
        indexes
            .iter()
            .filter_map(|&i| view.get(i))
            .map(|e| e.modseq)
            .collect()
    } else {
        Vec::new()
    };
    let opts = match sr.return_opts {
        None if !s.enabled.rev2 => {
            let modseq = modseqs.iter().copied().max();
            s.data_owned(Data::Search { numbers, modseq });
            return Outcome::reply(cat::ok(tag, cat::SEARCH_DONE));
        }
        None => vec![SearchReturn::All],
        Some(o) if o.is_empty() => vec![SearchReturn::All],
        Some(o) => o,
    };
    if let Err(text) = check_return_opts(&opts) {
        if saving {
            sel.saved.clear();
        }
        return Outcome::reply(cat::bad(Some(tag), text));
    }
    let modseq = esearch_modseq(&opts, &modseqs);
    if opts.contains(&SearchReturn::Save) {
        sel.saved = saved_result(&opts, &uids);
    }
    if opts.iter().all(|o| *o == SearchReturn::Save) {
        // RFC 5182 §2.4: SAVE alone produces no ESEARCH response.
        return Outcome::reply(cat::ok(tag, cat::SEARCH_DONE));
    }
    let items = esearch_items(&opts, &numbers, modseq, false);
    s.data_owned(Data::ESearch {
        tag: Some(tag.clone()),
        uid: sr.uid,
        items,
    });
    Outcome::reply(cat::ok(tag, cat::SEARCH_DONE))
}

/// The PARTIAL option of `opts`, if any.
pub(crate) fn partial_of(opts: &[SearchReturn]) -> Option<PartialRange> {
    opts.iter().find_map(|o| match o {
        SearchReturn::Partial(r) => Some(*r),
        _ => None,
    })
}

/// RFC 9394 §3.1: PARTIAL and ALL are mutually exclusive, and one PARTIAL at most.
pub(crate) fn check_return_opts(opts: &[SearchReturn]) -> Result<(), &'static str> {
    let partials = opts
        .iter()
        .filter(|o| matches!(o, SearchReturn::Partial(_)))
        .count();
    if partials > 1 {
        return Err(cat::PARTIAL_TWICE);
    }
    if partials == 1 && opts.contains(&SearchReturn::All) {
        return Err(cat::PARTIAL_WITH_ALL);
    }
    Ok(())
}

/// RFC 5182 §2.4: with MIN and/or MAX (and neither ALL nor COUNT) only those are saved;
/// with PARTIAL (RFC 9394 §3.1), only the results the range returns. `uids` are in the
/// order the results are reported (ascending for SEARCH, sort order for SORT).
pub(crate) fn saved_result(opts: &[SearchReturn], uids: &[u32]) -> Vec<u32> {
    if let Some(range) = partial_of(opts) {
        let mut out = uids[range.positions(uids.len())].to_vec();
        out.sort_unstable();
        return out;
    }
    let only_extremes = !opts.contains(&SearchReturn::All)
        && !opts.contains(&SearchReturn::Count)
        && (opts.contains(&SearchReturn::Min) || opts.contains(&SearchReturn::Max));
    if !only_extremes {
        return uids.to_vec();
    }
    let mut out = Vec::new();
    if opts.contains(&SearchReturn::Min)
        && let Some(&m) = uids.first()
    {
        out.push(m);
    }
    if opts.contains(&SearchReturn::Max)
        && let Some(&m) = uids.last()
        && !out.contains(&m)
    {
        out.push(m);
    }
    out
}

/// RFC 7162 §3.1.5 with RFC 4731 §3.2: the `MODSEQ` of an ESEARCH response is the
/// highest mod-sequence of the messages it reports. With ALL or COUNT that is every
/// match; with only MIN and/or MAX, only the message(s) MIN and MAX name, so MIN alone
/// gives the lowest-numbered match's own mod-sequence. `modseqs` are the matches'
/// mod-sequences in ascending message order; `None` when nothing matched (or MODSEQ
/// was not used).
pub(crate) fn esearch_modseq(opts: &[SearchReturn], modseqs: &[u64]) -> Option<u64> {
    let every = opts.contains(&SearchReturn::All) || opts.contains(&SearchReturn::Count);
    if every {
        return modseqs.iter().copied().max();
    }
    let partial =
        partial_of(opts).and_then(|r| modseqs[r.positions(modseqs.len())].iter().copied().max());
    let min = opts
        .contains(&SearchReturn::Min)
        .then(|| modseqs.first().copied())
        .flatten();
    let max = opts
        .contains(&SearchReturn::Max)
        .then(|| modseqs.last().copied())
        .flatten();
    min.max(max).max(partial)
}

/// RFC 4731 §3.1: the requested items; MIN, MAX and ALL are omitted when nothing
/// matched. With `sorted` (RFC 5267 §3.2, ESORT), `numbers` are in sort order: MIN and
/// MAX are the first and last of that order, and ALL and PARTIAL keep it. RFC 9394
/// §3.1: PARTIAL reports the results at the range's positions, NIL when there are
/// none.
pub(crate) fn esearch_items(
    opts: &[SearchReturn],
    numbers: &[u32],
    modseq: Option<u64>,
    sorted: bool,
) -> Vec<ESearchItem> {
    let set = |numbers: &[u32]| {
        if sorted {
            SequenceSet::compress(numbers.iter().copied())
        } else {
            SequenceSet::from_unsorted(numbers.to_vec())
        }
    };
    let (min, max) = if sorted {
        (numbers.first(), numbers.last())
    } else {
        (numbers.iter().min(), numbers.iter().max())
    };
    let mut items = Vec::new();
    for o in opts {
        match o {
            SearchReturn::Min => items.extend(min.map(|&n| ESearchItem::Min(n))),
            SearchReturn::Max => items.extend(max.map(|&n| ESearchItem::Max(n))),
            SearchReturn::All => items.extend(set(numbers).map(ESearchItem::All)),
            SearchReturn::Partial(range) => {
                let mut chosen = numbers[range.positions(numbers.len())].to_vec();
                if !sorted {
                    chosen.sort_unstable();
                }
                items.push(ESearchItem::Partial(*range, set(&chosen)));
            }
            SearchReturn::Count => {
                items.push(ESearchItem::Count(
                    u32::try_from(numbers.len()).unwrap_or(u32::MAX),
                ));
            }
            SearchReturn::Save => {}
        }
    }
    if let Some(m) = modseq
        && !numbers.is_empty()
    {
        items.push(ESearchItem::ModSeq(m));
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esearch_table() {
        use SearchReturn as R;
        let all = SequenceSet::parse(b"2,4:6").unwrap();
        let cases: Vec<(Vec<R>, Vec<u32>, Vec<ESearchItem>)> = vec![
            (
                vec![R::Min, R::Max, R::Count],
                vec![2, 4, 5, 6],
                vec![
                    ESearchItem::Min(2),
                    ESearchItem::Max(6),
                    ESearchItem::Count(4),
                ],
            ),
            (vec![R::All], vec![6, 2, 5, 4], vec![ESearchItem::All(all)]),
            (
                vec![R::Min, R::All, R::Count],
                vec![],
                vec![ESearchItem::Count(0)],
            ),
        ];
        for (opts, numbers, expected) in cases {
            assert_eq!(
                esearch_items(&opts, &numbers, None, false),
                expected,
                "{opts:?}"
            );
        }
        assert_eq!(
            esearch_items(&[R::Count], &[1], Some(9), false),
            vec![ESearchItem::Count(1), ESearchItem::ModSeq(9)]
        );
    }

    #[test]
    fn esearch_modseq_covers_only_the_messages_reported() {
        use SearchReturn as R;
        // Matches in message order with their mod-sequences: the highest is in the
        // middle, so MIN and MAX alone must not report it (RFC 7162 §3.1.5).
        let modseqs = [4, 9, 6];
        let cases: &[(&[R], Option<u64>)] = &[
            (&[R::Min], Some(4)),
            (&[R::Max], Some(6)),
            (&[R::Min, R::Max], Some(6)),
            (&[R::Max, R::Save], Some(6)),
            (&[R::All], Some(9)),
            (&[R::Count], Some(9)),
            (&[R::Min, R::Count], Some(9)),
        ];
        for (opts, expected) in cases {
            assert_eq!(esearch_modseq(opts, &modseqs), *expected, "{opts:?}");
        }
        assert_eq!(esearch_modseq(&[R::Min], &[]), None);
        assert_eq!(esearch_modseq(&[R::Min, R::Max], &[5, 3]), Some(5));
    }

    #[test]
    fn save_keeps_extremes_only_when_asked() {
        use SearchReturn as R;
        assert_eq!(saved_result(&[R::Save, R::Min], &[3, 5, 9]), vec![3]);
        assert_eq!(
            saved_result(&[R::Save, R::Min, R::Max], &[3, 5, 9]),
            vec![3, 9]
        );
        assert_eq!(
            saved_result(&[R::Save, R::Min, R::Count], &[3, 5, 9]),
            vec![3, 5, 9]
        );
        assert_eq!(saved_result(&[R::Save], &[]), Vec::<u32>::new());
    }
}
