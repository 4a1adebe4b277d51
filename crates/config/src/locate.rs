//! Maps between byte offsets in a TOML document and dotted key paths, so every error
//! can name the line and the key. Pure: works on the text it is given.

use toml::de::{DeTable, DeValue};

/// Finds the dotted key whose key or value span contains `offset` (the deepest such key).
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    let mut found = None;
    walk_table(doc.get_ref(), offset, &mut path, &mut found);
    found
}

/// Finds the byte span of the value (or, failing that, the key) at a dotted key path.
pub(crate) fn span_of(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let parts: Vec<&str> = key.split('.').collect();
    let mut i = 0;
    // A key that is absent is reported at the table that should have held it.
    let mut enclosing: Option<std::ops::Range<usize>> = None;
    while i < parts.len() {
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == parts[i]) else {
            return enclosing;
        };
        let mut value = v;
        // An array of tables is addressed by index: `queue.route.2.host`.
        let index = parts.get(i + 1).and_then(|p| p.parse::<usize>().ok());
        if let (DeValue::Array(items), Some(idx)) = (v.get_ref(), index) {
            value = items.get(idx)?;
            i += 1;
        }
        if i + 1 == parts.len() {
            return Some(if value.span().is_empty() {
                k.span()
            } else {
                value.span()
            });
        }
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return Some(k.span()),
        }
        enclosing = Some(if value.span().is_empty() {
            k.span()
        } else {
            value.span()
        });
        i += 1;
    }
    enclosing
}

fn walk_table(t: &DeTable<'_>, offset: usize, path: &mut Vec<String>, found: &mut Option<String>) {
    for (k, v) in t.iter() {
        path.push(k.get_ref().to_string());
        let ks = k.span();
        let vs = v.span();
        if ks.contains(&offset) || vs.contains(&offset) || (vs.is_empty() && ks.start == offset) {
            *found = Some(path.join("."));
        }
        match v.get_ref() {
            DeValue::Table(inner) => walk_table(inner, offset, path, found),
            DeValue::Array(items) => {
                for (idx, item) in items.iter().enumerate() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        path.push(idx.to_string());
                        walk_table(inner, offset, path, found);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// 1-based line number of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
