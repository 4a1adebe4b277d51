//! The grammar of RFC 5228 §8.2 over the lexer's tokens: commands with arguments,
//! tests and test lists, blocks, string lists. Produces a generic syntax tree that
//! knows nothing of what any command means (that is the checker's job).
//!
//! Recursion is bounded by the nesting limit before it descends, so no input can
//! exhaust the stack. Never panics.

use crate::error::CompileError;
use crate::lexer::{Position, Token, TokenKind};

/// A string as written, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StringLit {
    pub value: String,
    pub pos: Position,
}

/// One argument of a command or test (RFC 5228 §2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Argument {
    Tag(String, Position),
    Number(u64, Position),
    /// A single string (not bracketed).
    String(StringLit),
    /// A bracketed string list.
    List(Vec<StringLit>, Position),
}

impl Argument {
    pub(crate) fn pos(&self) -> Position {
        match self {
            Argument::Tag(_, pos) | Argument::Number(_, pos) | Argument::List(_, pos) => *pos,
            Argument::String(s) => s.pos,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Argument::Tag(name, _) => format!("the tag ':{name}'"),
            Argument::Number(n, _) => format!("the number {n}"),
            Argument::String(_) => "a string".to_string(),
            Argument::List(..) => "a string list".to_string(),
        }
    }
}

/// A test with its arguments and nested tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestNode {
    pub name: String,
    pub pos: Position,
    pub args: Vec<Argument>,
    pub tests: Vec<TestNode>,
    /// Whether the nested tests were written as a parenthesised list.
    pub test_list: bool,
}

/// A command with its arguments, tests and block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandNode {
    pub name: String,
    pub pos: Position,
    pub args: Vec<Argument>,
    pub tests: Vec<TestNode>,
    pub test_list: bool,
    pub block: Option<Vec<CommandNode>>,
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    max_depth: usize,
    end: Position,
}

