//! Mailbox names as they travel on the wire (RFC 9051 §5.1, §9 `mailbox`).
//!
//! Owns the normalisation of `INBOX` (case-insensitive, RFC 9051 §5.1) and the
//! conversion between wire names and Unicode: modified UTF-7 (RFC 3501 §5.1.3) before
//! UTF8=ACCEPT, plain UTF-8 after it (RFC 6855 §3). It does not know hierarchy
//! delimiters, namespaces or which mailboxes exist, and does no I/O.

use bytes::Bytes;

use super::mutf7;

/// How mailbox names are written on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameEncoding {
    /// Modified UTF-7, the IMAP4rev1 default.
    #[default]
    ModifiedUtf7,
    /// UTF-8, after `ENABLE UTF8=ACCEPT` or `ENABLE IMAP4rev2` (RFC 6855, RFC 9051 §5.1).
    Utf8,
}

/// Why a wire name is not a valid mailbox name in the connection's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MailboxNameError {
    /// Invalid modified UTF-7.
    #[error("mailbox name is not valid modified UTF-7: {0}")]
    ModifiedUtf7(#[from] mutf7::DecodeError),
    /// Invalid UTF-8 in UTF-8 mode.
    #[error("mailbox name is not valid UTF-8")]
    Utf8,
}

/// A mailbox name exactly as on the wire, except that any spelling of `INBOX` is
/// normalised to `INBOX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox(Bytes);

impl Mailbox {
    /// The name `INBOX`.
    pub const INBOX: Mailbox = Mailbox(Bytes::from_static(b"INBOX"));

    /// Wraps wire bytes, normalising `inbox`, `Inbox`, … to `INBOX`.
    pub fn new(wire: Bytes) -> Mailbox {
        if wire.eq_ignore_ascii_case(b"INBOX") {
            Mailbox::INBOX
        } else {
            Mailbox(wire)
        }
    }

    /// The wire form of a Unicode name in the given encoding.
    pub fn from_name(name: &str, encoding: NameEncoding) -> Mailbox {
        match encoding {
            NameEncoding::Utf8 => Mailbox::new(Bytes::copy_from_slice(name.as_bytes())),
            NameEncoding::ModifiedUtf7 => Mailbox::new(Bytes::from(mutf7::encode(name))),
        }
    }

    /// Whether this is the INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == b"INBOX"[..]
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The wire bytes, shared.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The Unicode name, decoding the wire form in the given encoding.
    pub fn decode(&self, encoding: NameEncoding) -> Result<String, MailboxNameError> {
        match encoding {
            NameEncoding::ModifiedUtf7 => Ok(mutf7::decode(&self.0)?),
            NameEncoding::Utf8 => std::str::from_utf8(&self.0)
                .map(str::to_owned)
                .map_err(|_| MailboxNameError::Utf8),
        }
    }
}

impl From<&'static str> for Mailbox {
    fn from(s: &'static str) -> Mailbox {
        Mailbox::new(Bytes::from_static(s.as_bytes()))
    }
}
