//! The text of a config file and the path it came from.

use std::fmt;
use std::path::PathBuf;

use super::Position;

/// A config file's path and text, shared (`Arc`) by the [`super::Config`] and every
/// [`super::Section`] parsed from it, so errors found later can still name their place.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// The file the text was read from (for the embedded default, a description).
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
}

impl Source {
    /// A source from its path and text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Source {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The line and column of byte `offset` of the text.
    pub fn position(&self, offset: usize) -> Position {
        Position::of(&self.text, offset)
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("path", &self.path)
            .field("bytes", &self.text.len())
            .finish()
    }
}
