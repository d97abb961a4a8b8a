//! Raw JSON values as slices of the config text: their byte offsets (hence line and
//! column), objects read in file order, typed parsing with absolute error positions, and
//! finding the value at a key path.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::key_path::{self, Step};
use super::{ConfigError, Source};

/// The byte offset of `raw` within `text`, of which it must be a slice (every `&RawValue`
/// borrowed while deserializing from `text` is one). Anything else gives 0: a wrong
/// position in an error message, never a panic.
pub(crate) fn offset_in(text: &str, raw: &str) -> usize {
    let offset = (raw.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    match offset.checked_add(raw.len()) {
        Some(end) if end <= text.len() => offset,
        _ => 0,
    }
}

/// The offset of the first non-whitespace byte of `text` at or after `from`.
pub(crate) fn skip_whitespace(text: &str, from: usize) -> usize {
    text.as_bytes()[from.min(text.len())..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(text.len(), |i| from + i)
}

/// A JSON object's members in file order, each value borrowed from the text.
///
/// Duplicate keys are all kept (serde_json's maps would keep only the last one), so the
/// caller can refuse them.
#[derive(Debug)]
pub(crate) struct Object<'a>(pub(crate) Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Object(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl<'a> Object<'a> {
    /// The members with the offset in `text` of each key's opening quote, for an object
    /// whose `{` is at `object_offset`: between a value's end and the next key there are
    /// only whitespace and a comma, so the next `"` starts the key.
    pub(crate) fn keyed(
        self,
        text: &str,
        object_offset: usize,
    ) -> Vec<(String, usize, &'a RawValue)> {
        let mut after = object_offset + 1;
        let mut out = Vec::with_capacity(self.0.len());
        for (key, value) in self.0 {
            let key_at = text
                .get(after..)
                .and_then(|t| t.find('"'))
                .map_or(after, |i| after + i);
            after = offset_in(text, value.get()) + value.get().len();
            out.push((key, key_at, value));
        }
        out
    }
}

/// Deserializes `raw` (a slice of `source.text` whose key path is `prefix`) into `T`.
///
/// # Errors
///
/// A [`ConfigError`] with the file's line and column and the complete key path.
pub(crate) fn parse_at<'a, T: Deserialize<'a>>(
    source: &Source,
    raw: &'a str,
    prefix: &str,
) -> Result<T, ConfigError> {
    let base = source.position(offset_in(&source.text, raw));
    let mut de = serde_json::Deserializer::from_str(raw);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ConfigError::from_serde(source, base, prefix, e))?;
    de.end()
        .map_err(|e| ConfigError::from_json(source, base, prefix.to_string(), &e))?;
    Ok(value)
}

/// The offset in `text` (a whole, valid config) of the value at key path `path`, and
/// whether it was found: when a step is missing, the offset of the deepest value found.
pub(crate) fn locate(text: &str, path: &str) -> (usize, bool) {
    let mut offset = skip_whitespace(text, 0);
    for step in key_path::split(path) {
        match child(text, offset, step) {
            Some(next) => offset = next,
            None => return (offset, false),
        }
    }
    (offset, true)
}

/// The offset of the member or element `step` of the value at `offset`.
fn child(text: &str, offset: usize, step: Step<'_>) -> Option<usize> {
    let rest = text.get(offset..)?;
    let mut de = serde_json::Deserializer::from_str(rest);
    let found = match step {
        Step::Key(key) => {
            let object = Object::deserialize(&mut de).ok()?;
            object.0.into_iter().find(|(k, _)| k == key)?.1
        }
        Step::Index(i) => Vec::<&RawValue>::deserialize(&mut de)
            .ok()?
            .get(i)
            .copied()?,
    };
    Some(offset_in(text, found.get()))
}

#[cfg(test)]
mod tests {
    use super::{locate, offset_in, Object};

    const TEXT: &str = "{\n  \"a\": {\"b\": [1, {\"c\": true}]},\n  \"d\" : \"x\"\n}\n";

    #[test]
    fn values_are_found_by_key_path() {
        let at = |path| {
            let (offset, found) = locate(TEXT, path);
            (&TEXT[offset..offset + 4], found)
        };
        assert_eq!(at(""), ("{\n  ", true));
        assert_eq!(at("a.b"), ("[1, ", true));
        assert_eq!(at("a.b[1].c"), ("true", true));
        assert_eq!(at("d"), ("\"x\"\n", true));
        assert_eq!(at("a.b[7]"), ("[1, ", false));
        assert_eq!(at("a.zz.c"), ("{\"b\"", false));
    }

    #[test]
    fn objects_keep_file_order_duplicates_and_key_offsets() {
        let text = r#"  {"z": 1, "a" : [2],"z":3 }"#;
        let object: Object<'_> = serde_json::from_str(text).unwrap();
        let keyed = object.keyed(text, 2);
        let keys: Vec<_> = keyed
            .iter()
            .map(|(k, at, v)| (k.as_str(), *at, v.get()))
            .collect();
        assert_eq!(keys, vec![("z", 3, "1"), ("a", 11, "[2]"), ("z", 21, "3")]);
        assert_eq!(offset_in(text, &text[5..]), 5);
        assert_eq!(offset_in(text, "elsewhere"), 0);
    }
}
