//! Reading the arguments of one command or test: tagged arguments first, then
//! positional ones (RFC 5228 §2.6), with the shared tags of RFC 5228 §2.7 (match
//! type, comparator, address part) and RFC 5260 §6 (`:index`, `:last`) in one place.
//!
//! Turns the generic syntax tree into typed values and explains, with a position,
//! any argument that does not fit. Never panics.

use crate::error::CompileError;
use crate::extension::Extension;
use crate::lexer::Position;
use crate::parser::{Argument, StringLit};
use crate::script::{AddressPart, Comparator, Index, MatchKind, MatchSpec, Relation, Str};

use super::Checker;

/// A cursor over the arguments of one command or test.
pub(crate) struct Args<'a> {
    args: &'a [Argument],
    at: usize,
    /// "the fileinto command", "the header test".
    pub what: String,
    pub pos: Position,
}

impl<'a> Args<'a> {
    pub(crate) fn new(args: &'a [Argument], what: String, pos: Position) -> Self {
        Args {
            args,
            at: 0,
            what,
            pos,
        }
    }

    /// The next argument if it is a tag, consumed.
    pub(crate) fn tag(&mut self) -> Option<(&'a str, Position)> {
        match self.args.get(self.at) {
            Some(Argument::Tag(name, pos)) => {
                self.at += 1;
                Some((name.as_str(), *pos))
            }
            _ => None,
        }
    }

    pub(crate) fn unknown_tag(&self, tag: &str, pos: Position) -> CompileError {
        CompileError::new(pos, format!("{} has no tag ':{tag}'", self.what))
    }

    fn missing(&self, role: &str) -> CompileError {
        let pos = self.args.get(self.at).map_or(self.pos, Argument::pos);
        match self.args.get(self.at) {
            Some(Argument::Tag(name, _)) => CompileError::new(
                pos,
                format!(
                    "{} expects {role} here, but found the tag ':{name}' (tags must come before the other arguments, and only tags the {} knows)",
                    self.what,
                    self.what.trim_start_matches("the ")
                ),
            ),
            Some(other) => CompileError::new(
                pos,
                format!(
                    "{} expects {role} here, but found {}",
                    self.what,
                    other.describe()
                ),
            ),
            None => CompileError::new(pos, format!("{} needs {role}", self.what)),
        }
    }

    /// A positional single string.
    pub(crate) fn string_lit(&mut self, role: &str) -> Result<&'a StringLit, CompileError> {
        match self.args.get(self.at) {
            Some(Argument::String(s)) => {
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.missing(&format!("{role} (a string)"))),
        }
    }

    /// A positional string list (a single string is a list of one).
    pub(crate) fn list_lits(&mut self, role: &str) -> Result<Vec<&'a StringLit>, CompileError> {
        match self.args.get(self.at) {
            Some(Argument::String(s)) => {
                self.at += 1;
                Ok(vec![s])
            }
            Some(Argument::List(items, _)) => {
                self.at += 1;
                Ok(items.iter().collect())
            }
            _ => Err(self.missing(&format!("{role} (a string list)"))),
        }
    }

    /// A positional number.
    pub(crate) fn number(&mut self, role: &str) -> Result<(u64, Position), CompileError> {
        match self.args.get(self.at) {
            Some(Argument::Number(n, pos)) => {
                self.at += 1;
                Ok((*n, *pos))
            }
            _ => Err(self.missing(&format!("{role} (a number)"))),
        }
    }

    /// Whether any argument is left.
    pub(crate) fn has_more(&self) -> bool {
        self.at < self.args.len()
    }

    /// Fails when arguments are left over.
    pub(crate) fn end(&self) -> Result<(), CompileError> {
        match self.args.get(self.at) {
            None => Ok(()),
            Some(Argument::Tag(name, pos)) => Err(CompileError::new(
                *pos,
                format!(
                    "{} does not accept the tag ':{name}' here (tags go before the other arguments)",
                    self.what
                ),
            )),
            Some(other) => Err(CompileError::new(
                other.pos(),
                format!(
                    "{} has too many arguments: {} is not expected",
                    self.what,
                    other.describe()
                ),
            )),
        }
    }
}

/// The shared tags a test has read so far.
#[derive(Default)]
pub(crate) struct MatchTags {
    kind: Option<(MatchKind, Position)>,
    comparator: Option<(Comparator, Position)>,
    pub part: Option<(AddressPart, Position)>,
    index: Option<(u64, Position)>,
    last: Option<Position>,
}

/// Which of the shared tags a test accepts.
#[derive(Clone, Copy)]
pub(crate) struct Accepts {
    pub address_part: bool,
    pub index: bool,
}

fn twice(args: &Args<'_>, what: &str, pos: Position) -> CompileError {
    CompileError::new(pos, format!("{} has more than one {what}", args.what))
}

