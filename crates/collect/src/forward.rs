//! Forwarding collected mail to a downstream SMTP server (the seed's "Exchange
//! Connection"): which address it is for (the remote account's address, the original
//! recipient found in the headers, or a fixed address), and which sender the queue
//! uses (the message's Return-Path, else its From, else the null sender).
//!
//! Pure decisions over the message header; no I/O. Never invents an address that is
//! not in the settings or the message.

use crate::account::RecipientSource;

/// Header fields that name the envelope recipient the remote server delivered to,
/// in the order they are trusted.
const ORIGINAL_RECIPIENT_FIELDS: &[&str] = &["Delivered-To", "X-Original-To", "Envelope-To"];

/// The address a forwarded message goes to.
pub fn recipient(source: &RecipientSource, remote_address: &str, raw: &[u8]) -> String {
    match source {
        RecipientSource::RemoteAddress => remote_address.to_string(),
        RecipientSource::Fixed(a) => a.clone(),
        RecipientSource::Headers => {
            let block = &raw[..pillarbox_mime::header_end(raw)];
            for name in ORIGINAL_RECIPIENT_FIELDS {
                if let Some(v) = pillarbox_mime::find_header(block, name)
                    && let Some(a) = first_address(&v)
                {
                    return a;
                }
            }
            for name in ["To", "Cc"] {
                for v in pillarbox_mime::find_headers(block, name) {
                    if let Some(a) = first_address(&v) {
                        return a;
                    }
                }
            }
            remote_address.to_string()
        }
    }
}

/// The reverse path for the queue: Return-Path, else From, else empty (null sender).
pub fn sender(raw: &[u8]) -> String {
    let block = &raw[..pillarbox_mime::header_end(raw)];
    for name in ["Return-Path", "From"] {
        if let Some(v) = pillarbox_mime::find_header(block, name) {
            let text = String::from_utf8_lossy(&v);
            if name == "Return-Path" && text.trim() == "<>" {
                return String::new();
            }
            if let Some(a) = first_address(&v) {
                return a;
            }
        }
    }
    String::new()
}

fn first_address(value: &[u8]) -> Option<String> {
    pillarbox_mime::parse_address_list(value)
        .iter()
        .filter_map(|a| a.addr_spec())
        .find(|a| valid(a))
}

/// An address the SMTP client can put in an envelope: `local@domain`, no spaces,
/// brackets or line breaks.
fn valid(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !a
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b"<>()[],;\"".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOTE: &str = "bob@isp.example";

    #[test]
    fn recipient_table() {
        let cases: &[(&RecipientSource, &[u8], &str)] = &[
            (
                &RecipientSource::RemoteAddress,
                b"To: x@y.example\r\n\r\n",
                REMOTE,
            ),
            (&RecipientSource::Fixed(String::new()), b"\r\n", ""),
            (
                &RecipientSource::Headers,
                b"Delivered-To: carol@corp.example\r\nTo: dave@corp.example\r\n\r\n",
                "carol@corp.example",
            ),
            (
                &RecipientSource::Headers,
                b"X-Original-To: erin@corp.example\r\nTo: dave@corp.example\r\n\r\n",
                "erin@corp.example",
            ),
            (
                &RecipientSource::Headers,
                b"To: \"Dave D\" <dave@corp.example>, frank@corp.example\r\n\r\n",
                "dave@corp.example",
            ),
            (
                &RecipientSource::Headers,
                b"To: undisclosed-recipients:;\r\nCc: gina@corp.example\r\n\r\n",
                "gina@corp.example",
            ),
            (&RecipientSource::Headers, b"Subject: none\r\n\r\n", REMOTE),
            (
                &RecipientSource::Headers,
                b"Delivered-To: not an address\r\n\r\nDelivered-To: body@x.example\r\n",
                REMOTE,
            ),
        ];
        for (source, raw, expect) in cases {
            assert_eq!(
                recipient(source, REMOTE, raw),
                *expect,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert_eq!(
            recipient(
                &RecipientSource::Fixed("it@corp.example".into()),
                REMOTE,
                b""
            ),
            "it@corp.example"
        );
    }

    #[test]
    fn sender_table() {
        assert_eq!(
            sender(b"Return-Path: <a@b.example>\r\nFrom: c@d.example\r\n\r\n"),
            "a@b.example"
        );
        assert_eq!(sender(b"Return-Path: <>\r\nFrom: c@d.example\r\n\r\n"), "");
        assert_eq!(sender(b"From: Carl <c@d.example>\r\n\r\n"), "c@d.example");
        assert_eq!(sender(b"Subject: x\r\n\r\n"), "");
    }
}
