//! A selected session's view of its mailbox (RFC 9051 §2.3.1, §7.4.1): which messages
//! the client knows, by sequence number and UID, with their flags as last reported, the
//! expunges it has not been told about yet, the keywords announced in `FLAGS`, the
//! session's `\Recent` messages and the HIGHESTMODSEQ up to which the view is in sync.
//!
//! Pure and in memory. The session feeds it store snapshots ([`View::apply`]) and reports
//! what it returns; the view never talks to the store or the client, and never renumbers
//! messages except when the session announces the expunges ([`View::take_expunged`]).

use bytes::Bytes;
use pillarbox_store::{BlobEntry, BlobHash, Entry, MessageId, flags};

use crate::proto::{Flag, SequenceSet};

/// One message as the client knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewEntry {
    pub uid: u32,
    pub message: MessageId,
    /// System flags (see [`pillarbox_store::flags`]).
    pub flags: u32,
    /// Keywords, space separated.
    pub keywords: Box<str>,
    pub modseq: u64,
    pub internal_date: i64,
    /// When the entry was saved into the mailbox (RFC 8514), if known.
    pub saved_at: Option<i64>,
    pub size: u64,
    /// The blob holding the message (SHA-256), the key of the message cache.
    pub blob: BlobKey,
    /// Expunged in the store; the client has not been told yet.
    pub expunged: bool,
}

/// A blob name in binary: the SHA-256 of the message.
pub(crate) type BlobKey = [u8; 32];

/// The binary form of a blob name.
pub(crate) fn blob_key(hash: &BlobHash) -> BlobKey {
    let mut key = [0u8; 32];
    let hex = hash.as_str().as_bytes();
    for (i, k) in key.iter_mut().enumerate() {
        let nibble = |b: u8| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => 0,
        };
        let hi = hex.get(2 * i).copied().map_or(0, nibble);
        let lo = hex.get(2 * i + 1).copied().map_or(0, nibble);
        *k = hi << 4 | lo;
    }
    key
}

/// The blob name of a binary key.
pub(crate) fn blob_hash(key: &BlobKey) -> Option<BlobHash> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in key {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    BlobHash::parse(&s).ok()
}

impl ViewEntry {
    fn from_entry(b: BlobEntry) -> ViewEntry {
        let e = b.entry;
        ViewEntry {
            uid: e.uid,
            message: e.message,
            flags: e.flags,
            keywords: e.keywords.into_boxed_str(),
            modseq: e.modseq,
            internal_date: e.internal_date,
            saved_at: e.saved_at,
            size: e.size,
            blob: blob_key(&b.blob),
            expunged: false,
        }
    }

    /// Whether the entry has all of `mask`.
    pub(crate) fn has(&self, mask: u32) -> bool {
        self.flags & mask == mask
    }

    /// Whether the entry has `keyword` (case-insensitive).
    pub(crate) fn has_keyword(&self, keyword: &str) -> bool {
        self.keywords
            .split(' ')
            .any(|k| !k.is_empty() && k.eq_ignore_ascii_case(keyword))
    }

    /// The flags as IMAP flags; `\Recent` when `recent`.
    pub(crate) fn flag_list(&self, recent: bool) -> Vec<Flag> {
        let mut out = system_flags(self.flags);
        if recent {
            out.push(Flag::Recent);
        }
        out.extend(
            self.keywords
                .split(' ')
                .filter(|k| !k.is_empty())
                .map(|k| Flag::Keyword(Bytes::copy_from_slice(k.as_bytes()))),
        );
        out
    }
}

/// The system flags of a bitmask, in the conventional order.
pub(crate) fn system_flags(mask: u32) -> Vec<Flag> {
    let table = [
        (flags::SEEN, Flag::Seen),
        (flags::ANSWERED, Flag::Answered),
        (flags::FLAGGED, Flag::Flagged),
        (flags::DELETED, Flag::Deleted),
        (flags::DRAFT, Flag::Draft),
    ];
    table
        .into_iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, f)| f)
        .collect()
}

/// A sequence set names a message number the client cannot know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadSequence;

/// What a synchronisation found, for the session to announce.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// UIDs whose flags changed (unsolicited `FETCH`).
    pub flags: Vec<u32>,
    /// Messages added to the end of the view.
    pub added: usize,
    /// New keywords appeared: send `FLAGS` again.
    pub new_keywords: bool,
    /// Messages newly marked as expunged.
    pub expunged: usize,
}

/// The view.
#[derive(Debug)]
pub(crate) struct View {
    entries: Vec<ViewEntry>,
    /// Every change up to this MODSEQ is reflected.
    pub highest_modseq: u64,
    pub uid_next: u32,
    pub uid_validity: u32,
    /// UID ranges that are `\Recent` in this session.
    recent: Vec<(u32, u32)>,
    /// Keywords announced in `FLAGS`.
    keywords: Vec<Box<str>>,
    pending_expunges: usize,
}

