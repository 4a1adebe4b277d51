//! Mailbox names between the wire and the store (RFC 9051 §5.1): the store keeps UTF-8
//! names with `/` as hierarchy delimiter and `INBOX` spelled so; the wire carries
//! modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT / IMAP4rev2. Also the LIST pattern
//! matcher (`*` and `%`, RFC 9051 §6.3.9) and hierarchy helpers.
//!
//! Pure functions; no store access.

use crate::proto::{Mailbox, NameEncoding};

/// The hierarchy delimiter.
pub(crate) const DELIMITER: char = '/';

/// Why a wire name cannot be a mailbox name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameError {
    /// Not valid in the connection's encoding.
    Encoding,
    /// Empty, an empty hierarchy level, or a control character.
    Invalid,
}

/// The store name of a wire name. `INBOX` in any case is `INBOX`; one trailing
/// delimiter is dropped (RFC 9051 §6.3.4: `CREATE foo/` creates `foo`).
pub(crate) fn to_store(m: &Mailbox, encoding: NameEncoding) -> Result<String, NameError> {
    if m.is_inbox() {
        return Ok("INBOX".to_string());
    }
    let name = m.decode(encoding).map_err(|_| NameError::Encoding)?;
    let name = name.strip_suffix(DELIMITER).unwrap_or(&name);
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok("INBOX".to_string());
    }
    let valid = !name.is_empty()
        && !name.chars().any(char::is_control)
        && name.split(DELIMITER).all(|level| !level.is_empty());
    if valid {
        Ok(name.to_string())
    } else {
        Err(NameError::Invalid)
    }
}

/// Whether a name may be created: also free of the LIST wildcards.
pub(crate) fn creatable(name: &str) -> bool {
    !name.contains(['*', '%'])
}

/// The wire form of a store name.
pub(crate) fn to_wire(name: &str, encoding: NameEncoding) -> Mailbox {
    Mailbox::from_name(name, encoding)
}

/// The parent names of `name`, outermost first (`a/b/c` → `a`, `a/b`).
pub(crate) fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices(DELIMITER)
        .map(move |(i, _)| name.get(..i).unwrap_or_default())
}

/// Whether `child` is below `parent` in the hierarchy.
pub(crate) fn is_descendant(child: &str, parent: &str) -> bool {
    child.len() > parent.len() + 1
        && child.starts_with(parent)
        && child[parent.len()..].starts_with(DELIMITER)
}

/// RFC 9051 §6.3.9: `*` matches any characters, `%` any but the delimiter. Matching is
/// on wire bytes; a name `INBOX` (any case in the pattern) matches case-insensitively.
pub(crate) fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    if glob(pattern, name) {
        return true;
    }
    // INBOX is case-insensitive: retry with the pattern's INBOX prefix normalised.
    if name.starts_with(b"INBOX") && pattern.len() >= 5 {
        let (head, tail) = pattern.split_at(5);
        if head.eq_ignore_ascii_case(b"INBOX") && head != b"INBOX" {
            let mut p = b"INBOX".to_vec();
            p.extend_from_slice(tail);
            return glob(&p, name);
        }
    }
    false
}

/// Wildcard matching by dynamic programming: linear memory, no backtracking blow-up.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let delim = DELIMITER as u8;
    // reach[j]: pattern prefix consumed so far matches name[..j].
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
        match p {
            b'*' => {
                let mut on = false;
                for j in 0..=name.len() {
                    on = on || reach[j];
                    next[j] = on;
                }
            }
            b'%' => {
                let mut on = false;
                for j in 0..=name.len() {
                    if reach[j] {
                        on = true;
                    }
                    next[j] = on;
                    if j < name.len() && name[j] == delim {
                        on = false;
                    }
                }
            }
            c => {
                for j in 0..name.len() {
                    if reach[j] && name[j] == c {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
        if !reach.iter().any(|&r| r) {
            return false;
        }
    }
    reach[name.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn wire_to_store() {
        let utf7 = NameEncoding::ModifiedUtf7;
        let table: &[(&[u8], NameEncoding, Result<&str, NameError>)] = &[
            (b"inbox", utf7, Ok("INBOX")),
            (b"Sent", utf7, Ok("Sent")),
            (b"a/b/", utf7, Ok("a/b")),
            (b"Entw&APw-rfe", utf7, Ok("Entw\u{fc}rfe")),
            (b"Entw\xc3\xbcrfe", NameEncoding::Utf8, Ok("Entw\u{fc}rfe")),
            (b"Entw\xc3\xbcrfe", utf7, Err(NameError::Encoding)),
            (b"a//b", utf7, Err(NameError::Invalid)),
            (b"/a", utf7, Err(NameError::Invalid)),
            (b"", utf7, Err(NameError::Invalid)),
        ];
        for (wire, enc, expected) in table {
            let m = Mailbox::new(Bytes::copy_from_slice(wire));
            let got = to_store(&m, *enc);
            assert_eq!(got.as_deref().map_err(|e| *e), *expected, "{wire:?}");
        }
        assert_eq!(
            to_wire("Entw\u{fc}rfe", NameEncoding::ModifiedUtf7).as_bytes(),
            b"Entw&APw-rfe"
        );
    }

    #[test]
    fn patterns() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "a/b/c", true),
            ("%", "a", true),
            ("%", "a/b", false),
            ("a/%", "a/b", true),
            ("a/%", "a/b/c", false),
            ("a/*", "a/b/c", true),
            ("a*", "a", true),
            ("*b", "a/b", true),
            ("%/%", "a/b", true),
            ("inbox", "INBOX", true),
            ("Inbox/%", "INBOX/x", true),
            ("inbox", "inboxes", false),
            ("a%c", "abc", true),
            ("a%c", "a/c", false),
            ("", "a", false),
            ("", "", true),
        ];
        for (p, n, expected) in table {
            assert_eq!(
                pattern_matches(p.as_bytes(), n.as_bytes()),
                *expected,
                "{p} {n}"
            );
        }
    }

    #[test]
    fn hierarchy() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert!(is_descendant("a/b", "a"));
        assert!(!is_descendant("ab", "a"));
        assert!(!is_descendant("a", "a"));
    }
}
