//! LIST, basic and extended (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED with SUBSCRIBED,
//! REMOTE, RECURSIVEMATCH and CHILDREN, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS), and
//! LSUB (RFC 3501 §6.3.9).
//!
//! Builds the set of names (existing mailboxes, their implied parents, subscriptions),
//! filters it with the patterns and the selection options, and computes each name's
//! attributes. Only reads the store.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use pillarbox_store::{Account, Mailbox as StoreMailbox};

use super::Outcome;
use super::mailbox::status_data;
use crate::catalogue as cat;
use crate::names;
use crate::proto::{
    Data, List, ListItem, ListReturn, ListSelect, MailboxAttr, SpecialUse, StatusItem, Tag,
};
use crate::session::Session;

/// What is known about one name.
#[derive(Debug, Default)]
struct Node<'a> {
    mailbox: Option<&'a StoreMailbox>,
    subscribed: bool,
}

/// The special-use attribute of a stored value such as `\Sent`.
pub(crate) fn special_use_attr(stored: &str) -> Option<SpecialUse> {
    let name = stored.strip_prefix('\\').unwrap_or(stored);
    let known = [
        ("All", SpecialUse::All),
        ("Archive", SpecialUse::Archive),
        ("Drafts", SpecialUse::Drafts),
        ("Flagged", SpecialUse::Flagged),
        ("Junk", SpecialUse::Junk),
        ("Sent", SpecialUse::Sent),
        ("Trash", SpecialUse::Trash),
        ("Important", SpecialUse::Important),
    ];
    known
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, u)| u)
}

/// Every name: mailboxes, their ancestors (as non-existent nodes) and subscriptions.
fn universe<'a>(
    mailboxes: &'a [StoreMailbox],
    subscribed: &[String],
) -> BTreeMap<String, Node<'a>> {
    let mut nodes: BTreeMap<String, Node<'a>> = BTreeMap::new();
    for m in mailboxes {
        for a in names::ancestors(&m.name) {
            nodes.entry(a.to_string()).or_default();
        }
        nodes.entry(m.name.clone()).or_default().mailbox = Some(m);
    }
    for s in subscribed {
        nodes.entry(s.clone()).or_default().subscribed = true;
    }
    nodes
}

