//! Keys for IMAP `SORT` (RFC 5256, RFC 5957 `DISPLAYFROM`/`DISPLAYTO`) and `THREAD`
//! (RFC 5256 §3): parsed date, base subject, first From/To/Cc mailbox and display
//! name, and message identifiers.
//!
//! Computed once at delivery from the top-level header block. Does no I/O.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::date::parse_date;
use crate::encoded_word::decode_encoded_words;
use crate::envelope::Envelope;
use crate::header::{header_fields, unfold};
use crate::msg_id::{parse_msg_id, parse_msg_id_list};
use crate::subject::base_subject;

/// The first address of a header for sorting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortAddress {
    /// The local part (RFC 5256 `FROM`, `TO`, `CC` sort on it).
    pub mailbox: String,
    /// Decoded display name, or `mailbox@host` when there is none (RFC 5957).
    pub display: String,
}

/// Everything SORT and THREAD compare, precomputed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKeys {
    /// Date header as seconds since the Unix epoch (UTC); `None` when unparseable,
    /// in which case SORT uses the internal date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    /// Base subject (RFC 5256 §2.1), decoded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_subject: String,
    /// First From mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SortAddress>,
    /// First To mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<SortAddress>,
    /// First Cc mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<SortAddress>,
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

fn first_sort_address(list: &[Address]) -> Option<SortAddress> {
    let address = list.iter().find(|a| a.host.is_some())?;
    let mailbox = address.mailbox.clone().unwrap_or_default();
    let name = address
        .name
        .as_deref()
        .map(|name| decode_encoded_words(name.as_bytes()))
        .filter(|name| !name.trim().is_empty());
    let display = name.unwrap_or_else(|| address.addr_spec().unwrap_or_default());
    Some(SortAddress { mailbox, display })
}

impl SortKeys {
    /// Computes the keys from a header block and its already-parsed envelope.
    pub fn from_header_block(block: &[u8], envelope: &Envelope) -> Self {
        let mut keys = SortKeys {
            from: first_sort_address(&envelope.from),
            to: first_sort_address(&envelope.to),
            cc: first_sort_address(&envelope.cc),
            ..SortKeys::default()
        };
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

    #[test]
    fn keys_from_header() {
        let block = b"From: \"Doe\" <z@x.test>\r\nTo: G:;, =?utf-8?q?J=C3=B6rg?= <j@y.test>\r\n\
Cc: plain@z.test\r\nDate: 1 Jan 2000 00:00:00 +0000\r\nSubject: Re: [list] hi (fwd)\r\n\
Message-ID: <m1@x>\r\nIn-Reply-To: <p@x>\r\nReferences: <r1@x>\r\n <r2@x>\r\n\r\n";
        let envelope = Envelope::from_header_block(block);
        let keys = SortKeys::from_header_block(block, &envelope);
        assert_eq!(
            keys,
            SortKeys {
                date: Some(946_684_800),
                base_subject: "hi".into(),
                from: Some(SortAddress {
                    mailbox: "z".into(),
                    display: "Doe".into()
                }),
                to: Some(SortAddress {
                    mailbox: "j".into(),
                    display: "J\u{f6}rg".into()
                }),
                cc: Some(SortAddress {
                    mailbox: "plain".into(),
                    display: "plain@z.test".into()
                }),
                message_id: Some("m1@x".into()),
                in_reply_to: vec!["p@x".into()],
                references: vec!["r1@x".into(), "r2@x".into()],
            }
        );
    }

    #[test]
    fn missing_headers_give_empty_keys() {
        let keys = SortKeys::from_header_block(b"", &Envelope::default());
        assert_eq!(keys, SortKeys::default());
    }
}
