//! Recursive-descent parser from tokens to a type-checked [`Node`] tree.
//!
//! ```text
//! or      := and ( "||" and )*
//! and     := primary ( "&&" primary )*
//! primary := "(" or ")" | TRUE | FALSE | variable op value
//! ```
//!
//! Only parentheses recurse (chains of `&&`/`||` are loops building n-ary nodes), and they
//! are limited to [`MAX_DEPTH`] levels.

use regex::bytes::{Regex, RegexBuilder};

use super::eval::{CmpOp, FieldPred, IntVar, Node, Number, StrPred, StrVar, Test};
use super::lexer::{Tok, Token};
use super::{timestamp, MatcherError, MAX_DEPTH, REGEX_SIZE_LIMIT};

/// Parses a token list that ends with [`Tok::End`].
pub(super) fn parse(tokens: &[Token]) -> Result<Node, MatcherError> {
    let mut p = Parser { tokens, pos: 0 };
    let node = p.or(0)?;
    let t = p.peek();
    match t.tok {
        Tok::End => Ok(node),
        Tok::RParen => Err(MatcherError::new(t.column, "unmatched `)`")),
        _ => Err(MatcherError::new(
            t.column,
            "expected `&&`, `||` or the end",
        )),
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
}

/// The left side of a test.
enum Var {
    Str(StrVar),
    Int(IntVar),
    Field {
        name: String,
        field_index: usize,
        array_index: usize,
    },
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The last token is End and is never consumed, so `pos` stays in bounds.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> &Token {
        let t = &self.tokens[self.pos.min(self.tokens.len() - 1)];
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn or(&mut self, depth: usize) -> Result<Node, MatcherError> {
        let mut items = vec![self.and(depth)?];
        while self.peek().tok == Tok::Or {
            self.bump();
            items.push(self.and(depth)?);
        }
        Ok(flatten(items, false))
    }

    fn and(&mut self, depth: usize) -> Result<Node, MatcherError> {
        let mut items = vec![self.primary(depth)?];
        while self.peek().tok == Tok::And {
            self.bump();
            items.push(self.primary(depth)?);
        }
        Ok(flatten(items, true))
    }

    fn primary(&mut self, depth: usize) -> Result<Node, MatcherError> {
        let t = self.bump().clone();
        match t.tok {
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(MatcherError::new(
                        t.column,
                        format!("parentheses nested more than {MAX_DEPTH} deep"),
                    ));
                }
                let inner = self.or(depth + 1)?;
                let close = self.bump();
                if close.tok != Tok::RParen {
                    return Err(MatcherError::new(
                        close.column,
                        format!("expected `)` to close the `(` at column {}", t.column),
                    ));
                }
                Ok(inner)
            }
            Tok::Ident(ref w) => match w.as_str() {
                "TRUE" | "true" => Ok(Node::Test(Test::Const(true))),
                "FALSE" | "false" => Ok(Node::Test(Test::Const(false))),
                _ => {
                    let var = variable(w).ok_or_else(|| {
                        MatcherError::new(t.column, format!("unknown variable `{w}`"))
                    })?;
                    self.test(var, w)
                }
            },
            Tok::Field {
                name,
                field_index,
                array_index,
            } => {
                let var = Var::Field {
                    name,
                    field_index,
                    array_index,
                };
                self.test(var, "Fields")
            }
            Tok::End => Err(MatcherError::new(t.column, "expected an expression")),
            _ => Err(MatcherError::new(
                t.column,
                "expected a variable, `TRUE`, `FALSE` or `(`",
            )),
        }
    }

    /// `var op value`, with `var` already consumed.
    fn test(&mut self, var: Var, var_name: &str) -> Result<Node, MatcherError> {
        let var_name = canonical(var_name);
        let op = self.bump().clone();
        let value = self.bump().clone();
        let at = value.column;
        let kind = match var {
            Var::Str(_) => "a string",
            Var::Int(_) => "a number",
            Var::Field { .. } => "a field",
        };
        let wrong = |what: &str| {
            Err(MatcherError::new(
                at,
                format!("{var_name} is {kind}; cannot compare it to {what}"),
            ))
        };
        let test = match op.tok {
            Tok::Match { negate } => {
                let re = match &value.tok {
                    Tok::Regex(s) | Tok::Str(s) => compile_regex(s, at)?,
                    Tok::End => return Err(MatcherError::new(at, "expected a regex")),
                    _ => return Err(MatcherError::new(at, "expected a /regex/ or a string")),
                };
                let pred = StrPred::Regex { re, negate };
                match var {
                    Var::Str(v) => Test::Str(v, pred),
                    Var::Int(_) => return wrong("a regex"),
                    Var::Field {
                        name,
                        field_index,
                        array_index,
                    } => field(name, field_index, array_index, FieldPred::Str(pred)),
                }
            }
            Tok::Cmp(cmp) => {
                let literal = match value.tok {
                    Tok::Str(s) => Literal::Str(s),
                    Tok::Num(n) => Literal::Num(n),
                    Tok::Ident(ref w) => match w.as_str() {
                        "TRUE" | "true" => Literal::Bool(true),
                        "FALSE" | "false" => Literal::Bool(false),
                        "NIL" | "nil" => Literal::Nil,
                        _ => {
                            return Err(MatcherError::new(
                                at,
                                "expected a value: a string, a number, TRUE, FALSE or NIL \
                                 (variables go on the left)",
                            ))
                        }
                    },
                    Tok::Regex(_) => {
                        return Err(MatcherError::new(at, "a /regex/ needs `=~` or `!~`"))
                    }
                    Tok::End => return Err(MatcherError::new(at, "expected a value")),
                    _ => {
                        return Err(MatcherError::new(
                            at,
                            "expected a value: a string, a number, TRUE, FALSE or NIL",
                        ))
                    }
                };
                match (var, literal) {
                    (Var::Str(v), Literal::Str(s)) => Test::Str(v, StrPred::Cmp(cmp, s.into())),
                    (Var::Int(IntVar::Timestamp), Literal::Str(s)) => {
                        let ns = timestamp::parse_rfc3339(&s).ok_or_else(|| {
                            MatcherError::new(at, format!("invalid RFC 3339 timestamp {s:?}"))
                        })?;
                        Test::Int(IntVar::Timestamp, cmp, Number::Int(ns))
                    }
                    (Var::Int(v), Literal::Num(n)) => Test::Int(v, cmp, n),
                    (Var::Str(_), Literal::Num(_)) => return wrong("a number"),
                    (Var::Int(_), Literal::Str(_)) => return wrong("a string"),
                    (Var::Str(_) | Var::Int(_), Literal::Bool(_)) => return wrong("a bool"),
                    (Var::Str(_) | Var::Int(_), Literal::Nil) => {
                        return Err(MatcherError::new(
                            at,
                            format!("{var_name} always exists; NIL works on Fields only"),
                        ))
                    }
                    (
                        Var::Field {
                            name,
                            field_index,
                            array_index,
                        },
                        literal,
                    ) => {
                        let pred = field_pred(cmp, literal, at)?;
                        field(name, field_index, array_index, pred)
                    }
                }
            }
            Tok::End => return Err(MatcherError::new(op.column, "expected an operator")),
            _ => {
                return Err(MatcherError::new(
                    op.column,
                    "expected an operator: ==, !=, <, <=, >, >=, =~ or !~",
                ))
            }
        };
        Ok(Node::Test(test))
    }
}

