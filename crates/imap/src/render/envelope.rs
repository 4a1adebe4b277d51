//! The ENVELOPE of RFC 9051 §7.5.2: `(date subject from sender reply-to to cc bcc
//! in-reply-to message-id)`, strings sent raw (encoded words intact), addresses as
//! `(name adl mailbox host)` with group markers. Pure; appends to a buffer.

use pillarbox_mime::{Address, Envelope};

use crate::proto::{EncodeOptions, write_nstring};

/// Appends the parenthesised ENVELOPE.
pub(crate) fn write_envelope(out: &mut Vec<u8>, e: &Envelope, opts: EncodeOptions) {
    out.push(b'(');
    write_nstring(out, e.date.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    write_nstring(out, e.subject.as_deref().map(str::as_bytes), opts);
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        out.push(b' ');
        write_addresses(out, list, opts);
    }
    out.push(b' ');
    write_nstring(out, e.in_reply_to.as_deref().map(str::as_bytes), opts);
    out.push(b' ');
    write_nstring(out, e.message_id.as_deref().map(str::as_bytes), opts);
    out.push(b')');
}

/// `((...)(...))` or NIL for an empty list.
fn write_addresses(out: &mut Vec<u8>, list: &[Address], opts: EncodeOptions) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        write_nstring(out, a.name.as_deref().map(str::as_bytes), opts);
        out.push(b' ');
        write_nstring(out, a.adl.as_deref().map(str::as_bytes), opts);
        out.push(b' ');
        write_nstring(out, a.mailbox.as_deref().map(str::as_bytes), opts);
        out.push(b' ');
        write_nstring(out, a.host.as_deref().map(str::as_bytes), opts);
        out.push(b')');
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(header: &[u8]) -> String {
        let mut out = Vec::new();
        write_envelope(
            &mut out,
            &Envelope::from_header_block(header),
            EncodeOptions::default(),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nSubject: IMAP4rev2 WG mtg summary and minutes\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US, \"John Klensin\" <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\n\r\n",
                "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")",
            ),
            (b"", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"),
            (
                b"Subject: =?utf-8?q?caf=C3=A9?=\r\nTo: friends: a@x.test;\r\n\r\n",
                "(NIL \"=?utf-8?q?caf=C3=A9?=\" NIL NIL NIL ((NIL NIL \"friends\" NIL)(NIL NIL \"a\" \"x.test\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)",
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(render(header), *expected);
        }
    }

    #[test]
    fn eight_bit_subject_is_a_literal_unless_utf8() {
        let e = Envelope::from_header_block("Subject: caf\u{e9}\r\n\r\n".as_bytes());
        let mut out = Vec::new();
        write_envelope(&mut out, &e, EncodeOptions::default());
        assert!(String::from_utf8_lossy(&out).contains("{5}\r\ncaf\u{e9}"));
        let mut out = Vec::new();
        write_envelope(
            &mut out,
            &e,
            EncodeOptions {
                utf8: true,
                ..Default::default()
            },
        );
        assert!(String::from_utf8_lossy(&out).contains("\"caf\u{e9}\""));
    }
}
