//! The lexical layer of RFC 5228 §8.1: turns script text into tokens (identifiers,
//! tags, numbers with K/M/G quantifiers, quoted and multi-line strings, specials),
//! skipping white space and both kinds of comment, and records the line and column
//! where each token starts.
//!
//! Works on text that is already known to be UTF-8; never interprets string contents
//! beyond the escapes and dot-stuffing of §2.4.2 (variables and encoded characters are
//! the checker's). Never panics: every error is a [`CompileError`] with a position.

use crate::error::CompileError;

/// Where a token starts: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line number, from 1.
    pub line: u32,
    /// Column number in characters, from 1.
    pub column: u32,
}

/// One token of the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A command or test name, lower-cased (RFC 5228 §8.1: identifiers are
    /// case-insensitive).
    Identifier(String),
    /// `:name`, lower-cased, without the colon.
    Tag(String),
    /// A number with its quantifier applied.
    Number(u64),
    /// A quoted or multi-line string, unescaped.
    String(String),
    LeftBracket,
    RightBracket,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    Semicolon,
    Comma,
}

impl TokenKind {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            TokenKind::Identifier(name) => format!("identifier '{name}'"),
            TokenKind::Tag(name) => format!("tag ':{name}'"),
            TokenKind::Number(n) => format!("number {n}"),
            TokenKind::String(_) => "a string".to_string(),
            TokenKind::LeftBracket => "'['".to_string(),
            TokenKind::RightBracket => "']'".to_string(),
            TokenKind::LeftParen => "'('".to_string(),
            TokenKind::RightParen => "')'".to_string(),
            TokenKind::LeftBrace => "'{'".to_string(),
            TokenKind::RightBrace => "'}'".to_string(),
            TokenKind::Semicolon => "';'".to_string(),
            TokenKind::Comma => "','".to_string(),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub pos: Position,
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    line: u32,
    column: u32,
}

