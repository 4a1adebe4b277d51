//! The bytes of `BODY[section]` (RFC 9051 §6.4.5) and `BINARY[part]` (RFC 3516 §4.2),
//! sliced from the raw message by the offsets computed at delivery, plus partial
//! fetches (`<offset.length>`). Header field selection and transfer decoding come from
//! `pillarbox_mime`. Pure; never re-parses a message.

use std::borrow::Cow;

use pillarbox_mime::{
    BodyPart, FieldSelection, MessageStructure, PartBody, UnknownTransferEncoding, decode_transfer,
    decoded_size, select_header_fields,
};

use crate::proto::{Partial, Section, SectionText};

/// How much of the raw message a section needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Extent {
    /// Only the top-level header (`BODY[HEADER…]`, `RFC822.HEADER`).
    Header,
    /// The whole message.
    Whole,
}

/// What `section` needs of the raw message.
pub(crate) fn extent(section: &Section) -> Extent {
    match (&section.part[..], &section.text) {
        (
            [],
            Some(
                SectionText::Header
                | SectionText::HeaderFields(_)
                | SectionText::HeaderFieldsNot(_),
            ),
        ) => Extent::Header,
        _ => Extent::Whole,
    }
}

fn names(fields: &[bytes::Bytes]) -> Vec<String> {
    fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// `HEADER`, `HEADER.FIELDS`, `HEADER.FIELDS.NOT` or `TEXT` of the message whose root
/// part is `root`.
fn message_text<'a>(raw: &'a [u8], root: &BodyPart, text: &SectionText) -> Cow<'a, [u8]> {
    match text {
        SectionText::Header | SectionText::Mime => Cow::Borrowed(root.header(raw)),
        SectionText::Text => Cow::Borrowed(root.body(raw)),
        SectionText::HeaderFields(f) => {
            let owned = names(f);
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            Cow::Owned(select_header_fields(
                root.header(raw),
                FieldSelection::Only(&refs),
            ))
        }
        SectionText::HeaderFieldsNot(f) => {
            let owned = names(f);
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            Cow::Owned(select_header_fields(
                root.header(raw),
                FieldSelection::AllExcept(&refs),
            ))
        }
    }
}

/// The bytes of `BODY[section]`; a section that does not exist is empty.
pub(crate) fn body_section<'a>(
    raw: &'a [u8],
    st: &MessageStructure,
    section: &Section,
) -> Cow<'a, [u8]> {
    if section.part.is_empty() {
        return match &section.text {
            None => Cow::Borrowed(raw),
            Some(text) => message_text(raw, &st.root, text),
        };
    }
    let Some(part) = st.part(&section.part) else {
        return Cow::Borrowed(&[]);
    };
    match &section.text {
        None => Cow::Borrowed(part.body(raw)),
        Some(SectionText::Mime) => Cow::Borrowed(part.header(raw)),
        Some(text) => match &part.body {
            // HEADER and TEXT of a part are those of the message it encapsulates.
            PartBody::Message(m) => message_text(raw, &m.root, text),
            _ => Cow::Borrowed(&[]),
        },
    }
}

/// The decoded content of `BINARY[part]` (RFC 3516 §4.2): transfer encoding removed for
/// leaf parts; the whole message, multiparts and messages as they are.
pub(crate) fn binary_section<'a>(
    raw: &'a [u8],
    st: &MessageStructure,
    part: &[u32],
) -> Result<Cow<'a, [u8]>, UnknownTransferEncoding> {
    if part.is_empty() {
        return Ok(Cow::Borrowed(raw));
    }
    let Some(p) = st.part(part) else {
        return Ok(Cow::Borrowed(&[]));
    };
    match &p.body {
        PartBody::Single => decode_transfer(p.body(raw), &p.transfer_encoding()),
        _ => Ok(Cow::Borrowed(p.body(raw))),
    }
}

/// `BINARY.SIZE[part]` (RFC 3516 §4.2).
pub(crate) fn binary_size(
    raw: &[u8],
    st: &MessageStructure,
    part: &[u32],
) -> Result<u64, UnknownTransferEncoding> {
    if part.is_empty() {
        return Ok(raw.len() as u64);
    }
    let Some(p) = st.part(part) else {
        return Ok(0);
    };
    match &p.body {
        PartBody::Single => decoded_size(p.body(raw), &p.transfer_encoding()),
        _ => Ok(p.size()),
    }
}

/// Applies `<offset.length>`: the octets from `offset`, at most `length` of them.
pub(crate) fn partial(data: &[u8], partial: Option<Partial>) -> &[u8] {
    match partial {
        None => data,
        Some(p) => {
            let start = usize::try_from(p.offset)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let len = usize::try_from(p.length).unwrap_or(usize::MAX);
            let end = start.saturating_add(len).min(data.len());
            data.get(start..end).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const MSG: &[u8] = b"From: a@b.c\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\
--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nTo: d@e.f\r\n\r\ninner body\r\n\
--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n\
--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--x--\r\n";

    fn sec(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    #[test]
    fn sections_table() {
        let st = pillarbox_mime::parse(MSG);
        let fields =
            |n: &[&'static str]| n.iter().map(|s| Bytes::from_static(s.as_bytes())).collect();
        let cases: Vec<(Section, &[u8])> = vec![
            (
                sec(&[], Some(SectionText::HeaderFields(fields(&["subject"])))),
                b"Subject: hi\r\n\r\n",
            ),
            (sec(&[1], None), b"first"),
            (sec(&[1, 1], None), b""),
            (
                sec(&[1], Some(SectionText::Mime)),
                b"Content-Type: text/plain\r\n\r\n",
            ),
            (
                sec(&[2], Some(SectionText::Header)),
                b"Subject: inner\r\nTo: d@e.f\r\n\r\n",
            ),
            (sec(&[2], Some(SectionText::Text)), b"inner body"),
            (sec(&[2, 1], None), b"inner body"),
            (
                sec(&[2], Some(SectionText::HeaderFieldsNot(fields(&["To"])))),
                b"Subject: inner\r\n\r\n",
            ),
            (sec(&[9], None), b""),
        ];
        for (s, expected) in cases {
            assert_eq!(&*body_section(MSG, &st, &s), expected, "{s:?}");
        }
        assert_eq!(&*body_section(MSG, &st, &sec(&[], None)), MSG);
        assert!(body_section(MSG, &st, &sec(&[], Some(SectionText::Text))).starts_with(b"--x"));
        assert_eq!(extent(&sec(&[], Some(SectionText::Header))), Extent::Header);
        assert_eq!(extent(&sec(&[1], Some(SectionText::Header))), Extent::Whole);
    }

    #[test]
    fn binary_decodes_and_refuses_unknown_encodings() {
        let st = pillarbox_mime::parse(MSG);
        assert_eq!(&*binary_section(MSG, &st, &[3]).unwrap(), b"hello");
        assert_eq!(binary_size(MSG, &st, &[3]).unwrap(), 5);
        assert!(binary_section(MSG, &st, &[4]).is_err());
        assert!(binary_size(MSG, &st, &[4]).is_err());
        assert_eq!(&*binary_section(MSG, &st, &[1]).unwrap(), b"first");
    }

    #[test]
    fn partials() {
        let p = |offset, length| Some(Partial { offset, length });
        assert_eq!(partial(b"0123456789", p(2, 3)), b"234");
        assert_eq!(partial(b"0123456789", p(8, 10)), b"89");
        assert_eq!(partial(b"0123456789", p(20, 1)), b"");
        assert_eq!(partial(b"0123", None), b"0123");
    }
}
