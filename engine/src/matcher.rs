//! Heka's message matcher: a boolean expression over a message's headers and fields,
//! compiled once (at build) and evaluated per message without allocating or locking.
//!
//! ```
//! use engine::matcher::Matcher;
//! use engine::Message;
//!
//! let m = Matcher::compile(r#"Type == "nginx.access" && Severity <= 4 && Fields[host] =~ /^web/"#)?;
//! let mut msg = Message::default();
//! msg.msg_type.push_str("nginx.access");
//! msg.severity = 3;
//! msg.add_field().map(|f| {
//!     f.name.push_str("host");
//!     f.values.push_string().push_str("web-01");
//! });
//! assert!(m.matches(&msg));
//! msg.severity = 6;
//! assert!(!m.matches(&msg));
//! # Ok::<(), engine::matcher::MatcherError>(())
//! ```
//!
//! # Language
//!
//! An expression is a test, `TRUE`, `FALSE`, `( expr )`, `expr && expr` or `expr || expr`;
//! `&&` binds tighter than `||`, both evaluate left to right and stop early. Parentheses nest
//! at most [`MAX_DEPTH`] deep. Spaces, tabs and newlines separate tokens.
//!
//! A test is `variable operator value`, the variable on the left:
//!
//! | variable | type | values it accepts |
//! |---|---|---|
//! | `Type`, `Logger`, `Payload`, `Hostname`, `EnvVersion` | string | string, regex |
//! | `Uuid` | string: lower-case hyphenated (`0b1c…-…`) | string, regex |
//! | `Severity`, `Pid` | integer | number |
//! | `Timestamp` | integer, ns since the Unix epoch | number (ns), RFC 3339 string |
//! | `Fields[name]`, `Fields[name][i]`, `Fields[name][i][j]` | the field's type | any, and `NIL` |
//!
//! Variable names may also be written in lower case (`type`, `severity`, `env_version` or
//! `envversion`, `fields[name]`), and `TRUE`, `FALSE`, `NIL` as `true`, `false`, `nil`.
//!
//! - Operators: `==`, `!=`, `<`, `<=`, `>`, `>=` compare; `=~` and `!~` match a regex.
//!   Strings compare byte-wise; numbers compare exactly (an integer against a float literal
//!   compares the true values, not a rounded conversion).
//! - Strings: `"…"` or `'…'`; `\"`, `\'`, `\\`, `\n`, `\t` and `\r` are escapes, and any other
//!   backslash is kept as written (so `"^\d+$"` is the regex `^\d+$`, as in Heka).
//! - Numbers: `42`, `-7`, `1.5`, `2e9`. Integers within `i64` are kept exact.
//! - Regexes: `/…/` (`\/` is a slash; other backslashes are kept) or a quoted string, in
//!   [`regex`] syntax (like Go's RE2), compiled once with a size limit of [`REGEX_SIZE_LIMIT`]
//!   bytes. Heka's `%TIMESTAMP%` helper is not supported.
//! - `Fields[name]`: the name is every character up to `]`. `Fields[name][i][j]` is value
//!   `j` of the `i`-th field called `name` (both default to 0), as in Heka.
//!   A field compares by its own type: strings and bytes against strings and regexes,
//!   integers and doubles against numbers, bools against `TRUE`/`FALSE` with `==`/`!=`. A
//!   mismatch (a string field against a number, say) or a missing field is false, not an
//!   error. `Fields[x] == NIL` is true when there is no such value, `!= NIL` when there is.
//! - Headers have fixed types, so a header against a value of the wrong type (`Severity ==
//!   "high"`, `Type < 3`, `Pid =~ /1/`) is a compile error, as is `NIL` on anything but a field.
//! - `Timestamp` against a string reads it as RFC 3339 (`"2026-11-25T03:58:00Z"`, fraction and
//!   offset optional) at compile time, so `Timestamp >= "2026-01-01T00:00:00Z"` works.
//!
//! # Threads
//!
//! `matches` takes `&self` and never locks. The regex engine keeps a scratch cache per
//! regex that belongs to the first thread that evaluates it (later threads fall back to a
//! shared pool), so give each thread its own clone: a clone gets its own caches.

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;
mod timestamp;

use std::fmt;

use crate::Message;

/// How deeply parentheses may nest; deeper expressions are refused at compile time, so a
/// hostile config cannot overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// The compiled-size limit of each regex, in bytes (see [`regex::RegexBuilder::size_limit`]).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled message matcher (see the [module docs](self) for the language).
#[derive(Clone, Debug)]
pub struct Matcher {
    root: eval::Node,
    source: Box<str>,
}

impl Matcher {
    /// Compiles `expr`.
    ///
    /// # Errors
    ///
    /// Returns a [`MatcherError`] naming the column of the offending token: a syntax error,
    /// an unknown variable, a value of the wrong type for a header, an invalid or too large
    /// regex, an invalid timestamp, or parentheses nested more than [`MAX_DEPTH`] deep.
    ///
    /// # Examples
    ///
    /// ```
    /// use engine::matcher::Matcher;
    ///
    /// let err = Matcher::compile("Type == 'a' && Severity == 'high'").unwrap_err();
    /// assert_eq!(err.to_string(), "column 28: Severity is a number; cannot compare it to a string");
    /// ```
    pub fn compile(expr: &str) -> Result<Matcher, MatcherError> {
        let tokens = lexer::tokenize(expr)?;
        let root = parser::parse(&tokens)?;
        Ok(Matcher {
            root,
            source: expr.into(),
        })
    }

    /// Whether `msg` satisfies the expression. Allocates nothing and takes no lock.
    #[inline]
    pub fn matches(&self, msg: &Message) -> bool {
        self.root.eval(msg)
    }

    /// The expression this matcher was compiled from.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Why an expression did not compile: the 1-based column (in characters, counting from the
/// start of the expression) of the offending token, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct MatcherError {
    /// 1-based column of the offending token; one past the end for an early end.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl MatcherError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        MatcherError {
            column,
            message: message.into(),
        }
    }
}
