//! A place in a config file: 1-based line and column.

use std::fmt;

/// A place in a config file: line and column, both from 1.
///
/// Columns count bytes, as serde_json does, so a position computed here and one reported
/// by serde_json for the same byte agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column in bytes, from 1.
    pub column: usize,
}

impl Position {
    /// The first byte of a file.
    pub const START: Position = Position { line: 1, column: 1 };

    /// The position of byte `offset` of `text` (an offset past the end means the end).
    ///
    /// # Examples
    ///
    /// ```
    /// use engine::config::Position;
    ///
    /// assert_eq!(Position::of("{\n  \"a\": 1\n}", 4), Position { line: 2, column: 3 });
    /// ```
    pub fn of(text: &str, offset: usize) -> Position {
        let before = &text.as_bytes()[..offset.min(text.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + before[..line_start].iter().filter(|&&b| b == b'\n').count();
        Position {
            line,
            column: before.len() - line_start + 1,
        }
    }

    /// Where a place that serde_json reported while reading a value that starts at `self`
    /// lies in the whole file. serde_json's `line` counts from 1 and its `column` is the
    /// byte count into that line; line 0 means "no position", which gives `self`.
    pub(crate) fn shifted_by(self, line: usize, column: usize) -> Position {
        match line {
            0 => self,
            1 => Position {
                line: self.line,
                column: self.column - 1 + column.max(1),
            },
            _ => Position {
                line: self.line + line - 1,
                column: column.max(1),
            },
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::Position;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let text = "ab\ncd\n\nef";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of(text, 1), Position { line: 1, column: 2 });
        assert_eq!(Position::of(text, 2), Position { line: 1, column: 3 });
        assert_eq!(Position::of(text, 3), Position { line: 2, column: 1 });
        assert_eq!(Position::of(text, 6), Position { line: 3, column: 1 });
        assert_eq!(Position::of(text, 8), Position { line: 4, column: 2 });
        assert_eq!(Position::of(text, 100), Position { line: 4, column: 3 });
    }

    #[test]
    fn shifting_keeps_the_base_column_on_the_first_line_only() {
        let base = Position {
            line: 5,
            column: 10,
        };
        assert_eq!(base.shifted_by(0, 0), base);
        assert_eq!(
            base.shifted_by(1, 1),
            Position {
                line: 5,
                column: 10
            }
        );
        assert_eq!(
            base.shifted_by(1, 4),
            Position {
                line: 5,
                column: 13
            }
        );
        assert_eq!(base.shifted_by(3, 7), Position { line: 7, column: 7 });
        assert_eq!(
            Position::START.shifted_by(2, 3),
            Position { line: 2, column: 3 }
        );
    }
}
