//! The checker: from the generic syntax tree to a typed [`Script`]. It handles
//! `require` (RFC 5228 §3.2) and refuses any use of an extension that was not
//! required, checks the arity, tags and values of every command and test, and resolves
//! strings into text and variable references.
//!
//! Every refusal is a [`CompileError`] at the offending token with a message that
//! says what to change. Never panics and does nothing at run time.

mod args;
mod commands;
mod conditions;
pub(crate) mod strings;

pub(crate) use conditions::parse_zone;

use std::collections::HashSet;

use crate::error::CompileError;
use crate::extension::{Extension, Limits};
use crate::lexer::Position;
use crate::parser::{CommandNode, StringLit};
use crate::script::{Cmd, CmdKind, Script, Str};

use strings::StringContext;

/// State while checking one script.
pub(crate) struct Checker<'o> {
    pub limits: &'o Limits,
    enabled: &'o [Extension],
    required: Vec<Extension>,
    globals: HashSet<String>,
    locals: Vec<String>,
    regexes: usize,
}

/// Checks a parsed script. `enabled` lists the extensions a script may require.
pub(crate) fn check(
    nodes: &[CommandNode],
    limits: &Limits,
    enabled: &[Extension],
    name: Option<String>,
) -> Result<Script, CompileError> {
    let mut checker = Checker {
        limits,
        enabled,
        required: Vec::new(),
        globals: HashSet::new(),
        locals: Vec::new(),
        regexes: 0,
    };
    let mut rest = nodes;
    while let Some((first, tail)) = rest.split_first() {
        if first.name != "require" {
            break;
        }
        checker.require(first)?;
        rest = tail;
    }
    let commands = checker.block(rest)?;
    Ok(Script {
        commands,
        extensions: checker.required,
        name,
        options: crate::Options::default(),
        regexes: Default::default(),
    })
}

