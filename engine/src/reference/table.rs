//! A markdown table of an object schema's keys: key, type, default, description.

use serde_json::Value;

/// Rows for one object schema, and the nested struct definitions its types refer to.
pub(super) struct Table<'a> {
    root: &'a Value,
    rows: Vec<[String; 4]>,
    nested: Vec<String>,
}

impl<'a> Table<'a> {
    /// A table resolving `$ref`s against `root`'s `$defs`.
    pub(super) fn new(root: &'a Value) -> Self {
        Table {
            root,
            rows: Vec::new(),
            nested: Vec::new(),
        }
    }

    /// Adds a row per property of `object`; defaults come from the property's `default`
    /// or else from `defaults[key]` (the struct's `Default`, serialized).
    pub(super) fn object(&mut self, object: &Value, defaults: &Value) {
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(props) = object.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (key, prop) in props {
            let ty = self.type_of(prop);
            let default = if required.contains(&key.as_str()) {
                "required".to_string()
            } else {
                match prop.get("default").or_else(|| defaults.get(key)) {
                    None | Some(Value::Null) => "none".to_string(),
                    Some(v) => format!("`{v}`"),
                }
            };
            let mut doc = prop
                .get("description")
                .and_then(Value::as_str)
                .map(prose)
                .unwrap_or_default();
            let variants = self.variant_docs(prop);
            if !variants.is_empty() {
                if !doc.is_empty() {
                    doc.push_str("<br>");
                }
                doc.push_str(&variants);
            }
            self.rows.push([format!("`{key}`"), ty, default, doc]);
        }
    }

    /// `"a"`: doc; `"b"`: doc, for an enum whose variants have doc comments.
    fn variant_docs(&self, s: &Value) -> String {
        let s = match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or(r);
                match self.root.pointer(&format!("/$defs/{name}")) {
                    Some(def) => def,
                    None => return String::new(),
                }
            }
            None => s,
        };
        let Some(alts) = s.get("oneOf").and_then(Value::as_array) else {
            return String::new();
        };
        let docs: Vec<String> = alts
            .iter()
            .filter_map(|a| {
                let c = a.get("const")?;
                let d = a.get("description").and_then(Value::as_str)?;
                Some(format!("`{c}`: {}", prose(d)))
            })
            .collect();
        docs.join("<br>")
    }

    /// The table, or a note when the struct has no keys.
    pub(super) fn render(&self) -> String {
        if self.rows.is_empty() {
            return "No keys of its own.\n\n".to_string();
        }
        let mut out = String::from("| key | type | default | description |\n|---|---|---|---|\n");
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push('\n');
        out
    }

    /// A struct referred to and not yet in `done`.
    pub(super) fn next_nested(&self, done: &[String]) -> Option<String> {
        self.nested.iter().find(|n| !done.contains(n)).cloned()
    }

    /// Takes on the nested structs `other` referred to.
    pub(super) fn absorb(&mut self, other: Table<'_>) {
        for n in other.nested {
            if !self.nested.contains(&n) {
                self.nested.push(n);
            }
        }
    }

    /// A type in words: `integer`, `array of string`, `"a" | "b"`, `Retries`...
    fn type_of(&mut self, s: &Value) -> String {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r).to_string();
            let Some(def) = self.root.pointer(&format!("/$defs/{name}")) else {
                return format!("`{name}`");
            };
            if def.get("properties").is_some() {
                if !self.nested.contains(&name) {
                    self.nested.push(name.clone());
                }
                return format!("`{name}`");
            }
            return self.type_of(def);
        }
        if let Some(c) = s.get("const") {
            return format!("`{c}`");
        }
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            let v: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            return v.join(" | ");
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                let non_null: Vec<&Value> = alts.iter().filter(|a| !is_null(a)).collect();
                let words: Vec<String> = non_null.iter().map(|a| self.type_of(a)).collect();
                let all_consts = non_null.iter().all(|a| a.get("const").is_some());
                return words.join(if all_consts { " | " } else { " or " });
            }
        }
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let words: Vec<String> = types
            .iter()
            .filter(|t| **t != "null")
            .map(|t| match *t {
                "array" => match s.get("items") {
                    Some(items) => format!("array of {}", self.type_of(items)),
                    None => "array".to_string(),
                },
                "object" => match s.get("additionalProperties") {
                    Some(v) if v.is_object() => format!("object of {}", self.type_of(v)),
                    _ => "object".to_string(),
                },
                other => other.to_string(),
            })
            .collect();
        if words.is_empty() {
            "any".to_string()
        } else {
            words.join(" or ")
        }
    }
}

fn is_null(s: &Value) -> bool {
    s.get("type").and_then(Value::as_str) == Some("null")
}

/// A doc comment as one markdown paragraph run: lines joined, paragraphs separated by
/// `<br>`, rustdoc links (``[`x`]``) reduced to their code.
pub(super) fn prose(doc: &str) -> String {
    let paragraphs: Vec<String> = doc
        .split("\n\n")
        .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
        .collect();
    let mut text = paragraphs.join("<br>");
    while let Some(start) = text.find("[`") {
        let Some(len) = text[start..].find("`]") else {
            break;
        };
        let end = start + len;
        let code = text[start + 1..end + 1].to_string();
        let mut tail = end + 2;
        // A `[x](url)` or `[x][ref]` link target goes too.
        if text[tail..].starts_with('(') || text[tail..].starts_with('[') {
            let close = if text[tail..].starts_with('(') {
                ')'
            } else {
                ']'
            };
            if let Some(n) = text[tail..].find(close) {
                tail += n + 1;
            }
        }
        text.replace_range(start..tail, &code);
    }
    text
}

/// A doc comment kept as markdown (for text outside tables), rustdoc links reduced to
/// their code.
pub(super) fn block(doc: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            out.push_str(line);
        } else if in_code {
            out.push_str(line);
        } else {
            out.push_str(&prose(line));
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// A table cell: pipes escaped, no newlines.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::prose;

    #[test]
    fn prose_joins_lines_and_strips_rustdoc_links() {
        assert_eq!(prose("a\nb\n\nc"), "a b<br>c");
        assert_eq!(
            prose("see [`Foo::bar`] and [`x`](crate::x)."),
            "see `Foo::bar` and `x`."
        );
    }
}
