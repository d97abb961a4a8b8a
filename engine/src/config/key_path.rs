//! Key paths like `outputs[1].perm`: built from serde_path_to_error's paths, and split
//! again to find a value in the file.

use serde_path_to_error::{Path, Segment};

/// `prefix` followed by `key`: `outputs[1]` + `perm` → `outputs[1].perm`.
pub(crate) fn key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// `prefix` followed by list index `index`: `outputs` + 1 → `outputs[1]`.
pub(crate) fn index(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

/// `prefix` followed by the path serde_path_to_error tracked inside the value at `prefix`.
pub(crate) fn join(prefix: &str, path: &Path) -> String {
    let mut out = prefix.to_string();
    for segment in path {
        match segment {
            Segment::Seq { index: i } => out = index(&out, *i),
            Segment::Map { key: k } | Segment::Enum { variant: k } => out = key(&out, k),
            Segment::Unknown => out = key(&out, "?"),
        }
    }
    out
}

/// One step of a key path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    /// An object key.
    Key(&'a str),
    /// A list index.
    Index(usize),
}

/// The steps of `path` (`chains.default.outputs[1]` → `chains`, `default`, `outputs`, 1),
/// up to the first one that does not parse. Keys that contain `.` or `[` cannot be
/// expressed; a caller looking a path up then stops at the value before them.
pub(crate) fn split(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            steps.push(Step::Key(name));
        }
        while !rest.is_empty() {
            let Some((digits, after)) = rest.split_once(']') else {
                return steps;
            };
            let Ok(i) = digits.parse() else { return steps };
            steps.push(Step::Index(i));
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return steps;
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::{split, Step};

    #[test]
    fn paths_split_into_keys_and_indices() {
        use Step::{Index, Key};
        assert_eq!(split(""), vec![]);
        assert_eq!(split("engine"), vec![Key("engine")]);
        assert_eq!(
            split("outputs[1].perm"),
            vec![Key("outputs"), Index(1), Key("perm")]
        );
        assert_eq!(
            split("chains.default.outputs[1]"),
            vec![Key("chains"), Key("default"), Key("outputs"), Index(1)]
        );
        assert_eq!(
            split("a[1][2].b"),
            vec![Key("a"), Index(1), Index(2), Key("b")]
        );
        assert_eq!(split("a[x].b"), vec![Key("a")]);
    }

    #[test]
    fn paths_join_with_dots_and_brackets() {
        assert_eq!(super::key("", "engine"), "engine");
        assert_eq!(super::key("engine", "wait"), "engine.wait");
        assert_eq!(super::index("outputs", 3), "outputs[3]");
    }
}
