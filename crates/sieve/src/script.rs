//! The checked form of a script: every command and test with typed arguments, the
//! match type, comparator and address part resolved, strings split into literal text
//! and variable references. The checker builds it; the interpreter walks it.
//!
//! Plain data: no behaviour beyond small accessors, and nothing here can fail.

/// A compiled script, ready to run any number of times.
#[derive(Debug, Clone)]
pub struct Script {
    pub(crate) commands: Vec<Cmd>,
    pub(crate) extensions: Vec<crate::Extension>,
    pub(crate) name: Option<String>,
    pub(crate) options: crate::Options,
    /// Regular expressions built by runs of this script, kept for the next runs (a
    /// key without variables is the same every time; building one costs more than
    /// the rest of a typical run).
    pub(crate) regexes: RegexCache,
}

/// Compiled `:regex` keys shared by every run of one script (clones of a [`Script`]
/// share it), keyed by pattern and case-insensitivity, bounded.
#[derive(Clone, Default)]
pub(crate) struct RegexCache(pub(crate) std::sync::Arc<std::sync::Mutex<RegexMap>>);

/// Compiled regexes by (pattern, case-insensitive).
pub(crate) type RegexMap = std::collections::HashMap<(String, bool), regex::Regex>;

impl std::fmt::Debug for RegexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegexCache")
    }
}

/// Patterns a script keeps compiled at most.
pub(crate) const REGEX_CACHE_MAX: usize = 64;

impl Script {
    /// The extensions the script requires, in the order of its `require` commands.
    pub fn extensions(&self) -> &[crate::Extension] {
        &self.extensions
    }

    /// The name the script was included under (`None` for a main script).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Where an included script lives (RFC 6609 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncludeLocation {
    /// The user's own scripts (`:personal`, the default).
    Personal,
    /// The administrator's shared scripts (`:global`).
    Global,
}

/// A reference to a variable inside a string (RFC 5229 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VarRef {
    /// `${0}` … `${N}`: the match variables.
    Match(usize),
    /// A variable of this script, name lower-cased.
    Local(String),
    /// A variable shared with included scripts (RFC 6609 §3.4), name lower-cased.
    Global(String),
}

/// One piece of a string with variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Var(VarRef),
}

/// A string argument: constant, or built from text and variables at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Str {
    Lit(String),
    Tmpl(Vec<Piece>),
}

impl Str {
    /// The constant value, if the string has no variables.
    pub(crate) fn literal(&self) -> Option<&str> {
        match self {
            Str::Lit(s) => Some(s),
            Str::Tmpl(_) => None,
        }
    }
}

/// Relational operators (RFC 5231 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

/// Match types (RFC 5228 §2.7.1, RFC 5231, draft-ietf-sieve-regex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchKind {
    Is,
    Contains,
    Matches,
    Regex,
    Value(Relation),
    Count(Relation),
}

/// Comparators (RFC 5228 §2.7.3, RFC 4790 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    Octet,
    AsciiCasemap,
    AsciiNumeric,
}

/// A match type with its comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MatchSpec {
    pub kind: MatchKind,
    pub comparator: Comparator,
}

/// Address parts (RFC 5228 §2.7.4, RFC 5233 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressPart {
    All,
    LocalPart,
    Domain,
    User,
    Detail,
}

/// `:index N [:last]` (RFC 5260 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    pub n: u64,
    pub last: bool,
}

/// The zone a date is shown in (RFC 5260 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ZoneSpec {
    /// The local zone of the run (no tag).
    Local,
    /// `:originalzone`: the zone written in the header.
    Original,
    /// `:zone "+hhmm"`.
    Fixed(Str),
}

/// Body transforms (RFC 5173 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyTransform {
    Raw,
    Content(Vec<Str>),
    Text,
}

/// `set` modifiers (RFC 5229 §4.1, RFC 5435 §6, draft-ietf-sieve-regex §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Modifier {
    Lower,
    Upper,
    LowerFirst,
    UpperFirst,
    QuoteWildcard,
    QuoteRegex,
    EncodeUrl,
    Length,
}

impl Modifier {
    /// Higher precedence is applied first (RFC 5229 §4.1).
    pub(crate) fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard | Modifier::QuoteRegex => 20,
            Modifier::EncodeUrl => 15,
            Modifier::Length => 10,
        }
    }
}

