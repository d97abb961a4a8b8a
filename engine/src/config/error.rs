//! [`ConfigError`]: what is wrong with a config, and where.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::{key_path, Position, Source};

/// A config could not be read, or is invalid.
///
/// Displayed as `{file}:{line}:{column}: {path}: {message}` (the path and its colon are
/// left out when empty), or `{file}: {io error}` when the file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    ///
    /// The I/O error is part of the message rather than the error's `source()`, so that
    /// error chains (`anyhow`'s `{:#}`) do not print it twice.
    #[error("{}: {error}", .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why it could not be read.
        error: io::Error,
    },
    /// The config is invalid.
    #[error("{}:{}: {}{}", .file.display(), .position, PathPrefix(.path), .message)]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Where in the file.
        position: Position,
        /// The key path, like `outputs[1].perm` (empty for the document itself).
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Displays a key path followed by `": "`, or nothing when the path is empty.
struct PathPrefix<'a>(&'a str);

impl fmt::Display for PathPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            "" => Ok(()),
            path => write!(f, "{path}: "),
        }
    }
}

impl ConfigError {
    /// An error at `position` of `source`, about the value at key path `path` (e.g.
    /// `inputs[0].type`; empty for the whole document). Other modules (the registry, the
    /// planner) use this to report in the same format as the parser.
    ///
    /// # Examples
    ///
    /// ```
    /// use engine::config::{ConfigError, Position, Source};
    ///
    /// let source = Source::new("hekad.json", "{}");
    /// let e = ConfigError::at(&source, Position::START, "inputs[0].type", "unknown input type");
    /// assert_eq!(e.to_string(), "hekad.json:1:1: inputs[0].type: unknown input type");
    /// ```
    pub fn at(
        source: &Source,
        position: Position,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: source.path.clone(),
            position,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The file `file` could not be read.
    pub fn io(file: impl Into<PathBuf>, error: io::Error) -> ConfigError {
        ConfigError::Io {
            file: file.into(),
            error,
        }
    }

    /// A serde error met while reading a value that starts at `base`, whose key path is
    /// `prefix`: the position becomes absolute and the path complete.
    pub(crate) fn from_serde(
        source: &Source,
        base: Position,
        prefix: &str,
        error: serde_path_to_error::Error<serde_json::Error>,
    ) -> ConfigError {
        let path = key_path::join(prefix, error.path());
        ConfigError::from_json(source, base, path, error.inner())
    }

    /// A serde_json error met while reading a value that starts at `base`, at key `path`.
    pub(crate) fn from_json(
        source: &Source,
        base: Position,
        path: String,
        error: &serde_json::Error,
    ) -> ConfigError {
        let position = base.shifted_by(error.line(), error.column());
        // serde_json appends its own (relative) position to the message: drop it.
        let mut message = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        if error.line() != 0 && message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
        ConfigError::at(source, position, path, message)
    }

    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            ConfigError::Io { file, .. } | ConfigError::Invalid { file, .. } => file,
        }
    }

    /// Where in the file (`None` for an I/O error).
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Invalid { position, .. } => Some(*position),
        }
    }

    /// The line, from 1 (`None` for an I/O error).
    pub fn line(&self) -> Option<usize> {
        self.position().map(|p| p.line)
    }

    /// The column in bytes, from 1 (`None` for an I/O error).
    pub fn column(&self) -> Option<usize> {
        self.position().map(|p| p.column)
    }

    /// The key path, like `outputs[1].perm` (empty for an I/O error or the whole document).
    pub fn path(&self) -> &str {
        match self {
            ConfigError::Io { .. } => "",
            ConfigError::Invalid { path, .. } => path,
        }
    }

    /// What is wrong, without the file, position and path.
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            ConfigError::Io { error, .. } => Cow::Owned(error.to_string()),
            ConfigError::Invalid { message, .. } => Cow::Borrowed(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{ConfigError, Position, Source};

    #[test]
    fn display_leaves_out_an_empty_path() {
        let source = Source::new("a/b.json", "{}");
        let at = Position { line: 3, column: 7 };
        let e = ConfigError::at(&source, at, "", "expected `,` or `}`");
        assert_eq!(e.to_string(), "a/b.json:3:7: expected `,` or `}`");
        let e = ConfigError::at(&source, at, "engine.wait", "bad");
        assert_eq!(e.to_string(), "a/b.json:3:7: engine.wait: bad");
        assert_eq!(
            (e.line(), e.column(), e.path()),
            (Some(3), Some(7), "engine.wait")
        );
        assert_eq!(e.message(), "bad");
    }

    #[test]
    fn io_errors_name_the_file() {
        let e = ConfigError::io("x.json", io::Error::new(io::ErrorKind::NotFound, "gone"));
        assert_eq!(e.to_string(), "x.json: gone");
        assert_eq!((e.line(), e.path()), (None, ""));
        assert!(std::error::Error::source(&e).is_none());
    }
}
