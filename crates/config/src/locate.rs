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
    for (i, part) in parts.iter().enumerate() {
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *part)?;
        if i + 1 == parts.len() {
            return Some(if v.span().is_empty() {
                k.span()
            } else {
                v.span()
            });
        }
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return Some(k.span()),
        }
    }
    None
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
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        walk_table(inner, offset, path, found);
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
