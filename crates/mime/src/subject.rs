//! The base subject of RFC 5256 §2.1, used by `SORT SUBJECT` and
//! `THREAD=ORDEREDSUBJECT` / `THREAD=REFERENCES`: decoded, whitespace collapsed, with
//! `Re:`, `Fwd:`, `[blob]` leaders, `(fwd)` trailers and `[fwd: ...]` wrappers removed.
//!
//! Pure string work on one header value. Does no I/O.

use crate::encoded_word::decode_encoded_words;

/// The base subject of a raw (undecoded, possibly folded) Subject value. Case is
/// kept; compare with a case-insensitive collation.
pub fn base_subject(raw: &[u8]) -> String {
    let normalised = collapse_whitespace(&decode_encoded_words(raw));
    let mut subject = normalised.as_str();
    loop {
        subject = strip_trailers(subject); // step 2
        loop {
            // steps 3 to 5
            let before = subject.len();
            while let Some(rest) = strip_leader(subject) {
                subject = rest;
            }
            if let Some(rest) = strip_blob(subject).filter(|rest| !rest.is_empty()) {
                subject = rest;
            }
            if subject.len() == before {
                break;
            }
        }
        // step 6
        match strip_fwd_wrapper(subject) {
            Some(inner) => subject = inner,
            None => return subject.to_string(),
        }
    }
}

/// Step 1: tabs and line breaks become spaces; runs of spaces become one.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_space = false;
    for c in text.chars() {
        let c = if matches!(c, '\t' | '\r' | '\n') {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    out
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Step 2: removes `subj-trailer = "(fwd)" / WSP`, repeatedly.
fn strip_trailers(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim_end_matches(' ');
        let bytes = trimmed.as_bytes();
        let is_fwd_trailer =
            bytes.len() >= 5 && bytes[bytes.len() - 5..].eq_ignore_ascii_case(b"(fwd)");
        if is_fwd_trailer {
            text = &trimmed[..trimmed.len() - 5];
        } else {
            return trimmed;
        }
    }
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP` at the start; returns the rest.
fn strip_blob(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('[')?;
    let close = rest.find([']', '['])?;
    if rest.as_bytes()[close] != b']' {
        return None;
    }
    Some(rest[close + 1..].trim_start_matches(' '))
}

/// Step 3: `subj-leader = (*subj-blob subj-refwd) / WSP`; returns the rest.
fn strip_leader(text: &str) -> Option<&str> {
    if let Some(rest) = text.strip_prefix(' ') {
        return Some(rest);
    }
    let mut rest = text;
    while let Some(after) = strip_blob(rest) {
        rest = after;
    }
    strip_refwd(rest)
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`; returns the rest.
fn strip_refwd(text: &str) -> Option<&str> {
    let mut rest = if starts_with_ignore_case(text, "re") {
        &text[2..]
    } else if starts_with_ignore_case(text, "fwd") {
        &text[3..]
    } else if starts_with_ignore_case(text, "fw") {
        &text[2..]
    } else {
        return None;
    };
    rest = rest.trim_start_matches(' ');
    if let Some(after) = strip_blob(rest) {
        rest = after;
    }
    rest.strip_prefix(':')
}

/// Step 6: `"[fwd:" subject "]"`; returns the inner subject.
fn strip_fwd_wrapper(text: &str) -> Option<&str> {
    if starts_with_ignore_case(text, "[fwd:") && text.ends_with(']') && text.len() >= 6 {
        Some(&text[5..text.len() - 1])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subject_table() {
        let table: &[(&str, &str)] = &[
            ("", ""),
            ("Hello", "Hello"),
            ("Re: Hello", "Hello"),
            ("RE: re: Re:Hello", "Hello"),
            ("Fwd: Hello", "Hello"),
            ("FW: Hello", "Hello"),
            ("Re[2]: Hello", "Hello"),
            ("Re [2]: Hello", "Hello"),
            ("[list] Re: Hello", "Hello"),
            ("Re: [list] Re: Hello", "Hello"),
            ("[list] Hello", "Hello"),
            ("[list]", "[list]"),
            ("[a][b] [c]", "[c]"),
            ("Hello (fwd)", "Hello"),
            ("Hello (fwd) (FWD)  ", "Hello"),
            ("[Fwd: Re: Hello]", "Hello"),
            ("[fwd: [fwd: Hello (fwd)]]", "Hello"),
            ("Re:   Hello\t\r\n  world", "Hello world"),
            ("=?utf-8?q?Re=3A_Caf=C3=A9?=", "Caf\u{e9}"),
            ("Reply to this", "Reply to this"),
            ("Re", "Re"),
            ("Re:", ""),
            ("[unclosed Re: x", "[unclosed Re: x"),
            ("Fwd:[blob]x", "x"),
            ("Ré: x", "Ré: x"),
        ];
        for (raw, expected) in table {
            assert_eq!(base_subject(raw.as_bytes()), *expected, "{raw:?}");
        }
    }
}
