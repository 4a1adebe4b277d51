//! The two error types of the engine: [`CompileError`] (the script cannot be used: a
//! syntax error, a missing `require`, a bad argument, a limit) and [`RuntimeError`]
//! (the script stopped while running; the caller falls back to the implicit keep,
//! RFC 5228 §2.10.6).
//!
//! Both carry the position in the script and a message written for the person who
//! wrote the script. Owns no behaviour beyond formatting.

use crate::lexer::Position;

/// Why a script cannot be compiled, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}line {line}, column {column}: {message}", script_prefix(.script))]
pub struct CompileError {
    /// Line of the offending token, from 1.
    pub line: u32,
    /// Column of the offending token in characters, from 1.
    pub column: u32,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
    /// The included script the error is in (`None` for the main script).
    pub script: Option<String>,
}

fn script_prefix(script: &Option<String>) -> String {
    script
        .as_ref()
        .map_or_else(String::new, |name| format!("script '{name}', "))
}

impl CompileError {
    pub(crate) fn new(pos: Position, message: impl Into<String>) -> Self {
        CompileError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
            script: None,
        }
    }
}

/// Why a run stopped. The actions collected so far are void; the caller files the
/// message into the default mailbox (RFC 5228 §2.10.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}line {line}: {message}", script_prefix(.script))]
pub struct RuntimeError {
    /// Line of the command or test that failed.
    pub line: u32,
    /// What went wrong.
    pub message: String,
    /// The included script the error is in (`None` for the main script).
    pub script: Option<String>,
    /// Whether a resource limit stopped the script (rather than a conflict of actions
    /// or a bad value computed at run time).
    pub limit: bool,
}

impl RuntimeError {
    pub(crate) fn new(line: u32, message: impl Into<String>) -> Self {
        RuntimeError {
            line,
            message: message.into(),
            script: None,
            limit: false,
        }
    }

    pub(crate) fn limit(line: u32, message: impl Into<String>) -> Self {
        RuntimeError {
            limit: true,
            ..RuntimeError::new(line, message)
        }
    }
}
