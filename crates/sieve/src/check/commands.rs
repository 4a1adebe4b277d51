//! Checking of action and control commands other than `if`: RFC 5228 §3–§4
//! (`stop`, `keep`, `discard`, `redirect`, `fileinto`) and the commands of the
//! extensions (copy, reject, imap4flags, variables, vacation, enotify, editheader,
//! include, mailbox).
//!
//! Each function reads its arguments in RFC order and builds one typed command.
//! Never panics.

use crate::error::CompileError;
use crate::extension::Extension;
use crate::mailto;
use crate::parser::CommandNode;
use crate::script::{
    Cmd, CmdKind, Comparator, FlagOp, IncludeLocation, Modifier, NotifyCmd, Period, Str,
    VacationCmd, VarRef,
};

use super::args::{Accepts, Args, MatchTags};
use super::strings::{StringContext, is_addr_spec, is_header_name, is_identifier, is_script_name};
use super::{Checker, no_tests_or_block};

/// The extension a command belongs to, for the "needs require" message.
fn command_extension(name: &str) -> Option<Extension> {
    Some(match name {
        "fileinto" => Extension::FileInto,
        "reject" => Extension::Reject,
        "ereject" => Extension::Ereject,
        "setflag" | "addflag" | "removeflag" => Extension::Imap4Flags,
        "set" => Extension::Variables,
        "vacation" => Extension::Vacation,
        "notify" => Extension::Enotify,
        "addheader" | "deleteheader" => Extension::Editheader,
        "include" | "return" | "global" => Extension::Include,
        _ => return None,
    })
}

