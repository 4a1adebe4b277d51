//! Message flags: system flags, keywords and `\`-extensions (RFC 9051 §2.3.2, §9 `flag`).
//!
//! Owns the type, its recognition from a token and its wire form. `\*` is not a flag: it
//! appears only in PERMANENTFLAGS, see [`super::Code::PermanentFlags`]. No I/O.

use bytes::Bytes;

/// One flag on a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// `\Recent` (IMAP4rev1 only; clients cannot set it, the session refuses it).
    Recent,
    /// A keyword such as `$Forwarded` or `NonJunk`, as written (keywords compare
    /// case-insensitively).
    Keyword(Bytes),
    /// Another `\`-flag, the atom after the backslash.
    Extension(Bytes),
}

impl Flag {
    /// A keyword from a static name.
    pub fn keyword(name: &'static str) -> Flag {
        Flag::Keyword(Bytes::from_static(name.as_bytes()))
    }

    /// Recognises a flag token (`\Seen`, `$Label1`). System flags match
    /// case-insensitively. `None` for an empty token, a lone `\` or `\*`.
    pub fn from_token(token: Bytes) -> Option<Flag> {
        let Some(rest) = token.strip_prefix(b"\\") else {
            return (!token.is_empty()).then_some(Flag::Keyword(token));
        };
        let system = [
            (&b"Answered"[..], Flag::Answered),
            (b"Flagged", Flag::Flagged),
            (b"Deleted", Flag::Deleted),
            (b"Seen", Flag::Seen),
            (b"Draft", Flag::Draft),
            (b"Recent", Flag::Recent),
        ];
        if let Some((_, flag)) = system.iter().find(|(n, _)| n.eq_ignore_ascii_case(rest)) {
            return Some(flag.clone());
        }
        if rest.is_empty() || rest == b"*" {
            return None;
        }
        Some(Flag::Extension(token.slice(1..)))
    }

    /// Whether this is one of the system flags (including `\Recent`).
    pub fn is_system(&self) -> bool {
        !matches!(self, Flag::Keyword(_) | Flag::Extension(_))
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let name: &[u8] = match self {
            Flag::Answered => b"\\Answered",
            Flag::Flagged => b"\\Flagged",
            Flag::Deleted => b"\\Deleted",
            Flag::Seen => b"\\Seen",
            Flag::Draft => b"\\Draft",
            Flag::Recent => b"\\Recent",
            Flag::Keyword(k) => k,
            Flag::Extension(e) => {
                out.push(b'\\');
                e
            }
        };
        out.extend_from_slice(name);
    }
}
