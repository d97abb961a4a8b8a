//! The keys every plugin section may have, handled by the engine rather than the plugin.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The keys of a plugin section that the engine handles. [`super::Section::parse`] hides
/// them from the plugin's own config struct.
pub const COMMON_KEYS: &[&str] = &[
    "name",
    "type",
    "default",
    "message_matcher",
    "on_full",
    "retries",
    "ticker_interval_secs",
    "ticker_interval",
    "sockets",
];

/// The most SO_REUSEPORT sockets (and input stages) one input section may ask for with
/// `sockets`: more than any host has cores, and few enough that a typo cannot make the
/// engine allocate a stage name per socket for billions of sockets.
pub const MAX_SOCKETS: usize = 1024;

/// The engine-handled keys of a plugin section, other than `name` and `type`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommonKeys {
    /// Decoders only: this is the decoder of packs whose input named none. At most one.
    pub default: bool,
    /// Filters and outputs: which messages they see, e.g. `type == "x" && severity <= 4`.
    pub message_matcher: Option<String>,
    /// Outputs: what a full output does to the pipeline.
    pub on_full: OnFull,
    /// How a failing (panicking) plugin is restarted; absent: the engine's defaults.
    pub retries: Option<Retries>,
    /// Filters: seconds between ticks (Heka's `ticker_interval` is accepted too).
    pub ticker_interval_secs: Option<u64>,
    /// Inputs: how many SO_REUSEPORT sockets (each its own stage) to open, 1 to
    /// [`MAX_SOCKETS`]; absent: one.
    pub sockets: Option<usize>,
}

/// What happens when an output falls behind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFull {
    /// The output gates the producers: back-pressure, nothing lost. The default.
    #[default]
    Block,
    /// The output gets packs through a bounded queue of its own; a full queue drops (and
    /// counts) the pack for this output only.
    Drop,
}

const fn default_delay_ms() -> u64 {
    250
}

const fn default_max_delay_ms() -> u64 {
    30_000
}

/// How a failing plugin is rebuilt: with exponential backoff from `delay_ms` up to
/// `max_delay_ms`, at most `max_retries` times (Heka's `retries`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// The first delay, in ms. Default 250.
    #[serde(default = "default_delay_ms")]
    pub delay_ms: u64,
    /// The longest delay, in ms. Default 30,000.
    #[serde(default = "default_max_delay_ms")]
    pub max_delay_ms: u64,
    /// Rebuilds before the plugin is disabled; absent: retry forever (Heka's -1).
    #[serde(default)]
    pub max_retries: Option<u32>,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            delay_ms: default_delay_ms(),
            max_delay_ms: default_max_delay_ms(),
            max_retries: None,
        }
    }
}

/// The common keys of a section as read from the file (and, through [`CommonKeys::schema`],
/// the "common keys" table of the plugin reference).
///
/// Not `deny_unknown_fields`, unlike every other config struct: the plugin's own keys are
/// in the same object, and the plugin's struct refuses unknown ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(expecting = "a plugin section (an object with a \"type\")")]
pub(crate) struct Head {
    /// The plugin's name: unique, used in chains and `engine.threads`. Default: its `type`.
    #[serde(default)]
    name: Option<String>,
    /// The registered plugin type, e.g. `UdpInput` (see below). Required.
    #[serde(rename = "type")]
    type_name: String,
    /// Decoders only: this decoder takes the packs whose input named none. One decoder
    /// must be the default when there are several.
    #[serde(default)]
    default: bool,
    /// Filters and outputs: only messages matching this expression reach the plugin, e.g.
    /// `Type == "x" && Severity <= 4 && Fields[host] =~ /^web/`.
    #[serde(default)]
    message_matcher: Option<String>,
    /// Outputs: `block` (the output gates the producers: back-pressure, nothing lost) or
    /// `drop` (a bounded queue of its own; full means a counted drop for this output only).
    #[serde(default)]
    on_full: OnFull,
    /// How a failing (panicking) plugin is rebuilt: `{"delay_ms", "max_delay_ms",
    /// "max_retries"}`. Absent: the engine's defaults.
    #[serde(default)]
    retries: Option<Retries>,
    /// Filters: seconds between ticks (Heka's `ticker_interval` is accepted too). Absent:
    /// the filter's own default.
    #[serde(default, alias = "ticker_interval")]
    ticker_interval_secs: Option<u64>,
    /// Inputs: how many SO_REUSEPORT sockets to open on the address, each its own stage
    /// (`<name>.<i>` in `engine.threads`). Absent: one.
    #[serde(default)]
    sockets: Option<usize>,
}

impl CommonKeys {
    /// The JSON schema of the keys every plugin section may have (`name`, `type`, and the
    /// engine-handled keys), with their doc comments: for the plugin reference.
    pub fn schema() -> schemars::Schema {
        schemars::schema_for!(Head)
    }
}

impl Head {
    /// `name` (if given), `type` and the other common keys.
    pub(crate) fn split(self) -> (Option<String>, String, CommonKeys) {
        let common = CommonKeys {
            default: self.default,
            message_matcher: self.message_matcher,
            on_full: self.on_full,
            retries: self.retries,
            ticker_interval_secs: self.ticker_interval_secs,
            sockets: self.sockets,
        };
        (self.name, self.type_name, common)
    }
}

#[cfg(test)]
mod tests {
    use super::{OnFull, Retries};

    #[test]
    fn retries_default_round_trips_through_json() {
        let r = Retries::default();
        let back: Retries = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(serde_json::from_str::<Retries>("{}").unwrap(), r);
    }

    #[test]
    fn on_full_is_snake_case() {
        assert_eq!(
            serde_json::from_str::<OnFull>("\"drop\"").unwrap(),
            OnFull::Drop
        );
        assert_eq!(serde_json::to_string(&OnFull::Block).unwrap(), "\"block\"");
    }
}
