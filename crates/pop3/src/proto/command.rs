//! The POP3 command parser: one line in, one typed [`Command`] (or a typed
//! [`ParseError`]) out. Pure: no I/O, no session state, no allocation beyond the
//! arguments it returns, and no panic on any input.
//!
//! Grammar (RFC 1939 §3, RFC 2449 §3): a case-insensitive keyword of three or four
//! characters, arguments separated by a single space, the line ended by CRLF (a bare LF
//! is accepted). Which commands are legal in which state is the session's business, not
//! the parser's.

use base64::Engine as _;

/// The longest line the session frames, CRLF included. RFC 2449 §4 caps command lines at
/// 255 octets; the slack leaves room for a SASL initial response or response line
/// (RFC 5034 §4) carrying a long password.
pub const MAX_LINE: usize = 1024;

/// RFC 1939 §3: arguments "may be up to 40 characters long". We allow more for user
/// names (full addresses) but cap every token to keep replies that echo them bounded.
pub const MAX_ARG: usize = 255;

/// A parsed command.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// RFC 1939 §7 `USER name`.
    User(String),
    /// RFC 1939 §7 `PASS string` (spaces belong to the password).
    Pass(String),
    /// RFC 1939 §7 `APOP name digest`.
    Apop { name: String, digest: String },
    /// RFC 5034 §4 `AUTH mechanism [initial-response]`; `None` is the bare `AUTH`
    /// that lists mechanisms.
    Auth(Option<AuthStart>),
    /// RFC 2595 §4 `STLS`.
    Stls,
    /// RFC 2449 §5 `CAPA`.
    Capa,
    /// RFC 1939 §5 `QUIT` (and §4 in AUTHORIZATION).
    Quit,
    /// RFC 1939 §5 `STAT`.
    Stat,
    /// RFC 1939 §5 `LIST [msg]`.
    List(Option<u32>),
    /// RFC 1939 §5 `RETR msg`.
    Retr(u32),
    /// RFC 1939 §5 `DELE msg`.
    Dele(u32),
    /// RFC 1939 §5 `NOOP`.
    Noop,
    /// RFC 1939 §5 `RSET`.
    Rset,
    /// RFC 1939 §7 `TOP msg n`.
    Top { msg: u32, lines: u64 },
    /// RFC 1939 §7 `UIDL [msg]`.
    Uidl(Option<u32>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Pass(_) => f.write_str("Pass(<redacted>)"),
            Command::Auth(Some(a)) => f
                .debug_struct("Auth")
                .field("mechanism", &a.mechanism)
                .field("initial", &a.initial.as_ref().map(|_| "<redacted>"))
                .finish(),
            Command::User(u) => f.debug_tuple("User").field(u).finish(),
            Command::Apop { name, .. } => f.debug_struct("Apop").field("name", name).finish(),
            Command::Auth(None) => f.write_str("Auth(None)"),
            Command::Stls => f.write_str("Stls"),
            Command::Capa => f.write_str("Capa"),
            Command::Quit => f.write_str("Quit"),
            Command::Stat => f.write_str("Stat"),
            Command::List(n) => f.debug_tuple("List").field(n).finish(),
            Command::Retr(n) => f.debug_tuple("Retr").field(n).finish(),
            Command::Dele(n) => f.debug_tuple("Dele").field(n).finish(),
            Command::Noop => f.write_str("Noop"),
            Command::Rset => f.write_str("Rset"),
            Command::Top { msg, lines } => f
                .debug_struct("Top")
                .field("msg", msg)
                .field("lines", lines)
                .finish(),
            Command::Uidl(n) => f.debug_tuple("Uidl").field(n).finish(),
        }
    }
}

impl Command {
    /// The command's keyword, upper-cased.
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth(_) => "AUTH",
            Command::Stls => "STLS",
            Command::Capa => "CAPA",
            Command::Quit => "QUIT",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Top { .. } => "TOP",
            Command::Uidl(_) => "UIDL",
        }
    }
}

/// The start of a SASL exchange.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthStart {
    /// The mechanism name as sent (upper-cased).
    pub mechanism: String,
    /// The decoded initial response; `Some(vec![])` for `=` (RFC 5034 §4).
    pub initial: Option<Vec<u8>>,
}

