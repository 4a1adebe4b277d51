//! Building IMAP command arguments: UID sets (`1:5,9`), strings as atoms, quoted
//! strings or literals (RFC 9051 §4.3), mailbox names in modified UTF-7 (RFC 3501
//! §5.1.3) and SEARCH criteria.
//!
//! Pure: no I/O. Never produces a line break outside a literal, so a user name or a
//! folder name cannot inject a command.

use std::fmt::Write;

use base64::Engine;

/// One argument piece of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Written as is (already an atom, a quoted string or a set).
    Text(String),
    /// Sent as a literal `{n}` followed by the bytes.
    Literal(Vec<u8>),
}

/// `uids` (any order, duplicates allowed) as a compact sequence set: `1:3,7,9:10`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}:{end}");
        }
        i += 1;
    }
    out
}

/// A string argument: a quoted string when it is 7-bit text without line breaks,
/// otherwise a literal.
pub fn string_arg(s: &[u8]) -> Arg {
    let quotable = s.len() <= 1024 && s.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t');
    if quotable {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                q.push('\\');
            }
            q.push(b as char);
        }
        q.push('"');
        Arg::Text(q)
    } else {
        Arg::Literal(s.to_vec())
    }
}

/// A mailbox name as IMAP4rev1 servers expect it: modified UTF-7 (RFC 3501 §5.1.3),
/// then quoted. `INBOX` is case-insensitive and sent as is.
pub fn mailbox_arg(name: &str) -> Arg {
    if name.eq_ignore_ascii_case("INBOX") {
        return Arg::Text("INBOX".into());
    }
    string_arg(encode_modified_utf7(name).as_bytes())
}

/// RFC 3501 §5.1.3: printable ASCII stays (with `&` as `&-`), everything else becomes
/// `&` + modified base64 of UTF-16BE + `-`.
pub fn encode_modified_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
        out.push('&');
        out.push_str(&b64.replace('/', ","));
        out.push('-');
        pending.clear();
    };
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Which messages a collection asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchCriteria {
    All,
    Unseen,
    /// Internal date on or after this day (days since 1970-01-01, UTC).
    Since {
        days_since_epoch: i64,
    },
}

impl SearchCriteria {
    /// The SEARCH key text (RFC 9051 §6.4.4).
    pub fn to_command(self) -> String {
        match self {
            SearchCriteria::All => "ALL".into(),
            SearchCriteria::Unseen => "UNSEEN".into(),
            SearchCriteria::Since { days_since_epoch } => {
                format!("SINCE {}", imap_date(days_since_epoch))
            }
        }
    }
}

/// `d-Mon-yyyy` for a day count since the Unix epoch (civil-from-days).
pub fn imap_date(days_since_epoch: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{day}-{}-{year}", MONTHS[(month - 1).clamp(0, 11) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[3, 1, 2, 7, 9, 10, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[u32::MAX, 1]), format!("1,{}", u32::MAX));
    }

    #[test]
    fn strings() {
        assert_eq!(string_arg(b"bob"), Arg::Text("\"bob\"".into()));
        assert_eq!(string_arg(b"a\"b\\c"), Arg::Text("\"a\\\"b\\\\c\"".into()));
        assert_eq!(string_arg(b"x\r\ny"), Arg::Literal(b"x\r\ny".to_vec()));
        assert_eq!(
            string_arg("pässword".as_bytes()),
            Arg::Literal("pässword".as_bytes().to_vec())
        );
    }

    #[test]
    fn modified_utf7() {
        // RFC 3501 §5.1.3 example.
        assert_eq!(
            encode_modified_utf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode_modified_utf7("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode_modified_utf7("A&B"), "A&-B");
        assert_eq!(mailbox_arg("inbox"), Arg::Text("INBOX".into()));
        assert_eq!(
            mailbox_arg("Sent Items"),
            Arg::Text("\"Sent Items\"".into())
        );
    }

    #[test]
    fn dates() {
        assert_eq!(imap_date(0), "1-Jan-1970");
        assert_eq!(imap_date(19_723), "1-Jan-2024");
        assert_eq!(imap_date(19_782), "29-Feb-2024");
        assert_eq!(
            SearchCriteria::Since {
                days_since_epoch: 20_416
            }
            .to_command(),
            "SINCE 24-Nov-2025"
        );
        assert_eq!(SearchCriteria::Unseen.to_command(), "UNSEEN");
    }
}