/// Which imap4flags command (RFC 5232 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagOp {
    Set,
    Add,
    Remove,
}

/// How the vacation period was given (RFC 5230 §4.1, RFC 6131 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    Default,
    Days(u64),
    Seconds(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VacationCmd {
    pub period: Period,
    pub subject: Option<Str>,
    pub from: Option<Str>,
    pub addresses: Vec<Str>,
    pub mime: bool,
    pub handle: Option<Str>,
    pub reason: Str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotifyCmd {
    pub from: Option<Str>,
    pub importance: Option<Str>,
    pub options: Vec<Str>,
    pub message: Option<Str>,
    pub method: Str,
}

/// What the duplicate test identifies a message by (RFC 7352 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DuplicateSource {
    MessageId,
    Header(Str),
    UniqueId(Str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateTest {
    pub handle: Option<Str>,
    pub source: DuplicateSource,
    pub seconds: Option<u64>,
    pub last: bool,
}

/// A command and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cmd {
    pub line: u32,
    pub kind: CmdKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CmdKind {
    If {
        branches: Vec<(Test, Vec<Cmd>)>,
        otherwise: Option<Vec<Cmd>>,
    },
    Stop,
    Return,
    Keep {
        flags: Option<Vec<Str>>,
    },
    Discard,
    FileInto {
        mailbox: Str,
        flags: Option<Vec<Str>>,
        copy: bool,
        create: bool,
    },
    Redirect {
        address: Str,
        copy: bool,
    },
    Reject {
        reason: Str,
        extended: bool,
    },
    Flags {
        op: FlagOp,
        variable: Option<VarRef>,
        flags: Vec<Str>,
    },
    Set {
        name: VarRef,
        value: Str,
        modifiers: Vec<Modifier>,
    },
    Vacation(Box<VacationCmd>),
    Notify(Box<NotifyCmd>),
    AddHeader {
        last: bool,
        name: Str,
        value: Str,
    },
    DeleteHeader {
        index: Option<Index>,
        spec: MatchSpec,
        name: Str,
        values: Option<Vec<Str>>,
    },
    Include {
        location: IncludeLocation,
        once: bool,
        optional: bool,
        name: Str,
    },
    /// `global` only declares names; resolved while checking.
    Global,
}

/// A test and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Test {
    pub line: u32,
    pub kind: TestKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TestKind {
    True,
    False,
    Not(Box<Test>),
    AllOf(Vec<Test>),
    AnyOf(Vec<Test>),
    Address {
        spec: MatchSpec,
        part: AddressPart,
        index: Option<Index>,
        headers: Vec<Str>,
        keys: Vec<Str>,
    },
    Header {
        spec: MatchSpec,
        index: Option<Index>,
        headers: Vec<Str>,
        keys: Vec<Str>,
    },
    Envelope {
        spec: MatchSpec,
        part: AddressPart,
        parts: Vec<Str>,
        keys: Vec<Str>,
    },
    Exists(Vec<Str>),
    Size {
        over: bool,
        limit: u64,
    },
    Body {
        spec: MatchSpec,
        transform: BodyTransform,
        keys: Vec<Str>,
    },
    Date {
        spec: MatchSpec,
        index: Option<Index>,
        zone: ZoneSpec,
        header: Str,
        part: Str,
        keys: Vec<Str>,
    },
    CurrentDate {
        spec: MatchSpec,
        zone: ZoneSpec,
        part: Str,
        keys: Vec<Str>,
    },
    String {
        spec: MatchSpec,
        sources: Vec<Str>,
        keys: Vec<Str>,
    },
    HasFlag {
        spec: MatchSpec,
        variables: Option<Vec<VarRef>>,
        flags: Vec<Str>,
    },
    MailboxExists(Vec<Str>),
    Duplicate(Box<DuplicateTest>),
    ValidNotifyMethod(Vec<Str>),
    NotifyMethodCapability {
        spec: MatchSpec,
        uri: Str,
        capability: Str,
        keys: Vec<Str>,
    },
    SpamTest {
        spec: MatchSpec,
        percent: bool,
        value: Str,
    },
    VirusTest {
        spec: MatchSpec,
        value: Str,
    },
    Environment {
        spec: MatchSpec,
        name: Str,
        keys: Vec<Str>,
    },
}
