//! Modified UTF-7 test vectors (RFC 3501 §5.1.3) and round trips.

use pillarbox_imap::proto::mutf7::{DecodeError, decode, encode};
use pillarbox_imap::proto::{Mailbox, MailboxNameError, NameEncoding};
use proptest::prelude::*;

const VECTORS: &[(&str, &str)] = &[
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("日本語", "&ZeVnLIqe-"),
    ("&", "&-"),
    ("Tom & Jerry", "Tom &- Jerry"),
    ("Entwürfe", "Entw&APw-rfe"),
    ("Hi Mom -☺-!", "Hi Mom -&Jjo--!"),
    ("😀", "&2D3eAA-"),
    ("Ω", "&A6k-"),
    ("abé", "ab&AOk-"),
    ("INBOX", "INBOX"),
    ("", ""),
];

#[test]
fn vectors() {
    for &(unicode, wire) in VECTORS {
        assert_eq!(encode(unicode), wire, "encode {unicode:?}");
        assert_eq!(
            decode(wire.as_bytes()).as_deref(),
            Ok(unicode),
            "decode {wire:?}"
        );
    }
}

#[test]
fn non_canonical_forms_are_refused() {
    let bad: &[(&[u8], DecodeError)] = &[
        (b"&Jjo", DecodeError::Unterminated),
        (b"&AGE-", DecodeError::EncodedAscii),
        (b"&U,BTFw-&ZeVnLIqe-", DecodeError::NullShift),
        ("ü".as_bytes(), DecodeError::RawByte(0xc3)),
        (b"a\tb", DecodeError::RawByte(b'\t')),
        (b"&Jj-", DecodeError::BadPadding),
        (b"&Jjp-", DecodeError::BadPadding),
        (b"&2D0-", DecodeError::InvalidUtf16),
        (b"&Jj!o-", DecodeError::InvalidBase64),
        (b"&Jjo=-", DecodeError::InvalidBase64),
    ];
    for &(wire, err) in bad {
        assert_eq!(
            decode(wire),
            Err(err),
            "decode {:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn mailbox_names_in_both_encodings() {
    let m = Mailbox::from_name("Entwürfe", NameEncoding::ModifiedUtf7);
    assert_eq!(m.as_bytes(), b"Entw&APw-rfe");
    assert_eq!(m.decode(NameEncoding::ModifiedUtf7).unwrap(), "Entwürfe");
    let u = Mailbox::from_name("Entwürfe", NameEncoding::Utf8);
    assert_eq!(u.as_bytes(), "Entwürfe".as_bytes());
    assert_eq!(u.decode(NameEncoding::Utf8).unwrap(), "Entwürfe");
    // In UTF-8 mode `&` is just a character.
    assert_eq!(
        Mailbox::from("a&b").decode(NameEncoding::Utf8).unwrap(),
        "a&b"
    );
    assert!(matches!(
        Mailbox::from("a&b").decode(NameEncoding::ModifiedUtf7),
        Err(MailboxNameError::ModifiedUtf7(_))
    ));
    assert_eq!(
        Mailbox::new(bytes::Bytes::from_static(b"\xff")).decode(NameEncoding::Utf8),
        Err(MailboxNameError::Utf8)
    );
    assert!(Mailbox::from_name("inbox", NameEncoding::Utf8).is_inbox());
    assert!(!Mailbox::from("INBOX/x").is_inbox());
    assert_eq!(Mailbox::from("iNbOx").into_bytes(), "INBOX");
}

proptest! {
    #[test]
    fn round_trip(s in any::<String>()) {
        let wire = encode(&s);
        prop_assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        prop_assert_eq!(decode(wire.as_bytes()), Ok(s));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(s) = decode(&bytes) {
            // Whatever decodes is canonical: it encodes back to the same bytes.
            let again = encode(&s);
            prop_assert_eq!(again.as_bytes(), &bytes[..]);
        }
    }
}