impl View {
    /// A view of `entries` (ascending UIDs) at `highest_modseq`.
    pub(crate) fn new(
        entries: Vec<BlobEntry>,
        highest_modseq: u64,
        uid_next: u32,
        uid_validity: u32,
    ) -> View {
        let entries: Vec<ViewEntry> = entries.into_iter().map(ViewEntry::from_entry).collect();
        let mut view = View {
            entries,
            highest_modseq,
            uid_next,
            uid_validity,
            recent: Vec::new(),
            keywords: Vec::new(),
            pending_expunges: 0,
        };
        view.entries.sort_by_key(|e| e.uid);
        // The vector may reuse the larger store entries' allocation: a selected view
        // lives as long as the session, so give the slack back.
        view.entries.shrink_to_fit();
        view.collect_keywords();
        view
    }

    /// Marks UIDs from `first` up to (excluding) `end` as `\Recent` for this session
    /// (nothing when `first >= end`).
    pub(crate) fn add_recent(&mut self, first: u32, end: u32) {
        if first >= end {
            return;
        }
        match self.recent.last_mut() {
            Some(last) if last.1 >= first && last.0 <= first => last.1 = last.1.max(end),
            _ => self.recent.push((first, end)),
        }
    }

    /// Whether `uid` is `\Recent` in this session.
    pub(crate) fn is_recent(&self, uid: u32) -> bool {
        self.recent.iter().any(|&(a, b)| a <= uid && uid < b)
    }

    /// Messages the client knows (`EXISTS`), pending expunges included.
    pub(crate) fn exists(&self) -> u32 {
        u32::try_from(self.entries.len()).unwrap_or(u32::MAX)
    }

    /// Recent messages in the view.
    pub(crate) fn recent_count(&self) -> u32 {
        let n = self
            .entries
            .iter()
            .filter(|e| self.is_recent(e.uid))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Every entry, by sequence number (index + 1).
    pub(crate) fn entries(&self) -> &[ViewEntry] {
        &self.entries
    }

    /// The entry at 0-based `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&ViewEntry> {
        self.entries.get(index)
    }

    /// The 0-based index of `uid`.
    pub(crate) fn index_of(&self, uid: u32) -> Option<usize> {
        self.entries.binary_search_by_key(&uid, |e| e.uid).ok()
    }

    /// The keywords announced so far.
    pub(crate) fn keywords(&self) -> &[Box<str>] {
        &self.keywords
    }

    /// Whether expunges wait to be announced.
    pub(crate) fn has_pending_expunges(&self) -> bool {
        self.pending_expunges > 0
    }

