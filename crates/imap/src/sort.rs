//! SORT ordering (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO): compares messages by
//! the keys computed at delivery (date, base subject) and the address keys of their
//! ENVELOPE (a list starting with a group sorts by the group's name), with the
//! `i;ascii-casemap` collation, REVERSE per key, and the sequence number as the final
//! tie-breaker. Pure.

use std::cmp::Ordering;

use pillarbox_mime::{Envelope, SortAddress, SortKeys};

use crate::proto::{SortCriterion, SortKey};

/// What sorting needs of one message.
#[derive(Debug, Clone)]
pub(crate) struct SortItem<'a> {
    /// The number reported (sequence number or UID).
    pub id: u32,
    pub seq: u32,
    /// INTERNALDATE.
    pub arrival: i64,
    pub size: u64,
    pub keys: &'a SortKeys,
    /// First From, To and Cc address keys.
    pub from: SortAddress,
    pub to: SortAddress,
    pub cc: SortAddress,
}

impl<'a> SortItem<'a> {
    /// An item whose address keys come from `envelope`.
    pub(crate) fn new(
        id: u32,
        seq: u32,
        arrival: i64,
        size: u64,
        keys: &'a SortKeys,
        envelope: &Envelope,
    ) -> SortItem<'a> {
        SortItem {
            id,
            seq,
            arrival,
            size,
            keys,
            from: SortAddress::of_first(&envelope.from),
            to: SortAddress::of_first(&envelope.to),
            cc: SortAddress::of_first(&envelope.cc),
        }
    }
}

/// `i;ascii-casemap`: ASCII letters compare case-insensitively, everything else by octet.
fn casemap(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

fn compare_key(a: &SortItem<'_>, b: &SortItem<'_>, key: SortKey) -> Ordering {
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Date => a
            .keys
            .date
            .unwrap_or(a.arrival)
            .cmp(&b.keys.date.unwrap_or(b.arrival)),
        SortKey::Subject => casemap(&a.keys.base_subject, &b.keys.base_subject),
        SortKey::From => casemap(&a.from.mailbox, &b.from.mailbox),
        SortKey::To => casemap(&a.to.mailbox, &b.to.mailbox),
        SortKey::Cc => casemap(&a.cc.mailbox, &b.cc.mailbox),
        SortKey::DisplayFrom => casemap(&a.from.display, &b.from.display),
        SortKey::DisplayTo => casemap(&a.to.display, &b.to.display),
    }
}

/// Sorts `items` by `criteria` (RFC 5256 §3), ties by sequence number.
pub(crate) fn sort(items: &mut [SortItem<'_>], criteria: &[SortCriterion]) {
    items.sort_by(|a, b| {
        for c in criteria {
            let o = compare_key(a, b, c.key);
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.seq.cmp(&b.seq)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use pillarbox_mime::MessageStructure;

    fn parsed(header: &str) -> MessageStructure {
        pillarbox_mime::parse(header.as_bytes())
    }

    fn item(id: u32, arrival: i64, size: u64, st: &MessageStructure) -> SortItem<'_> {
        SortItem::new(id, id, arrival, size, &st.sort_keys, &st.envelope)
    }

    fn ids(items: &[SortItem<'_>], criteria: &[SortCriterion]) -> Vec<u32> {
        let mut v = items.to_vec();
        sort(&mut v, criteria);
        v.iter().map(|i| i.id).collect()
    }

    #[test]
    fn table() {
        let m1 = parsed(
            "From: Zed <b@x>\r\nTo: a@y\r\nSubject: Re: beta\r\nDate: 2 Jan 2000 00:00:00 +0000\r\n\r\n",
        );
        let m2 = parsed(
            "From: Amy <a@x>\r\nTo: c@y\r\nSubject: alpha\r\nDate: 1 Jan 2000 00:00:00 +0000\r\n\r\n",
        );
        let m3 = parsed("From: c@x\r\nSubject: Alpha\r\n\r\n");
        let items = vec![
            item(1, 30, 300, &m1),
            item(2, 20, 100, &m2),
            item(3, 10, 200, &m3),
        ];
        let c = |key, reverse| SortCriterion { key, reverse };
        let cases: Vec<(Vec<SortCriterion>, [u32; 3])> = vec![
            (vec![c(SortKey::Arrival, false)], [3, 2, 1]),
            (vec![c(SortKey::Size, true)], [1, 3, 2]),
            (vec![c(SortKey::Subject, false)], [2, 3, 1]),
            (
                vec![c(SortKey::Subject, false), c(SortKey::Arrival, false)],
                [3, 2, 1],
            ),
            (vec![c(SortKey::From, false)], [2, 1, 3]),
            (vec![c(SortKey::DisplayFrom, false)], [2, 3, 1]),
            (vec![c(SortKey::To, false)], [3, 1, 2]),
            // DATE falls back to the arrival time (10 for message 3).
            (vec![c(SortKey::Date, false)], [3, 2, 1]),
            (vec![c(SortKey::Cc, false)], [1, 2, 3]),
        ];
        for (criteria, expected) in cases {
            assert_eq!(ids(&items, &criteria), expected, "{criteria:?}");
        }
    }

    #[test]
    fn groups_sort_by_their_name() {
        // RFC 5256 §3 CC: the addr-mailbox of the first Cc address, which for a group
        // is the group name ("user2", not its member "blah"). RFC 5957 §3 DISPLAYTO:
        // a group without a display name sorts by its name ("empty").
        let m1 = parsed("To: mid@x.test\r\nCc: carl@x.test\r\n\r\n");
        let m2 = parsed("To: empty:;\r\nCc: user2: blah@domain1.org;\r\n\r\n");
        let m3 = parsed("To: Zoe <a@x.test>\r\nCc: zack@x.test\r\n\r\n");
        let items = vec![item(1, 0, 0, &m1), item(2, 0, 0, &m2), item(3, 0, 0, &m3)];
        let c = |key| {
            [SortCriterion {
                key,
                reverse: false,
            }]
        };
        assert_eq!(ids(&items, &c(SortKey::Cc)), [1, 2, 3]);
        assert_eq!(ids(&items, &c(SortKey::DisplayTo)), [2, 1, 3]);
        assert_eq!(ids(&items, &c(SortKey::To)), [3, 2, 1]);
    }
}
