//! Checking of tests: RFC 5228 §5 (`address`, `allof`, `anyof`, `envelope`,
//! `exists`, `false`, `header`, `not`, `size`, `true`) and the tests of the
//! extensions (body, date, currentdate, string, hasflag, mailboxexists, duplicate,
//! valid_notify_method, notify_method_capability, spamtest, virustest, environment).
//!
//! Each function reads its arguments in RFC order and builds one typed test.
//! Never panics.

use crate::error::CompileError;
use crate::extension::Extension;
use crate::parser::TestNode;
use crate::script::{
    AddressPart, BodyTransform, Comparator, DuplicateSource, DuplicateTest, Str, Test, TestKind,
    ZoneSpec,
};

use super::Checker;
use super::args::{Accepts, Args, MatchTags};

const DATE_PARTS: [&str; 13] = [
    "year", "month", "day", "date", "julian", "hour", "minute", "second", "time", "iso8601",
    "std11", "zone", "weekday",
];

const ENVELOPE_PARTS: [&str; 3] = ["from", "to", "auth"];

fn test_extension(name: &str) -> Option<Extension> {
    Some(match name {
        "envelope" => Extension::Envelope,
        "body" => Extension::Body,
        "date" | "currentdate" => Extension::Date,
        "string" => Extension::Variables,
        "hasflag" => Extension::Imap4Flags,
        "mailboxexists" => Extension::Mailbox,
        "duplicate" => Extension::Duplicate,
        "valid_notify_method" | "notify_method_capability" => Extension::Enotify,
        "spamtest" => Extension::Spamtest,
        "virustest" => Extension::Virustest,
        "environment" => Extension::Environment,
        _ => return None,
    })
}

