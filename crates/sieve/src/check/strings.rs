//! Strings as the checker sees them: `${…}` references split out into variable
//! references (RFC 5229 §3) and encoded characters decoded (RFC 5228 §2.4.2.4), plus
//! the small syntax checks on values written in scripts (variable names, header field
//! names, addresses, script names).
//!
//! Pure functions over text; errors are plain messages the caller places.

use std::collections::HashSet;

use crate::script::{Piece, Str, VarRef};

/// What the string scanner may interpret.
pub(crate) struct StringContext<'a> {
    pub encoded_character: bool,
    pub variables: bool,
    pub include: bool,
    pub globals: &'a HashSet<String>,
}

/// Splits `raw` into text and variable references and decodes encoded characters.
/// Returns the names of local variables referenced alongside the string.
pub(crate) fn compile_string(
    raw: &str,
    cx: &StringContext<'_>,
    locals: &mut Vec<String>,
) -> Result<Str, String> {
    if !(cx.encoded_character || cx.variables) || !raw.contains("${") {
        return Ok(Str::Lit(raw.to_string()));
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let bytes = raw.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'$' && bytes.get(at + 1) == Some(&b'{') {
            let inner_start = at + 2;
            if let Some(close) = raw.get(inner_start..).and_then(|r| r.find('}')) {
                let inner = raw
                    .get(inner_start..inner_start + close)
                    .unwrap_or_default();
                let after = inner_start + close + 1;
                if cx.encoded_character
                    && let Some(decoded) = decode_encoded(inner)?
                {
                    text.extend_from_slice(&decoded);
                    at = after;
                    continue;
                }
                if cx.variables
                    && let Some(var) = variable_reference(inner, cx)?
                {
                    flush_text(&mut text, &mut pieces)?;
                    if let VarRef::Local(name) = &var
                        && !locals.contains(name)
                    {
                        locals.push(name.clone());
                    }
                    pieces.push(Piece::Var(var));
                    at = after;
                    continue;
                }
            }
        }
        text.push(bytes[at]);
        at += 1;
    }
    flush_text(&mut text, &mut pieces)?;
    match pieces.as_slice() {
        [] => Ok(Str::Lit(String::new())),
        [Piece::Text(only)] => Ok(Str::Lit(only.clone())),
        _ => Ok(Str::Tmpl(pieces)),
    }
}

fn flush_text(text: &mut Vec<u8>, pieces: &mut Vec<Piece>) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let s = String::from_utf8(std::mem::take(text)).map_err(|_| {
        "the octets of a ${hex:…} encoded character do not form valid UTF-8 (RFC 5228 §2.4.2.4)"
            .to_string()
    })?;
    if let Some(Piece::Text(previous)) = pieces.last_mut() {
        previous.push_str(&s);
    } else {
        pieces.push(Piece::Text(s));
    }
    Ok(())
}

/// `hex:` or `unicode:` followed by blank-separated hex numbers (RFC 5228
/// §2.4.2.4). `Ok(None)` when `inner` is not of that form (then it stays text).
fn decode_encoded(inner: &str) -> Result<Option<Vec<u8>>, String> {
    let (kind, rest) = match inner.split_once(':') {
        Some((kind, rest)) => (kind.to_ascii_lowercase(), rest),
        None => return Ok(None),
    };
    let is_blank = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let items: Vec<&str> = rest.split(is_blank).filter(|s| !s.is_empty()).collect();
    if !items
        .iter()
        .all(|s| s.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Ok(None);
    }
    match kind.as_str() {
        "hex" => {
            let mut out = Vec::new();
            for item in items {
                if item.len() % 2 != 0 {
                    return Ok(None);
                }
                for pair in item.as_bytes().chunks(2) {
                    let pair = std::str::from_utf8(pair).unwrap_or("00");
                    out.push(u8::from_str_radix(pair, 16).unwrap_or(0));
                }
            }
            Ok(Some(out))
        }
        "unicode" => {
            let mut out = String::new();
            for item in items {
                let trimmed = item.trim_start_matches('0');
                if trimmed.len() > 6 {
                    return Err(format!(
                        "${{unicode:{item}}} is not a Unicode scalar value (RFC 5228 §2.4.2.4)"
                    ));
                }
                let value = u32::from_str_radix(if trimmed.is_empty() { "0" } else { trimmed }, 16)
                    .unwrap_or(u32::MAX);
                let c = char::from_u32(value).ok_or_else(|| {
                    format!("${{unicode:{item}}} is not a Unicode scalar value (RFC 5228 §2.4.2.4)")
                })?;
                out.push(c);
            }
            Ok(Some(out.into_bytes()))
        }
        _ => Ok(None),
    }
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `${…}` body that names a variable (RFC 5229 §3: `num-variable / identifier
/// *("." identifier)`); `Ok(None)` when it does not (then it stays text).
fn variable_reference(inner: &str, cx: &StringContext<'_>) -> Result<Option<VarRef>, String> {
    if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
        let n = inner.trim_start_matches('0').parse::<usize>().unwrap_or(
            if inner.trim_start_matches('0').is_empty() {
                0
            } else {
                usize::MAX
            },
        );
        return Ok(Some(VarRef::Match(n)));
    }
    if !inner.split('.').all(is_identifier) {
        return Ok(None);
    }
    resolve_name(inner, cx).map(Some)
}

