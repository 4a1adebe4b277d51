//! Header matching for SEARCH (RFC 9051 §6.4.4). SUBJECT and HEADER match every field
//! of that name in the top-level header, unfolded, encoded words decoded (8-bit text
//! read as windows-1252 when not UTF-8), as a case-insensitive substring. FROM, TO, CC
//! and BCC match the *parsed* addresses instead, written back in one canonical form
//! (`Name <local@domain>`, groups as `group: … ;`), so comments, quoting and folding
//! in the header do not hide an address. SENTBEFORE/SENTON/SENTSINCE read the Date
//! field's day as written. An empty string matches any message that has the field.
//! Pure.

use encoding_rs::WINDOWS_1252;
use pillarbox_mime::{
    Address, CaseInsensitiveNeedle, MISSING_DOMAIN, MISSING_MAILBOX,
    decode_encoded_words_with_fallback, find_header, header_fields, parse_address_list,
    parse_date_day, unfold,
};

/// Whether a field called `name` (lowercase) in `block` contains `needle`.
pub(super) fn header_contains(block: &[u8], name: &str, needle: &CaseInsensitiveNeedle) -> bool {
    header_fields(block).filter(|f| f.is_named(name)).any(|f| {
        let value = decode_encoded_words_with_fallback(&unfold(f.value), WINDOWS_1252);
        needle.is_in(&value)
    })
}

/// RFC 9051 §6.4.4 FROM, TO, CC, BCC: whether the addresses of a field called `name`
/// (lowercase) in `block`, parsed (RFC 5322 §3.4) and written canonically, contain
/// `needle`. `<user (comment)@ (comment) domain.org>` is matched as
/// `user@domain.org`.
pub(super) fn address_contains(block: &[u8], name: &str, needle: &CaseInsensitiveNeedle) -> bool {
    header_fields(block)
        .filter(|f| f.is_named(name))
        .any(|f| needle.is_in(&canonical_addresses(&parse_address_list(&unfold(f.value)))))
}

/// The addresses of a list written back as text: `Display Name <local@domain>` (the
/// name's encoded words decoded), `local@domain` without a name, `group:` and `;` for
/// group markers, joined by `, `. Placeholders for a missing local part or domain are
/// left out.
fn canonical_addresses(list: &[Address]) -> String {
    let mut out = String::new();
    for a in list {
        if !out.is_empty() && !a.is_group_end() {
            out.push_str(", ");
        }
        if a.is_group_end() {
            out.push(';');
            continue;
        }
        if a.is_group_start() {
            out.push_str(a.mailbox.as_deref().unwrap_or_default());
            out.push(':');
            continue;
        }
        let mailbox = a.mailbox.as_deref().filter(|m| *m != MISSING_MAILBOX);
        let host = a.host.as_deref().filter(|h| *h != MISSING_DOMAIN);
        let spec = match (mailbox, host) {
            (Some(m), Some(h)) => format!("{m}@{h}"),
            (Some(m), None) => m.to_string(),
            (None, Some(h)) => format!("@{h}"),
            (None, None) => String::new(),
        };
        match a.name.as_deref() {
            Some(n) => {
                out.push_str(&decode_encoded_words_with_fallback(
                    n.as_bytes(),
                    WINDOWS_1252,
                ));
                if !spec.is_empty() {
                    out.push_str(" <");
                    out.push_str(&spec);
                    out.push('>');
                }
            }
            None => out.push_str(&spec),
        }
    }
    out
}

/// RFC 9051 §6.4.4 SENTBEFORE, SENTON, SENTSINCE: the day (since the epoch) the first
/// Date field of `block` names, disregarding its time and zone.
pub(super) fn sent_day(block: &[u8]) -> Option<i64> {
    parse_date_day(&find_header(block, "date")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let block = "From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\nSubject: Hello\r\n World\r\nX-Empty:\r\nSubject: second\r\n\r\n".as_bytes();
        let cases: &[(&str, &str, bool)] = &[
            ("subject", "hello world", true),
            ("subject", "SECOND", true),
            ("subject", "third", false),
            ("x-empty", "", true),
            ("x-missing", "", false),
            ("to", "j", false),
        ];
        for (name, needle, expected) in cases {
            assert_eq!(
                header_contains(block, name, &CaseInsensitiveNeedle::new(needle)),
                *expected,
                "{name} {needle}"
            );
        }
    }

    #[test]
    fn addresses_are_matched_parsed() {
        let block = "From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\n\
To: <user (comment)@ (comment) domain.org>\r\n\
Cc: \"Doe, \\\"Jane\\\"\" <jane\r\n (her) @example.org>, grp: a@one.test, b@two.test;\r\n\
Bcc: undisclosed\r\n\r\n"
            .as_bytes();
        // RFC 9051 §6.4.4: FROM, TO, CC and BCC match the address, not the raw text.
        let cases: &[(&str, &str, bool)] = &[
            ("from", "jörg", true),
            ("from", "J@X.TEST", true),
            ("from", "jörg <j@x.test>", true),
            ("to", "user@domain.org", true),
            ("cc", "jane@example.org", true),
            ("cc", "Doe, \"Jane\"", true),
            ("cc", "grp:", true),
            ("cc", "b@two.test", true),
            ("cc", "her", false),
            ("bcc", "undisclosed", true),
            ("bcc", "missing_domain", false),
            ("from", "", true),
            ("reply-to", "", false),
        ];
        for (name, needle, expected) in cases {
            assert_eq!(
                address_contains(block, name, &CaseInsensitiveNeedle::new(needle)),
                *expected,
                "{name} {needle}"
            );
        }
    }

    #[test]
    fn sent_day_is_the_date_as_written() {
        // 2 January 2021 is day 18629, whatever the zone says.
        let day = |b: &str| sent_day(b.as_bytes());
        assert_eq!(
            day("Date: Sat, 2 Jan 2021 00:30:00 +0100\r\n\r\n"),
            Some(18_629)
        );
        assert_eq!(
            day("Date: Sat, 2 Jan 2021 23:30:00 -0800\r\n\r\n"),
            Some(18_629)
        );
        assert_eq!(day("Subject: x\r\n\r\n"), None);
        assert_eq!(day("Date: soon\r\n\r\n"), None);
    }
}
