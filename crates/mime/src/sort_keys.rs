//! Keys for IMAP `SORT` (RFC 5256, RFC 5957 `DISPLAYFROM`/`DISPLAYTO`) and `THREAD`
//! (RFC 5256 §3): parsed date, base subject and message identifiers, computed once at
//! delivery from the top-level header block; and the address keys, which SORT derives
//! from the stored ENVELOPE when it sorts ([`SortAddress::of_first`]).
//!
//! Does no I/O.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::date::parse_date;
use crate::encoded_word::decode_encoded_words;
use crate::header::{header_fields, unfold};
use crate::msg_id::{parse_msg_id, parse_msg_id_list};
use crate::subject::base_subject;

/// The sort keys of an address list (From, To or Cc): those of its first address, which
/// may be a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortAddress {
    /// RFC 5256 §3 `FROM`, `TO`, `CC`: the `addr-mailbox` of the first address: the
    /// local part, or the group name when the list starts with a group.
    pub mailbox: String,
    /// RFC 5957 §3: the display value of the first address.
    pub display: String,
}

impl SortAddress {
    /// The keys of `list`'s first address, an IMAP ENVELOPE address list where a group
    /// is a start marker (`addr-mailbox` = the group name, no host) followed by its
    /// members and an end marker. Empty strings for an empty list (RFC 5256 §3: a
    /// missing address sorts as the empty string).
    ///
    /// RFC 5957 §3, the display value: the `addr-name` with encoded words decoded, if
    /// that is not empty; else `addr-mailbox@addr-host` when both exist; else the
    /// `addr-mailbox` alone (so a group sorts by its name, `To: empty:;` as `empty`);
    /// else the empty string.
    pub fn of_first(list: &[Address]) -> SortAddress {
        let Some(first) = list.first() else {
            return SortAddress::default();
        };
        let mailbox = first.mailbox.clone().unwrap_or_default();
        let name = first
            .name
            .as_deref()
            .map(|name| decode_encoded_words(name.as_bytes()))
            .filter(|name| !name.is_empty());
        let display = match (name, &first.mailbox, &first.host) {
            (Some(name), _, _) => name,
            (None, Some(m), Some(h)) => format!("{m}@{h}"),
            (None, Some(m), None) => m.clone(),
            (None, None, _) => String::new(),
        };
        SortAddress { mailbox, display }
    }
}

/// Everything SORT and THREAD compare that the ENVELOPE does not hold, precomputed.
///
/// Structures stored by earlier versions also carry `from`, `to` and `cc` (keys of the
/// first non-group address, which RFC 5256 does not define); they are ignored when
/// read, and SORT derives address keys from the envelope instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKeys {
    /// Date header as seconds since the Unix epoch (UTC); `None` when unparseable,
    /// in which case SORT uses the internal date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    /// Base subject (RFC 5256 §2.1), decoded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_subject: String,
    /// Message-ID without angle brackets, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// In-Reply-To identifiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<String>,
    /// References identifiers, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl SortKeys {
    /// Computes the keys from a header block.
    pub fn from_header_block(block: &[u8]) -> Self {
        let mut keys = SortKeys::default();
        let (mut seen_date, mut seen_subject, mut seen_id) = (false, false, false);
        let (mut seen_in_reply_to, mut seen_references) = (false, false);
        for field in header_fields(block) {
            let is = |n: &str| field.is_named(n);
            if is("date") && !seen_date {
                seen_date = true;
                keys.date = parse_date(field.value);
            } else if is("subject") && !seen_subject {
                seen_subject = true;
                keys.base_subject = base_subject(&unfold(field.value));
            } else if is("message-id") && !seen_id {
                seen_id = true;
                keys.message_id = parse_msg_id(field.value);
            } else if is("in-reply-to") && !seen_in_reply_to {
                seen_in_reply_to = true;
                keys.in_reply_to = parse_msg_id_list(field.value);
            } else if is("references") && !seen_references {
                seen_references = true;
                keys.references = parse_msg_id_list(field.value);
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::parse_address_list;

    #[test]
    fn keys_from_header() {
        let block = b"From: \"Doe\" <z@x.test>\r\nDate: 1 Jan 2000 00:00:00 +0000\r\n\
Subject: Re: [list] hi (fwd)\r\nMessage-ID: <m1@x>\r\nIn-Reply-To: <p@x>\r\n\
References: <r1@x>\r\n <r2@x>\r\n\r\n";
        let keys = SortKeys::from_header_block(block);
        assert_eq!(
            keys,
            SortKeys {
                date: Some(946_684_800),
                base_subject: "hi".into(),
                message_id: Some("m1@x".into()),
                in_reply_to: vec!["p@x".into()],
                references: vec!["r1@x".into(), "r2@x".into()],
            }
        );
    }

    #[test]
    fn missing_headers_give_empty_keys() {
        let keys = SortKeys::from_header_block(b"");
        assert_eq!(keys, SortKeys::default());
    }

    #[test]
    fn structures_stored_with_address_keys_still_read() {
        // What earlier versions stored: address keys inside the sort keys.
        let old = r#"{"date":946684800,"base_subject":"hi",
            "from":{"mailbox":"z","display":"Doe"},"cc":{"mailbox":"a","display":"a@b"}}"#;
        let keys: SortKeys = serde_json::from_str(old).unwrap();
        assert_eq!(keys.date, Some(946_684_800));
        assert_eq!(keys.base_subject, "hi");
    }

    #[test]
    fn address_keys_follow_rfc_5256_and_5957() {
        let key = |value: &str| SortAddress::of_first(&parse_address_list(value.as_bytes()));
        let k = |mailbox: &str, display: &str| SortAddress {
            mailbox: mailbox.into(),
            display: display.into(),
        };
        let table: &[(&str, SortAddress)] = &[
            ("\"Doe\" <z@x.test>, a@b.test", k("z", "Doe")),
            ("=?utf-8?q?J=C3=B6rg?= <j@y.test>", k("j", "J\u{f6}rg")),
            ("plain@z.test", k("plain", "plain@z.test")),
            ("\"\" <q@z.test>", k("q", "q@z.test")),
            // A group: addr-mailbox is the group name (RFC 5256 §3 on the IMAP
            // address), the display value falls back to it (RFC 5957 §3) — never
            // the first member.
            ("user2: blah@domain1.org;", k("user2", "user2")),
            ("empty:;", k("empty", "empty")),
            (
                "Undisclosed recipients:;, late@x.test",
                k("Undisclosed recipients", "Undisclosed recipients"),
            ),
            ("", k("", "")),
        ];
        for (value, expected) in table {
            assert_eq!(&key(value), expected, "{value}");
        }
    }
}
