//! Pillarbox's Sieve engine: mail filtering scripts (RFC 5228) with the extensions
//! listed in [`Extension`].
//!
//! Three stages. [`compile`] reads a script: the lexer (RFC 5228 §8.1) and parser
//! (§8.2) build a syntax tree, and the checker validates `require`, every command's
//! and test's arguments and tags, and refuses an extension used without `require`;
//! every refusal is a [`CompileError`] with a line, a column and a message a person can
//! act on. [`Script::run`] then interprets the checked script over one message
//! ([`Input`]: raw bytes, envelope, time, scores, environment) and returns an
//! [`Outcome`]: the [`Action`]s to carry out (implicit keep included, RFC 5228
//! §2.10.2), header edits, and duplicate ids to record. What the interpreter must ask
//! during a run (duplicate ids, mailbox existence, included scripts) goes through the
//! [`Host`] trait.
//!
//! Hostile scripts are stopped by [`Limits`]: at compile time (script size, nesting,
//! variables, regular-expression size) with a [`CompileError`], at run time (steps,
//! redirects, actions, includes, header edits) with a [`RuntimeError`]; after a
//! runtime error the caller files the message into the inbox (RFC 5228 §2.10.6).
//!
//! Pure: no I/O, no async, no global state, and no panic on any input. Headers,
//! addresses, MIME parts and RFC 2047 words are read with `pillarbox-mime`; regular
//! expressions use the linear-time `regex` crate.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod action;
mod check;
mod error;
mod extension;
mod interp;
mod lexer;
mod mailto;
mod parser;
mod script;

pub use action::{
    Action, DuplicateRecord, Envelope, HeaderEdit, Host, Input, NoHost, Notification, Outcome,
    SpamScore, VacationReply, VacationSuppression,
};
pub use error::{CompileError, RuntimeError};
pub use extension::{Extension, Limits};
pub use lexer::Position;
pub use mailto::{MailtoUri, parse_mailto};
pub use script::{IncludeLocation, Script};

/// What a script may use and how much it may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Resource limits.
    pub limits: Limits,
    /// The extensions scripts may require (all of [`Extension::ALL`] by default).
    pub extensions: Vec<Extension>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            extensions: Extension::ALL.to_vec(),
        }
    }
}

/// Compiles a script (RFC 5228 §2–§8). The source must be UTF-8.
pub fn compile(source: &[u8], options: &Options) -> Result<Script, CompileError> {
    compile_named(source, options, None)
}

pub(crate) fn compile_named(
    source: &[u8],
    options: &Options,
    name: Option<String>,
) -> Result<Script, CompileError> {
    let located = |mut e: CompileError| {
        e.script = name.clone();
        e
    };
    if source.len() > options.limits.max_script_size {
        return Err(located(CompileError::new(
            Position { line: 1, column: 1 },
            format!(
                "the script is {} bytes long; the limit is {} bytes",
                source.len(),
                options.limits.max_script_size
            ),
        )));
    }
    let text = std::str::from_utf8(source).map_err(|e| {
        let valid = source.get(..e.valid_up_to()).unwrap_or_default();
        let text = std::str::from_utf8(valid).unwrap_or_default();
        let pos = lexer::end_position(text);
        located(CompileError::new(
            pos,
            "the script is not valid UTF-8 here (RFC 5228 §2.2 requires UTF-8)",
        ))
    })?;
    let tokens = lexer::tokenize(text).map_err(located)?;
    let tree = parser::parse(
        &tokens,
        options.limits.max_nesting,
        lexer::end_position(text),
    )
    .map_err(located)?;
    let mut script =
        check::check(&tree, &options.limits, &options.extensions, name.clone()).map_err(located)?;
    script.options = options.clone();
    Ok(script)
}

impl Script {
    /// Runs the script over one message (RFC 5228 §2.10). On `Err` no action of the
    /// run may be carried out; the caller keeps the message instead (§2.10.6).
    pub fn run(&self, input: &Input<'_>, host: &mut dyn Host) -> Result<Outcome, RuntimeError> {
        interp::run(self, &self.options, input, host)
    }
}