fn has_child(
    nodes: &BTreeMap<String, Node<'_>>,
    name: &str,
    pred: impl Fn(&Node<'_>) -> bool,
) -> bool {
    has_named_child(nodes, name, |_, node| pred(node))
}

/// Whether some descendant of `name` satisfies `pred` (given its name and node).
fn has_named_child(
    nodes: &BTreeMap<String, Node<'_>>,
    name: &str,
    pred: impl Fn(&str, &Node<'_>) -> bool,
) -> bool {
    let prefix = format!("{name}{}", names::DELIMITER);
    nodes
        .range(prefix.clone()..)
        .take_while(|(n, _)| n.starts_with(&prefix))
        .any(|(n, node)| pred(n, node))
}

/// RFC 9051 §6.3.9, RFC 5258 §3.
pub(crate) async fn list(s: &mut Session, account: &Account, tag: &Tag, l: List) -> Outcome {
    if !l.extended && l.patterns.iter().all(|p| p.is_empty()) {
        // RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
        s.data_owned(Data::List(ListItem {
            attributes: vec![MailboxAttr::NoSelect],
            delimiter: Some(names::DELIMITER as u8),
            mailbox: crate::proto::Mailbox::new(Bytes::new()),
            child_info: Vec::new(),
            old_name: None,
        }));
        return Outcome::reply(cat::ok(tag, cat::LIST_DONE));
    }
    let store = s.svc.directory.store().clone();
    let (mailboxes, subscribed) = match tokio::try_join!(
        store.mailbox_list(account.id),
        store.mailbox_subscriptions(account.id)
    ) {
        Ok(x) => x,
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    let nodes = universe(&mailboxes, &subscribed);
    let sel_subscribed = l.selection.contains(&ListSelect::Subscribed);
    let sel_special = l.selection.contains(&ListSelect::SpecialUse);
    let recursive = l.selection.contains(&ListSelect::RecursiveMatch);
    let ret_subscribed = sel_subscribed || l.return_opts.contains(&ListReturn::Subscribed);
    let status_items: Option<Vec<StatusItem>> = l.return_opts.iter().find_map(|r| match r {
        ListReturn::Status(items) => Some(items.clone()),
        _ => None,
    });
    let patterns: Vec<Vec<u8>> = l
        .patterns
        .iter()
        .map(|p| {
            let mut full = l.reference.to_vec();
            full.extend_from_slice(p);
            full
        })
        .collect();
    let nonexistent = if l.extended || s.enabled.rev2 {
        MailboxAttr::NonExistent
    } else {
        MailboxAttr::NoSelect
    };
    let filtering = sel_subscribed || sel_special;
    let satisfies = |node: &Node<'_>| {
        (!sel_subscribed || node.subscribed)
            && (!sel_special || node.mailbox.is_some_and(|m| m.special_use.is_some()))
    };
    let matched = |name: &str| {
        let wire = names::to_wire(name, s.names());
        patterns
            .iter()
            .any(|p| names::pattern_matches(p, wire.as_bytes()))
    };
    let mut items = Vec::new();
    for (name, node) in &nodes {
        if !matched(name) {
            continue;
        }
        let wire = names::to_wire(name, s.names());
        let selected = if filtering {
            satisfies(node)
        } else {
            node.mailbox.is_some() || has_child(&nodes, name, |n| n.mailbox.is_some())
        };
        // RFC 5258 §3.5: CHILDINFO reports descendants that satisfy the selection
        // but are not returned themselves; one matched by any pattern of the command
        // is returned on its own line, so it does not count.
        let child_matches = filtering
            && recursive
            && has_named_child(&nodes, name, |n, node| satisfies(node) && !matched(n));
        if !selected && !child_matches {
            continue;
        }
        let mut attributes = Vec::new();
        match node.mailbox {
            None => attributes.push(nonexistent.clone()),
            Some(m) => {
                if let Some(u) = m.special_use.as_deref().and_then(special_use_attr) {
                    attributes.push(MailboxAttr::SpecialUse(u));
                }
            }
        }
        if has_child(&nodes, name, |n| n.mailbox.is_some()) {
            attributes.push(MailboxAttr::HasChildren);
        } else if node.mailbox.is_some() {
            attributes.push(MailboxAttr::HasNoChildren);
        }
        if ret_subscribed && node.subscribed {
            attributes.push(MailboxAttr::Subscribed);
        }
        let child_info = if child_matches && sel_subscribed {
            vec![Bytes::from_static(b"SUBSCRIBED")]
        } else {
            Vec::new()
        };
        items.push((
            node.mailbox.map(|m| m.id),
            ListItem {
                attributes,
                delimiter: Some(names::DELIMITER as u8),
                mailbox: wire,
                child_info,
                old_name: None,
            },
            name.clone(),
        ));
    }
    // INBOX first, as clients expect.
    items.sort_by_key(|(_, _, name)| name != "INBOX");
    for (id, item, name) in items {
        s.data_owned(Data::List(item));
        if let (Some(id), Some(wanted)) = (id, status_items.as_ref()) {
            match store.mailbox_status(id).await {
                Ok(st) => {
                    let data = status_data(s, id, &name, &st, wanted);
                    s.data_owned(data);
                }
                Err(e) => tracing::warn!(error = %e, "LIST-STATUS failed for one mailbox"),
            }
        }
        s.io.write_if_large().await;
    }
    Outcome::reply(cat::ok(tag, cat::LIST_DONE))
}

/// RFC 3501 §6.3.9: subscribed names matching the pattern; a parent that matches a `%`
/// level of a deeper subscription is listed `\Noselect`.
pub(crate) async fn lsub(
    s: &mut Session,
    account: &Account,
    tag: &Tag,
    reference: Bytes,
    pattern: Bytes,
) -> Outcome {
    let store = s.svc.directory.store().clone();
    let (mailboxes, subscribed) = match tokio::try_join!(
        store.mailbox_list(account.id),
        store.mailbox_subscriptions(account.id)
    ) {
        Ok(x) => x,
        Err(e) => return Outcome::reply(cat::for_store_error(tag, &e)),
    };
    let mut full = reference.to_vec();
    full.extend_from_slice(&pattern);
    let existing: BTreeSet<&str> = mailboxes.iter().map(|m| m.name.as_str()).collect();
    let subscribed_set: BTreeSet<&str> = subscribed.iter().map(String::as_str).collect();
    let matches =
        |name: &str| names::pattern_matches(&full, names::to_wire(name, s.names()).as_bytes());
    let mut out: BTreeMap<String, bool> = BTreeMap::new();
    for name in &subscribed {
        if matches(name) {
            out.insert(name.clone(), existing.contains(name.as_str()));
        } else {
            for a in names::ancestors(name) {
                if matches(a) && !subscribed_set.contains(a) {
                    out.entry(a.to_string()).or_insert(false);
                }
            }
        }
    }
    for (name, selectable) in out {
        let attributes = if selectable {
            Vec::new()
        } else {
            vec![MailboxAttr::NoSelect]
        };
        let item = ListItem {
            attributes,
            delimiter: Some(names::DELIMITER as u8),
            mailbox: names::to_wire(&name, s.names()),
            child_info: Vec::new(),
            old_name: None,
        };
        s.data_owned(Data::Lsub(item));
    }
    Outcome::reply(cat::ok(tag, cat::DONE))
}