/// A variable name as `set` and `${…}` use it, resolved to local or global.
pub(crate) fn resolve_name(name: &str, cx: &StringContext<'_>) -> Result<VarRef, String> {
    let lower = name.to_ascii_lowercase();
    match lower.split_once('.') {
        None => Ok(if cx.globals.contains(&lower) {
            VarRef::Global(lower)
        } else {
            VarRef::Local(lower)
        }),
        Some(("global", rest)) if cx.include && is_identifier(rest) => {
            Ok(VarRef::Global(rest.to_string()))
        }
        Some((namespace, _)) => Err(format!(
            "unknown variable namespace '{namespace}' in '{name}' (only 'global.', with require \"include\", is known)"
        )),
    }
}

/// A header field name: printable US-ASCII without ':' (RFC 5322 §3.6.8).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// An RFC 5322 addr-spec (`local@domain`), optionally in angle brackets, as
/// `redirect` and the vacation `:from`/`:addresses` need (RFC 5228 §4.2).
pub(crate) fn is_addr_spec(address: &str) -> bool {
    let address = address.trim();
    let address = address
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(address);
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = is_dot_atom(local)
        || (local.len() >= 2
            && local.starts_with('"')
            && local.ends_with('"')
            && !local[1..local.len() - 1].contains(['\r', '\n']));
    let domain_ok = is_dot_atom(domain)
        || (domain.starts_with('[') && domain.ends_with(']') && domain.len() > 2);
    local_ok && domain_ok
}

/// A name an included script may have (RFC 6609 §3.2: a script name as ManageSieve
/// allows, RFC 5804 §1.6, without '/').
pub(crate) fn is_script_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 255
        && !name.chars().any(|c| c.is_control() || c == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(globals: &HashSet<String>) -> StringContext<'_> {
        StringContext {
            encoded_character: true,
            variables: true,
            include: true,
            globals,
        }
    }

    #[test]
    fn variables_and_encoded_characters() {
        let globals: HashSet<String> = ["g".to_string()].into();
        let mut locals = Vec::new();
        let s = compile_string(
            "a${Foo}b${1}${g}${global.h}${x-y}${hex:4a 4B}${unicode:e9}",
            &cx(&globals),
            &mut locals,
        )
        .unwrap();
        assert_eq!(
            s,
            Str::Tmpl(vec![
                Piece::Text("a".into()),
                Piece::Var(VarRef::Local("foo".into())),
                Piece::Text("b".into()),
                Piece::Var(VarRef::Match(1)),
                Piece::Var(VarRef::Global("g".into())),
                Piece::Var(VarRef::Global("h".into())),
                Piece::Text("${x-y}JKé".into()),
            ])
        );
        assert_eq!(locals, vec!["foo".to_string()]);
        assert_eq!(
            compile_string("${hex:zz}${", &cx(&globals), &mut locals).unwrap(),
            Str::Lit("${hex:zz}${".into())
        );
        assert!(compile_string("${unicode:D800}", &cx(&globals), &mut locals).is_err());
        assert!(compile_string("${hex:ff}", &cx(&globals), &mut locals).is_err());
        assert!(compile_string("${foo.bar}", &cx(&globals), &mut locals).is_err());
    }

    #[test]
    fn addresses_and_names() {
        for good in ["a@b.c", "<a.b@c>", "\"a b\"@c", "x@[127.0.0.1]"] {
            assert!(is_addr_spec(good), "{good}");
        }
        for bad in ["", "a", "a@", "@b", "a..b@c", "a b@c", "a@b..c"] {
            assert!(!is_addr_spec(bad), "{bad}");
        }
        assert!(is_header_name("X-Foo"));
        assert!(!is_header_name("X Foo") && !is_header_name("a:b") && !is_header_name(""));
    }
}
