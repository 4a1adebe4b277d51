//! Maildir and Maildir++ as Dovecot writes them, pure: file names and their flags
//! (`:2,` info with `D F P R S T` and the keyword letters `a`–`z`), `dovecot-uidlist`
//! (UIDVALIDITY, next UID, the UID of each file), `dovecot-keywords` (the names behind
//! the letters), and folder names (`.Sent.2024` is `Sent/2024`).

use std::collections::HashMap;

use pillarbox_store::flags;

/// What `dovecot-uidlist` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uidlist {
    pub uidvalidity: Option<u32>,
    pub next_uid: Option<u32>,
    /// File base name (without `:2,…`) → UID.
    pub uids: HashMap<String, u32>,
}

/// Parses `dovecot-uidlist` (versions 1 and 3). Lines that do not parse are skipped.
pub fn parse_uidlist(text: &str) -> Uidlist {
    let mut out = Uidlist::default();
    let mut lines = text.lines();
    if let Some(header) = lines.next() {
        let mut fields = header.split_whitespace();
        match fields.next() {
            Some("3") => {
                for f in fields {
                    if let Some(v) = f.strip_prefix('V') {
                        out.uidvalidity = v.parse().ok();
                    } else if let Some(v) = f.strip_prefix('N') {
                        out.next_uid = v.parse().ok();
                    }
                }
            }
            Some("1") => {
                out.uidvalidity = fields.next().and_then(|v| v.parse().ok());
                out.next_uid = fields.next().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
    }
    for line in lines {
        let Some((uid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(uid) = uid.parse::<u32>() else {
            continue;
        };
        // Version 3: `uid [extension fields] :filename`; version 1: `uid filename`.
        let name = match rest
            .rfind(" :")
            .map(|i| &rest[i + 2..])
            .or_else(|| rest.strip_prefix(':'))
        {
            Some(n) => n,
            None => rest.split_whitespace().last().unwrap_or(""),
        };
        let base = base_name(name);
        if uid > 0 && !base.is_empty() {
            out.uids.insert(base.to_string(), uid);
        }
    }
    out
}

/// Writes a version 3 `dovecot-uidlist`.
pub fn write_uidlist(uidvalidity: u32, next_uid: u32, files: &[(u32, String)]) -> String {
    let mut s = format!("3 V{uidvalidity} N{next_uid}\n");
    for (uid, name) in files {
        s.push_str(&format!("{uid} :{}\n", base_name(name)));
    }
    s
}

/// Parses `dovecot-keywords` (`0 $Forwarded` per line): letter index → name.
pub fn parse_keywords(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some((i, name)) = line.split_once(' ') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else {
            continue;
        };
        if i < 26 && valid_keyword(name) {
            if out.len() <= i {
                out.resize(i + 1, String::new());
            }
            out[i] = name.to_string();
        }
    }
    out
}

/// Writes `dovecot-keywords` for `names` (index = letter).
pub fn write_keywords(names: &[String]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i} {n}\n"))
        .collect()
}

fn valid_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 200
        && k.bytes().all(|b| {
            b > b' '
                && b < 0x7f
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

/// A file name without its `:2,…` info (Dovecot's `,S=…,W=…` size fields stay: the
/// uidlist names files with them).
pub fn base_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(b, _)| b)
}

/// The flags and keywords a file name carries (`…:2,FRSab`); `keywords` maps letters.
pub fn flags_of(name: &str, keywords: &[String]) -> (u32, Vec<String>) {
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return (0, Vec::new());
    };
    let mut f = 0;
    let mut kws = Vec::new();
    for c in info.chars() {
        match c {
            'D' => f |= flags::DRAFT,
            'F' => f |= flags::FLAGGED,
            'R' => f |= flags::ANSWERED,
            'S' => f |= flags::SEEN,
            'T' => f |= flags::DELETED,
            'P' => push(&mut kws, "$Forwarded"),
            'a'..='z' => {
                let i = (c as u8 - b'a') as usize;
                if let Some(k) = keywords.get(i).filter(|k| !k.is_empty()) {
                    push(&mut kws, k);
                }
            }
            _ => {}
        }
    }
    (f, kws)
}

fn push(kws: &mut Vec<String>, k: &str) {
    if !kws.iter().any(|x| x.eq_ignore_ascii_case(k)) {
        kws.push(k.to_string());
    }
}

/// The `:2,` info for `flags` and `keywords`, assigning letters in `letters` (which
/// grows as new keywords appear; at most 26).
pub fn info_for(f: u32, keywords: &[&str], letters: &mut Vec<String>) -> String {
    let mut s = String::from(":2,");
    if f & flags::DRAFT != 0 {
        s.push('D');
    }
    if f & flags::FLAGGED != 0 {
        s.push('F');
    }
    if keywords
        .iter()
        .any(|k| k.eq_ignore_ascii_case("$Forwarded"))
    {
        s.push('P');
    }
    if f & flags::ANSWERED != 0 {
        s.push('R');
    }
    if f & flags::SEEN != 0 {
        s.push('S');
    }
    if f & flags::DELETED != 0 {
        s.push('T');
    }
    let mut idx: Vec<usize> = Vec::new();
    for k in keywords {
        if k.eq_ignore_ascii_case("$Forwarded") || !valid_keyword(k) {
            continue;
        }
        let i = match letters.iter().position(|l| l == k) {
            Some(i) => i,
            None if letters.len() < 26 => {
                letters.push(k.to_string());
                letters.len() - 1
            }
            None => continue,
        };
        idx.push(i);
    }
    idx.sort_unstable();
    idx.dedup();
    for i in idx {
        s.push((b'a' + i as u8) as char);
    }
    s
}

/// The mailbox name of a Maildir++ folder directory (`.Sent.2024` → `Sent/2024`);
/// `None` for names that are not folders. Dovecot's modified UTF-7 is decoded.
pub fn folder_name(dir: &str) -> Option<String> {
    let rest = dir.strip_prefix('.')?;
    if rest.is_empty() || rest == "." || rest.split('.').any(str::is_empty) {
        return None;
    }
    let decoded = decode_mutf7(rest)?;
    Some(decoded.replace('.', "/"))
}

/// The Maildir++ directory of a mailbox (`Sent/2024` → `.Sent.2024`); INBOX is the root.
pub fn folder_dir(mailbox: &str) -> Option<String> {
    if mailbox.eq_ignore_ascii_case("INBOX") {
        return None;
    }
    Some(format!(".{}", encode_mutf7(mailbox).replace('/', ".")))
}

/// IMAP's modified UTF-7 (RFC 3501 §5.1.3) to UTF-8; `None` when malformed.
pub fn decode_mutf7(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find('-')?;
        let chunk = &after[..end];
        if chunk.is_empty() {
            out.push('&');
        } else {
            let mut bits: u32 = 0;
            let mut n = 0;
            let mut units: Vec<u16> = Vec::new();
            for c in chunk.bytes() {
                let v = match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' => 62,
                    b',' => 63,
                    _ => return None,
                };
                bits = (bits << 6) | u32::from(v);
                n += 6;
                if n >= 16 {
                    n -= 16;
                    units.push(((bits >> n) & 0xffff) as u16);
                }
            }
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// UTF-8 to IMAP's modified UTF-7.
pub fn encode_mutf7(s: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
        out.push('&');
        let mut bits: u32 = 0;
        let mut n = 0;
        for u in pending.iter() {
            bits = (bits << 16) | u32::from(*u);
            n += 16;
            while n >= 6 {
                n -= 6;
                out.push(T[((bits >> n) & 63) as usize] as char);
            }
        }
        if n > 0 {
            out.push(T[((bits << (6 - n)) & 63) as usize] as char);
        }
        out.push('-');
        pending.clear();
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidlist_v3() {
        let u = parse_uidlist(
            "3 V1700000000 N5 G0123456789abcdef\n1 :1700.M1P2.host,S=120,W=124\n3 W300 :1701.M2P2.host\nbad line\n",
        );
        assert_eq!(u.uidvalidity, Some(1_700_000_000));
        assert_eq!(u.next_uid, Some(5));
        assert_eq!(u.uids.get("1700.M1P2.host,S=120,W=124"), Some(&1));
        assert_eq!(u.uids.get("1701.M2P2.host"), Some(&3));
        assert_eq!(u.uids.len(), 2);
    }

    #[test]
    fn multibyte_header_fields() {
        assert_eq!(parse_uidlist("3 \u{e9}.\n").uidvalidity, None);
    }

    #[test]
    fn flags_and_keywords() {
        let kws = parse_keywords("0 $Label1\n1 Work\n");
        let (f, k) = flags_of("123.M1.host,S=9:2,FRSab", &kws);
        assert_eq!(f, flags::FLAGGED | flags::ANSWERED | flags::SEEN);
        assert_eq!(k, vec!["$Label1".to_string(), "Work".to_string()]);
        assert_eq!(flags_of("123.M1.host", &kws), (0, vec![]));
        let mut letters = Vec::new();
        let info = info_for(
            flags::SEEN | flags::DRAFT,
            &["Work", "$Forwarded"],
            &mut letters,
        );
        assert_eq!(info, ":2,DPSa");
        assert_eq!(letters, vec!["Work".to_string()]);
    }

    #[test]
    fn folders() {
        assert_eq!(folder_name(".Sent.2024").as_deref(), Some("Sent/2024"));
        assert_eq!(
            folder_name(".&AMk-l&AOk-ments").as_deref(),
            Some("Éléments")
        );
        assert_eq!(folder_name("cur"), None);
        assert_eq!(folder_name(".."), None);
        assert_eq!(
            folder_dir("Éléments/2024").as_deref(),
            Some(".&AMk-l&AOk-ments.2024")
        );
        assert_eq!(folder_dir("INBOX"), None);
        assert_eq!(encode_mutf7("a&b"), "a&-b");
        assert_eq!(decode_mutf7("a&-b").as_deref(), Some("a&b"));
        assert_eq!(decode_mutf7("&Jjo-!").as_deref(), Some("☺!"));
        assert_eq!(decode_mutf7("&Jjo"), None);
    }
}