impl Checker<'_> {
    /// Reads `tag` if it is one of the shared tags; `Ok(false)` when it is not.
    pub(crate) fn match_tag(
        &mut self,
        tags: &mut MatchTags,
        args: &mut Args<'_>,
        tag: &str,
        pos: Position,
        accepts: Accepts,
    ) -> Result<bool, CompileError> {
        let kind = match tag {
            "is" => Some(MatchKind::Is),
            "contains" => Some(MatchKind::Contains),
            "matches" => Some(MatchKind::Matches),
            "regex" => {
                self.need(Extension::Regex, pos, "the :regex match type")?;
                Some(MatchKind::Regex)
            }
            "value" | "count" => {
                self.need(
                    Extension::Relational,
                    pos,
                    &format!("the :{tag} match type"),
                )?;
                let lit = args.string_lit(&format!("a relation after :{tag}"))?;
                let relation = match lit.value.to_ascii_lowercase().as_str() {
                    "gt" => Relation::Gt,
                    "ge" => Relation::Ge,
                    "lt" => Relation::Lt,
                    "le" => Relation::Le,
                    "eq" => Relation::Eq,
                    "ne" => Relation::Ne,
                    other => {
                        return Err(CompileError::new(
                            lit.pos,
                            format!(
                                "'{other}' is not a relation; use \"gt\", \"ge\", \"lt\", \"le\", \"eq\" or \"ne\" (RFC 5231 §4)"
                            ),
                        ));
                    }
                };
                Some(if tag == "value" {
                    MatchKind::Value(relation)
                } else {
                    MatchKind::Count(relation)
                })
            }
            _ => None,
        };
        if let Some(kind) = kind {
            if tags.kind.is_some() {
                return Err(twice(args, "match type", pos));
            }
            tags.kind = Some((kind, pos));
            return Ok(true);
        }
        match tag {
            "comparator" => {
                if tags.comparator.is_some() {
                    return Err(twice(args, "comparator", pos));
                }
                let lit = args.string_lit("a comparator name after :comparator")?;
                let comparator = match lit.value.as_str() {
                    "i;octet" => Comparator::Octet,
                    "i;ascii-casemap" => Comparator::AsciiCasemap,
                    "i;ascii-numeric" => {
                        self.need(
                            Extension::ComparatorAsciiNumeric,
                            lit.pos,
                            "the i;ascii-numeric comparator",
                        )?;
                        Comparator::AsciiNumeric
                    }
                    other => {
                        return Err(CompileError::new(
                            lit.pos,
                            format!(
                                "unknown comparator '{other}'; use \"i;octet\", \"i;ascii-casemap\" or \"i;ascii-numeric\""
                            ),
                        ));
                    }
                };
                tags.comparator = Some((comparator, pos));
                Ok(true)
            }
            "all" | "localpart" | "domain" | "user" | "detail" if accepts.address_part => {
                let part = match tag {
                    "all" => AddressPart::All,
                    "localpart" => AddressPart::LocalPart,
                    "domain" => AddressPart::Domain,
                    "user" => AddressPart::User,
                    _ => AddressPart::Detail,
                };
                if matches!(part, AddressPart::User | AddressPart::Detail) {
                    self.need(
                        Extension::Subaddress,
                        pos,
                        &format!("the :{tag} address part"),
                    )?;
                }
                if tags.part.is_some() {
                    return Err(twice(args, "address part", pos));
                }
                tags.part = Some((part, pos));
                Ok(true)
            }
            "index" if accepts.index => {
                self.need(Extension::Index, pos, "the :index tag")?;
                if tags.index.is_some() {
                    return Err(twice(args, ":index", pos));
                }
                let (n, npos) = args.number("the field number after :index")?;
                if n == 0 {
                    return Err(CompileError::new(
                        npos,
                        ":index counts from 1; 0 names no header field (RFC 5260 §6)",
                    ));
                }
                tags.index = Some((n, pos));
                Ok(true)
            }
            "last" if accepts.index => {
                self.need(Extension::Index, pos, "the :last tag")?;
                if tags.last.is_some() {
                    return Err(twice(args, ":last", pos));
                }
                tags.last = Some(pos);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The match type and comparator once the tags are read, checked against each
    /// other (RFC 5228 §2.7.3: a comparator must support the match type).
    pub(crate) fn finish_match(
        &self,
        tags: &MatchTags,
        default_comparator: Comparator,
    ) -> Result<(MatchSpec, Option<Index>), CompileError> {
        let kind = tags.kind.map_or(MatchKind::Is, |(k, _)| k);
        let comparator = tags.comparator.map_or(default_comparator, |(c, _)| c);
        if comparator == Comparator::AsciiNumeric
            && matches!(
                kind,
                MatchKind::Contains | MatchKind::Matches | MatchKind::Regex
            )
        {
            let pos = tags.kind.map_or(Position::default(), |(_, p)| p);
            return Err(CompileError::new(
                pos,
                "the i;ascii-numeric comparator supports only :is, :value and :count, not substring or pattern matching (RFC 4790 §9.1)",
            ));
        }
        let index = match (tags.index, tags.last) {
            (Some((n, _)), last) => Some(Index {
                n,
                last: last.is_some(),
            }),
            (None, Some(pos)) => {
                return Err(CompileError::new(
                    pos,
                    ":last only makes sense with :index (RFC 5260 §6)",
                ));
            }
            (None, None) => None,
        };
        Ok((MatchSpec { kind, comparator }, index))
    }

    /// A key list, with `:regex` keys compiled now when they are constant so a bad
    /// expression is reported with its position.
    pub(crate) fn keys(
        &mut self,
        args: &mut Args<'_>,
        role: &str,
        spec: MatchSpec,
    ) -> Result<Vec<Str>, CompileError> {
        let lits = args.list_lits(role)?;
        let mut out = Vec::with_capacity(lits.len());
        for lit in lits {
            let key = self.string(lit)?;
            if spec.kind == MatchKind::Regex
                && let Some(pattern) = key.literal()
            {
                self.regexes += 1;
                if self.regexes > self.limits.max_regexes {
                    return Err(CompileError::new(
                        lit.pos,
                        format!(
                            "the script has more than {} regular expressions",
                            self.limits.max_regexes
                        ),
                    ));
                }
                crate::interp::matching::build_regex(
                    pattern,
                    spec.comparator,
                    self.limits.max_regex_size,
                )
                .map_err(|message| CompileError::new(lit.pos, message))?;
            }
            out.push(key);
        }
        Ok(out)
    }
}
