//! Message identifiers (RFC 5322 §3.6.4) from Message-ID, In-Reply-To and References,
//! for `THREAD=REFERENCES` (RFC 5256 §3).
//!
//! Extracts `<...>` tokens, skipping comments and quoted strings; identifiers are
//! returned without angle brackets and with whitespace removed. Does no I/O.

/// Every message identifier in a header value, in order.
pub fn parse_msg_id_list(value: &[u8]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut i = 0;
    let mut comment_depth = 0usize;
    while i < value.len() {
        match value[i] {
            b'(' => comment_depth += 1,
            b')' => comment_depth = comment_depth.saturating_sub(1),
            b'\\' if comment_depth > 0 => i += 1,
            b'"' if comment_depth == 0 => {
                i += 1;
                while i < value.len() && value[i] != b'"' {
                    i += if value[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'<' if comment_depth == 0 => {
                let Some(len) = value[i + 1..].iter().position(|&b| b == b'>' || b == b'<') else {
                    break;
                };
                let inner = &value[i + 1..i + 1 + len];
                if value[i + 1 + len] == b'>' {
                    let id: Vec<u8> = inner
                        .iter()
                        .copied()
                        .filter(|b| !b.is_ascii_whitespace())
                        .collect();
                    if !id.is_empty() {
                        ids.push(String::from_utf8_lossy(&id).into_owned());
                    }
                    i += len + 1;
                } else {
                    i += len; // a new '<' starts over
                }
            }
            _ => {}
        }
        i += 1;
    }
    ids
}

/// The first message identifier in a header value.
pub fn parse_msg_id(value: &[u8]) -> Option<String> {
    parse_msg_id_list(value).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_id_table() {
        let table: &[(&str, &[&str])] = &[
            (
                "<1234@local.machine.example>",
                &["1234@local.machine.example"],
            ),
            (
                "<1234@local.machine.example> <3456@example.net>",
                &["1234@local.machine.example", "3456@example.net"],
            ),
            ("<a@b>\r\n\t<c@d>", &["a@b", "c@d"]),
            ("(comment <x@y>) <a@b>", &["a@b"]),
            ("\"quoted <x@y>\" <a@b>", &["a@b"]),
            ("<a @ b>", &["a@b"]),
            ("<>", &[]),
            ("no brackets", &[]),
            ("<unterminated", &[]),
            ("<<a@b>", &["a@b"]),
            ("Your message of <a@b>", &["a@b"]),
            ("", &[]),
        ];
        for (value, expected) in table {
            assert_eq!(parse_msg_id_list(value.as_bytes()), *expected, "{value}");
        }
        assert_eq!(parse_msg_id(b"<a@b> <c@d>").as_deref(), Some("a@b"));
        assert_eq!(parse_msg_id(b"junk"), None);
    }
}