/// Why a line is not a command we can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty command line")]
    Empty,
    #[error("unknown command")]
    Unknown,
    #[error("command line is not valid UTF-8")]
    NotUtf8,
    #[error("{command} needs an argument: {usage}")]
    MissingArgument {
        command: &'static str,
        usage: &'static str,
    },
    #[error("too many arguments to {command}; usage: {usage}")]
    TooManyArguments {
        command: &'static str,
        usage: &'static str,
    },
    #[error("invalid message number")]
    BadMessageNumber,
    #[error("invalid line count")]
    BadLineCount,
    #[error("argument too long")]
    ArgumentTooLong,
    #[error("invalid base64 in the initial response")]
    BadBase64,
}

/// The keyword of a line, upper-cased, for logs (never the arguments: they may be a
/// password). At most four characters; non-letters become `?`.
pub fn keyword_of(line: &[u8]) -> String {
    line.iter()
        .take_while(|b| **b != b' ' && **b != b'\r' && **b != b'\n')
        .take(4)
        .map(|b| {
            if b.is_ascii_alphabetic() {
                b.to_ascii_uppercase() as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Parses one command line (with or without its line terminator).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = strip_eol(line);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if !(3..=4).contains(&keyword.len()) {
        return Err(ParseError::Unknown);
    }
    let mut kw = [0u8; 4];
    for (k, b) in kw.iter_mut().zip(keyword) {
        *k = b.to_ascii_uppercase();
    }
    let kw = &kw[..keyword.len()];
    // PASS keeps its argument verbatim (RFC 1939 §7: spaces are part of the password).
    if kw == b"PASS" {
        let arg = rest.ok_or(ParseError::MissingArgument {
            command: "PASS",
            usage: "PASS password",
        })?;
        let pw = std::str::from_utf8(arg).map_err(|_| ParseError::NotUtf8)?;
        return Ok(Command::Pass(pw.to_string()));
    }
    let rest = match rest {
        Some(r) => std::str::from_utf8(r).map_err(|_| ParseError::NotUtf8)?,
        None => "",
    };
    let args: Vec<&str> = rest.split(' ').filter(|a| !a.is_empty()).collect();
    if args.iter().any(|a| a.len() > MAX_ARG) {
        return Err(ParseError::ArgumentTooLong);
    }
    match kw {
        b"USER" => {
            let [name] = exactly::<1>(&args, "USER", "USER name")?;
            Ok(Command::User(name.to_string()))
        }
        b"APOP" => {
            let [name, digest] = exactly::<2>(&args, "APOP", "APOP name digest")?;
            Ok(Command::Apop {
                name: name.to_string(),
                digest: digest.to_string(),
            })
        }
        b"AUTH" => auth(&args),
        b"STLS" => none(&args, "STLS").map(|_| Command::Stls),
        b"CAPA" => none(&args, "CAPA").map(|_| Command::Capa),
        b"QUIT" => none(&args, "QUIT").map(|_| Command::Quit),
        b"STAT" => none(&args, "STAT").map(|_| Command::Stat),
        b"NOOP" => none(&args, "NOOP").map(|_| Command::Noop),
        b"RSET" => none(&args, "RSET").map(|_| Command::Rset),
        b"LIST" => optional_msg(&args, "LIST", "LIST [msg]").map(Command::List),
        b"UIDL" => optional_msg(&args, "UIDL", "UIDL [msg]").map(Command::Uidl),
        b"RETR" => {
            let [n] = exactly::<1>(&args, "RETR", "RETR msg")?;
            Ok(Command::Retr(msg_number(n)?))
        }
        b"DELE" => {
            let [n] = exactly::<1>(&args, "DELE", "DELE msg")?;
            Ok(Command::Dele(msg_number(n)?))
        }
        b"TOP" => {
            let [n, lines] = exactly::<2>(&args, "TOP", "TOP msg lines")?;
            Ok(Command::Top {
                msg: msg_number(n)?,
                lines: line_count(lines)?,
            })
        }
        _ => Err(ParseError::Unknown),
    }
}

/// Parses a SASL response line (RFC 5034 §4): `*` cancels (`None`), anything else is
/// base64 (an empty line is an empty response).
pub fn parse_sasl_response(line: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    let line = strip_eol(line);
    if line == b"*" {
        return Ok(None);
    }
    base64::engine::general_purpose::STANDARD
        .decode(line)
        .map(Some)
        .map_err(|_| ParseError::BadBase64)
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn exactly<'a, const N: usize>(
    args: &[&'a str],
    command: &'static str,
    usage: &'static str,
) -> Result<[&'a str; N], ParseError> {
    if args.len() < N {
        return Err(ParseError::MissingArgument { command, usage });
    }
    args.try_into()
        .map_err(|_| ParseError::TooManyArguments { command, usage })
}

fn none(args: &[&str], command: &'static str) -> Result<(), ParseError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(ParseError::TooManyArguments {
            command,
            usage: command,
        })
    }
}

fn optional_msg(
    args: &[&str],
    command: &'static str,
    usage: &'static str,
) -> Result<Option<u32>, ParseError> {
    match args {
        [] => Ok(None),
        [n] => msg_number(n).map(Some),
        _ => Err(ParseError::TooManyArguments { command, usage }),
    }
}

/// RFC 1939 §3: a message number is a positive decimal integer.
fn msg_number(s: &str) -> Result<u32, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadMessageNumber);
    }
    match s.parse::<u32>() {
        Ok(0) | Err(_) => Err(ParseError::BadMessageNumber),
        Ok(n) => Ok(n),
    }
}

