//! The capability list (RFC 9051 §6.1.1, §7.2.2) and the extensions a client may ENABLE
//! (RFC 5161). Every name here is implemented; nothing else is advertised.
//!
//! Pure: the list depends only on the connection's situation.

use bytes::Bytes;

/// What the capability list depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation {
    /// The session has logged in.
    pub authenticated: bool,
    /// The connection is TLS.
    pub tls: bool,
    /// STARTTLS could be offered (plain connection, certificate at hand).
    pub starttls_available: bool,
    /// Plaintext login is allowed now (TLS, or a trusted network).
    pub plaintext_allowed: bool,
    /// COMPRESS is already active.
    pub compressing: bool,
    /// The APPENDLIMIT in octets.
    pub append_limit: u64,
    /// The MESSAGELIMIT (RFC 9738).
    pub message_limit: u32,
}

/// Capabilities every state advertises.
const COMMON: &[&str] = &[
    "IMAP4rev1",
    "IMAP4rev2",
    "SASL-IR",
    "LITERAL+",
    "ENABLE",
    "ID",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "SORT",
    "SORT=DISPLAY",
    "ESORT",
    "PARTIAL",
    "THREAD=REFERENCES",
    "THREAD=ORDEREDSUBJECT",
    "WITHIN",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "STATUS=SIZE",
    "BINARY",
    "UTF8=ACCEPT",
    "MULTIAPPEND",
    "REPLACE",
    "UIDONLY",
    "UNAUTHENTICATE",
    "OBJECTID",
    "PREVIEW",
    "SAVEDATE",
    "METADATA",
    "METADATA-SERVER",
];

/// The capability list for `s`.
pub(crate) fn capabilities(s: Situation) -> Vec<Bytes> {
    let mut caps: Vec<Bytes> = COMMON
        .iter()
        .map(|c| Bytes::from_static(c.as_bytes()))
        .collect();
    if !s.authenticated {
        if s.starttls_available && !s.tls {
            caps.push(Bytes::from_static(b"STARTTLS"));
        }
        if s.plaintext_allowed {
            caps.push(Bytes::from_static(b"AUTH=PLAIN"));
            caps.push(Bytes::from_static(b"AUTH=LOGIN"));
        } else {
            caps.push(Bytes::from_static(b"LOGINDISABLED"));
        }
    }
    caps.push(Bytes::from(format!("APPENDLIMIT={}", s.append_limit)));
    caps.push(Bytes::from(format!("MESSAGELIMIT={}", s.message_limit)));
    if !s.compressing {
        caps.push(Bytes::from_static(b"COMPRESS=DEFLATE"));
    }
    caps
}

/// What ENABLE has switched on for this session (RFC 5161).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Enabled {
    /// RFC 7162 CONDSTORE (also switched on by any CONDSTORE-enabling command).
    pub condstore: bool,
    /// RFC 7162 QRESYNC (implies CONDSTORE).
    pub qresync: bool,
    /// RFC 6855 UTF8=ACCEPT.
    pub utf8: bool,
    /// RFC 9051 IMAP4rev2 behaviour.
    pub rev2: bool,
    /// RFC 9586 UIDONLY: no message sequence numbers either way.
    pub uid_only: bool,
}

/// An extension ENABLE knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extension {
    CondStore,
    QResync,
    Utf8Accept,
    Rev2,
    UidOnly,
}

impl Extension {
    /// Recognises a capability name given to ENABLE (case-insensitive).
    pub(crate) fn from_name(name: &[u8]) -> Option<Extension> {
        let known = [
            (&b"CONDSTORE"[..], Extension::CondStore),
            (b"QRESYNC", Extension::QResync),
            (b"UTF8=ACCEPT", Extension::Utf8Accept),
            (b"IMAP4rev2", Extension::Rev2),
            (b"UIDONLY", Extension::UidOnly),
        ];
        known
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, e)| *e)
    }

    /// The canonical name echoed in `* ENABLED`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Extension::CondStore => "CONDSTORE",
            Extension::QResync => "QRESYNC",
            Extension::Utf8Accept => "UTF8=ACCEPT",
            Extension::Rev2 => "IMAP4rev2",
            Extension::UidOnly => "UIDONLY",
        }
    }
}

impl Enabled {
    /// Switches `ext` on; returns false when it already was.
    pub(crate) fn enable(&mut self, ext: Extension) -> bool {
        let flag = match ext {
            Extension::CondStore => &mut self.condstore,
            Extension::QResync => {
                self.condstore = true;
                &mut self.qresync
            }
            Extension::Utf8Accept => &mut self.utf8,
            Extension::Rev2 => &mut self.rev2,
            Extension::UidOnly => &mut self.uid_only,
        };
        !std::mem::replace(flag, true)
    }

    /// Whether 8-bit UTF-8 may be sent in quoted strings and mailbox names are UTF-8.
    pub(crate) fn utf8_names(&self) -> bool {
        self.utf8 || self.rev2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation() -> Situation {
        Situation {
            authenticated: false,
            tls: false,
            starttls_available: true,
            plaintext_allowed: false,
            compressing: false,
            append_limit: 1000,
            message_limit: 500,
        }
    }

    fn names(s: Situation) -> Vec<String> {
        capabilities(s)
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn plaintext_before_tls_is_disabled_from_untrusted_networks() {
        let caps = names(situation());
        assert!(caps.contains(&"STARTTLS".into()));
        assert!(caps.contains(&"LOGINDISABLED".into()));
        assert!(!caps.iter().any(|c| c.starts_with("AUTH=")));
        assert!(caps.contains(&"APPENDLIMIT=1000".into()));
        assert!(caps.contains(&"MESSAGELIMIT=500".into()));
    }

    #[test]
    fn table() {
        let cases: &[(Situation, &[&str], &[&str])] = &[
            (
                Situation {
                    tls: true,
                    plaintext_allowed: true,
                    ..situation()
                },
                &["AUTH=PLAIN", "AUTH=LOGIN", "COMPRESS=DEFLATE"],
                &["STARTTLS", "LOGINDISABLED"],
            ),
            (
                Situation {
                    authenticated: true,
                    plaintext_allowed: true,
                    compressing: true,
                    ..situation()
                },
                &[
                    "IMAP4rev2",
                    "IDLE",
                    "OBJECTID",
                    "PREVIEW",
                    "ESORT",
                    "PARTIAL",
                    "REPLACE",
                    "UIDONLY",
                    "SAVEDATE",
                    "METADATA",
                    "METADATA-SERVER",
                    "MESSAGELIMIT=500",
                ],
                &[
                    "STARTTLS",
                    "AUTH=PLAIN",
                    "LOGINDISABLED",
                    "COMPRESS=DEFLATE",
                ],
            ),
        ];
        for (s, present, absent) in cases {
            let caps = names(*s);
            for p in *present {
                assert!(caps.iter().any(|c| c == p), "{p} missing in {caps:?}");
            }
            for a in *absent {
                assert!(!caps.iter().any(|c| c == a), "{a} present in {caps:?}");
            }
        }
    }

    #[test]
    fn enable_reports_only_new_extensions() {
        let mut e = Enabled::default();
        assert!(e.enable(Extension::QResync));
        assert!(e.condstore);
        assert!(!e.enable(Extension::CondStore));
        assert_eq!(Extension::from_name(b"imap4REV2"), Some(Extension::Rev2));
        assert_eq!(Extension::from_name(b"XFOO"), None);
        assert_eq!(Extension::from_name(b"uidonly"), Some(Extension::UidOnly));
        assert!(e.enable(Extension::UidOnly) && e.uid_only);
    }
}