impl Checker<'_> {
    /// Checks one command; `None` for commands that leave nothing to run.
    pub(crate) fn command(&mut self, node: &CommandNode) -> Result<Option<Cmd>, CompileError> {
        no_tests_or_block(node)?;
        let what = format!("the {} command", node.name);
        if let Some(extension) = command_extension(&node.name) {
            self.need(extension, node.pos, &what)?;
        }
        let mut args = Args::new(&node.args, what, node.pos);
        let kind = match node.name.as_str() {
            "stop" => CmdKind::Stop,
            "discard" => CmdKind::Discard,
            "return" => CmdKind::Return,
            "keep" => self.keep(&mut args)?,
            "fileinto" => self.fileinto(&mut args)?,
            "redirect" => self.redirect(&mut args)?,
            "reject" | "ereject" => {
                let lit = args.string_lit("the reason")?;
                CmdKind::Reject {
                    reason: self.string(lit)?,
                    extended: node.name == "ereject",
                }
            }
            "setflag" | "addflag" | "removeflag" => self.flag_command(&node.name, &mut args)?,
            "set" => self.set(&mut args)?,
            "vacation" => self.vacation(&mut args)?,
            "notify" => self.notify(&mut args)?,
            "addheader" => self.addheader(&mut args)?,
            "deleteheader" => self.deleteheader(&mut args)?,
            "include" => self.include(&mut args)?,
            "global" => {
                self.need(Extension::Variables, node.pos, "the global command")?;
                for lit in args.list_lits("the names of global variables")? {
                    if !is_identifier(&lit.value) {
                        return Err(CompileError::new(
                            lit.pos,
                            format!("'{}' is not a valid variable name", lit.value),
                        ));
                    }
                    self.globals.insert(lit.value.to_ascii_lowercase());
                }
                CmdKind::Global
            }
            other => {
                return Err(CompileError::new(
                    node.pos,
                    format!("unknown command '{other}'"),
                ));
            }
        };
        args.end()?;
        Ok(Some(Cmd {
            line: node.pos.line,
            kind,
        }))
    }

    fn flags_tag(&mut self, args: &mut Args<'_>) -> Result<Vec<Str>, CompileError> {
        let lits = args.list_lits("the flags after :flags")?;
        self.strings(&lits)
    }

    /// `keep [:flags <list>]` (RFC 5228 §4.3, RFC 5232 §5).
    fn keep(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut flags = None;
        while let Some((tag, pos)) = args.tag() {
            match tag {
                "flags" if flags.is_none() => {
                    self.need(Extension::Imap4Flags, pos, "the :flags tag")?;
                    flags = Some(self.flags_tag(args)?);
                }
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        Ok(CmdKind::Keep { flags })
    }

    /// `fileinto [:copy] [:flags <list>] [:create] <mailbox>` (RFC 5228 §4.1,
    /// RFC 3894 §3, RFC 5232 §5, RFC 5490 §3.2).
    fn fileinto(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let (mut copy, mut create, mut flags) = (false, false, None);
        while let Some((tag, pos)) = args.tag() {
            match tag {
                "copy" if !copy => {
                    self.need(Extension::Copy, pos, "the :copy tag")?;
                    copy = true;
                }
                "create" if !create => {
                    self.need(Extension::Mailbox, pos, "the :create tag")?;
                    create = true;
                }
                "flags" if flags.is_none() => {
                    self.need(Extension::Imap4Flags, pos, "the :flags tag")?;
                    flags = Some(self.flags_tag(args)?);
                }
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let lit = args.string_lit("the mailbox name")?;
        if lit.value.is_empty() {
            return Err(CompileError::new(lit.pos, "the mailbox name is empty"));
        }
        Ok(CmdKind::FileInto {
            mailbox: self.string(lit)?,
            flags,
            copy,
            create,
        })
    }

    /// `redirect [:copy] <address>` (RFC 5228 §4.2, RFC 3894 §3).
    fn redirect(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut copy = false;
        while let Some((tag, pos)) = args.tag() {
            match tag {
                "copy" if !copy => {
                    self.need(Extension::Copy, pos, "the :copy tag")?;
                    copy = true;
                }
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let lit = args.string_lit("the address to redirect to")?;
        let address = self.string(lit)?;
        if let Some(value) = address.literal()
            && !is_addr_spec(value)
        {
            return Err(CompileError::new(
                lit.pos,
                format!("'{value}' is not a valid e-mail address (local@domain) to redirect to"),
            ));
        }
        Ok(CmdKind::Redirect { address, copy })
    }

    /// `setflag`/`addflag`/`removeflag [<variablename>] <list-of-flags>`
    /// (RFC 5232 §3).
    fn flag_command(&mut self, name: &str, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let op = match name {
            "setflag" => FlagOp::Set,
            "addflag" => FlagOp::Add,
            _ => FlagOp::Remove,
        };
        let first = args.list_lits("the flags")?;
        let (variable, flags) = if args.has_more() {
            let [lit] = first.as_slice() else {
                return Err(CompileError::new(
                    args.pos,
                    format!("the {name} command takes one variable name, not a list"),
                ));
            };
            self.need(Extension::Variables, lit.pos, "naming a flag variable")?;
            let var = self.variable_name(lit)?;
            let flags = args.list_lits("the flags")?;
            (Some(var), self.strings(&flags)?)
        } else {
            (None, self.strings(&first)?)
        };
        Ok(CmdKind::Flags {
            op,
            variable,
            flags,
        })
    }

    /// A variable name written as a string (`set`, flag variables, `hasflag`).
    pub(crate) fn variable_name(
        &mut self,
        lit: &crate::parser::StringLit,
    ) -> Result<VarRef, CompileError> {
        if !lit.value.split('.').all(is_identifier) {
            return Err(CompileError::new(
                lit.pos,
                format!(
                    "'{}' is not a valid variable name (letters, digits and '_', not starting with a digit)",
                    lit.value
                ),
            ));
        }
        let cx = StringContext {
            encoded_character: false,
            variables: true,
            include: self.has(Extension::Include),
            globals: &self.globals,
        };
        let var = super::strings::resolve_name(&lit.value, &cx)
            .map_err(|m| CompileError::new(lit.pos, m))?;
        if let VarRef::Local(name) = &var
            && !self.locals.contains(name)
        {
            self.locals.push(name.clone());
            self.check_variable_count(lit.pos)?;
        }
        Ok(var)
    }

    /// `set [MODIFIER] <name> <value>` (RFC 5229 §4).
    fn set(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut modifiers: Vec<Modifier> = Vec::new();
        while let Some((tag, pos)) = args.tag() {
            let modifier = match tag {
                "lower" => Modifier::Lower,
                "upper" => Modifier::Upper,
                "lowerfirst" => Modifier::LowerFirst,
                "upperfirst" => Modifier::UpperFirst,
                "quotewildcard" => Modifier::QuoteWildcard,
                "length" => Modifier::Length,
                "quoteregex" => {
                    self.need(Extension::Regex, pos, "the :quoteregex modifier")?;
                    Modifier::QuoteRegex
                }
                "encodeurl" => {
                    self.need(Extension::Enotify, pos, "the :encodeurl modifier")?;
                    Modifier::EncodeUrl
                }
                _ => return Err(args.unknown_tag(tag, pos)),
            };
            if modifiers
                .iter()
                .any(|m| m.precedence() == modifier.precedence())
            {
                return Err(CompileError::new(
                    pos,
                    format!(
                        "the set command allows only one modifier of each precedence; ':{tag}' clashes with an earlier one (RFC 5229 §4.1)"
                    ),
                ));
            }
            modifiers.push(modifier);
        }
        modifiers.sort_by_key(|m| std::cmp::Reverse(m.precedence()));
        let name_lit = args.string_lit("the variable name")?;
        let name = self.variable_name(name_lit)?;
        let value_lit = args.string_lit("the value")?;
        let value = self.string(value_lit)?;
        Ok(CmdKind::Set {
            name,
            value,
            modifiers,
        })
    }

    /// `vacation [:days N | :seconds N] [:subject] [:from] [:addresses] [:mime]
    /// [:handle] <reason>` (RFC 5230 §4, RFC 6131 §2).
    fn vacation(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut v = VacationCmd {
            period: Period::Default,
            subject: None,
            from: None,
            addresses: Vec::new(),
            mime: false,
            handle: None,
            reason: Str::Lit(String::new()),
        };
        let mut seen: Vec<&str> = Vec::new();
        while let Some((tag, pos)) = args.tag() {
            if seen.contains(&tag) {
                return Err(CompileError::new(
                    pos,
                    format!("the vacation command has ':{tag}' twice"),
                ));
            }
            seen.push(tag);
            match tag {
                "days" | "seconds" => {
                    if tag == "seconds" {
                        self.need(Extension::VacationSeconds, pos, "the :seconds tag")?;
                    }
                    if v.period != Period::Default {
                        return Err(CompileError::new(
                            pos,
                            "the vacation command takes :days or :seconds, not both",
                        ));
                    }
                    let (n, npos) = args.number(&format!("the period after :{tag}"))?;
                    if tag == "days" {
                        if n == 0 {
                            return Err(CompileError::new(
                                npos,
                                "vacation :days must be at least 1 (RFC 5230 §4.1); to answer more often, require \"vacation-seconds\" and use :seconds",
                            ));
                        }
                        v.period = Period::Days(n);
                    } else {
                        v.period = Period::Seconds(n);
                    }
                }
                "subject" => v.subject = Some(self.tag_string(args, "the subject")?),
                "from" => {
                    let (s, lit) = self.tag_string_lit(args, "the sender address")?;
                    if let Some(value) = s.literal()
                        && !is_addr_spec(value)
                        && !value.contains('<')
                    {
                        return Err(CompileError::new(
                            lit,
                            format!("':from' needs an e-mail address, and '{value}' is not one"),
                        ));
                    }
                    v.from = Some(s);
                }
                "addresses" => {
                    let lits = args.list_lits("the addresses after :addresses")?;
                    v.addresses = self.strings(&lits)?;
                }
                "mime" => v.mime = true,
                "handle" => v.handle = Some(self.tag_string(args, "the handle")?),
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let lit = args.string_lit("the reason (the text of the reply)")?;
        v.reason = self.string(lit)?;
        Ok(CmdKind::Vacation(Box::new(v)))
    }

    fn tag_string(&mut self, args: &mut Args<'_>, role: &str) -> Result<Str, CompileError> {
        Ok(self.tag_string_lit(args, role)?.0)
    }

    fn tag_string_lit(
        &mut self,
        args: &mut Args<'_>,
        role: &str,
    ) -> Result<(Str, crate::lexer::Position), CompileError> {
        let lit = args.string_lit(role)?;
        Ok((self.string(lit)?, lit.pos))
    }

    /// `notify [:from] [:importance] [:options] [:message] <method>`
    /// (RFC 5435 §3).
    fn notify(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut n = NotifyCmd {
            from: None,
            importance: None,
            options: Vec::new(),
            message: None,
            method: Str::Lit(String::new()),
        };
        let mut seen: Vec<&str> = Vec::new();
        while let Some((tag, pos)) = args.tag() {
            if seen.contains(&tag) {
                return Err(CompileError::new(
                    pos,
                    format!("the notify command has ':{tag}' twice"),
                ));
            }
            seen.push(tag);
            match tag {
                "from" => n.from = Some(self.tag_string(args, "the sender after :from")?),
                "importance" => {
                    let (s, lit) = self.tag_string_lit(args, "the importance")?;
                    if let Some(value) = s.literal()
                        && !matches!(value, "1" | "2" | "3")
                    {
                        return Err(CompileError::new(
                            lit,
                            format!(
                                "importance must be \"1\" (high), \"2\" (normal) or \"3\" (low), not \"{value}\" (RFC 5435 §3.4)"
                            ),
                        ));
                    }
                    n.importance = Some(s);
                }
                "options" => {
                    let lits = args.list_lits("the options")?;
                    n.options = self.strings(&lits)?;
                }
                "message" => n.message = Some(self.tag_string(args, "the message")?),
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let lit = args.string_lit("the notification method (a URI such as mailto:…)")?;
        let method = self.string(lit)?;
        if let Some(uri) = method.literal() {
            mailto::check_method(uri).map_err(|m| CompileError::new(lit.pos, m))?;
        }
        n.method = method;
        Ok(CmdKind::Notify(Box::new(n)))
    }

    /// `addheader [:last] <field-name> <value>` (RFC 5293 §4).
    fn addheader(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut last = false;
        while let Some((tag, pos)) = args.tag() {
            match tag {
                "last" if !last => last = true,
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let name_lit = args.string_lit("the header field name")?;
        let name = self.string(name_lit)?;
        if let Some(value) = name.literal()
            && !is_header_name(value)
        {
            return Err(CompileError::new(
                name_lit.pos,
                format!(
                    "'{value}' is not a valid header field name (printable ASCII, no spaces or ':')"
                ),
            ));
        }
        let value_lit = args.string_lit("the header field value")?;
        let value = self.string(value_lit)?;
        Ok(CmdKind::AddHeader { last, name, value })
    }

    /// `deleteheader [:index N [:last]] [COMPARATOR] [MATCH-TYPE] <field-name>
    /// [<value-patterns>]` (RFC 5293 §5).
    fn deleteheader(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let mut tags = MatchTags::default();
        let accepts = Accepts {
            address_part: false,
            index: true,
        };
        while let Some((tag, pos)) = args.tag() {
            if tag == "index" || tag == "last" {
                // :index and :last belong to editheader itself here (RFC 5293 §5).
                if !self.has(Extension::Index) {
                    self.required.push(Extension::Index);
                    let r = self.match_tag(&mut tags, args, tag, pos, accepts);
                    self.required.pop();
                    r?;
                    continue;
                }
            }
            if !self.match_tag(&mut tags, args, tag, pos, accepts)? {
                return Err(args.unknown_tag(tag, pos));
            }
        }
        let (spec, index) = self.finish_match(&tags, Comparator::AsciiCasemap)?;
        let name_lit = args.string_lit("the header field name")?;
        let name = self.string(name_lit)?;
        if let Some(value) = name.literal()
            && !is_header_name(value)
        {
            return Err(CompileError::new(
                name_lit.pos,
                format!("'{value}' is not a valid header field name"),
            ));
        }
        let values = if args.has_more() {
            Some(self.keys(args, "the value patterns", spec)?)
        } else {
            None
        };
        Ok(CmdKind::DeleteHeader {
            index,
            spec,
            name,
            values,
        })
    }

    /// `include [:personal | :global] [:once] [:optional] <name>` (RFC 6609 §3.2).
    fn include(&mut self, args: &mut Args<'_>) -> Result<CmdKind, CompileError> {
        let (mut location, mut once, mut optional) = (None, false, false);
        while let Some((tag, pos)) = args.tag() {
            match tag {
                "personal" | "global" if location.is_none() => {
                    location = Some(if tag == "global" {
                        IncludeLocation::Global
                    } else {
                        IncludeLocation::Personal
                    });
                }
                "once" if !once => once = true,
                "optional" if !optional => optional = true,
                _ => return Err(args.unknown_tag(tag, pos)),
            }
        }
        let lit = args.string_lit("the name of the script to include")?;
        let name = self.string(lit)?;
        let Some(value) = name.literal() else {
            return Err(CompileError::new(
                lit.pos,
                "include needs a constant script name, without variables (RFC 6609 §3.2)",
            ));
        };
        if !is_script_name(value) {
            return Err(CompileError::new(
                lit.pos,
                format!(
                    "'{value}' is not a valid script name (not empty, no '/' or control characters)"
                ),
            ));
        }
        Ok(CmdKind::Include {
            location: location.unwrap_or(IncludeLocation::Personal),
            once,
            optional,
            name,
        })
    }
}
