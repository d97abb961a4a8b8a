//! One plugin section of a config (an element of `inputs`, `decoders`, `filters` or
//! `outputs`), kept as raw JSON until its plugin type parses it.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::common_keys::{Head, COMMON_KEYS};
use super::raw::{self, offset_in, parse_at};
use super::skip_keys::SkipKeys;
use super::{key_path, CommonKeys, ConfigError, Position, Source};

/// The four kinds of plugin, each with its list in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An `inputs` section.
    Input,
    /// A `decoders` section.
    Decoder,
    /// A `filters` section.
    Filter,
    /// An `outputs` section.
    Output,
}

impl Kind {
    /// Every kind, in config order.
    pub const ALL: [Kind; 4] = [Kind::Input, Kind::Decoder, Kind::Filter, Kind::Output];

    /// The config key of this kind's list: `inputs`, `decoders`, `filters`, `outputs`.
    pub const fn list_name(self) -> &'static str {
        match self {
            Kind::Input => "inputs",
            Kind::Decoder => "decoders",
            Kind::Filter => "filters",
            Kind::Output => "outputs",
        }
    }

    /// The kind in words: `input`, `decoder`, `filter`, `output`.
    pub const fn singular(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Decoder => "decoder",
            Kind::Filter => "filter",
            Kind::Output => "output",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.singular())
    }
}

/// One plugin section: its name, type and common keys, where it is in the file, and its
/// raw JSON for the plugin type to parse ([`Section::parse`]).
#[derive(Clone)]
pub struct Section {
    /// The plugin's name: `name`, defaulting to `type`. Unique within a config.
    pub name: String,
    /// The plugin type (`type`), e.g. `UdpInput`: the registry key, with [`Section::kind`].
    pub type_name: String,
    /// The keys the engine handles.
    pub common: CommonKeys,
    /// Where the section's `{` is.
    pub position: Position,
    /// The section's index in its list.
    pub index: usize,
    /// Which list the section is in.
    pub kind: Kind,
    source: Arc<Source>,
    span: Range<usize>,
}

impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Section")
            .field("name", &self.name)
            .field("type_name", &self.type_name)
            .field("kind", &self.kind)
            .field("index", &self.index)
            .field("position", &self.position)
            .field("common", &self.common)
            .field("raw", &self.raw())
            .finish()
    }
}

impl Section {
    /// Reads the common keys of the section `raw` (a slice of `source.text`), the
    /// `index`th of `kind`'s list.
    pub(crate) fn from_raw(
        source: &Arc<Source>,
        kind: Kind,
        index: usize,
        raw: &RawValue,
    ) -> Result<Section, ConfigError> {
        let raw = raw.get();
        let path = key_path::index(kind.list_name(), index);
        let head: Head = parse_at(source, raw, &path)?;
        let (name, type_name, common) = head.split();
        let offset = offset_in(&source.text, raw);
        let section = Section {
            name: name.unwrap_or_else(|| type_name.clone()),
            type_name,
            common,
            position: source.position(offset),
            index,
            kind,
            source: source.clone(),
            span: offset..offset + raw.len(),
        };
        if section.name.is_empty() {
            return Err(section.error("name", "a plugin name cannot be empty"));
        }
        Ok(section)
    }

    /// The section's JSON text, exactly as in the file (common keys included).
    pub fn raw(&self) -> &str {
        &self.source.text[self.span.clone()]
    }

    /// The file the section comes from.
    pub fn source(&self) -> &Arc<Source> {
        &self.source
    }

    /// The section's key path: `outputs[1]`.
    pub fn path(&self) -> String {
        key_path::index(self.kind.list_name(), self.index)
    }

    /// Deserializes the section into its plugin's own config struct (which should be
    /// `#[serde(deny_unknown_fields)]`), without the [common keys](super::COMMON_KEYS).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file, the line and column in the file, and the key
    /// path (`outputs[1].perm`): an unknown key, a wrong type, a missing key or a value
    /// the struct refuses.
    ///
    /// # Examples
    ///
    /// ```
    /// use engine::config::Config;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct UdpConfig {
    ///     address: String,
    /// }
    ///
    /// let text = r#"{"inputs": [{"name": "udp", "type": "UdpInput", "addres": "x"}]}"#;
    /// let config = Config::parse(text, "hekad.json").unwrap();
    /// let e = config.inputs[0].parse::<UdpConfig>().unwrap_err();
    /// assert_eq!(e.path(), "inputs[0].addres");
    /// assert!(e.to_string().starts_with("hekad.json:1:56: inputs[0].addres: unknown field"));
    /// ```
    pub fn parse<C: DeserializeOwned>(&self) -> Result<C, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(self.raw());
        serde_path_to_error::deserialize(SkipKeys::new(&mut de, COMMON_KEYS))
            .map_err(|e| ConfigError::from_serde(&self.source, self.position, &self.path(), e))
    }

    /// An error about key path `path` inside this section (e.g. `type`, or `""` for the
    /// whole section), at that value's position when the section has it, else at the
    /// section's `{`.
    pub fn error(&self, path: &str, message: impl Into<String>) -> ConfigError {
        let full = if path.is_empty() {
            self.path()
        } else {
            key_path::key(&self.path(), path)
        };
        let (offset, _) = raw::locate(&self.source.text, &full);
        ConfigError::at(&self.source, self.source.position(offset), full, message)
    }

    /// Whether the section has key `key` (e.g. whether `name` was given).
    pub fn has_key(&self, key: &str) -> bool {
        raw::locate(&self.source.text, &key_path::key(&self.path(), key)).1
    }
}