    /// The 0-based indexes `set` names, ascending and without duplicates. With `uid`,
    /// numbers are UIDs and unknown ones are ignored; otherwise they are sequence numbers
    /// and one beyond `EXISTS` is an error (a range ending in `*` is clipped). `$` is
    /// `saved`, a list of UIDs.
    pub(crate) fn resolve(
        &self,
        set: &SequenceSet,
        uid: bool,
        saved: &[u32],
    ) -> Result<Vec<usize>, BadSequence> {
        let mut out: Vec<usize> = Vec::new();
        match set {
            SequenceSet::Saved => {
                out.extend(saved.iter().filter_map(|&u| self.index_of(u)));
            }
            SequenceSet::Ranges(ranges) if uid => {
                let largest = self.entries.last().map_or(0, |e| e.uid);
                for r in ranges {
                    let (lo, hi) = r.bounds(largest);
                    let start = self.entries.partition_point(|e| e.uid < lo);
                    let end = self.entries.partition_point(|e| e.uid <= hi);
                    out.extend(start..end.max(start));
                }
            }
            SequenceSet::Ranges(ranges) => {
                let exists = self.exists();
                for r in ranges {
                    let explicit = [r.first, r.last]
                        .into_iter()
                        .filter_map(|n| match n {
                            crate::proto::SeqNum::Value(v) => Some(v),
                            crate::proto::SeqNum::Star => None,
                        })
                        .max();
                    let starred = r.first != r.last
                        && (r.first == crate::proto::SeqNum::Star
                            || r.last == crate::proto::SeqNum::Star);
                    if exists == 0 && (starred || explicit.is_none()) {
                        continue;
                    }
                    let (lo, hi) = r.bounds(exists);
                    if explicit.is_some_and(|v| v > exists) && !starred {
                        return Err(BadSequence);
                    }
                    let hi = hi.min(exists);
                    let lo = lo.max(1);
                    if lo > hi {
                        continue;
                    }
                    out.extend((lo as usize - 1)..(hi as usize));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Brings the view up to a store snapshot: `changed` entries (added or changed after
    /// `highest_modseq`), `expunged` UIDs, and the mailbox's new HIGHESTMODSEQ and
    /// UIDNEXT. Expunged messages stay (marked) until [`View::take_expunged`].
    pub(crate) fn apply(
        &mut self,
        changed: Vec<BlobEntry>,
        expunged: &[u32],
        highest_modseq: u64,
        uid_next: u32,
    ) -> Changes {
        let mut out = Changes::default();
        for &uid in expunged {
            if let Some(i) = self.index_of(uid)
                && !self.entries[i].expunged
            {
                self.entries[i].expunged = true;
                self.pending_expunges += 1;
                out.expunged += 1;
            }
        }
        for b in changed {
            let e = &b.entry;
            if expunged.binary_search(&e.uid).is_ok() {
                continue;
            }
            match self.entries.binary_search_by_key(&e.uid, |x| x.uid) {
                Ok(i) => {
                    let cur = &mut self.entries[i];
                    if cur.expunged {
                        continue;
                    }
                    let differs = cur.flags != e.flags || *cur.keywords != *e.keywords;
                    cur.modseq = e.modseq;
                    if differs {
                        cur.flags = e.flags;
                        cur.keywords = e.keywords.clone().into_boxed_str();
                        out.flags.push(e.uid);
                        out.new_keywords |= self.note_keywords(i);
                    }
                }
                Err(i) => {
                    self.entries.insert(i, ViewEntry::from_entry(b));
                    out.added += 1;
                    out.new_keywords |= self.note_keywords(i);
                }
            }
        }
        self.highest_modseq = self.highest_modseq.max(highest_modseq);
        self.uid_next = self.uid_next.max(uid_next);
        out
    }

    /// Records this session's own flag changes (already reported to the client by the
    /// command). Returns whether new keywords appeared.
    pub(crate) fn update_flags(&mut self, changed: &[Entry]) -> bool {
        let mut new_keywords = false;
        for e in changed {
            if let Some(i) = self.index_of(e.uid)
                && !self.entries[i].expunged
            {
                let cur = &mut self.entries[i];
                cur.flags = e.flags;
                cur.keywords = e.keywords.clone().into_boxed_str();
                cur.modseq = e.modseq;
                new_keywords |= self.note_keywords(i);
            }
        }
        new_keywords
    }

    /// Marks `uids` expunged (this session's own EXPUNGE or MOVE).
    pub(crate) fn mark_expunged(&mut self, uids: &[u32]) {
        for &uid in uids {
            if let Some(i) = self.index_of(uid)
                && !self.entries[i].expunged
            {
                self.entries[i].expunged = true;
                self.pending_expunges += 1;
            }
        }
    }

    /// Removes the expunged messages and returns their `(sequence number, UID)` in
    /// descending sequence order: announcing them in this order keeps each number valid
    /// (RFC 9051 §7.5.1).
    pub(crate) fn take_expunged(&mut self) -> Vec<(u32, u32)> {
        if self.pending_expunges == 0 {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(self.pending_expunges);
        for (i, e) in self.entries.iter().enumerate().rev() {
            if e.expunged {
                out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), e.uid));
            }
        }
        self.entries.retain(|e| !e.expunged);
        self.pending_expunges = 0;
        out
    }

    fn note_keywords(&mut self, index: usize) -> bool {
        let Some(e) = self.entries.get(index) else {
            return false;
        };
        let mut new = false;
        for k in e.keywords.split(' ').filter(|k| !k.is_empty()) {
            if !self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                self.keywords.push(k.into());
                new = true;
            }
        }
        new
    }

    fn collect_keywords(&mut self) {
        for i in 0..self.entries.len() {
            self.note_keywords(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{SeqNum, SequenceSet};

    fn plain(uid: u32, flags: u32, keywords: &str, modseq: u64) -> Entry {
        Entry {
            uid,
            message: MessageId(i64::from(uid)),
            flags,
            keywords: keywords.into(),
            modseq,
            internal_date: 0,
            size: 10,
            saved_at: None,
        }
    }

    fn entry(uid: u32, flags: u32, keywords: &str, modseq: u64) -> BlobEntry {
        BlobEntry {
            entry: plain(uid, flags, keywords, modseq),
            blob: BlobHash::parse(&format!("{uid:064x}")).unwrap(),
        }
    }

    fn view(uids: &[u32]) -> View {
        View::new(
            uids.iter().map(|&u| entry(u, 0, "", 1)).collect(),
            1,
            uids.last().map_or(1, |u| u + 1),
            7,
        )
    }

    fn set(s: &str) -> SequenceSet {
        SequenceSet::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn resolve_table() {
        let v = view(&[3, 5, 8, 13]);
        type Case<'a> = (&'a str, bool, Result<Vec<usize>, BadSequence>);
        let table: &[Case<'_>] = &[
            ("1:*", false, Ok(vec![0, 1, 2, 3])),
            ("2,4", false, Ok(vec![1, 3])),
            ("4:2", false, Ok(vec![1, 2, 3])),
            ("5", false, Err(BadSequence)),
            ("3:*", false, Ok(vec![2, 3])),
            ("9:*", false, Ok(vec![3])),
            ("*", false, Ok(vec![3])),
            ("5:8", true, Ok(vec![1, 2])),
            ("1:4,6", true, Ok(vec![0])),
            ("100:*", true, Ok(vec![3])),
            ("*", true, Ok(vec![3])),
            ("14:20", true, Ok(vec![])),
        ];
        for (s, uid, expected) in table {
            assert_eq!(&v.resolve(&set(s), *uid, &[]), expected, "{s} uid={uid}");
        }
        assert_eq!(
            v.resolve(&SequenceSet::Saved, false, &[13, 3, 4]),
            Ok(vec![0, 3])
        );
        let empty = view(&[]);
        assert_eq!(empty.resolve(&set("1:*"), false, &[]), Ok(vec![]));
        assert_eq!(empty.resolve(&set("1"), false, &[]), Err(BadSequence));
        assert_eq!(
            empty.resolve(
                &SequenceSet::range(SeqNum::Value(1), SeqNum::Star),
                true,
                &[]
            ),
            Ok(vec![])
        );
    }

    #[test]
    fn apply_marks_expunges_and_reports_changes() {
        let mut v = view(&[1, 2, 3, 4]);
        let changes = v.apply(
            vec![
                entry(2, flags::SEEN, "", 5),
                entry(3, 0, "", 5),
                entry(6, 0, "$Work", 6),
            ],
            &[3],
            6,
            7,
        );
        assert_eq!(
            changes,
            Changes {
                flags: vec![2],
                added: 1,
                new_keywords: true,
                expunged: 1,
            }
        );
        assert_eq!(v.exists(), 5);
        assert!(v.has_pending_expunges());
        // Sequence numbers do not move before the expunge is announced.
        assert_eq!(v.index_of(6), Some(4));
        assert_eq!(v.take_expunged(), vec![(3, 3)]);
        assert_eq!(v.exists(), 4);
        assert_eq!(v.index_of(6), Some(3));
        assert_eq!(v.highest_modseq, 6);
        assert_eq!(&*v.keywords()[0], "$Work");
    }

    #[test]
    fn own_changes_are_not_reported_twice() {
        let mut v = view(&[1, 2]);
        v.update_flags(&[plain(1, flags::FLAGGED, "", 3)]);
        let changes = v.apply(vec![entry(1, flags::FLAGGED, "", 3)], &[], 3, 3);
        assert!(changes.flags.is_empty());
        v.mark_expunged(&[2]);
        let changes = v.apply(vec![], &[2], 4, 3);
        assert_eq!(changes.expunged, 0);
        assert_eq!(v.take_expunged(), vec![(2, 2)]);
    }

    #[test]
    fn expunges_come_out_in_descending_order() {
        let mut v = view(&[1, 2, 3, 4, 5]);
        v.apply(vec![], &[2, 4], 2, 6);
        assert_eq!(v.take_expunged(), vec![(4, 4), (2, 2)]);
        assert!(v.take_expunged().is_empty());
    }

    #[test]
    fn blob_keys_round_trip() {
        let h = BlobHash::parse(&format!("{:064x}", 0xdead_beef_u64)).unwrap();
        let k = blob_key(&h);
        assert_eq!(k[31], 0xef);
        assert_eq!(blob_hash(&k), Some(h));
    }

    #[test]
    fn recent_and_flags() {
        let mut v = view(&[1, 2, 3]);
        v.add_recent(2, 4);
        assert!(!v.is_recent(1));
        assert!(v.is_recent(3));
        assert_eq!(v.recent_count(), 2);
        v.add_recent(4, 4);
        v.add_recent(4, 6);
        v.add_recent(9, 8);
        assert_eq!(v.recent, [(2, 6)]);
        v.add_recent(7, 8);
        assert!(v.is_recent(5) && !v.is_recent(6) && v.is_recent(7) && !v.is_recent(8));
        let e = ViewEntry::from_entry(entry(9, flags::SEEN | flags::DELETED, "a b", 1));
        assert_eq!(
            e.flag_list(true),
            vec![
                Flag::Seen,
                Flag::Deleted,
                Flag::Recent,
                Flag::keyword("a"),
                Flag::keyword("b")
            ]
        );
        assert!(e.has_keyword("B"));
    }
}
