//! Object identifiers (RFC 8474 OBJECTID): the wire spelling of MAILBOXID and EMAILID
//! values and the `objectid` syntax of §7 (`1*255(ALPHA / DIGIT / "_" / "-")`).
//!
//! A MAILBOXID is `F` and the store's mailbox id, which a RENAME keeps and no other
//! mailbox ever gets (ids are never reused); renaming INBOX creates a new mailbox, so
//! the new name gets a new id, as §4.1 requires. An EMAILID is `M` and the stored
//! message's id: every COPY of a stored message shares it (§5.1 allows it, the content
//! being the same), and no other content ever gets it. Pure; no I/O.

/// The longest object id (RFC 8474 §7).
pub const MAX_LEN: usize = 255;

/// Whether `s` is an RFC 8474 §7 `objectid`.
pub fn is_objectid(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LEN
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn with_prefix(prefix: u8, id: u64) -> Vec<u8> {
    let mut out = vec![prefix];
    out.extend_from_slice(id.to_string().as_bytes());
    out
}

fn without_prefix(prefix: u8, s: &[u8]) -> Option<u64> {
    let digits = s.strip_prefix(&[prefix])?;
    if digits.is_empty() || digits.first() == Some(&b'0') || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The MAILBOXID of the mailbox with store id `id`.
pub fn mailbox(id: u64) -> Vec<u8> {
    with_prefix(b'F', id)
}

/// The EMAILID of the stored message with id `id`.
pub fn email(id: u64) -> Vec<u8> {
    with_prefix(b'M', id)
}

/// The stored message id an EMAILID names, if it is one of ours.
pub fn parse_email(s: &[u8]) -> Option<u64> {
    without_prefix(b'M', s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_round_trips_and_stays_in_the_syntax() {
        for id in [1u64, 42, u64::from(u32::MAX) + 7] {
            assert!(is_objectid(&email(id)));
            assert!(is_objectid(&mailbox(id)));
            assert_eq!(parse_email(&email(id)), Some(id));
        }
        for bad in [&b"F1"[..], b"M", b"M01", b"Mx", b"m1", b"M1a"] {
            assert_eq!(parse_email(bad), None, "{bad:?}");
        }
        assert!(!is_objectid(b""));
        assert!(!is_objectid(b"a.b"));
        assert!(!is_objectid(&[b'a'; 256]));
        assert!(is_objectid(&[b'a'; 255]));
    }
}