/// Parses a whole script: `start = commands` (RFC 5228 §8.2).
pub(crate) fn parse(
    tokens: &[Token],
    max_depth: usize,
    end: Position,
) -> Result<Vec<CommandNode>, CompileError> {
    let mut parser = Parser {
        tokens,
        at: 0,
        max_depth,
        end,
    };
    let commands = parser.commands(0)?;
    if let Some(token) = parser.peek() {
        return Err(CompileError::new(
            token.pos,
            format!("unexpected {}: expected a command", token.kind.describe()),
        ));
    }
    Ok(commands)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at);
        self.at += usize::from(token.is_some());
        token
    }

    fn here(&self) -> Position {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn unexpected(&self, expected: &str) -> CompileError {
        match self.peek() {
            Some(token) => CompileError::new(
                token.pos,
                format!("unexpected {}: expected {expected}", token.kind.describe()),
            ),
            None => CompileError::new(
                self.end,
                format!("unexpected end of script: expected {expected}"),
            ),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), CompileError> {
        if depth > self.max_depth {
            return Err(CompileError::new(
                self.here(),
                format!(
                    "blocks and tests are nested too deeply (more than {} levels); flatten the script",
                    self.max_depth
                ),
            ));
        }
        Ok(())
    }

    /// `commands = *command`, up to a `}` or the end.
    fn commands(&mut self, depth: usize) -> Result<Vec<CommandNode>, CompileError> {
        let mut out = Vec::new();
        while let Some(token) = self.peek() {
            match &token.kind {
                TokenKind::Identifier(_) => out.push(self.command(depth)?),
                TokenKind::RightBrace => break,
                _ => return Err(self.unexpected("a command")),
            }
        }
        Ok(out)
    }

    /// `command = identifier arguments (";" / block)`.
    fn command(&mut self, depth: usize) -> Result<CommandNode, CompileError> {
        let (name, pos) = match self.next() {
            Some(Token {
                kind: TokenKind::Identifier(name),
                pos,
            }) => (name.clone(), *pos),
            _ => return Err(self.unexpected("a command")),
        };
        let args = self.arguments()?;
        let (tests, test_list) = self.tests_of_arguments(depth + 1)?;
        let block = match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Semicolon) => {
                self.next();
                None
            }
            Some(TokenKind::LeftBrace) => {
                self.next();
                self.check_depth(depth + 1)?;
                let block = self.commands(depth + 1)?;
                match self.peek().map(|t| &t.kind) {
                    Some(TokenKind::RightBrace) => {
                        self.next();
                    }
                    _ => return Err(self.unexpected("'}' to close the block")),
                }
                Some(block)
            }
            _ => {
                return Err(self.unexpected(&format!(
                    "';' or a block after the arguments of '{name}' (is a ';' missing?)"
                )));
            }
        };
        Ok(CommandNode {
            name,
            pos,
            args,
            tests,
            test_list,
            block,
        })
    }

    /// `*argument` (tags, numbers, strings, string lists).
    fn arguments(&mut self) -> Result<Vec<Argument>, CompileError> {
        let mut out = Vec::new();
        while let Some(token) = self.peek() {
            let pos = token.pos;
            let argument = match &token.kind {
                TokenKind::Tag(name) => Argument::Tag(name.clone(), pos),
                TokenKind::Number(n) => Argument::Number(*n, pos),
                TokenKind::String(value) => Argument::String(StringLit {
                    value: value.clone(),
                    pos,
                }),
                TokenKind::LeftBracket => {
                    self.next();
                    out.push(Argument::List(self.string_list()?, pos));
                    continue;
                }
                _ => break,
            };
            self.next();
            out.push(argument);
        }
        Ok(out)
    }

    /// The rest of `"[" string *("," string) "]"` after the bracket.
    fn string_list(&mut self) -> Result<Vec<StringLit>, CompileError> {
        let mut out = Vec::new();
        loop {
            match self.next() {
                Some(Token {
                    kind: TokenKind::String(value),
                    pos,
                }) => out.push(StringLit {
                    value: value.clone(),
                    pos: *pos,
                }),
                _ => {
                    self.at = self.at.saturating_sub(1);
                    return Err(self.unexpected("a string in the string list"));
                }
            }
            match self.next().map(|t| &t.kind) {
                Some(TokenKind::Comma) => continue,
                Some(TokenKind::RightBracket) => return Ok(out),
                _ => {
                    self.at = self.at.saturating_sub(1);
                    return Err(self.unexpected("',' or ']' in the string list"));
                }
            }
        }
    }

    /// `[ test / test-list ]` at the end of `arguments`.
    fn tests_of_arguments(&mut self, depth: usize) -> Result<(Vec<TestNode>, bool), CompileError> {
        match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Identifier(_)) => Ok((vec![self.test(depth)?], false)),
            Some(TokenKind::LeftParen) => {
                self.next();
                let mut tests = Vec::new();
                loop {
                    tests.push(self.test(depth)?);
                    match self.next().map(|t| &t.kind) {
                        Some(TokenKind::Comma) => continue,
                        Some(TokenKind::RightParen) => break,
                        _ => {
                            self.at = self.at.saturating_sub(1);
                            return Err(self.unexpected("',' or ')' in the test list"));
                        }
                    }
                }
                Ok((tests, true))
            }
            _ => Ok((Vec::new(), false)),
        }
    }

    /// `test = identifier arguments`.
    fn test(&mut self, depth: usize) -> Result<TestNode, CompileError> {
        self.check_depth(depth)?;
        let (name, pos) = match self.next() {
            Some(Token {
                kind: TokenKind::Identifier(name),
                pos,
            }) => (name.clone(), *pos),
            _ => {
                self.at = self.at.saturating_sub(1);
                return Err(self.unexpected("a test"));
            }
        };
        let args = self.arguments()?;
        let (tests, test_list) = self.tests_of_arguments(depth + 1)?;
        Ok(TestNode {
            name,
            pos,
            args,
            tests,
            test_list,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn parse_text(text: &str) -> Result<Vec<CommandNode>, CompileError> {
        parse(&tokenize(text)?, 8, crate::lexer::end_position(text))
    }

    #[test]
    fn grammar_of_rfc_5228_section_8_2() {
        let script = parse_text(
            "if anyof (not exists [\"a\", \"b\"], header :is \"x\" \"y\") { keep; } else { discard; }",
        )
        .unwrap();
        assert_eq!(script.len(), 2);
        assert_eq!(script[0].name, "if");
        let anyof = &script[0].tests[0];
        assert!(anyof.test_list);
        assert_eq!(anyof.name, "anyof");
        assert_eq!(anyof.tests.len(), 2);
        assert_eq!(anyof.tests[0].tests[0].name, "exists");
        assert!(matches!(&anyof.tests[1].args[0], Argument::Tag(t, _) if t == "is"));
        assert_eq!(script[1].block.as_ref().unwrap()[0].name, "discard");
    }

    #[test]
    fn syntax_errors_say_what_was_expected() {
        let table: &[(&str, u32, u32, &str)] = &[
            ("keep", 1, 5, "unexpected end of script: expected ';'"),
            ("keep \"a\" }", 1, 10, "is a ';' missing?"),
            ("if true { keep;", 1, 16, "expected '}'"),
            ("}", 1, 1, "expected a command"),
            ("\"x\";", 1, 1, "expected a command"),
            ("if anyof(true; false) {}", 1, 14, "',' or ')'"),
            ("x [\"a\" \"b\"];", 1, 8, "',' or ']'"),
            ("x [1];", 1, 4, "a string in the string list"),
            ("if (1) {}", 1, 5, "expected a test"),
        ];
        for (text, line, column, message) in table {
            let err = parse_text(text).unwrap_err();
            assert_eq!((err.line, err.column), (*line, *column), "{text:?}: {err}");
            assert!(err.message.contains(message), "{text:?}: {err}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}keep;{}", "if true {".repeat(20), "}".repeat(20));
        let err = parse_text(&deep).unwrap_err();
        assert!(err.message.contains("nested too deeply"), "{err}");
        let tests = format!("if {}true{} {{}}", "not ".repeat(20), "");
        assert!(parse_text(&tests).unwrap_err().message.contains("nested"));
        assert!(parse_text(&format!("{}keep;{}", "if true {".repeat(3), "}".repeat(3))).is_ok());
    }
}