/// Splits `text` into tokens (RFC 5228 §8.1).
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, CompileError> {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        at: 0,
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

/// The position just after the last character of `text` (where "end of script"
/// errors point).
pub(crate) fn end_position(text: &str) -> Position {
    let mut pos = Position { line: 1, column: 1 };
    for c in text.chars() {
        if c == '\n' {
            pos.line = pos.line.saturating_add(1);
            pos.column = 1;
        } else {
            pos.column = pos.column.saturating_add(1);
        }
    }
    pos
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

impl Lexer<'_> {
    fn pos(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.at.saturating_add(offset)).copied()
    }

    /// Moves past one character (a whole UTF-8 sequence), keeping line and column.
    fn bump(&mut self) -> Option<char> {
        let c = self.text.get(self.at..)?.chars().next()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    fn error(&self, pos: Position, message: impl Into<String>) -> CompileError {
        CompileError::new(pos, message)
    }

    fn next_token(&mut self) -> Result<Option<Token>, CompileError> {
        self.skip_white_space_and_comments()?;
        let pos = self.pos();
        let Some(byte) = self.peek() else {
            return Ok(None);
        };
        let kind = match byte {
            b'[' => self.single(TokenKind::LeftBracket),
            b']' => self.single(TokenKind::RightBracket),
            b'(' => self.single(TokenKind::LeftParen),
            b')' => self.single(TokenKind::RightParen),
            b'{' => self.single(TokenKind::LeftBrace),
            b'}' => self.single(TokenKind::RightBrace),
            b';' => self.single(TokenKind::Semicolon),
            b',' => self.single(TokenKind::Comma),
            b'"' => TokenKind::String(self.quoted_string(pos)?),
            b':' => {
                self.bump();
                if !self.peek().is_some_and(is_identifier_start) {
                    return Err(self.error(pos, "expected a tag name after ':'"));
                }
                TokenKind::Tag(self.identifier())
            }
            b'0'..=b'9' => TokenKind::Number(self.number(pos)?),
            b if is_identifier_start(b) => {
                let name = self.identifier();
                if name == "text" && self.peek() == Some(b':') {
                    self.bump();
                    TokenKind::String(self.multi_line(pos)?)
                } else {
                    TokenKind::Identifier(name)
                }
            }
            _ => {
                let c = self.text.get(self.at..).and_then(|t| t.chars().next());
                let shown = c.map_or_else(|| "?".to_string(), |c| c.escape_debug().to_string());
                return Err(self.error(pos, format!("unexpected character '{shown}'")));
            }
        };
        Ok(Some(Token { kind, pos }))
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.bump();
        kind
    }

    /// White space, `#` comments to end of line and `/* */` comments (RFC 5228 §2.3).
    fn skip_white_space_and_comments(&mut self) -> Result<(), CompileError> {
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.bump();
                }
                b'#' => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                b'/' if self.peek_at(1) == Some(b'*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.peek() {
                            None => {
                                return Err(self.error(
                                    start,
                                    "unterminated comment: '/*' has no matching '*/'",
                                ));
                            }
                            Some(b'*') if self.peek_at(1) == Some(b'/') => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            Some(_) => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn identifier(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(is_identifier_byte) {
            self.bump();
        }
        self.text
            .get(start..self.at)
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// `1*DIGIT [QUANTIFIER]` with K, M and G (RFC 5228 §2.4.1).
    fn number(&mut self, pos: Position) -> Result<u64, CompileError> {
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            self.bump();
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                .ok_or_else(|| self.error(pos, "number is too large"))?;
        }
        let multiplier: u64 = match self.peek() {
            Some(b'k' | b'K') => 1 << 10,
            Some(b'm' | b'M') => 1 << 20,
            Some(b'g' | b'G') => 1 << 30,
            _ => 1,
        };
        if multiplier > 1 {
            self.bump();
            value = value
                .checked_mul(multiplier)
                .ok_or_else(|| self.error(pos, "number is too large"))?;
        }
        if self.peek().is_some_and(is_identifier_byte) {
            return Err(self.error(
                pos,
                "a number must be followed by white space or punctuation (only the quantifiers K, M and G may follow the digits)",
            ));
        }
        Ok(value)
    }

    /// A quoted string; `\` escapes the next character (RFC 5228 §2.4.2).
    fn quoted_string(&mut self, pos: Position) -> Result<String, CompileError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.error(pos, "unterminated string: missing closing '\"'"));
                }
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    None => {
                        return Err(self.error(pos, "unterminated string: missing closing '\"'"));
                    }
                    Some(c) => out.push(c),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// `text:` then the rest of the line (white space and an optional `#` comment),
    /// then lines up to a lone `.`; a leading `..` loses one dot (RFC 5228 §2.4.2).
    /// Every line of the result ends with CRLF.
    fn multi_line(&mut self, pos: Position) -> Result<String, CompileError> {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
        match self.peek() {
            Some(b'#') => {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.bump();
                }
            }
            Some(b'\r') if self.peek_at(1) == Some(b'\n') => {}
            Some(b'\n') => {}
            _ => {
                return Err(self.error(
                    pos,
                    "'text:' must be followed by the end of the line (a multi-line string starts on the next line)",
                ));
            }
        }
        if self.peek() == Some(b'\r') {
            self.bump();
        }
        if self.peek() != Some(b'\n') {
            return Err(self.error(pos, "unterminated multi-line string: no line '.' ends it"));
        }
        self.bump();
        let mut out = String::new();
        loop {
            if self.at >= self.bytes.len() {
                return Err(self.error(pos, "unterminated multi-line string: no line '.' ends it"));
            }
            let rest = self.text.get(self.at..).unwrap_or_default();
            let line_len = rest.find('\n').unwrap_or(rest.len());
            let line = rest.get(..line_len).unwrap_or_default();
            let content = line.strip_suffix('\r').unwrap_or(line);
            let has_newline = line_len < rest.len();
            if content == "." {
                for _ in 0..line.chars().count() + usize::from(has_newline) {
                    self.bump();
                }
                return Ok(out);
            }
            out.push_str(content.strip_prefix('.').unwrap_or(content));
            out.push_str("\r\n");
            for _ in 0..line.chars().count() + usize::from(has_newline) {
                self.bump();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn tokens_of_rfc_5228_section_8_1() {
        use TokenKind::*;
        let table: &[(&str, Vec<TokenKind>)] = &[
            ("KEEP;", vec![Identifier("keep".into()), Semicolon]),
            (":Over 10K", vec![Tag("over".into()), Number(10 * 1024)]),
            ("1M 2g 0", vec![Number(1 << 20), Number(2 << 30), Number(0)]),
            (r#""a\"b\\c\d""#, vec![String("a\"b\\cd".into())]),
            (
                "# c\n/* x\n*/[\"a\",\"b\"]",
                vec![
                    LeftBracket,
                    String("a".into()),
                    Comma,
                    String("b".into()),
                    RightBracket,
                ],
            ),
            (
                "text: # c\r\nline\r\n..dot\r\n.\r\n;",
                vec![String("line\r\n.dot\r\n".into()), Semicolon],
            ),
            ("text:\n\n.", vec![String("\r\n".into())]),
            ("(){}", vec![LeftParen, RightParen, LeftBrace, RightBrace]),
        ];
        for (text, expected) in table {
            assert_eq!(&kinds(text), expected, "{text:?}");
        }
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let tokens = tokenize("if\n  \"é\" ;").unwrap();
        assert_eq!(tokens[1].pos, Position { line: 2, column: 3 });
        assert_eq!(tokens[2].pos, Position { line: 2, column: 7 });
    }

    #[test]
    fn errors_name_position_and_cause() {
        let table: &[(&str, u32, u32, &str)] = &[
            ("keep \"abc", 1, 6, "unterminated string"),
            ("\n  /* x", 2, 3, "unterminated comment"),
            ("a @", 1, 3, "unexpected character '@'"),
            ("99999999999999999999", 1, 1, "too large"),
            ("17179869184G", 1, 1, "too large"),
            ("10X", 1, 1, "followed by white space"),
            ("text: x\n.\n", 1, 1, "end of the line"),
            ("text:\nabc\n", 1, 1, "unterminated multi-line"),
            (": x", 1, 1, "tag name"),
        ];
        for (text, line, column, message) in table {
            let err = tokenize(text).unwrap_err();
            assert_eq!((err.line, err.column), (*line, *column), "{text:?}: {err}");
            assert!(err.message.contains(message), "{text:?}: {err}");
        }
    }
}