/// The right side of a comparison.
enum Literal {
    Str(String),
    Num(Number),
    Bool(bool),
    Nil,
}

fn field_pred(cmp: CmpOp, literal: Literal, at: usize) -> Result<FieldPred, MatcherError> {
    let eq_only = |what: &str| {
        MatcherError::new(
            at,
            format!(
                "{what} compares with `==` or `!=` only, not `{}`",
                cmp.as_str()
            ),
        )
    };
    Ok(match literal {
        Literal::Str(s) => FieldPred::Str(StrPred::Cmp(cmp, s.into())),
        Literal::Num(n) => FieldPred::Num(cmp, n),
        Literal::Bool(value) => match cmp {
            CmpOp::Eq => FieldPred::Bool { eq: true, value },
            CmpOp::Ne => FieldPred::Bool { eq: false, value },
            _ => return Err(eq_only("a bool")),
        },
        Literal::Nil => match cmp {
            CmpOp::Eq => FieldPred::Nil { exists: false },
            CmpOp::Ne => FieldPred::Nil { exists: true },
            _ => return Err(eq_only("NIL")),
        },
    })
}

fn field(name: String, field_index: usize, array_index: usize, pred: FieldPred) -> Test {
    Test::Field {
        name: name.into(),
        field_index,
        array_index,
        pred,
    }
}

fn compile_regex(s: &str, at: usize) -> Result<Regex, MatcherError> {
    RegexBuilder::new(s)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => MatcherError::new(
                at,
                format!("regex too large: it compiles past the limit of {limit} bytes"),
            ),
            // regex's syntax errors span several lines (the pattern, a caret, the cause);
            // keep the config error on one line.
            e => {
                let msg = e.to_string();
                let cause = msg
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                let cause = cause.trim().trim_start_matches("error: ");
                MatcherError::new(at, format!("invalid regex: {cause}"))
            }
        })
}

fn variable(w: &str) -> Option<Var> {
    Some(match w {
        "Type" | "type" => Var::Str(StrVar::Type),
        "Logger" | "logger" => Var::Str(StrVar::Logger),
        "Payload" | "payload" => Var::Str(StrVar::Payload),
        "Hostname" | "hostname" => Var::Str(StrVar::Hostname),
        "EnvVersion" | "envversion" | "env_version" => Var::Str(StrVar::EnvVersion),
        "Uuid" | "uuid" => Var::Str(StrVar::Uuid),
        "Severity" | "severity" => Var::Int(IntVar::Severity),
        "Pid" | "pid" => Var::Int(IntVar::Pid),
        "Timestamp" | "timestamp" => Var::Int(IntVar::Timestamp),
        _ => return None,
    })
}

/// Heka's spelling of a variable, for error messages.
fn canonical(w: &str) -> &'static str {
    match w {
        "Type" | "type" => "Type",
        "Logger" | "logger" => "Logger",
        "Payload" | "payload" => "Payload",
        "Hostname" | "hostname" => "Hostname",
        "EnvVersion" | "envversion" | "env_version" => "EnvVersion",
        "Uuid" | "uuid" => "Uuid",
        "Severity" | "severity" => "Severity",
        "Pid" | "pid" => "Pid",
        "Timestamp" | "timestamp" => "Timestamp",
        _ => "Fields",
    }
}

/// One item stays itself; nested nodes of the same kind merge into their parent.
fn flatten(mut items: Vec<Node>, all: bool) -> Node {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Node::All(inner) if all => flat.extend(inner.into_vec()),
            Node::Any(inner) if !all => flat.extend(inner.into_vec()),
            other => flat.push(other),
        }
    }
    if all {
        Node::All(flat.into_boxed_slice())
    } else {
        Node::Any(flat.into_boxed_slice())
    }
}
