//! A filter chain (Heka's routing): the messages it takes, the filters they go through and
//! the outputs they start with.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::raw::{offset_in, parse_at};
use super::{key_path, ConfigError, Position, Source};

/// One entry of `chains`: messages whose `type` is one of `message_types` (or, for the chain
/// named `default`, every message no other chain takes) run through `filters` in order and
/// then go to `outputs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The chain's name (its key in `chains`).
    pub name: String,
    /// The message types it takes (key `message_type`: a string or a list of them).
    pub message_types: Vec<String>,
    /// Filter names, run in this order.
    pub filters: Vec<String>,
    /// Output names: a pack's outputs start as these.
    pub outputs: Vec<String>,
    /// Where the chain's `{` is.
    pub position: Position,
}

/// A chain as written.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Body {
    /// The message types this chain takes (exact `type` match): a string or a list. The
    /// chain named `default` takes every message no other chain takes; a type may be in
    /// one chain only.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "OneOrMany")]
    message_type: Vec<String>,
    /// Filter names, run in this order (each may edit, block or re-route the message).
    #[serde(default)]
    filters: Vec<String>,
    /// Output names: where the chain's messages go (filters may change it per message).
    #[serde(default)]
    outputs: Vec<String>,
}

/// One message type or a list of them (for the schema of `message_type`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used.
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Chain {
    /// Reads the chain `name` from `raw` (a slice of `source.text`).
    pub(crate) fn from_raw(
        source: &Source,
        name: String,
        raw: &RawValue,
    ) -> Result<Chain, ConfigError> {
        let raw = raw.get();
        let body: Body = parse_at(source, raw, &key_path::key("chains", &name))?;
        Ok(Chain {
            name,
            message_types: body.message_type,
            filters: body.filters,
            outputs: body.outputs,
            position: source.position(offset_in(&source.text, raw)),
        })
    }

    /// The JSON schema of one chain body (`chains.<name>`), with doc comments: for the
    /// config reference.
    pub fn schema() -> schemars::Schema {
        schemars::schema_for!(Body)
    }

    /// The chain's key path: `chains.<name>`.
    pub fn path(&self) -> String {
        key_path::key("chains", &self.name)
    }
}

/// A string or a list of strings.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a message type or a list of them")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(t) = seq.next_element::<String>()? {
                out.push(t);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(OneOrMany)
}
