//! Address lists (RFC 5322 §3.4, with the obsolete route syntax of §4.4) parsed into
//! the IMAP ENVELOPE address form of RFC 9051 §7.5.2: display name, source route
//! (adl), mailbox, host, with group start and end markers.
//!
//! Tolerates real-world junk: unquoted commas and dots in names, missing brackets or
//! domains, stray specials. Display names stay raw (encoded words intact) because
//! IMAP returns them so. Does no I/O.

use serde::{Deserialize, Serialize};

use crate::charset::decode_undeclared;

/// Host placed in an address that has no domain (a NIL host would mean a group).
pub const MISSING_DOMAIN: &str = "MISSING_DOMAIN";
/// Mailbox placed in an address like `<>` or `<@host>` that has no local part.
pub const MISSING_MAILBOX: &str = "MISSING_MAILBOX";

/// One ENVELOPE address. A group start is `(None, None, Some(group name), None)`;
/// a group end is all `None` (RFC 9051 §7.5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Display name, raw (unquoted, encoded words not decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Obsolete source route, such as `@relay1,@relay2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adl: Option<String>,
    /// Local part, or the group name in a group start marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// Domain; `None` only in group markers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Address {
    /// Whether this is a group start marker.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// Whether this is a group end marker.
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }

    /// `mailbox@host` for a real address, `None` for group markers.
    pub fn addr_spec(&self) -> Option<String> {
        match (&self.mailbox, &self.host) {
            (Some(mailbox), Some(host)) => Some(format!("{mailbox}@{host}")),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// Atom or dot-atom text (any run of non-special bytes), raw span.
    Word(usize, usize),
    /// Quoted string: raw span (with quotes) and unescaped content.
    Quoted(usize, usize, Vec<u8>),
    /// Comment content (outer parentheses removed).
    Comment(Vec<u8>),
    /// Domain literal, raw span with brackets.
    Literal(usize, usize),
    /// One of `< > @ , : ;`.
    Special(u8),
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(byte: u8) -> bool {
    b"()<>[]:;@,\"".contains(&byte)
}

fn tokenize(value: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < value.len() {
        let byte = value[i];
        match byte {
            _ if is_space(byte) => i += 1,
            b'"' => {
                let (content, end) = read_delimited(value, i + 1, b'"');
                tokens.push(Token::Quoted(i, end, content));
                i = end;
            }
            b'(' => {
                let (content, end) = read_comment(value, i + 1);
                tokens.push(Token::Comment(content));
                i = end;
            }
            b'[' => {
                let end = value[i..]
                    .iter()
                    .position(|&b| b == b']')
                    .map_or(value.len(), |p| i + p + 1);
                tokens.push(Token::Literal(i, end));
                i = end;
            }
            b'<' | b'>' | b'@' | b',' | b':' | b';' => {
                tokens.push(Token::Special(byte));
                i += 1;
            }
            b']' | b')' => i += 1, // stray closer
            _ => {
                let start = i;
                i += 1; // this byte is neither special nor whitespace
                while i < value.len() && !is_special(value[i]) && !is_space(value[i]) {
                    i += 1;
                }
                tokens.push(Token::Word(start, i));
            }
        }
    }
    tokens
}

/// Reads up to an unescaped `close`; returns the unescaped content and the offset
/// after the closer (or the end).
fn read_delimited(value: &[u8], mut i: usize, close: u8) -> (Vec<u8>, usize) {
    let mut content = Vec::new();
    while i < value.len() {
        let byte = value[i];
        i += 1;
        if byte == close {
            return (content, i);
        }
        match byte {
            b'\\' if i < value.len() => {
                content.push(value[i]);
                i += 1;
            }
            b'\r' | b'\n' => {}
            _ => content.push(byte),
        }
    }
    (content, i)
}

fn read_comment(value: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut content = Vec::new();
    let mut depth = 1usize;
    while i < value.len() {
        let byte = value[i];
        i += 1;
        match byte {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (content, i);
                }
            }
            b'\\' if i < value.len() => {
                content.push(value[i]);
                i += 1;
                continue;
            }
            b'\r' | b'\n' => continue,
            _ => {}
        }
        content.push(byte);
    }
    (content, i)
}

fn text(bytes: &[u8]) -> String {
    decode_undeclared(bytes, encoding_rs::WINDOWS_1252).into_owned()
}

