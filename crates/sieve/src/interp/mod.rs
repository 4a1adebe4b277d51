//! The interpreter: runs a checked [`Script`] over one message and envelope and
//! collects the actions, applying the implicit keep of RFC 5228 §2.10.2, `stop`,
//! `include`/`return` (RFC 6609) and the resource limits.
//!
//! Pure: everything it needs comes from [`Input`] and the [`Host`] callbacks; it
//! performs no action itself, does no I/O and keeps no global state. Any failure is a
//! [`RuntimeError`], after which the caller keeps the message (RFC 5228 §2.10.6).

mod body;
mod datetime;
mod effects;
mod eval;
pub(crate) mod matching;
mod message;
mod vars;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use regex::Regex;

use crate::Options;
use crate::action::{Action, DuplicateRecord, HeaderEdit, Host, Input, Outcome};
use crate::error::RuntimeError;
use crate::script::{Cmd, CmdKind, IncludeLocation, Script};

use message::MessageView;

/// What a block asks of its caller when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    /// `stop` (RFC 5228 §3.3): end every script.
    Stop,
    /// `return` (RFC 6609 §3.3): end this script.
    Return,
}

/// The variables of one running script (RFC 5229 §3: each script has its own).
#[derive(Default)]
pub(crate) struct Frame {
    locals: HashMap<String, String>,
}

/// The state of one run.
pub(crate) struct Run<'i, 'h> {
    input: &'i Input<'i>,
    host: &'h mut dyn Host,
    options: &'i Options,
    msg: MessageView<'i>,
    actions: Vec<Action>,
    keep_cancelled: bool,
    /// The imap4flags internal variable (RFC 5232 §3).
    flags: Vec<String>,
    globals: HashMap<String, String>,
    /// `${0}`…: set by the last successful `:matches` or `:regex` (RFC 5229 §3.2).
    matches: Vec<String>,
    budget: u64,
    includes: usize,
    stack: Vec<(IncludeLocation, String)>,
    included: HashSet<(IncludeLocation, String)>,
    compiled: HashMap<(IncludeLocation, String), Rc<Script>>,
    duplicates: Vec<DuplicateRecord>,
    regexes: HashMap<(String, bool), Regex>,
    /// The script's regexes kept across runs.
    shared_regexes: crate::script::RegexCache,
    redirects: usize,
    reject_line: Option<u32>,
    vacation_line: Option<u32>,
    delivery_line: Option<(u32, &'static str)>,
    edits: Vec<HeaderEdit>,
    /// The MIME structure of the original message, parsed on the first `body` test.
    structure: Option<pillarbox_mime::MessageStructure>,
}

/// Runs `script` (RFC 5228 §2.10).
pub(crate) fn run(
    script: &Script,
    options: &Options,
    input: &Input<'_>,
    host: &mut dyn Host,
) -> Result<Outcome, RuntimeError> {
    let mut run = Run {
        input,
        host,
        options,
        msg: MessageView::new(input.message),
        actions: Vec::new(),
        keep_cancelled: false,
        flags: Vec::new(),
        globals: HashMap::new(),
        matches: Vec::new(),
        budget: options.limits.max_steps,
        includes: 0,
        stack: Vec::new(),
        included: HashSet::new(),
        compiled: HashMap::new(),
        duplicates: Vec::new(),
        regexes: HashMap::new(),
        shared_regexes: script.regexes.clone(),
        redirects: 0,
        reject_line: None,
        vacation_line: None,
        delivery_line: None,
        edits: Vec::new(),
        structure: None,
    };
    let mut frame = Frame::default();
    run.block(&mut frame, &script.commands)?;
    // RFC 5228 §2.10.2: the implicit keep, unless an action cancelled it; it carries
    // the internal flags (RFC 5232 §3).
    if !run.keep_cancelled {
        let message = run.msg.current();
        run.actions.push(Action::Keep {
            flags: run.flags.clone(),
            implicit: true,
            message,
        });
    }
    Ok(Outcome {
        actions: run.actions,
        header_edits: run.edits,
        edited_message: run.msg.current(),
        duplicates: run.duplicates,
    })
}

impl Run<'_, '_> {
    /// Charges one step; stops the script when the budget is spent.
    fn step(&mut self, line: u32) -> Result<(), RuntimeError> {
        self.budget = self
            .budget
            .checked_sub(1)
            .ok_or_else(|| self.out_of_steps(line))?;
        Ok(())
    }

    fn out_of_steps(&self, line: u32) -> RuntimeError {
        RuntimeError::limit(
            line,
            format!(
                "the script did more than {} steps of work (commands, tests and comparisons) and was stopped",
                self.options.limits.max_steps
            ),
        )
    }