impl Checker<'_> {
    pub(crate) fn has(&self, extension: Extension) -> bool {
        self.required.contains(&extension)
    }

    /// Fails unless `extension` was required (RFC 5228 §3.2: using an extension
    /// without `require` is an error).
    pub(crate) fn need(
        &self,
        extension: Extension,
        pos: Position,
        what: &str,
    ) -> Result<(), CompileError> {
        if self.has(extension) {
            return Ok(());
        }
        Err(CompileError::new(
            pos,
            format!(
                "{what} needs the \"{}\" extension: add require \"{}\"; at the top of the script",
                extension.name(),
                extension.name()
            ),
        ))
    }

    /// `require <capabilities: string-list>` (RFC 5228 §3.2).
    fn require(&mut self, node: &CommandNode) -> Result<(), CompileError> {
        no_tests_or_block(node)?;
        let mut args = args::Args::new(&node.args, "the require command".into(), node.pos);
        let names = args.list_lits("the capabilities to require")?;
        args.end()?;
        for lit in names {
            let extension = Extension::from_name(&lit.value)
                .filter(|e| self.enabled.contains(e))
                .ok_or_else(|| {
                    CompileError::new(
                        lit.pos,
                        format!(
                            "unknown extension \"{}\": this server does not support it (capability names are case-sensitive)",
                            lit.value
                        ),
                    )
                })?;
            for e in std::iter::once(extension).chain(extension.implies().iter().copied()) {
                if !self.required.contains(&e) {
                    self.required.push(e);
                }
            }
        }
        Ok(())
    }

    /// Turns a string as written into text and variable references.
    pub(crate) fn string(&mut self, lit: &StringLit) -> Result<Str, CompileError> {
        let cx = StringContext {
            encoded_character: self.has(Extension::EncodedCharacter),
            variables: self.has(Extension::Variables),
            include: self.has(Extension::Include),
            globals: &self.globals,
        };
        let s = strings::compile_string(&lit.value, &cx, &mut self.locals)
            .map_err(|m| CompileError::new(lit.pos, m))?;
        self.check_variable_count(lit.pos)?;
        Ok(s)
    }

    pub(crate) fn check_variable_count(&self, pos: Position) -> Result<(), CompileError> {
        if self.locals.len() > self.limits.max_variables {
            return Err(CompileError::new(
                pos,
                format!(
                    "the script uses more than {} variables; use fewer",
                    self.limits.max_variables
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn strings(&mut self, lits: &[&StringLit]) -> Result<Vec<Str>, CompileError> {
        lits.iter().map(|lit| self.string(lit)).collect()
    }

    /// A block of commands, with `elsif` and `else` attached to their `if`
    /// (RFC 5228 §3.1).
    pub(crate) fn block(&mut self, nodes: &[CommandNode]) -> Result<Vec<Cmd>, CompileError> {
        let mut out: Vec<Cmd> = Vec::new();
        let mut open_if = false;
        for node in nodes {
            match node.name.as_str() {
                "if" => {
                    let (test, block) = self.conditional(node)?;
                    out.push(Cmd {
                        line: node.pos.line,
                        kind: CmdKind::If {
                            branches: vec![(test, block)],
                            otherwise: None,
                        },
                    });
                    open_if = true;
                }
                "elsif" | "else" => {
                    let Some(Cmd {
                        kind:
                            CmdKind::If {
                                branches,
                                otherwise,
                            },
                        ..
                    }) = out.last_mut().filter(|_| open_if)
                    else {
                        return Err(CompileError::new(
                            node.pos,
                            format!("'{}' must follow an 'if' or 'elsif' block", node.name),
                        ));
                    };
                    if node.name == "elsif" {
                        branches.push(self.conditional(node)?);
                    } else {
                        if !node.args.is_empty() || !node.tests.is_empty() {
                            return Err(CompileError::new(
                                node.pos,
                                "'else' takes no test or arguments, only a block",
                            ));
                        }
                        let block = node.block.as_deref().ok_or_else(|| {
                            CompileError::new(node.pos, "'else' needs a block: else { … }")
                        })?;
                        *otherwise = Some(self.block(block)?);
                        open_if = false;
                    }
                }
                "require" => {
                    return Err(CompileError::new(
                        node.pos,
                        "'require' must come before every other command (RFC 5228 §3.2)",
                    ));
                }
                _ => {
                    open_if = false;
                    if let Some(cmd) = self.command(node)? {
                        out.push(cmd);
                    }
                }
            }
        }
        Ok(out)
    }

    fn conditional(
        &mut self,
        node: &CommandNode,
    ) -> Result<(crate::script::Test, Vec<Cmd>), CompileError> {
        if let Some(arg) = node.args.first() {
            return Err(CompileError::new(
                arg.pos(),
                format!("'{}' takes a test, not {}", node.name, arg.describe()),
            ));
        }
        let test = match node.tests.as_slice() {
            [test] if !node.test_list => self.test(test)?,
            _ => {
                return Err(CompileError::new(
                    node.pos,
                    format!(
                        "'{}' needs exactly one test (combine several with allof(…) or anyof(…))",
                        node.name
                    ),
                ));
            }
        };
        let block = node.block.as_deref().ok_or_else(|| {
            CompileError::new(
                node.pos,
                format!(
                    "'{}' needs a block: {} <test> {{ … }}",
                    node.name, node.name
                ),
            )
        })?;
        Ok((test, self.block(block)?))
    }
}

/// Fails when a command that takes neither has a test or a block.
pub(crate) fn no_tests_or_block(node: &CommandNode) -> Result<(), CompileError> {
    if let Some(test) = node.tests.first() {
        return Err(CompileError::new(
            test.pos,
            format!(
                "the {} command takes no test (is a ';' missing before '{}'?)",
                node.name, test.name
            ),
        ));
    }
    if node.block.is_some() {
        return Err(CompileError::new(
            node.pos,
            format!("the {} command takes no block; end it with ';'", node.name),
        ));
    }
    Ok(())
}