/// RFC 1939 §7: the TOP line count is a non-negative decimal integer. Counts beyond
/// `u64` mean "all of it".
fn line_count(s: &str) -> Result<u64, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadLineCount);
    }
    Ok(s.parse::<u64>().unwrap_or(u64::MAX))
}

fn auth(args: &[&str]) -> Result<Command, ParseError> {
    let usage = "AUTH [mechanism [initial-response]]";
    match args {
        [] => Ok(Command::Auth(None)),
        [mech] => Ok(Command::Auth(Some(AuthStart {
            mechanism: mech.to_ascii_uppercase(),
            initial: None,
        }))),
        [mech, ir] => {
            let initial = if *ir == "=" {
                Vec::new()
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(ir)
                    .map_err(|_| ParseError::BadBase64)?
            };
            Ok(Command::Auth(Some(AuthStart {
                mechanism: mech.to_ascii_uppercase(),
                initial: Some(initial),
            })))
        }
        _ => Err(ParseError::TooManyArguments {
            command: "AUTH",
            usage,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn every_command_from_the_rfc_grammar() {
        let table: &[(&str, Command)] = &[
            (
                "USER bob@example.test\r\n",
                Command::User("bob@example.test".into()),
            ),
            ("user bob\n", Command::User("bob".into())),
            ("PASS secret\r\n", Command::Pass("secret".into())),
            (
                "PASS  two  spaces \r\n",
                Command::Pass(" two  spaces ".into()),
            ),
            ("PASS \r\n", Command::Pass(String::new())),
            (
                "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
                Command::Apop {
                    name: "mrose".into(),
                    digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
                },
            ),
            ("AUTH\r\n", Command::Auth(None)),
            (
                "AUTH plain\r\n",
                Command::Auth(Some(AuthStart {
                    mechanism: "PLAIN".into(),
                    initial: None,
                })),
            ),
            (
                "AUTH PLAIN AGJvYgBwdw==\r\n",
                Command::Auth(Some(AuthStart {
                    mechanism: "PLAIN".into(),
                    initial: Some(b"\0bob\0pw".to_vec()),
                })),
            ),
            (
                "AUTH LOGIN =\r\n",
                Command::Auth(Some(AuthStart {
                    mechanism: "LOGIN".into(),
                    initial: Some(Vec::new()),
                })),
            ),
            ("STLS\r\n", Command::Stls),
            ("capa\r\n", Command::Capa),
            ("QUIT\r\n", Command::Quit),
            ("STAT\r\n", Command::Stat),
            ("NOOP\r\n", Command::Noop),
            ("RSET\r\n", Command::Rset),
            ("LIST\r\n", Command::List(None)),
            ("LIST 2\r\n", Command::List(Some(2))),
            ("UIDL\r\n", Command::Uidl(None)),
            ("UIDL 007\r\n", Command::Uidl(Some(7))),
            ("RETR 1\r\n", Command::Retr(1)),
            ("DELE 4294967295\r\n", Command::Dele(u32::MAX)),
            ("TOP 1 0\r\n", Command::Top { msg: 1, lines: 0 }),
            ("top 3 10\r\n", Command::Top { msg: 3, lines: 10 }),
            (
                "TOP 1 99999999999999999999999\r\n",
                Command::Top {
                    msg: 1,
                    lines: u64::MAX,
                },
            ),
            // Lenient about a trailing space, which some clients send.
            ("STAT \r\n", Command::Stat),
            ("RETR 1 \r\n", Command::Retr(1)),
        ];
        for (line, want) in table {
            assert_eq!(&ok(line), want, "{line:?}");
        }
    }

    #[test]
    fn errors_are_typed() {
        use ParseError::*;
        let table: &[(&[u8], ParseError)] = &[
            (b"\r\n", Empty),
            (b"", Empty),
            (b"XYZZY\r\n", Unknown),
            (b"RE\r\n", Unknown),
            (b"RETRIEVE 1\r\n", Unknown),
            (b" STAT\r\n", Unknown),
            (
                b"RETR\r\n",
                MissingArgument {
                    command: "RETR",
                    usage: "RETR msg",
                },
            ),
            (b"RETR 0\r\n", BadMessageNumber),
            (b"RETR -1\r\n", BadMessageNumber),
            (b"RETR +1\r\n", BadMessageNumber),
            (b"RETR 1x\r\n", BadMessageNumber),
            (b"RETR 4294967296\r\n", BadMessageNumber),
            (
                b"RETR 1 2\r\n",
                TooManyArguments {
                    command: "RETR",
                    usage: "RETR msg",
                },
            ),
            (
                b"TOP 1\r\n",
                MissingArgument {
                    command: "TOP",
                    usage: "TOP msg lines",
                },
            ),
            (b"TOP 1 -2\r\n", BadLineCount),
            (
                b"LIST 1 2\r\n",
                TooManyArguments {
                    command: "LIST",
                    usage: "LIST [msg]",
                },
            ),
            (
                b"STAT 1\r\n",
                TooManyArguments {
                    command: "STAT",
                    usage: "STAT",
                },
            ),
            (
                b"USER\r\n",
                MissingArgument {
                    command: "USER",
                    usage: "USER name",
                },
            ),
            (
                b"USER a b\r\n",
                TooManyArguments {
                    command: "USER",
                    usage: "USER name",
                },
            ),
            (
                b"PASS\r\n",
                MissingArgument {
                    command: "PASS",
                    usage: "PASS password",
                },
            ),
            (b"PASS \xff\r\n", NotUtf8),
            (b"USER \xc3\r\n", NotUtf8),
            (b"AUTH PLAIN !!!\r\n", BadBase64),
            (
                b"AUTH PLAIN a b\r\n",
                TooManyArguments {
                    command: "AUTH",
                    usage: "AUTH [mechanism [initial-response]]",
                },
            ),
        ];
        for (line, want) in table {
            assert_eq!(
                parse(line).as_ref(),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        let long = format!("USER {}\r\n", "a".repeat(MAX_ARG + 1));
        assert_eq!(parse(long.as_bytes()), Err(ArgumentTooLong));
    }

    #[test]
    fn sasl_responses() {
        assert_eq!(parse_sasl_response(b"*\r\n"), Ok(None));
        assert_eq!(parse_sasl_response(b"\r\n"), Ok(Some(vec![])));
        assert_eq!(parse_sasl_response(b"Ym9i\r\n"), Ok(Some(b"bob".to_vec())));
        assert_eq!(
            parse_sasl_response(b"Ym9i!\r\n"),
            Err(ParseError::BadBase64)
        );
    }

    #[test]
    fn keyword_for_logs_never_shows_arguments() {
        assert_eq!(keyword_of(b"pass hunter2\r\n"), "PASS");
        assert_eq!(keyword_of(b"RETRIEVE 1"), "RETR");
        assert_eq!(keyword_of(b"\x01\x02 x"), "??");
        let dbg = format!("{:?}", parse(b"PASS hunter2\r\n").unwrap());
        assert!(!dbg.contains("hunter2"), "{dbg}");
        let dbg = format!("{:?}", parse(b"AUTH PLAIN AGJvYgBwdw==\r\n").unwrap());
        assert!(!dbg.contains("AGJv") && !dbg.contains("pw"), "{dbg}");
    }
}
