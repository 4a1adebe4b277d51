//! The one error type of configuration loading. Every variant that comes from the file
//! names the file, the line and the dotted key, and says what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::locate;

/// A configuration file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read.
    Io { file: PathBuf, message: String },
    /// A problem at a known place in the file.
    At {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// The line the error is on (1-based), when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::At { line, .. } => Some(*line),
            ConfigError::Io { .. } => None,
        }
    }

    /// The dotted key at fault, when known.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::At { key, .. } => Some(key),
            ConfigError::Io { .. } => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { file, message } => {
                write!(f, "{}: cannot read: {message}", file.display())
            }
            ConfigError::At {
                file,
                line,
                key,
                message,
            } if key.is_empty() => {
                write!(f, "{}:{line}: {message}", file.display())
            }
            ConfigError::At {
                file,
                line,
                key,
                message,
            } => {
                write!(f, "{}:{line}: key `{key}`: {message}", file.display())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Turns a deserialisation error into one that names line and key.
pub(crate) fn from_toml(e: &toml::de::Error, text: &str, file: &Path) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    let line = locate::line_of(text, span.start);
    let raw = e.message().trim().to_string();
    let mut key = locate::key_at(text, span.start).unwrap_or_default();
    let message = if let Some(rest) = raw.strip_prefix("unknown field `") {
        // serde: "unknown field `x`, expected one of `a`, `b`"
        let field = rest.split('`').next().unwrap_or_default();
        let expected = rest
            .split_once(", expected ")
            .map(|(_, x)| x)
            .unwrap_or("no other keys");
        if key.is_empty() || !key.ends_with(field) {
            key = field.to_string();
        }
        // serde says "one of `a`, `b`" (or "`a`" alone): don't say "one of" twice.
        let expected = expected.strip_prefix("one of ").unwrap_or(expected);
        format!("unknown key; expected one of {expected}")
    } else {
        plain_type_names(&raw)
    };
    ConfigError::At {
        file: file.to_path_buf(),
        line,
        key,
        message,
    }
}

/// Replaces Rust type names in serde's messages with words an administrator knows.
fn plain_type_names(raw: &str) -> String {
    let mut s = raw.to_string();
    for (rust, plain) in [
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected a quoted string"),
    ] {
        s = s.replace(rust, plain);
    }
    s
}

/// An error found after deserialisation, at a dotted key.
pub(crate) fn at_key(text: &str, file: &Path, key: &str, message: String) -> ConfigError {
    let line = locate::span_of(text, key)
        .map(|s| locate::line_of(text, s.start))
        .unwrap_or(1);
    ConfigError::At {
        file: file.to_path_buf(),
        line,
        key: key.to_string(),
        message,
    }
}
