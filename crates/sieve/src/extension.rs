//! The capability names the engine understands (the strings of `require`), and the
//! resource limits that stop a hostile script.
//!
//! Only names and numbers: what each extension does lives in the checker and the
//! interpreter.

/// An extension a script may `require`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Extension {
    /// `fileinto` (RFC 5228 §4.1).
    FileInto,
    /// `envelope` (RFC 5228 §5.4).
    Envelope,
    /// `${hex:…}` and `${unicode:…}` in strings (RFC 5228 §2.4.2.4).
    EncodedCharacter,
    /// `comparator-i;octet` (always available, RFC 5228 §2.7.3).
    ComparatorOctet,
    /// `comparator-i;ascii-casemap` (always available, RFC 5228 §2.7.3).
    ComparatorAsciiCasemap,
    /// `comparator-i;ascii-numeric` (RFC 4790 §9.1).
    ComparatorAsciiNumeric,
    /// `:copy` (RFC 3894).
    Copy,
    /// `reject` (RFC 5429 §2.2).
    Reject,
    /// `ereject` (RFC 5429 §2.1).
    Ereject,
    /// `setflag`, `addflag`, `removeflag`, `hasflag`, `:flags` (RFC 5232).
    Imap4Flags,
    /// `vacation` (RFC 5230).
    Vacation,
    /// `vacation :seconds` (RFC 6131).
    VacationSeconds,
    /// `:value` and `:count` (RFC 5231).
    Relational,
    /// `date` and `currentdate` (RFC 5260 §4, §5).
    Date,
    /// `:index` and `:last` (RFC 5260 §6).
    Index,
    /// `body` (RFC 5173).
    Body,
    /// `set`, `string` and `${…}` (RFC 5229).
    Variables,
    /// `:user` and `:detail` (RFC 5233).
    Subaddress,
    /// `:regex` (draft-ietf-sieve-regex).
    Regex,
    /// `fileinto :create` and `mailboxexists` (RFC 5490 §3).
    Mailbox,
    /// `include`, `return`, `global` (RFC 6609).
    Include,
    /// `duplicate` (RFC 7352).
    Duplicate,
    /// `notify`, `valid_notify_method`, `notify_method_capability` (RFC 5435) with
    /// the mailto method (RFC 5436).
    Enotify,
    /// `addheader` and `deleteheader` (RFC 5293).
    Editheader,
    /// `spamtest` (RFC 5235 §3.2).
    Spamtest,
    /// `spamtest :percent` (RFC 5235 §3.3).
    Spamtestplus,
    /// `virustest` (RFC 5235 §3.4).
    Virustest,
    /// `environment` (RFC 5183).
    Environment,
}

impl Extension {
    /// Every extension, in the order the `SIEVE` capability lists them.
    pub const ALL: [Extension; 28] = [
        Extension::FileInto,
        Extension::Envelope,
        Extension::EncodedCharacter,
        Extension::ComparatorOctet,
        Extension::ComparatorAsciiCasemap,
        Extension::ComparatorAsciiNumeric,
        Extension::Copy,
        Extension::Reject,
        Extension::Ereject,
        Extension::Imap4Flags,
        Extension::Vacation,
        Extension::VacationSeconds,
        Extension::Relational,
        Extension::Date,
        Extension::Index,
        Extension::Body,
        Extension::Variables,
        Extension::Subaddress,
        Extension::Regex,
        Extension::Mailbox,
        Extension::Include,
        Extension::Duplicate,
        Extension::Enotify,
        Extension::Editheader,
        Extension::Spamtest,
        Extension::Spamtestplus,
        Extension::Virustest,
        Extension::Environment,
    ];

