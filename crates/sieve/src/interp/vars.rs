//! Variables at run time: expanding `${…}` in strings (RFC 5229 §3), `set` and its
//! modifiers (RFC 5229 §4), the value-size and count limits, and IMAP flag lists
//! (RFC 5232 §3: setflag, addflag, removeflag on the internal variable or a named
//! one).
//!
//! Never fails on a value: over-long values are truncated at a character boundary.

use crate::error::RuntimeError;
use crate::script::{FlagOp, Modifier, Piece, Str, VarRef};

use super::{Frame, Run};

/// Cuts `value` to at most `max` bytes at a character boundary (RFC 5229 §3 allows
/// truncation).
pub(crate) fn truncate(mut value: String, max: usize) -> String {
    if value.len() > max {
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
    value
}

fn first_char(value: &str, upper: bool) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(c) if upper => c.to_ascii_uppercase().to_string() + chars.as_str(),
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Applies `set` modifiers, already sorted by precedence (RFC 5229 §4.1).
pub(crate) fn apply_modifiers(value: &str, modifiers: &[Modifier]) -> String {
    let mut value = value.to_string();
    for modifier in modifiers {
        value = match modifier {
            Modifier::Lower => value.to_ascii_lowercase(),
            Modifier::Upper => value.to_ascii_uppercase(),
            Modifier::LowerFirst => first_char(&value, false),
            Modifier::UpperFirst => first_char(&value, true),
            Modifier::QuoteWildcard => {
                let mut out = String::with_capacity(value.len());
                for c in value.chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out
            }
            Modifier::QuoteRegex => {
                let mut out = String::with_capacity(value.len());
                for c in value.chars() {
                    if "\\.+*?[](){}^$|".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out
            }
            // RFC 5435 §6: percent-encode all but the unreserved characters of
            // RFC 3986 §2.3.
            Modifier::EncodeUrl => {
                let mut out = String::with_capacity(value.len());
                for b in value.bytes() {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        out.push(char::from(b));
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
                out
            }
            Modifier::Length => value.chars().count().to_string(),
        };
    }
    value
}

/// The canonical spelling of a system flag (RFC 3501 §2.3.2); keywords as written.
fn canonical_flag(flag: &str) -> String {
    const SYSTEM: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];
    SYSTEM
        .iter()
        .find(|s| s.eq_ignore_ascii_case(flag))
        .map_or_else(|| flag.to_string(), |s| s.to_string())
}

/// Splits flag strings at white space into a set (case-insensitive, first spelling
/// kept, RFC 5232 §3).
pub(crate) fn flag_set(strings: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for flag in strings.iter().flat_map(|s| s.split_whitespace()) {
        let flag = canonical_flag(flag);
        if !out.iter().any(|f| f.eq_ignore_ascii_case(&flag)) {
            out.push(flag);
        }
    }
    out
}

impl Run<'_, '_> {
    fn var(&self, frame: &Frame, var: &VarRef) -> String {
        match var {
            VarRef::Match(n) => self.matches.get(*n).cloned().unwrap_or_default(),
            VarRef::Local(name) => frame.locals.get(name).cloned().unwrap_or_default(),
            VarRef::Global(name) => self.globals.get(name).cloned().unwrap_or_default(),
        }
    }

    /// A string with its variables substituted.
    pub(crate) fn expand(&self, frame: &Frame, s: &Str) -> String {
        match s {
            Str::Lit(text) => text.clone(),
            Str::Tmpl(pieces) => {
                let max = self.options.limits.max_string_size;
                let mut out = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Var(var) => out.push_str(&self.var(frame, var)),
                    }
                    if out.len() > max {
                        return truncate(out, max);
                    }
                }
                out
            }
        }
    }

    pub(crate) fn expand_all(&self, frame: &Frame, list: &[Str]) -> Vec<String> {
        list.iter().map(|s| self.expand(frame, s)).collect()
    }

    /// Assigns a variable, truncated to the size limit; refuses a new global past the
    /// count limit.
    pub(crate) fn set_var(
        &mut self,
        frame: &mut Frame,
        line: u32,
        var: &VarRef,
        value: String,
    ) -> Result<(), RuntimeError> {
        let value = truncate(value, self.options.limits.max_variable_size);
        match var {
            VarRef::Match(_) => {}
            VarRef::Local(name) => {
                frame.locals.insert(name.clone(), value);
            }
            VarRef::Global(name) => {
                if !self.globals.contains_key(name)
                    && self.globals.len() >= self.options.limits.max_variables
                {
                    return Err(RuntimeError::limit(
                        line,
                        format!(
                            "more than {} global variables were set",
                            self.options.limits.max_variables
                        ),
                    ));
                }
                self.globals.insert(name.clone(), value);
            }
        }
        Ok(())
    }

    /// Records match variables, each truncated (RFC 5229 §3.2).
    pub(crate) fn set_matches(&mut self, values: Vec<String>) {
        let max = self.options.limits.max_variable_size;
        self.matches = values
            .into_iter()
            .take(100)
            .map(|v| truncate(v, max))
            .collect();
    }

    /// The flags a `keep`/`fileinto` stores: `:flags` when given, else the internal
    /// variable (RFC 5232 §5).
    pub(crate) fn flag_argument(&self, frame: &Frame, flags: Option<&[Str]>) -> Vec<String> {
        match flags {
            Some(list) => flag_set(&self.expand_all(frame, list)),
            None => self.flags.clone(),
        }
    }

    /// The flags held by a variable (or the internal variable).
    pub(crate) fn flags_of(&self, frame: &Frame, variable: Option<&VarRef>) -> Vec<String> {
        match variable {
            None => self.flags.clone(),
            Some(var) => flag_set(&[self.var(frame, var)]),
        }
    }

    /// `setflag`, `addflag`, `removeflag` (RFC 5232 §3).
    pub(crate) fn flag_command(
        &mut self,
        frame: &mut Frame,
        op: FlagOp,
        variable: Option<&VarRef>,
        flags: &[Str],
    ) -> Result<(), RuntimeError> {
        let given = flag_set(&self.expand_all(frame, flags));
        let mut current = self.flags_of(frame, variable);
        match op {
            FlagOp::Set => current = given,
            FlagOp::Add => current = flag_set(&[current.join(" "), given.join(" ")]),
            FlagOp::Remove => current.retain(|f| !given.iter().any(|g| g.eq_ignore_ascii_case(f))),
        }
        match variable {
            None => self.flags = current,
            Some(var) => {
                let joined = current.join(" ");
                self.set_var(frame, 0, var, joined)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_of_rfc_5229_section_4_1() {
        use Modifier::*;
        let table: &[(&[Modifier], &str, &str)] = &[
            (&[Upper], "Hello", "HELLO"),
            (&[Lower, UpperFirst], "hELLO", "Hello"),
            (&[LowerFirst], "ABC", "aBC"),
            (&[QuoteWildcard], "a*b?c\\", "a\\*b\\?c\\\\"),
            (&[QuoteRegex], "a.b(c)", "a\\.b\\(c\\)"),
            (&[EncodeUrl], "a b&é", "a%20b%26%C3%A9"),
            (&[Length], "héllo", "5"),
            (&[Upper, Length], "", "0"),
        ];
        for (modifiers, value, expected) in table {
            assert_eq!(
                apply_modifiers(value, modifiers),
                *expected,
                "{modifiers:?}"
            );
        }
    }

    #[test]
    fn flags_are_a_case_insensitive_set() {
        let set = flag_set(&["\\seen Foo".into(), "foo \\SEEN $Junk".into()]);
        assert_eq!(set, ["\\Seen", "Foo", "$Junk"]);
        assert_eq!(truncate("héllo".into(), 2), "h");
    }
}