/// A `:zone` value: `+hhmm` or `-hhmm` (RFC 5260 §4.1).
pub(crate) fn parse_zone(zone: &str) -> Option<i32> {
    let bytes = zone.as_bytes();
    if bytes.len() != 5 || !bytes[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = i32::from(bytes[1] - b'0') * 10 + i32::from(bytes[2] - b'0');
    let minutes = i32::from(bytes[3] - b'0') * 10 + i32::from(bytes[4] - b'0');
    (minutes < 60).then_some(sign * (hours * 60 + minutes))
}

impl Checker<'_> {
    /// Checks one test.
    pub(crate) fn test(&mut self, node: &TestNode) -> Result<Test, CompileError> {
        let what = format!("the {} test", node.name);
        if let Some(extension) = test_extension(&node.name) {
            self.need(extension, node.pos, &what)?;
        }
        let kind = match node.name.as_str() {
            "not" | "allof" | "anyof" => return self.logical(node),
            _ if !node.tests.is_empty() => {
                return Err(CompileError::new(
                    node.tests[0].pos,
                    format!(
                        "{what} takes no nested test (is a '{{' or ',' missing before '{}'?)",
                        node.tests[0].name
                    ),
                ));
            }
            "true" | "false" => {
                if let Some(arg) = node.args.first() {
                    return Err(CompileError::new(
                        arg.pos(),
                        format!("{what} takes no arguments"),
                    ));
                }
                if node.name == "true" {
                    TestKind::True
                } else {
                    TestKind::False
                }
            }
            _ => {
                let mut args = Args::new(&node.args, what, node.pos);
                let kind = self.test_with_args(&node.name, &mut args)?;
                args.end()?;
                kind
            }
        };
        Ok(Test {
            line: node.pos.line,
            kind,
        })
    }

    /// `not <test>`, `allof <tests>`, `anyof <tests>` (RFC 5228 §5.1, §5.3, §5.8).
    fn logical(&mut self, node: &TestNode) -> Result<Test, CompileError> {
        if let Some(arg) = node.args.first() {
            return Err(CompileError::new(
                arg.pos(),
                format!("'{}' takes tests, not {}", node.name, arg.describe()),
            ));
        }
        let kind = if node.name == "not" {
            match node.tests.as_slice() {
                [test] if !node.test_list => TestKind::Not(Box::new(self.test(test)?)),
                _ => {
                    return Err(CompileError::new(
                        node.pos,
                        "'not' takes exactly one test, without parentheses",
                    ));
                }
            }
        } else {
            if !node.test_list || node.tests.is_empty() {
                return Err(CompileError::new(
                    node.pos,
                    format!(
                        "'{}' takes a list of tests in parentheses: {}(test, test…)",
                        node.name, node.name
                    ),
                ));
            }
            let tests = node
                .tests
                .iter()
                .map(|t| self.test(t))
                .collect::<Result<Vec<_>, _>>()?;
            if node.name == "allof" {
                TestKind::AllOf(tests)
            } else {
                TestKind::AnyOf(tests)
            }
        };
        Ok(Test {
            line: node.pos.line,
            kind,
        })
    }

    fn test_with_args(
        &mut self,
        name: &str,
        args: &mut Args<'_>,
    ) -> Result<TestKind, CompileError> {
        match name {
            "address"
            | "header"
            | "envelope"
            | "string"
            | "body"
            | "date"
            | "currentdate"
            | "hasflag"
            | "notify_method_capability"
            | "spamtest"
            | "virustest"
            | "environment" => self.matching_test(name, args),
            "exists" | "mailboxexists" | "valid_notify_method" => {
                let lits = args.list_lits(match name {
                    "exists" => "the header names",
                    "mailboxexists" => "the mailbox names",
                    _ => "the notification URIs",
                })?;
                let list = self.strings(&lits)?;
                Ok(match name {
                    "exists" => TestKind::Exists(list),
                    "mailboxexists" => TestKind::MailboxExists(list),
                    _ => TestKind::ValidNotifyMethod(list),
                })
            }
            "size" => {
                let mut over = None;
                while let Some((tag, pos)) = args.tag() {
                    match tag {
                        "over" | "under" if over.is_none() => over = Some(tag == "over"),
                        "over" | "under" => {
                            return Err(CompileError::new(
                                pos,
                                "the size test takes one of :over and :under",
                            ));
                        }
                        _ => return Err(args.unknown_tag(tag, pos)),
                    }
                }
                let Some(over) = over else {
                    return Err(CompileError::new(
                        args.pos,
                        "the size test needs :over or :under before the size (RFC 5228 §5.9)",
                    ));
                };
                let (limit, _) = args.number("the size in octets")?;
                Ok(TestKind::Size { over, limit })
            }
            "duplicate" => self.duplicate(args),
            other => Err(CompileError::new(
                args.pos,
                format!("unknown test '{other}'"),
            )),
        }
    }

    /// Tests that end in a key list and take the shared match tags.
    fn matching_test(&mut self, name: &str, args: &mut Args<'_>) -> Result<TestKind, CompileError> {
        let accepts = Accepts {
            address_part: matches!(name, "address" | "envelope"),
            index: matches!(name, "address" | "header" | "date"),
        };
        let mut tags = MatchTags::default();
        let mut transform: Option<BodyTransform> = None;
        let mut zone: Option<ZoneSpec> = None;
        let mut percent = false;
        while let Some((tag, pos)) = args.tag() {
            if self.match_tag(&mut tags, args, tag, pos, accepts)? {
                continue;
            }
            match (name, tag) {
                ("body", "raw" | "text" | "content") if transform.is_none() => {
                    transform = Some(match tag {
                        "raw" => BodyTransform::Raw,
                        "text" => BodyTransform::Text,
                        _ => {
                            let lits = args.list_lits("the content types after :content")?;
                            BodyTransform::Content(self.strings(&lits)?)
                        }
                    });
                }
                ("date" | "currentdate", "zone") if zone.is_none() => {
                    let lit = args.string_lit("the zone after :zone (such as \"+0100\")")?;
                    let value = self.string(lit)?;
                    if let Some(z) = value.literal()
                        && parse_zone(z).is_none()
                    {
                        return Err(CompileError::new(
                            lit.pos,
                            format!(
                                "'{z}' is not a time zone; write it as +hhmm or -hhmm (RFC 5260 §4.1)"
                            ),
                        ));
                    }
                    zone = Some(ZoneSpec::Fixed(value));
                }
                ("date", "originalzone") if zone.is_none() => zone = Some(ZoneSpec::Original),
                ("spamtest", "percent") if !percent => {
                    self.need(Extension::Spamtestplus, pos, "the :percent tag")?;
                    percent = true;
                }
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let default_comparator = if matches!(name, "spamtest" | "virustest") {
            Comparator::AsciiNumeric
        } else {
            Comparator::AsciiCasemap
        };
        let (spec, index) = self.finish_match(&tags, default_comparator)?;
        let part = tags.part.map_or(AddressPart::All, |(p, _)| p);
        let zone = zone.unwrap_or(ZoneSpec::Local);
        Ok(match name {
            "address" => TestKind::Address {
                spec,
                part,
                index,
                headers: self.list(args, "the header names")?,
                keys: self.keys(args, "the keys", spec)?,
            },
            "header" => TestKind::Header {
                spec,
                index,
                headers: self.list(args, "the header names")?,
                keys: self.keys(args, "the keys", spec)?,
            },
            "envelope" => {
                let lits = args.list_lits("the envelope parts (\"from\", \"to\")")?;
                for lit in &lits {
                    if !lit.value.contains("${")
                        && !ENVELOPE_PARTS.contains(&lit.value.to_ascii_lowercase().as_str())
                    {
                        return Err(CompileError::new(
                            lit.pos,
                            format!(
                                "unknown envelope part '{}'; use \"from\" or \"to\"",
                                lit.value
                            ),
                        ));
                    }
                }
                TestKind::Envelope {
                    spec,
                    part,
                    parts: self.strings(&lits)?,
                    keys: self.keys(args, "the keys", spec)?,
                }
            }
            "string" => TestKind::String {
                spec,
                sources: self.list(args, "the source strings")?,
                keys: self.keys(args, "the keys", spec)?,
            },
            "body" => TestKind::Body {
                spec,
                transform: transform.unwrap_or(BodyTransform::Text),
                keys: self.keys(args, "the keys", spec)?,
            },
            "date" => {
                let header = self.single(args, "the header name")?;
                let part = self.date_part(args)?;
                TestKind::Date {
                    spec,
                    index,
                    zone,
                    header,
                    part,
                    keys: self.keys(args, "the keys", spec)?,
                }
            }
            "currentdate" => TestKind::CurrentDate {
                spec,
                zone,
                part: self.date_part(args)?,
                keys: self.keys(args, "the keys", spec)?,
            },
            "hasflag" => self.hasflag(args, spec)?,
            "notify_method_capability" => TestKind::NotifyMethodCapability {
                spec,
                uri: self.single(args, "the notification URI")?,
                capability: self.single(args, "the capability name")?,
                keys: self.keys(args, "the keys", spec)?,
            },
            "spamtest" => TestKind::SpamTest {
                spec,
                percent,
                value: self.single(args, "the value to compare")?,
            },
            "virustest" => TestKind::VirusTest {
                spec,
                value: self.single(args, "the value to compare")?,
            },
            _ => TestKind::Environment {
                spec,
                name: self.single(args, "the name of the environment item")?,
                keys: self.keys(args, "the keys", spec)?,
            },
        })
    }

    fn list(&mut self, args: &mut Args<'_>, role: &str) -> Result<Vec<Str>, CompileError> {
        let lits = args.list_lits(role)?;
        self.strings(&lits)
    }

    fn single(&mut self, args: &mut Args<'_>, role: &str) -> Result<Str, CompileError> {
        let lit = args.string_lit(role)?;
        self.string(lit)
    }

    fn date_part(&mut self, args: &mut Args<'_>) -> Result<Str, CompileError> {
        let lit = args.string_lit("the date part (such as \"date\" or \"hour\")")?;
        let value = self.string(lit)?;
        if let Some(part) = value.literal()
            && !DATE_PARTS.contains(&part.to_ascii_lowercase().as_str())
        {
            return Err(CompileError::new(
                lit.pos,
                format!(
                    "unknown date part '{part}'; use one of {} (RFC 5260 §4.2)",
                    DATE_PARTS.join(", ")
                ),
            ));
        }
        Ok(value)
    }

    /// `hasflag [MATCH-TYPE] [COMPARATOR] [<variable-list>] <list-of-flags>`
    /// (RFC 5232 §4).
    fn hasflag(
        &mut self,
        args: &mut Args<'_>,
        spec: crate::script::MatchSpec,
    ) -> Result<TestKind, CompileError> {
        let first = args.list_lits("the flags")?;
        if args.has_more() {
            self.need(
                Extension::Variables,
                args.pos,
                "naming flag variables in hasflag",
            )?;
            let mut variables = Vec::new();
            for lit in first {
                variables.push(self.variable_name(lit)?);
            }
            let flags = self.keys(args, "the flags", spec)?;
            Ok(TestKind::HasFlag {
                spec,
                variables: Some(variables),
                flags,
            })
        } else {
            let flags = self.strings(&first)?;
            Ok(TestKind::HasFlag {
                spec,
                variables: None,
                flags,
            })
        }
    }

    /// `duplicate [:handle] [:header | :uniqueid] [:seconds] [:last]` (RFC 7352 §3).
    fn duplicate(&mut self, args: &mut Args<'_>) -> Result<TestKind, CompileError> {
        let mut test = DuplicateTest {
            handle: None,
            source: DuplicateSource::MessageId,
            seconds: None,
            last: false,
        };
        let mut seen: Vec<&str> = Vec::new();
        while let Some((tag, pos)) = args.tag() {
            if seen.contains(&tag)
                || (matches!(tag, "header" | "uniqueid")
                    && (seen.contains(&"header") || seen.contains(&"uniqueid")))
            {
                return Err(CompileError::new(
                    pos,
                    format!(
                        "the duplicate test has ':{tag}' twice or with a conflicting tag (:header and :uniqueid exclude each other)"
                    ),
                ));
            }
            seen.push(tag);
            match tag {
                "handle" => test.handle = Some(self.single(args, "the handle")?),
                "header" => {
                    let lit = args.string_lit("the header name")?;
                    test.source = DuplicateSource::Header(self.string(lit)?);
                }
                "uniqueid" => {
                    test.source = DuplicateSource::UniqueId(self.single(args, "the unique id")?)
                }
                "seconds" => test.seconds = Some(args.number("the seconds")?.0),
                "last" => test.last = true,
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        Ok(TestKind::Duplicate(Box::new(test)))
    }
}
