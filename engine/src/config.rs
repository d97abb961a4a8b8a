//! The config model and its loader: Heka's JSON shape (DESIGN.md section 5), read with serde
//! and checked strictly. Every error names the file, line, column and key path
//! (`hekad.json:12:9: outputs[1].perm: ...`).
//!
//! [`Config::parse`] reads the engine section, the chains and the common keys of every
//! plugin section, and checks what needs no plugin types: names, chains, default decoder,
//! limits. Each plugin section stays raw JSON until its type parses it with
//! [`Section::parse`] (the registry does this), so plugin errors point into the file too.
//!
//! # Examples
//!
//! ```
//! use engine::config::{Config, DEFAULT_CONFIG};
//!
//! let config = Config::parse(DEFAULT_CONFIG, "(embedded default)").unwrap();
//! assert_eq!(config.inputs[0].name, "udp");
//! assert_eq!(config.chains[0].outputs, ["file", "CounterOutput"]);
//!
//! let e = Config::parse("{\n  \"inputz\": []\n}", "hekad.json").unwrap_err();
//! assert_eq!(e.to_string(), "hekad.json:2:3: inputz: unknown key (expected one of \
//!     engine, inputs, decoders, filters, outputs, chains, http)");
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::value::RawValue;

mod chain;
mod common_keys;
mod engine_section;
mod error;
mod http;
mod key_path;
mod position;
mod raw;
mod section;
mod skip_keys;
mod source;
#[cfg(test)]
mod tests;
mod validate;

pub use chain::Chain;
pub use common_keys::{CommonKeys, OnFull, Retries, COMMON_KEYS, MAX_SOCKETS};
pub use engine_section::{
    EngineConfig, ThreadPlan, WaitKind, MAX_MESSAGE_SIZE_LIMIT, MAX_POOL_SIZE,
};
pub use error::ConfigError;
pub use http::HttpConfig;
pub use position::Position;
pub use section::{Kind, Section};
pub use source::Source;

use raw::{parse_at, skip_whitespace, Object};

/// The most outputs a config may have: a pack's outputs are a 64-bit mask.
pub const MAX_OUTPUTS: usize = 64;

/// The top-level keys of a config.
const TOP_LEVEL_KEYS: [&str; 7] = [
    "engine", "inputs", "decoders", "filters", "outputs", "chains", "http",
];

/// The config `hekad` runs without `--config`: UDP JSON in on 127.0.0.1:5565, every message
/// to `hekad.log` (payloads, one per line) and counted on stdout.
pub const DEFAULT_CONFIG: &str = r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:5565"}],
  "decoders": [{"type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "file", "type": "FileOutput", "path": "hekad.log", "format": "text"},
               {"type": "CounterOutput"}],
  "chains":   {"default": {"outputs": ["file", "CounterOutput"]}}
}
"#;

