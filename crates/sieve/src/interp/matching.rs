//! Comparators (RFC 5228 §2.7.3, RFC 4790 §9: i;octet, i;ascii-casemap,
//! i;ascii-numeric) and match types (`:is`, `:contains`, `:matches` of RFC 5228
//! §2.7.1, `:value`/`:count` of RFC 5231, `:regex` of draft-ietf-sieve-regex), with
//! the match variables of RFC 5229 §3.2.
//!
//! Pure functions. The wildcard matcher is the linear-space, bounded-backtrack kind
//! and charges its work to a budget so a hostile pattern cannot run long; regular
//! expressions use the linear-time `regex` crate with a compiled-size cap.

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};

use crate::script::{Comparator, MatchKind, Relation};

/// The budget ran out.
#[derive(Debug)]
pub(crate) struct Exhausted;

fn charge(budget: &mut u64, cost: usize) -> Result<(), Exhausted> {
    let cost = u64::try_from(cost).unwrap_or(u64::MAX);
    *budget = budget.checked_sub(cost).ok_or(Exhausted)?;
    Ok(())
}

/// RFC 4790 §9.1.1: the number a string starts with (its leading digits without
/// leading zeros), or `None` for "positive infinity".
fn numeric_prefix(s: &str) -> Option<&str> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number = s.get(..digits).unwrap_or_default();
    let trimmed = number.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed })
}

fn numeric_order(a: &str, b: &str) -> Ordering {
    match (numeric_prefix(a), numeric_prefix(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
    }
}

/// The ordering a comparator defines (RFC 4790 §9.2: i;ascii-casemap compares the
/// upper-cased strings).
pub(crate) fn order(comparator: Comparator, a: &str, b: &str) -> Ordering {
    match comparator {
        Comparator::Octet => a.as_bytes().cmp(b.as_bytes()),
        Comparator::AsciiCasemap => a
            .bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
        Comparator::AsciiNumeric => numeric_order(a, b),
    }
}

fn equal(comparator: Comparator, a: &str, b: &str) -> bool {
    match comparator {
        Comparator::Octet => a == b,
        Comparator::AsciiCasemap => a.eq_ignore_ascii_case(b),
        Comparator::AsciiNumeric => numeric_order(a, b) == Ordering::Equal,
    }
}

fn contains(comparator: Comparator, haystack: &str, needle: &str) -> bool {
    match comparator {
        Comparator::AsciiCasemap => haystack
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase()),
        _ => haystack.contains(needle),
    }
}

fn relation_holds(relation: Relation, ordering: Ordering) -> bool {
    match relation {
        Relation::Gt => ordering == Ordering::Greater,
        Relation::Ge => ordering != Ordering::Less,
        Relation::Lt => ordering == Ordering::Less,
        Relation::Le => ordering != Ordering::Greater,
        Relation::Eq => ordering == Ordering::Equal,
        Relation::Ne => ordering != Ordering::Equal,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GlobToken {
    Byte(u8),
    One,
    Many,
}

fn glob_tokens(pattern: &str) -> Vec<GlobToken> {
    let mut out = Vec::new();
    let mut bytes = pattern.bytes();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'*' => GlobToken::Many,
            b'?' => GlobToken::One,
            b'\\' => GlobToken::Byte(bytes.next().unwrap_or(b'\\')),
            other => GlobToken::Byte(other),
        });
    }
    out
}

fn byte_eq(comparator: Comparator, a: u8, b: u8) -> bool {
    match comparator {
        Comparator::AsciiCasemap => a.eq_ignore_ascii_case(&b),
        _ => a == b,
    }
}