    fn block(&mut self, frame: &mut Frame, commands: &[Cmd]) -> Result<Flow, RuntimeError> {
        for cmd in commands {
            self.step(cmd.line)?;
            let flow = self.command(frame, cmd)?;
            if flow != Flow::Next {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    fn command(&mut self, frame: &mut Frame, cmd: &Cmd) -> Result<Flow, RuntimeError> {
        let line = cmd.line;
        match &cmd.kind {
            CmdKind::If {
                branches,
                otherwise,
            } => {
                for (test, block) in branches {
                    if self.test(frame, test)? {
                        return self.block(frame, block);
                    }
                }
                if let Some(block) = otherwise {
                    return self.block(frame, block);
                }
            }
            CmdKind::Stop => return Ok(Flow::Stop),
            CmdKind::Return => return Ok(Flow::Return),
            CmdKind::Global => {}
            CmdKind::Keep { flags } => {
                let flags = self.flag_argument(frame, flags.as_deref());
                self.store(line, None, flags, false, false)?;
            }
            CmdKind::Discard => self.discard(line)?,
            CmdKind::FileInto {
                mailbox,
                flags,
                copy,
                create,
            } => {
                let mailbox = self.expand(frame, mailbox);
                if mailbox.is_empty() {
                    return Err(RuntimeError::new(
                        line,
                        "fileinto: the mailbox name is empty",
                    ));
                }
                let flags = self.flag_argument(frame, flags.as_deref());
                self.store(line, Some(mailbox), flags, *copy, *create)?;
            }
            CmdKind::Redirect { address, copy } => {
                let address = self.expand(frame, address);
                self.redirect(line, address, *copy)?;
            }
            CmdKind::Reject { reason, extended } => {
                let reason = self.expand(frame, reason);
                self.reject(line, reason, *extended)?;
            }
            CmdKind::Flags {
                op,
                variable,
                flags,
            } => {
                self.flag_command(frame, *op, variable.as_ref(), flags)?;
            }
            CmdKind::Set {
                name,
                value,
                modifiers,
            } => {
                let value = vars::apply_modifiers(&self.expand(frame, value), modifiers);
                self.set_var(frame, line, name, value)?;
            }
            CmdKind::Vacation(vacation) => self.vacation(frame, line, vacation)?,
            CmdKind::Notify(notify) => self.notify(frame, line, notify)?,
            CmdKind::AddHeader { last, name, value } => {
                let name = self.expand(frame, name);
                let value = self.expand(frame, value);
                self.add_header(line, &name, &value, *last)?;
            }
            CmdKind::DeleteHeader {
                index,
                spec,
                name,
                values,
            } => self.delete_header(frame, line, *index, *spec, name, values.as_deref())?,
            CmdKind::Include {
                location,
                once,
                optional,
                name,
            } => {
                let name = self.expand(frame, name);
                return self.include(line, *location, *once, *optional, name);
            }
        }
        Ok(Flow::Next)
    }

    /// `include` (RFC 6609 §3.2): runs another script with its own variables and the
    /// shared globals; `stop` inside it ends everything, `return` only it.
    fn include(
        &mut self,
        line: u32,
        location: IncludeLocation,
        once: bool,
        optional: bool,
        name: String,
    ) -> Result<Flow, RuntimeError> {
        if !crate::check::strings::is_script_name(&name) {
            return Err(RuntimeError::new(
                line,
                format!("include: '{name}' is not a valid script name"),
            ));
        }
        let key = (location, name.clone());
        if once && self.included.contains(&key) {
            return Ok(Flow::Next);
        }
        if self.stack.contains(&key) {
            let chain: Vec<&str> = self.stack.iter().map(|(_, n)| n.as_str()).collect();
            return Err(RuntimeError::limit(
                line,
                format!(
                    "include loop: '{name}' is already being run (include chain: {} → {name})",
                    chain.join(" → ")
                ),
            ));
        }
        let limits = &self.options.limits;
        if self.stack.len() >= limits.max_include_depth {
            return Err(RuntimeError::limit(
                line,
                format!(
                    "includes are nested more than {} deep",
                    limits.max_include_depth
                ),
            ));
        }
        self.includes += 1;
        if self.includes > limits.max_includes {
            return Err(RuntimeError::limit(
                line,
                format!("the script ran more than {} includes", limits.max_includes),
            ));
        }
        let script = match self.compiled.get(&key) {
            Some(script) => Rc::clone(script),
            None => {
                let Some(source) = self.host.include(&name, location) else {
                    if optional {
                        return Ok(Flow::Next);
                    }
                    return Err(RuntimeError::new(
                        line,
                        format!(
                            "include: there is no script '{name}' (add :optional to allow that)"
                        ),
                    ));
                };
                let script =
                    crate::compile_named(source.as_bytes(), self.options, Some(name.clone()))
                        .map_err(|e| {
                            RuntimeError::new(
                                line,
                                format!("include: the script '{name}' does not compile: {e}"),
                            )
                        })?;
                let script = Rc::new(script);
                self.compiled.insert(key.clone(), Rc::clone(&script));
                script
            }
        };
        self.included.insert(key.clone());
        self.stack.push(key);
        let mut frame = Frame::default();
        let flow = self.block(&mut frame, &script.commands).map_err(|mut e| {
            if e.script.is_none() {
                e.script = Some(name);
            }
            e
        });
        self.stack.pop();
        Ok(match flow? {
            Flow::Stop => Flow::Stop,
            Flow::Next | Flow::Return => Flow::Next,
        })
    }
}