/// A parsed and checked config.
///
/// The plugin sections keep their raw JSON: the registry parses each into its plugin's
/// typed config with [`Section::parse`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The `engine` section (all defaults when absent).
    pub engine: EngineConfig,
    /// The `inputs` sections, in file order.
    pub inputs: Vec<Section>,
    /// The `decoders` sections, in file order.
    pub decoders: Vec<Section>,
    /// The `filters` sections, in file order.
    pub filters: Vec<Section>,
    /// The `outputs` sections, in file order (at most [`MAX_OUTPUTS`]).
    pub outputs: Vec<Section>,
    /// The `chains`, in file order.
    pub chains: Vec<Chain>,
    /// The `http` section, if any.
    pub http: Option<HttpConfig>,
    /// The file and its text.
    pub source: Arc<Source>,
    /// Notes worth a warning that do not make the config invalid (e.g. a pool size rounded
    /// up to a power of two).
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads and parses the config file `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] naming the file when it cannot be read; otherwise as
    /// [`Config::parse`].
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Parses and checks the config `text`, read from `path` (used in error messages and
    /// to resolve relative paths, see [`Config::dir`]).
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`ConfigError`] with line, column and key path:
    /// malformed JSON, an unknown or repeated key, a wrong type, a bad engine value, a
    /// duplicate plugin name, a chain naming an undefined filter or output, a message type
    /// in two chains, two default decoders, more than [`MAX_OUTPUTS`] outputs. Unknown
    /// plugin types and plugin keys are checked later, by the registry.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let source = Arc::new(Source::new(path.as_ref(), text));
        let text = source.text.as_str();
        let root: Object<'_> = parse_at(&source, text, "")?;
        let mut config = Config {
            engine: EngineConfig::default(),
            inputs: Vec::new(),
            decoders: Vec::new(),
            filters: Vec::new(),
            outputs: Vec::new(),
            chains: Vec::new(),
            http: None,
            source: source.clone(),
            warnings: Vec::new(),
        };
        let mut seen = HashSet::new();
        for (key, key_at, value) in root.keyed(text, skip_whitespace(text, 0)) {
            let at = source.position(key_at);
            if !seen.insert(key.clone()) {
                return Err(ConfigError::at(&source, at, key, "repeated key"));
            }
            let raw = value.get();
            match key.as_str() {
                "engine" => config.engine = parse_at(&source, raw, "engine")?,
                "inputs" => config.inputs = sections(&source, Kind::Input, raw)?,
                "decoders" => config.decoders = sections(&source, Kind::Decoder, raw)?,
                "filters" => config.filters = sections(&source, Kind::Filter, raw)?,
                "outputs" => config.outputs = sections(&source, Kind::Output, raw)?,
                "chains" => config.chains = chains(&source, raw)?,
                "http" => config.http = parse_at(&source, raw, "http")?,
                _ => {
                    let expected = TOP_LEVEL_KEYS.join(", ");
                    let message = format!("unknown key (expected one of {expected})");
                    return Err(ConfigError::at(&source, at, key, message));
                }
            }
        }
        config.warnings = config
            .engine
            .check()
            .map_err(|(path, message)| config.error_at_path(path, message))?;
        if let Some(http) = &config.http {
            http.check()
                .map_err(|m| config.error_at_path("http.address", m))?;
        }
        validate::check(&config)?;
        Ok(config)
    }

    /// The directory relative paths in the config resolve against: the file's directory
    /// (`.` for a bare file name or the embedded default).
    pub fn dir(&self) -> PathBuf {
        match self.source.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The sections of one kind.
    pub fn sections_of(&self, kind: Kind) -> &[Section] {
        match kind {
            Kind::Input => &self.inputs,
            Kind::Decoder => &self.decoders,
            Kind::Filter => &self.filters,
            Kind::Output => &self.outputs,
        }
    }

    /// Every plugin section: inputs, decoders, filters, then outputs, each in file order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        Kind::ALL
            .into_iter()
            .flat_map(|kind| self.sections_of(kind))
    }

    /// The plugin section named `name`, of any kind.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections().find(|s| s.name == name)
    }

    /// The position of the value at key path `path` (e.g. `engine.threads` or
    /// `outputs[1].perm`), or of the nearest enclosing value the file has.
    pub fn position_of(&self, path: &str) -> Position {
        self.source.position(raw::locate(&self.source.text, path).0)
    }

    /// An error in this config's file at `position`, about key path `path`.
    pub fn error_at(
        &self,
        position: Position,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(&self.source, position, path, message)
    }

    /// An error about the value at key path `path` (e.g. `engine.threads[1].cores`), at
    /// its position (see [`Config::position_of`]).
    pub fn error_at_path(&self, path: &str, message: impl Into<String>) -> ConfigError {
        self.error_at(self.position_of(path), path, message)
    }

    /// An error about a key of the engine section; `path` is complete
    /// (`engine.threads`). The same as [`Config::error_at_path`].
    pub fn error_at_engine(&self, path: &str, message: impl Into<String>) -> ConfigError {
        self.error_at_path(path, message)
    }
}

/// The sections of list `raw` (a slice of `source.text`) of `kind`.
fn sections(source: &Arc<Source>, kind: Kind, raw: &str) -> Result<Vec<Section>, ConfigError> {
    let list: Vec<&RawValue> = parse_at(source, raw, kind.list_name())?;
    list.into_iter()
        .enumerate()
        .map(|(i, s)| Section::from_raw(source, kind, i, s))
        .collect()
}

/// The chains of object `raw` (a slice of `source.text`), in file order.
fn chains(source: &Source, raw: &str) -> Result<Vec<Chain>, ConfigError> {
    let object: Object<'_> = parse_at(source, raw, "chains")?;
    let mut out: Vec<Chain> = Vec::new();
    let text = &source.text;
    for (name, key_at, body) in object.keyed(text, raw::offset_in(text, raw)) {
        if out.iter().any(|c| c.name == name) {
            let at = source.position(key_at);
            return Err(ConfigError::at(
                source,
                at,
                key_path::key("chains", &name),
                "chain defined twice",
            ));
        }
        out.push(Chain::from_raw(source, name, body)?);
    }
    Ok(out)
}