/// Parses an address list header value (From, To, Cc, ...). Never fails: entries
/// that hold nothing usable are skipped.
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let tokens = tokenize(value);
    let mut out = Vec::new();
    let mut in_group = false;
    let mut i = 0;
    loop {
        let mut entry: Vec<&Token> = Vec::new();
        let mut in_angle = false;
        while let Some(token) = tokens.get(i) {
            match token {
                Token::Special(b'<') => in_angle = true,
                Token::Special(b'>') => in_angle = false,
                Token::Special(b',') => {
                    let route_continues = matches!(tokens.get(i + 1), Some(Token::Special(b'@')));
                    if !in_angle || !route_continues {
                        break;
                    }
                }
                Token::Special(b';') if in_group && !in_angle => break,
                Token::Special(b':') if !in_group && !in_angle && !has_at(&entry) => {
                    out.push(Address {
                        mailbox: Some(phrase(value, &entry).unwrap_or_default()),
                        ..Address::default()
                    });
                    in_group = true;
                    entry.clear();
                    i += 1;
                    continue;
                }
                _ => {}
            }
            entry.push(token);
            i += 1;
        }
        if let Some(address) = build_address(value, &entry) {
            out.push(address);
        }
        let ends_group = matches!(tokens.get(i), Some(Token::Special(b';')));
        if in_group && (ends_group || i >= tokens.len()) {
            out.push(Address::default());
            in_group = false;
        }
        if i >= tokens.len() {
            return out;
        }
        i += 1;
    }
}

fn has_at(entry: &[&Token]) -> bool {
    entry.iter().any(|t| matches!(t, Token::Special(b'@')))
}

/// Display-name text: words raw, quoted strings unquoted, joined by single spaces.
fn phrase(value: &[u8], tokens: &[&Token]) -> Option<String> {
    let mut out: Vec<u8> = Vec::new();
    for token in tokens {
        let piece: &[u8] = match token {
            Token::Word(start, end) | Token::Literal(start, end) => &value[*start..*end],
            Token::Quoted(_, _, content) => content,
            Token::Special(byte) if *byte != b'<' && *byte != b'>' => std::slice::from_ref(byte),
            _ => continue,
        };
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(piece);
    }
    let trimmed = out.trim_ascii();
    (!trimmed.is_empty()).then(|| text(trimmed))
}

/// Raw text of address tokens, whitespace and comments removed.
fn joined_raw(value: &[u8], tokens: &[&Token]) -> String {
    let mut out: Vec<u8> = Vec::new();
    for token in tokens {
        match token {
            Token::Word(start, end) | Token::Quoted(start, end, _) | Token::Literal(start, end) => {
                out.extend_from_slice(&value[*start..*end]);
            }
            Token::Special(byte) => out.push(*byte),
            Token::Comment(_) => {}
        }
    }
    text(&out)
}

fn first_comment(tokens: &[&Token]) -> Option<String> {
    tokens.iter().find_map(|t| match t {
        Token::Comment(content) if !content.trim_ascii().is_empty() => {
            Some(text(content.trim_ascii()))
        }
        _ => None,
    })
}

