//! Value builders shared by the table-driven parser tests.

#![allow(dead_code)]

use bytes::Bytes;
use pillarbox_imap::proto::*;

pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

pub fn mb(s: &str) -> Mailbox {
    Mailbox::new(b(s))
}

pub fn set(s: &str) -> SequenceSet {
    SequenceSet::parse(s.as_bytes()).unwrap()
}

pub fn date(s: &str) -> Date {
    Date::parse(s.as_bytes()).unwrap()
}

pub fn fetch(uid: bool, s: &str, attrs: FetchAttrs) -> CommandBody<usize> {
    CommandBody::Fetch(Fetch {
        uid,
        set: set(s),
        attrs,
        changed_since: None,
        vanished: false,
        partial: None,
    })
}

pub fn items(list: Vec<FetchAttr>) -> FetchAttrs {
    FetchAttrs::List(list)
}

pub fn body_section(
    peek: bool,
    part: Vec<u32>,
    text: Option<SectionText>,
    partial: Option<(u64, u64)>,
) -> FetchAttr {
    FetchAttr::BodySection {
        peek,
        section: Section { part, text },
        partial: partial.map(|(offset, length)| Partial { offset, length }),
    }
}

pub fn search(
    uid: bool,
    charset: Option<&str>,
    ret: Option<Vec<SearchReturn>>,
    criteria: SearchKey,
) -> CommandBody<usize> {
    CommandBody::Search(Search {
        uid,
        charset: charset.map(b),
        return_opts: ret,
        criteria,
    })
}

pub fn store(
    uid: bool,
    s: &str,
    unchanged: Option<u64>,
    mode: StoreMode,
    silent: bool,
    flags: Vec<Flag>,
) -> CommandBody<usize> {
    CommandBody::Store(Store {
        uid,
        set: set(s),
        unchanged_since: unchanged,
        mode,
        silent,
        flags,
    })
}

pub fn select(name: &str, condstore: bool, qresync: Option<QResync>) -> Select {
    Select {
        mailbox: mb(name),
        condstore,
        qresync,
    }
}

pub fn list(
    selection: Vec<ListSelect>,
    reference: &str,
    patterns: &[&str],
    return_opts: Vec<ListReturn>,
    extended: bool,
) -> CommandBody<usize> {
    CommandBody::List(List {
        selection,
        reference: b(reference),
        patterns: patterns.iter().map(|p| b(p)).collect(),
        return_opts,
        extended,
    })
}

pub fn append_msg(
    flags: Vec<Flag>,
    date: Option<&str>,
    data: &str,
    binary: bool,
    utf8: bool,
) -> AppendMessage<usize> {
    AppendMessage {
        flags,
        date: date.map(|d| DateTime::parse(d.as_bytes()).unwrap()),
        data: LiteralData::Inline(b(data)),
        binary,
        utf8,
    }
}

pub fn check(rows: Vec<(&str, CommandBody<usize>)>) {
    for (input, expected) in rows {
        match super::parse(input) {
            Ok(got) => assert_eq!(got, expected, "input: {input:?}"),
            Err(e) => panic!("input {input:?} failed: {e:?}"),
        }
    }
}