    /// The capability string written in `require`.
    pub fn name(self) -> &'static str {
        match self {
            Extension::FileInto => "fileinto",
            Extension::Envelope => "envelope",
            Extension::EncodedCharacter => "encoded-character",
            Extension::ComparatorOctet => "comparator-i;octet",
            Extension::ComparatorAsciiCasemap => "comparator-i;ascii-casemap",
            Extension::ComparatorAsciiNumeric => "comparator-i;ascii-numeric",
            Extension::Copy => "copy",
            Extension::Reject => "reject",
            Extension::Ereject => "ereject",
            Extension::Imap4Flags => "imap4flags",
            Extension::Vacation => "vacation",
            Extension::VacationSeconds => "vacation-seconds",
            Extension::Relational => "relational",
            Extension::Date => "date",
            Extension::Index => "index",
            Extension::Body => "body",
            Extension::Variables => "variables",
            Extension::Subaddress => "subaddress",
            Extension::Regex => "regex",
            Extension::Mailbox => "mailbox",
            Extension::Include => "include",
            Extension::Duplicate => "duplicate",
            Extension::Enotify => "enotify",
            Extension::Editheader => "editheader",
            Extension::Spamtest => "spamtest",
            Extension::Spamtestplus => "spamtestplus",
            Extension::Virustest => "virustest",
            Extension::Environment => "environment",
        }
    }

    /// The extension a capability string names (case-sensitive, as RFC 5228 §3.2
    /// compares them octet by octet).
    pub fn from_name(name: &str) -> Option<Extension> {
        Extension::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Extensions that requiring this one also enables.
    pub(crate) fn implies(self) -> &'static [Extension] {
        match self {
            Extension::VacationSeconds => &[Extension::Vacation],
            Extension::Spamtestplus => &[Extension::Spamtest],
            _ => &[],
        }
    }
}

/// Bounds on what one script may cost. When a compile-time bound is exceeded the
/// script is refused with a [`crate::CompileError`]; when a run-time bound is
/// exceeded the run stops with a [`crate::RuntimeError`] whose `limit` is set, and the
/// caller keeps the message (RFC 5228 §2.10.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest script source, in bytes.
    pub max_script_size: usize,
    /// Deepest nesting of blocks and tests.
    pub max_nesting: usize,
    /// Commands and tests evaluated, plus comparisons made, in one run (all included
    /// scripts together).
    pub max_steps: u64,
    /// `redirect` actions in one run.
    pub max_redirects: usize,
    /// Actions of any kind in one run.
    pub max_actions: usize,
    /// Depth of nested `include`s.
    pub max_include_depth: usize,
    /// `include` commands executed in one run.
    pub max_includes: usize,
    /// Compiled size of one regular expression, in bytes (the `regex` crate's
    /// `size_limit`).
    pub max_regex_size: usize,
    /// Distinct regular expressions in one script, and built in one run.
    pub max_regexes: usize,
    /// Longest string built from variables at run time, in bytes; longer ones are
    /// truncated.
    pub max_string_size: usize,
    /// Distinct variables named in one script (and global variables in one run).
    pub max_variables: usize,
    /// Longest variable value, in bytes; longer values are truncated (RFC 5229 §3).
    pub max_variable_size: usize,
    /// Header edits (`addheader` and `deleteheader`) in one run.
    pub max_header_edits: usize,
    /// Smallest vacation period in seconds; shorter ones are raised to it
    /// (RFC 5230 §4.1, RFC 6131 §2).
    pub vacation_min_period: u64,
    /// Largest vacation period in seconds; longer ones are lowered to it.
    pub vacation_max_period: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_script_size: 1 << 20,
            max_nesting: 32,
            max_steps: 1_000_000,
            max_redirects: 4,
            max_actions: 32,
            max_include_depth: 10,
            max_includes: 64,
            max_regex_size: 1 << 20,
            max_regexes: 64,
            max_string_size: 1 << 20,
            max_variables: 255,
            max_variable_size: 4096,
            max_header_edits: 64,
            vacation_min_period: 86_400,
            vacation_max_period: 90 * 86_400,
        }
    }
}
