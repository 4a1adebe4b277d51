//! Shared helpers: a compact rendering of a parsed tree and the offset invariants.

use pillarbox_mime::{BodyPart, MAX_DEPTH, MessageStructure, PartBody};

/// Renders a part as `type/subtype"body"`, `type/subtype{children}` or
/// `message/rfc822<embedded root>`.
pub fn describe(raw: &[u8], part: &BodyPart) -> String {
    let kind = format!(
        "{}/{}",
        part.content_type.media_type, part.content_type.subtype
    );
    match &part.body {
        PartBody::Multipart(children) => {
            let inner: Vec<String> = children.iter().map(|c| describe(raw, c)).collect();
            format!("{kind}{{{}}}", inner.join(", "))
        }
        PartBody::Message(message) => format!("{kind}<{}>", describe(raw, &message.root)),
        PartBody::Single => format!("{kind}{:?}", String::from_utf8_lossy(part.body(raw))),
    }
}

/// Checks every offset of the tree against the raw length and its parent.
pub fn check_invariants(structure: &MessageStructure, len: usize) {
    let root = &structure.root;
    assert_eq!(root.header_start, 0);
    assert_eq!(root.body_end, len as u64);
    check_part(root, len as u64, 0);
}

fn check_part(part: &BodyPart, len: u64, depth: usize) {
    assert!(depth <= 2 * MAX_DEPTH + 2, "too deep");
    assert!(part.header_start <= part.body_start, "{part:?}");
    assert!(part.body_start <= part.body_end, "{part:?}");
    assert!(part.body_end <= len, "{part:?}");
    assert!(part.lines <= part.size(), "{part:?}");
    match &part.body {
        PartBody::Single => {}
        PartBody::Multipart(children) => {
            assert!(!children.is_empty());
            let mut previous_end = part.body_start;
            for child in children {
                assert!(
                    child.header_start >= previous_end,
                    "{child:?} after {previous_end}"
                );
                assert!(child.body_end <= part.body_end);
                previous_end = child.body_end;
                check_part(child, len, depth + 1);
            }
        }
        PartBody::Message(message) => {
            assert_eq!(message.root.header_start, part.body_start);
            assert_eq!(message.root.body_end, part.body_end);
            check_part(&message.root, len, depth + 1);
        }
    }
}
