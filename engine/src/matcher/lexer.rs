//! Splits a matcher expression into tokens, each with the 1-based column it starts at.

use super::eval::{CmpOp, Number};
use super::MatcherError;

/// A token's kind and payload.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Cmp(CmpOp),
    /// `=~` (`negate: false`) or `!~`.
    Match {
        negate: bool,
    },
    /// A bare word: a variable or `TRUE`/`FALSE`/`NIL`.
    Ident(String),
    /// `Fields[name][field_index][array_index]`.
    Field {
        name: String,
        field_index: usize,
        array_index: usize,
    },
    Str(String),
    Regex(String),
    Num(Number),
    /// The end of the expression.
    End,
}

/// A token and the column of its first character.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) column: usize,
}

/// Tokenizes `expr`; the last token is always [`Tok::End`].
pub(super) fn tokenize(expr: &str) -> Result<Vec<Token>, MatcherError> {
    let mut lx = Lexer {
        chars: expr.chars().collect(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token()?;
        let end = t.tok == Tok::End;
        out.push(t);
        if end {
            return Ok(out);
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn err<T>(&self, index: usize, message: impl Into<String>) -> Result<T, MatcherError> {
        Err(MatcherError::new(index + 1, message))
    }

    fn next_token(&mut self) -> Result<Token, MatcherError> {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(Token {
                tok: Tok::End,
                column: start + 1,
            });
        };
        let next = self.peek_at(1);
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq), 2),
            ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), 2),
            ('=', Some('~')) => (Tok::Match { negate: false }, 2),
            ('!', Some('~')) => (Tok::Match { negate: true }, 2),
            ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), 2),
            ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), 2),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            ('&', _) => return self.err(start, "expected `&&`"),
            ('|', _) => return self.err(start, "expected `||`"),
            ('=', _) => return self.err(start, "expected `==` or `=~`"),
            ('!', _) => return self.err(start, "expected `!=` or `!~`"),
            ('"' | '\'', _) => return self.string(c),
            ('/', _) => return self.regex(),
            ('0'..='9' | '.' | '-', _) => return self.number(),
            (c, _) if c.is_ascii_alphabetic() || c == '_' => return self.word(),
            (c, _) => return self.err(start, format!("unexpected character `{c}`")),
        };
        self.pos += len;
        Ok(Token {
            tok,
            column: start + 1,
        })
    }

    /// A quoted string; `\"`, `\'`, `\\`, `\n`, `\t`, `\r` are escapes, any other backslash
    /// is kept as written.
    fn string(&mut self, quote: char) -> Result<Token, MatcherError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err(start, "unterminated string");
            };
            self.pos += 1;
            match c {
                '\\' => {
                    let Some(e) = self.peek() else {
                        return self.err(start, "unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        '"' | '\'' | '\\' => s.push(e),
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        _ => {
                            s.push('\\');
                            s.push(e);
                        }
                    }
                }
                c if c == quote => break,
                c => s.push(c),
            }
        }
        Ok(Token {
            tok: Tok::Str(s),
            column: start + 1,
        })
    }

    /// A `/regex/`: `\/` is a slash, any other backslash is kept for the regex.
    fn regex(&mut self) -> Result<Token, MatcherError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err(start, "unterminated regex");
            };
            self.pos += 1;
            match c {
                '\\' if self.peek() == Some('/') => {
                    self.pos += 1;
                    s.push('/');
                }
                '\\' => {
                    s.push('\\');
                    if let Some(e) = self.peek() {
                        self.pos += 1;
                        s.push(e);
                    }
                }
                '/' => break,
                c => s.push(c),
            }
        }
        Ok(Token {
            tok: Tok::Regex(s),
            column: start + 1,
        })
    }

    /// `-?digits[.digits][e[+-]digits]`, or with the integer part omitted (`.5`).
    fn number(&mut self) -> Result<Token, MatcherError> {
        let start = self.pos;
        let mut s = String::new();
        if self.peek() == Some('-') {
            s.push('-');
            self.pos += 1;
        }
        let digits = |lx: &mut Lexer, s: &mut String| {
            let mut n = 0;
            while let Some(d) = lx.peek().filter(char::is_ascii_digit) {
                s.push(d);
                lx.pos += 1;
                n += 1;
            }
            n
        };
        let int_digits = digits(self, &mut s);
        let mut frac_digits = 0;
        let mut float = false;
        if self.peek() == Some('.') {
            float = true;
            s.push('.');
            self.pos += 1;
            frac_digits = digits(self, &mut s);
        }
        if int_digits + frac_digits == 0 {
            return self.err(start, "expected a number");
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            float = true;
            s.push('e');
            self.pos += 1;
            if let Some(sign) = self.peek().filter(|c| matches!(c, '+' | '-')) {
                s.push(sign);
                self.pos += 1;
            }
            if digits(self, &mut s) == 0 {
                return self.err(start, "expected digits in the exponent");
            }
        }
        if self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return self.err(self.pos, "unexpected character after a number");
        }
        let num = match s.parse::<i64>() {
            Ok(i) if !float => Number::Int(i),
            _ => match s.parse::<f64>() {
                Ok(f) => Number::Float(f),
                Err(_) => return self.err(start, "invalid number"),
            },
        };
        Ok(Token {
            tok: Tok::Num(num),
            column: start + 1,
        })
    }

    /// A word; `Fields`/`fields` must be followed by `[name]` and up to two `[index]`.
    fn word(&mut self) -> Result<Token, MatcherError> {
        let start = self.pos;
        let mut w = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            w.push(c);
            self.pos += 1;
        }
        let column = start + 1;
        if w != "Fields" && w != "fields" {
            return Ok(Token {
                tok: Tok::Ident(w),
                column,
            });
        }
        if self.peek() != Some('[') {
            return self.err(self.pos, "expected `[` after Fields");
        }
        let open = self.pos;
        self.pos += 1;
        let mut name = String::new();
        loop {
            match self.peek() {
                None => return self.err(open, "unterminated `[`"),
                Some(']') => break,
                Some(c) => name.push(c),
            }
            self.pos += 1;
        }
        if name.is_empty() {
            return self.err(open, "empty field name");
        }
        self.pos += 1;
        let mut index = [0usize; 2];
        for slot in &mut index {
            if self.peek() != Some('[') {
                break;
            }
            let open = self.pos;
            self.pos += 1;
            let mut digits = String::new();
            while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                digits.push(d);
                self.pos += 1;
            }
            if self.peek() != Some(']') || digits.is_empty() {
                return self.err(open, "expected `[` index `]` with a non-negative integer");
            }
            self.pos += 1;
            *slot = match digits.parse() {
                Ok(i) => i,
                Err(_) => return self.err(open + 1, "index too large"),
            };
        }
        Ok(Token {
            tok: Tok::Field {
                name,
                field_index: index[0],
                array_index: index[1],
            },
            column,
        })
    }
}
