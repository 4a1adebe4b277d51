//! The THREAD algorithms of RFC 5256: ORDEREDSUBJECT (§3, "poor man's threading") and
//! REFERENCES (§3, after J. Zawinski: link by Message-ID/References, prune dummies, sort
//! by sent date, merge top-level threads with the same base subject, sort siblings).
//!
//! Pure: messages in, [`ThreadNode`] trees out. Never panics, whatever loops the
//! References headers describe.

use std::collections::HashMap;

use crate::proto::ThreadNode;

/// What threading needs of one message.
#[derive(Debug, Clone)]
pub(crate) struct ThreadMessage {
    /// The number reported (sequence number or UID).
    pub id: u32,
    /// The sequence number (the tie-breaker).
    pub seq: u32,
    /// Sent date (Date header, else internal date), seconds since the epoch.
    pub date: i64,
    /// Message-ID without brackets.
    pub message_id: Option<String>,
    /// References, oldest first; In-Reply-To when References is absent.
    pub references: Vec<String>,
    /// The base subject (RFC 5256 §2.1), compared case-insensitively.
    pub base_subject: String,
    /// Whether extracting the base subject removed a reply/forward marker.
    pub is_reply: bool,
}

/// RFC 5256 §3 ORDEREDSUBJECT: messages sorted by base subject then date; the first of
/// each subject is the parent of the others; threads sorted by their first message.
pub(crate) fn ordered_subject(mut msgs: Vec<ThreadMessage>) -> Vec<ThreadNode> {
    msgs.sort_by(|a, b| {
        key(&a.base_subject)
            .cmp(&key(&b.base_subject))
            .then(a.date.cmp(&b.date))
            .then(a.seq.cmp(&b.seq))
    });
    let mut threads: Vec<(i64, u32, ThreadNode)> = Vec::new();
    let mut current: Option<String> = None;
    for m in msgs {
        let k = key(&m.base_subject);
        let leaf = ThreadNode {
            message: Some(m.id),
            children: Vec::new(),
        };
        match threads.last_mut() {
            Some((_, _, parent)) if current.as_deref() == Some(k.as_str()) => {
                parent.children.push(leaf)
            }
            _ => {
                threads.push((m.date, m.seq, leaf));
                current = Some(k);
            }
        }
    }
    threads.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    threads.into_iter().map(|t| t.2).collect()
}

fn key(subject: &str) -> String {
    subject.to_lowercase()
}

/// A node of the REFERENCES tree: a message (index into the input) or a dummy.
#[derive(Debug, Default, Clone)]
struct Container {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Tree {
    nodes: Vec<Container>,
}

impl Tree {
    fn new_node(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Container {
            msg,
            ..Container::default()
        });
        self.nodes.len() - 1
    }

    /// Whether `a` is `b` or one of its descendants (walking up from `a`).
    fn is_descendant(&self, a: usize, b: usize) -> bool {
        let mut cur = Some(a);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == b {
                return true;
            }
            steps += 1;
            if steps > self.nodes.len() {
                return true; // a loop already exists: refuse to link
            }
            cur = self.nodes[c].parent;
        }
        false
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }
}

/// RFC 5256 §3 REFERENCES.
pub(crate) fn references(msgs: &[ThreadMessage]) -> Vec<ThreadNode> {
    let mut tree = Tree { nodes: Vec::new() };
    let mut ids: HashMap<&str, usize> = HashMap::new();
    // Step 1: link messages by their references.
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    order.sort_by_key(|&i| msgs[i].seq);
    for &i in &order {
        let m = &msgs[i];
        let node = match m.message_id.as_deref() {
            Some(id) => match ids.get(id) {
                Some(&n) if tree.nodes[n].msg.is_none() => {
                    tree.nodes[n].msg = Some(i);
                    n
                }
                Some(_) => tree.new_node(Some(i)), // duplicate Message-ID: a unique one
                None => {
                    let n = tree.new_node(Some(i));
                    ids.insert(id, n);
                    n
                }
            },
            None => tree.new_node(Some(i)),
        };
        let mut prev: Option<usize> = None;
        for r in &m.references {
            let rn = match ids.get(r.as_str()) {
                Some(&n) => n,
                None => {
                    let n = tree.new_node(None);
                    ids.insert(r, n);
                    n
                }
            };
            if let Some(p) = prev
                && p != rn
                && tree.nodes[rn].parent.is_none()
                && !tree.is_descendant(p, rn)
            {
                tree.link(p, rn);
            }
            prev = Some(rn);
        }
        // RFC 5256 §3 step 1B: the last reference is the parent. A parent the message
        // already has (from another message's truncated References) is broken first,
        // even when the new link is then refused because it would make a loop.
        match prev {
            Some(p) if tree.nodes[node].parent == Some(p) => {}
            Some(p) => {
                tree.unlink(node);
                if p != node && !tree.is_descendant(p, node) {
                    tree.link(p, node);
                }
            }
            None => tree.unlink(node),
        }
    }
    // Step 2: the root set.
    let roots: Vec<usize> = (0..tree.nodes.len())
        .filter(|&n| tree.nodes[n].parent.is_none())
        .collect();
    // Step 3: prune dummies.
    let mut top: Vec<usize> = Vec::new();
    for r in roots {
        prune(&mut tree, r, true, &mut top);
    }
    // Step 4: sort the top level by date (a dummy by its first child, once sorted).
    let date_of = |tree: &Tree, n: usize| -> (i64, u32) {
        let m = tree.nodes[n].msg.or_else(|| {
            tree.nodes[n]
                .children
                .first()
                .and_then(|&c| tree.nodes[c].msg)
        });
        m.map_or((i64::MAX, u32::MAX), |i| (msgs[i].date, msgs[i].seq))
    };
    for &n in &top {
        sort_children(&mut tree, n, msgs);
    }
    top.sort_by_key(|&n| date_of(&tree, n));
    // Step 5: merge top-level threads with the same base subject.
    let mut top = merge_subjects(&mut tree, top, msgs);
    // Step 6: sort every set of siblings, the top level included, by date.
    for &n in &top {
        sort_children(&mut tree, n, msgs);
    }
    top.sort_by_key(|&n| date_of(&tree, n));
    top.into_iter().map(|n| to_node(&tree, n, msgs)).collect()
}

