//! The IMAP ENVELOPE (RFC 9051 §7.5.2) of a message, computed from its header block:
//! raw unfolded values for date, subject, in-reply-to and message-id, parsed address
//! lists for the rest, with Sender and Reply-To defaulting to From.
//!
//! Values are not RFC 2047 decoded (IMAP returns them raw). Does no I/O.

use serde::{Deserialize, Serialize};

use crate::address::{Address, parse_address_list};
use crate::charset::decode_undeclared;
use crate::header::header_fields;

/// An ENVELOPE. `None` and empty lists are NIL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Date, raw and unfolded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Subject, raw and unfolded (encoded words intact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// From addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<Address>,
    /// Sender, or From when absent or empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sender: Vec<Address>,
    /// Reply-To, or From when absent or empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<Address>,
    /// To addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Address>,
    /// Cc addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Address>,
    /// Bcc addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<Address>,
    /// In-Reply-To, raw and unfolded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Message-ID, raw and unfolded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

fn raw_text(value: &[u8]) -> String {
    decode_undeclared(&crate::header::unfold(value), encoding_rs::WINDOWS_1252).into_owned()
}

impl Envelope {
    /// Builds the envelope from a header block (the first field of each name counts).
    pub fn from_header_block(block: &[u8]) -> Self {
        let mut envelope = Envelope::default();
        let (mut seen_from, mut seen_sender, mut seen_reply_to) = (false, false, false);
        let (mut seen_to, mut seen_cc, mut seen_bcc) = (false, false, false);
        for field in header_fields(block) {
            let name = field.name;
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            if is("date") {
                envelope.date.get_or_insert_with(|| raw_text(field.value));
            } else if is("subject") {
                envelope
                    .subject
                    .get_or_insert_with(|| raw_text(field.value));
            } else if is("in-reply-to") {
                envelope
                    .in_reply_to
                    .get_or_insert_with(|| raw_text(field.value));
            } else if is("message-id") {
                envelope
                    .message_id
                    .get_or_insert_with(|| raw_text(field.value));
            } else {
                let target = if is("from") {
                    Some((&mut envelope.from, &mut seen_from))
                } else if is("sender") {
                    Some((&mut envelope.sender, &mut seen_sender))
                } else if is("reply-to") {
                    Some((&mut envelope.reply_to, &mut seen_reply_to))
                } else if is("to") {
                    Some((&mut envelope.to, &mut seen_to))
                } else if is("cc") {
                    Some((&mut envelope.cc, &mut seen_cc))
                } else if is("bcc") {
                    Some((&mut envelope.bcc, &mut seen_bcc))
                } else {
                    None
                };
                if let Some((list, seen)) = target
                    && !*seen
                {
                    *seen = true;
                    *list = parse_address_list(field.value);
                }
            }
        }
        if envelope.sender.is_empty() {
            envelope.sender = envelope.from.clone();
        }
        if envelope.reply_to.is_empty() {
            envelope.reply_to = envelope.from.clone();
        }
        envelope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address {
            name: name.map(Into::into),
            adl: None,
            mailbox: Some(mailbox.into()),
            host: Some(host.into()),
        }
    }

    #[test]
    fn rfc9051_fetch_envelope_example() {
        // The message behind the RFC 9051 §7.5.2 ENVELOPE example.
        let header = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
Subject: IMAP4rev2 WG mtg summary and minutes\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US,\r\n \"John Klensin\" <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\r\nbody";
        let envelope = Envelope::from_header_block(header);
        let gray = plain(Some("Terry Gray"), "gray", "cac.washington.edu");
        assert_eq!(
            envelope,
            Envelope {
                date: Some("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)".into()),
                subject: Some("IMAP4rev2 WG mtg summary and minutes".into()),
                from: vec![gray.clone()],
                sender: vec![gray.clone()],
                reply_to: vec![gray],
                to: vec![plain(None, "imap", "cac.washington.edu")],
                cc: vec![
                    plain(None, "minutes", "CNRI.Reston.VA.US"),
                    plain(Some("John Klensin"), "KLENSIN", "MIT.EDU"),
                ],
                bcc: vec![],
                in_reply_to: None,
                message_id: Some("<B27397-0100000@cac.washington.edu>".into()),
            }
        );
    }

    #[test]
    fn sender_and_reply_to_defaults() {
        let envelope = Envelope::from_header_block(
            b"From: a@x.test\r\nSender:\r\nReply-To: r@y.test\r\nSubject:\r\nSubject: second\r\n\r\n",
        );
        assert_eq!(envelope.sender, envelope.from);
        assert_eq!(envelope.reply_to, vec![plain(None, "r", "y.test")]);
        assert_eq!(envelope.subject.as_deref(), Some(""));
        assert_eq!(Envelope::from_header_block(b""), Envelope::default());
    }

    #[test]
    fn raw_values_are_unfolded_not_decoded() {
        let envelope = Envelope::from_header_block(
            b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\tand more\r\nIn-Reply-To:  <a@b>\r\n\r\n",
        );
        assert_eq!(
            envelope.subject.as_deref(),
            Some("=?utf-8?q?caf=C3=A9?=\tand more")
        );
        assert_eq!(envelope.in_reply_to.as_deref(), Some("<a@b>"));
    }
}