fn build_address(value: &[u8], entry: &[&Token]) -> Option<Address> {
    let meaningful: Vec<&Token> = entry
        .iter()
        .copied()
        .filter(|t| !matches!(t, Token::Comment(_)))
        .collect();
    if meaningful.is_empty() {
        return None;
    }
    let (name, spec) = match meaningful.iter().position(|t| **t == Token::Special(b'<')) {
        Some(open) => {
            let inner_end = meaningful[open..]
                .iter()
                .position(|t| **t == Token::Special(b'>'))
                .map_or(meaningful.len(), |p| open + p);
            let name = phrase(value, &meaningful[..open]);
            (name, &meaningful[open + 1..inner_end])
        }
        None => (None, &meaningful[..]),
    };
    let name = name.or_else(|| first_comment(entry));
    let (adl, spec) = match spec.iter().position(|t| **t == Token::Special(b':')) {
        Some(colon) if matches!(spec.first(), Some(Token::Special(b'@'))) => {
            (Some(joined_raw(value, &spec[..colon])), &spec[colon + 1..])
        }
        _ => (None, spec),
    };
    let (mailbox, host) = match spec.iter().rposition(|t| **t == Token::Special(b'@')) {
        Some(at) => (
            joined_raw(value, &spec[..at]),
            joined_raw(value, &spec[at + 1..]),
        ),
        None => (joined_raw(value, spec), String::new()),
    };
    if mailbox.is_empty() && host.is_empty() && name.is_none() {
        return None;
    }
    let non_empty = |s: String, default: &str| if s.is_empty() { default.to_string() } else { s };
    Some(Address {
        name,
        adl,
        mailbox: Some(non_empty(mailbox, MISSING_MAILBOX)),
        host: Some(non_empty(host, MISSING_DOMAIN)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(
        name: Option<&str>,
        adl: Option<&str>,
        mailbox: Option<&str>,
        host: Option<&str>,
    ) -> Address {
        Address {
            name: name.map(Into::into),
            adl: adl.map(Into::into),
            mailbox: mailbox.map(Into::into),
            host: host.map(Into::into),
        }
    }

    fn plain(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        addr(name, None, Some(mailbox), Some(host))
    }

    #[test]
    fn rfc5322_appendix_a_examples() {
        let table: Vec<(&str, Vec<Address>)> = vec![
            (
                "John Doe <jdoe@machine.example>",
                vec![plain(Some("John Doe"), "jdoe", "machine.example")],
            ),
            (
                "Mary Smith <mary@example.net>",
                vec![plain(Some("Mary Smith"), "mary", "example.net")],
            ),
            (
                "\"Joe Q. Public\" <john.q.public@example.com>",
                vec![plain(Some("Joe Q. Public"), "john.q.public", "example.com")],
            ),
            (
                "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
                vec![
                    plain(Some("Mary Smith"), "mary", "x.test"),
                    plain(None, "jdoe", "example.org"),
                    plain(Some("Who?"), "one", "y.test"),
                ],
            ),
            (
                "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
                vec![
                    plain(None, "boss", "nil.test"),
                    plain(Some("Giant; \"Big\" Box"), "sysservices", "example.net"),
                ],
            ),
            (
                "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
                vec![
                    addr(None, None, Some("A Group"), None),
                    plain(Some("Ed Jones"), "c", "a.test"),
                    plain(None, "joe", "where.test"),
                    plain(Some("John"), "jdoe", "one.test"),
                    Address::default(),
                ],
            ),
            (
                "Undisclosed recipients:;",
                vec![
                    addr(None, None, Some("Undisclosed recipients"), None),
                    Address::default(),
                ],
            ),
            (
                "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
                vec![plain(Some("Pete"), "pete", "silly.test")],
            ),
            (
                "Joe Q. Public <john.q.public@example.com>",
                vec![plain(Some("Joe Q. Public"), "john.q.public", "example.com")],
            ),
            (
                "Mary Smith <@node.test:mary@example.net>",
                vec![addr(
                    Some("Mary Smith"),
                    Some("@node.test"),
                    Some("mary"),
                    Some("example.net"),
                )],
            ),
            (
                "<@a.test,@b.test:joe@c.test>",
                vec![addr(
                    None,
                    Some("@a.test,@b.test"),
                    Some("joe"),
                    Some("c.test"),
                )],
            ),
            (
                "John Doe <jdoe@machine(comment).  example>",
                vec![plain(Some("John Doe"), "jdoe", "machine.example")],
            ),
        ];
        for (value, expected) in table {
            assert_eq!(parse_address_list(value.as_bytes()), expected, "{value}");
        }
    }

    #[test]
    fn real_world_junk() {
        let table: Vec<(&[u8], Vec<Address>)> = vec![
            (b"", vec![]),
            (b" , ,", vec![]),
            (
                b"jdoe@example.org (John Doe)",
                vec![plain(Some("John Doe"), "jdoe", "example.org")],
            ),
            (b"jdoe", vec![plain(None, "jdoe", MISSING_DOMAIN)]),
            (b"<>", vec![]),
            (
                b"Nobody <>",
                vec![plain(Some("Nobody"), MISSING_MAILBOX, MISSING_DOMAIN)],
            ),
            (
                b"<jdoe@example.org",
                vec![plain(None, "jdoe", "example.org")],
            ),
            (
                b"Doe, John <jdoe@example.org>",
                vec![
                    plain(None, "Doe", MISSING_DOMAIN),
                    plain(Some("John"), "jdoe", "example.org"),
                ],
            ),
            (
                b"=?utf-8?q?J=C3=B6rg?= <j@example.de>",
                vec![plain(Some("=?utf-8?q?J=C3=B6rg?="), "j", "example.de")],
            ),
            (
                b"\"a@b\" <a@b.test>",
                vec![plain(Some("a@b"), "a", "b.test")],
            ),
            (
                b"\"john doe\"@example.org",
                vec![plain(None, "\"john doe\"", "example.org")],
            ),
            (b"a@b@c.test", vec![plain(None, "a@b", "c.test")]),
            (
                b"jdoe@[192.0.2.1]",
                vec![plain(None, "jdoe", "[192.0.2.1]")],
            ),
            (
                b"J\xf6rg <j@example.de>",
                vec![plain(Some("J\u{f6}rg"), "j", "example.de")],
            ),
            (
                b"Ann <a@x.test, Bob <b@y.test>",
                vec![
                    plain(Some("Ann"), "a", "x.test"),
                    plain(Some("Bob"), "b", "y.test"),
                ],
            ),
            (
                b"group: a@x.test",
                vec![
                    addr(None, None, Some("group"), None),
                    plain(None, "a", "x.test"),
                    Address::default(),
                ],
            ),
            (
                b"\"unterminated <a@x.test>",
                vec![plain(None, "\"unterminated <a@x.test>", MISSING_DOMAIN)],
            ),
            (b"(only a comment)", vec![]),
        ];
        for (value, expected) in table {
            assert_eq!(
                parse_address_list(value),
                expected,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn group_marker_predicates() {
        let list = parse_address_list(b"G: a@x.test;");
        assert!(list[0].is_group_start());
        assert!(!list[1].is_group_start() && !list[1].is_group_end());
        assert_eq!(list[1].addr_spec().as_deref(), Some("a@x.test"));
        assert!(list[2].is_group_end());
    }
}