/// RFC 5256 step 3 for the subtree at `n`, appending what remains at this level to
/// `out`.
fn prune(tree: &mut Tree, n: usize, at_root: bool, out: &mut Vec<usize>) {
    let children = std::mem::take(&mut tree.nodes[n].children);
    let mut kept = Vec::new();
    for c in children {
        prune(tree, c, false, &mut kept);
    }
    for &c in &kept {
        tree.nodes[c].parent = Some(n);
    }
    tree.nodes[n].children = kept;
    if tree.nodes[n].msg.is_some() {
        out.push(n);
        return;
    }
    match tree.nodes[n].children.len() {
        0 => {}
        1 => {
            let c = tree.nodes[n].children[0];
            tree.nodes[c].parent = tree.nodes[n].parent;
            out.push(c);
        }
        _ if at_root => out.push(n),
        _ => {
            let children = tree.nodes[n].children.clone();
            for c in children {
                tree.nodes[c].parent = tree.nodes[n].parent;
                out.push(c);
            }
        }
    }
}

/// Sorts siblings by sent date (then sequence number), deepest first.
fn sort_children(tree: &mut Tree, n: usize, msgs: &[ThreadMessage]) {
    let children = tree.nodes[n].children.clone();
    for &c in &children {
        sort_children(tree, c, msgs);
    }
    let mut children = children;
    children.sort_by_key(|&c| {
        let m = tree.nodes[c].msg.or_else(|| {
            tree.nodes[c]
                .children
                .first()
                .and_then(|&x| tree.nodes[x].msg)
        });
        m.map_or((i64::MAX, u32::MAX), |i| (msgs[i].date, msgs[i].seq))
    });
    tree.nodes[n].children = children;
}

/// The thread subject of a top-level node: its message's, or its first child's.
fn thread_subject<'a>(
    tree: &Tree,
    n: usize,
    msgs: &'a [ThreadMessage],
) -> Option<&'a ThreadMessage> {
    let m = tree.nodes[n].msg.or_else(|| {
        tree.nodes[n]
            .children
            .first()
            .and_then(|&c| tree.nodes[c].msg)
    })?;
    msgs.get(m)
}

/// RFC 5256 step 5: group top-level threads by base subject.
fn merge_subjects(tree: &mut Tree, top: Vec<usize>, msgs: &[ThreadMessage]) -> Vec<usize> {
    let is_dummy = |tree: &Tree, n: usize| tree.nodes[n].msg.is_none();
    let mut table: HashMap<String, usize> = HashMap::new();
    for &n in &top {
        let Some(m) = thread_subject(tree, n, msgs) else {
            continue;
        };
        if m.base_subject.is_empty() {
            continue;
        }
        let k = key(&m.base_subject);
        match table.get(&k) {
            None => {
                table.insert(k, n);
            }
            Some(&t) => {
                let t_reply = tree.nodes[t].msg.is_some_and(|i| msgs[i].is_reply);
                let n_reply = tree.nodes[n].msg.is_some_and(|i| msgs[i].is_reply);
                if !is_dummy(tree, t) && (is_dummy(tree, n) || (t_reply && !n_reply)) {
                    table.insert(k, n);
                }
            }
        }
    }
    let mut dummies: Vec<usize> = Vec::new();
    let mut removed = vec![false; tree.nodes.len()];
    for &n in &top {
        let Some(m) = thread_subject(tree, n, msgs) else {
            continue;
        };
        let k = key(&m.base_subject);
        let Some(&t) = table.get(&k).filter(|_| !m.base_subject.is_empty()) else {
            continue;
        };
        if t == n || removed.get(n).copied().unwrap_or(false) {
            continue;
        }
        let n_reply = tree.nodes[n].msg.is_some_and(|i| msgs[i].is_reply);
        let t_reply = tree.nodes[t].msg.is_some_and(|i| msgs[i].is_reply);
        if is_dummy(tree, t) && is_dummy(tree, n) {
            let children = std::mem::take(&mut tree.nodes[n].children);
            for c in children {
                tree.nodes[c].parent = None;
                tree.link(t, c);
            }
            removed[n] = true;
        } else if is_dummy(tree, t) || (n_reply && !t_reply) {
            tree.link(t, n);
            removed[n] = true;
        } else {
            let d = tree.new_node(None);
            removed.push(false);
            tree.link(d, t);
            tree.link(d, n);
            dummies.push(d);
            table.insert(k, d);
        }
    }
    top.into_iter()
        .chain(dummies)
        .filter(|&n| !removed.get(n).copied().unwrap_or(false) && tree.nodes[n].parent.is_none())
        .collect()
}

fn to_node(tree: &Tree, n: usize, msgs: &[ThreadMessage]) -> ThreadNode {
    ThreadNode {
        message: tree.nodes[n].msg.map(|i| msgs[i].id),
        children: tree.nodes[n]
            .children
            .iter()
            .map(|&c| to_node(tree, c, msgs))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