/// `:matches` (RFC 5228 §2.7.1): `*` matches any sequence, `?` one character, `\`
/// escapes. i;octet and i;ascii-casemap compare octets (RFC 4790 §9), so a character
/// is an octet here, as in Pigeonhole; a capture that splits a UTF-8 sequence is
/// repaired with U+FFFD. On success returns the text of each wildcard, each `*` taking as little
/// as it can from the left (RFC 5229 §3.2). Backtracks only to the last `*`, so the
/// work is at most value length × pattern length, charged to `budget`.
pub(crate) fn glob(
    comparator: Comparator,
    value: &str,
    pattern: &str,
    budget: &mut u64,
) -> Result<Option<Vec<String>>, Exhausted> {
    let tokens = glob_tokens(pattern);
    let text = value.as_bytes();
    let wildcards = tokens
        .iter()
        .filter(|t| !matches!(t, GlobToken::Byte(_)))
        .count();
    // Capture (start, end) per wildcard, indexed by the wildcard's ordinal.
    let mut captures = vec![(0usize, 0usize); wildcards];
    let ordinal: Vec<usize> = {
        let mut n = 0;
        tokens
            .iter()
            .map(|t| {
                let here = n;
                if !matches!(t, GlobToken::Byte(_)) {
                    n += 1;
                }
                here
            })
            .collect()
    };
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None; // (token index of '*', text index it resumes at)
    loop {
        charge(budget, 1)?;
        if ti < tokens.len() {
            match tokens[ti] {
                GlobToken::Many => {
                    captures[ordinal[ti]] = (si, si);
                    star = Some((ti, si));
                    ti += 1;
                    continue;
                }
                GlobToken::One if si < text.len() => {
                    captures[ordinal[ti]] = (si, si + 1);
                    ti += 1;
                    si += 1;
                    continue;
                }
                GlobToken::Byte(c) if si < text.len() && byte_eq(comparator, c, text[si]) => {
                    ti += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        } else if si == text.len() {
            let out = captures
                .iter()
                .map(|&(a, b)| {
                    String::from_utf8_lossy(text.get(a..b).unwrap_or_default()).into_owned()
                })
                .collect();
            return Ok(Some(out));
        }
        // Mismatch: let the last '*' take one more character.
        match star {
            Some((star_ti, star_si)) if star_si < text.len() => {
                star = Some((star_ti, star_si + 1));
                captures[ordinal[star_ti]].1 = star_si + 1;
                ti = star_ti + 1;
                si = star_si + 1;
            }
            _ => return Ok(None),
        }
    }
}

/// Compiles a `:regex` key (draft-ietf-sieve-regex §3) with the size cap;
/// i;ascii-casemap makes it case-insensitive.
pub(crate) fn build_regex(
    pattern: &str,
    comparator: Comparator,
    max_size: usize,
) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(comparator == Comparator::AsciiCasemap)
        .size_limit(max_size)
        .dfa_size_limit(max_size)
        .nest_limit(64)
        .build()
        .map_err(|err| match err {
            regex::Error::CompiledTooBig(limit) => format!(
                "the regular expression \"{pattern}\" is too large once compiled (limit {limit} bytes); simplify it"
            ),
            regex::Error::Syntax(text) => {
                let last = text.lines().rfind(|l| l.starts_with("error:")).unwrap_or("");
                format!(
                    "invalid regular expression \"{pattern}\": {}",
                    last.trim_start_matches("error:").trim()
                )
            }
            other => format!("invalid regular expression \"{pattern}\": {other}"),
        })
}

/// What a successful match leaves in the match variables.
pub(crate) enum MatchResult {
    No,
    Yes,
    /// Matched by `:matches` or `:regex`: `${0}` is the whole value, then the parts.
    WithCaptures(Vec<String>),
}

/// Compares one value with one key under a match type other than `:count`.
pub(crate) fn match_one(
    kind: MatchKind,
    comparator: Comparator,
    value: &str,
    key: &str,
    regex: Option<&Regex>,
    budget: &mut u64,
) -> Result<MatchResult, Exhausted> {
    charge(budget, 1 + (value.len() + key.len()) / 64)?;
    let yes = |b: bool| if b { MatchResult::Yes } else { MatchResult::No };
    Ok(match kind {
        MatchKind::Is => yes(equal(comparator, value, key)),
        MatchKind::Contains => yes(contains(comparator, value, key)),
        MatchKind::Value(relation) => yes(relation_holds(relation, order(comparator, value, key))),
        MatchKind::Count(_) => MatchResult::No,
        MatchKind::Matches => match glob(comparator, value, key, budget)? {
            Some(parts) => {
                let mut all = Vec::with_capacity(parts.len() + 1);
                all.push(value.to_string());
                all.extend(parts);
                MatchResult::WithCaptures(all)
            }
            None => MatchResult::No,
        },
        MatchKind::Regex => match regex.and_then(|r| r.captures(value)) {
            Some(caps) => MatchResult::WithCaptures(
                caps.iter()
                    .map(|m| m.map_or_else(String::new, |m| m.as_str().to_string()))
                    .collect(),
            ),
            None => MatchResult::No,
        },
    })
}

/// `:count` (RFC 5231 §4.2): the number of values compared with a key.
pub(crate) fn count_matches(
    relation: Relation,
    comparator: Comparator,
    count: usize,
    key: &str,
) -> bool {
    relation_holds(relation, order(comparator, &count.to_string(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: Comparator, v: &str, p: &str) -> Option<Vec<String>> {
        glob(c, v, p, &mut 1_000_000).unwrap()
    }

    #[test]
    fn wildcards_of_rfc_5228_section_2_7_1() {
        use Comparator::*;
        let table: &[(Comparator, &str, &str, Option<&[&str]>)] = &[
            (
                AsciiCasemap,
                "Invoice 42",
                "*o*e*",
                Some(&["Inv", "ic", " 42"]),
            ),
            (
                AsciiCasemap,
                "Invoice 42",
                "I??o*",
                Some(&["n", "v", "ice 42"]),
            ),
            (AsciiCasemap, "abc", "A*C", Some(&["b"])),
            (Octet, "abc", "A*C", None),
            (Octet, "a*c", "a\\*c", Some(&[])),
            (Octet, "abc", "a\\*c", None),
            (Octet, "", "*", Some(&[""])),
            (Octet, "", "?", None),
            (Octet, "é!", "??!", Some(&["\u{fffd}", "\u{fffd}"])),
            (Octet, "é!", "?!", None),
            (Octet, "aaa", "*a", Some(&["aa"])),
            (Octet, "x@y@z", "*@*", Some(&["x", "y@z"])),
        ];
        for (c, value, pattern, expected) in table {
            let got = m(*c, value, pattern);
            let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{value:?} :matches {pattern:?}");
        }
    }

    #[test]
    fn wildcard_work_is_bounded() {
        let value = "a".repeat(5000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(glob(Comparator::Octet, &value, &pattern, &mut 10_000).is_err());
    }

    #[test]
    fn numeric_comparator_of_rfc_4790_section_9_1() {
        use Ordering::*;
        let table = [
            ("10", "9", Greater),
            ("007", "7", Equal),
            ("3abc", "3", Equal),
            ("abc", "999999999999999999999999", Greater),
            ("abc", "", Equal),
            ("0", "", Less),
        ];
        for (a, b, o) in table {
            assert_eq!(order(Comparator::AsciiNumeric, a, b), o, "{a} {b}");
        }
        assert_eq!(order(Comparator::AsciiCasemap, "a", "_"), Ordering::Less);
        assert!(count_matches(
            Relation::Ge,
            Comparator::AsciiNumeric,
            3,
            "2"
        ));
    }

    #[test]
    fn regex_errors_are_readable() {
        assert!(
            build_regex("(a)\\1", Comparator::Octet, 1 << 20)
                .unwrap_err()
                .contains("backreferences")
        );
        assert!(
            build_regex("a{1000}{1000}", Comparator::Octet, 1 << 20)
                .unwrap_err()
                .contains("too large")
        );
        assert!(build_regex("(x+x+)+y", Comparator::Octet, 1 << 20).is_ok());
    }
}
