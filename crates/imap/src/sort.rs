//! SORT ordering (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO): compares messages by
//! the keys computed at delivery with the `i;ascii-casemap` collation, REVERSE per key,
//! and the sequence number as the final tie-breaker. Pure.

use std::cmp::Ordering;

use pillarbox_mime::SortKeys;

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
}

/// `i;ascii-casemap`: ASCII letters compare case-insensitively, everything else by octet.
fn casemap(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

fn compare_key(a: &SortItem<'_>, b: &SortItem<'_>, key: SortKey) -> Ordering {
    let mailbox = |x: &Option<pillarbox_mime::SortAddress>| {
        x.as_ref().map(|s| s.mailbox.clone()).unwrap_or_default()
    };
    let display = |x: &Option<pillarbox_mime::SortAddress>| {
        x.as_ref().map(|s| s.display.clone()).unwrap_or_default()
    };
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Date => a
            .keys
            .date
            .unwrap_or(a.arrival)
            .cmp(&b.keys.date.unwrap_or(b.arrival)),
        SortKey::Subject => casemap(&a.keys.base_subject, &b.keys.base_subject),
        SortKey::From => casemap(&mailbox(&a.keys.from), &mailbox(&b.keys.from)),
        SortKey::To => casemap(&mailbox(&a.keys.to), &mailbox(&b.keys.to)),
        SortKey::Cc => casemap(&mailbox(&a.keys.cc), &mailbox(&b.keys.cc)),
        SortKey::DisplayFrom => casemap(&display(&a.keys.from), &display(&b.keys.from)),
        SortKey::DisplayTo => casemap(&display(&a.keys.to), &display(&b.keys.to)),
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

    fn keys(header: &str) -> SortKeys {
        pillarbox_mime::parse(header.as_bytes()).sort_keys
    }

    #[test]
    fn table() {
        let k1 = keys(
            "From: Zed <b@x>\r\nTo: a@y\r\nSubject: Re: beta\r\nDate: 2 Jan 2000 00:00:00 +0000\r\n\r\n",
        );
        let k2 = keys(
            "From: Amy <a@x>\r\nTo: c@y\r\nSubject: alpha\r\nDate: 1 Jan 2000 00:00:00 +0000\r\n\r\n",
        );
        let k3 = keys("From: c@x\r\nSubject: Alpha\r\n\r\n");
        let items = vec![
            SortItem {
                id: 1,
                seq: 1,
                arrival: 30,
                size: 300,
                keys: &k1,
            },
            SortItem {
                id: 2,
                seq: 2,
                arrival: 20,
                size: 100,
                keys: &k2,
            },
            SortItem {
                id: 3,
                seq: 3,
                arrival: 10,
                size: 200,
                keys: &k3,
            },
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
            let mut v = items.clone();
            sort(&mut v, &criteria);
            assert_eq!(
                v.iter().map(|i| i.id).collect::<Vec<_>>(),
                expected,
                "{criteria:?}"
            );
        }
    }
}
