//! The checks [`Config::parse`] makes across sections: names, common keys per kind, the
//! output limit and chains.

use std::collections::HashMap;

use super::MAX_SOCKETS;
use super::{key_path, raw, Chain, Config, ConfigError, Kind, OnFull, Section, MAX_OUTPUTS};

/// Stage names the engine uses itself (DESIGN.md section 10, "Plan names").
const RESERVED_NAMES: [&str; 3] = ["decode", "route", "generator"];

/// Checks `config` as a whole.
///
/// # Errors
///
/// The first problem, located at the offending value.
pub(crate) fn check(config: &Config) -> Result<(), ConfigError> {
    names(config)?;
    common_keys(config)?;
    if let Some(extra) = config.outputs.get(MAX_OUTPUTS) {
        let message = format!("at most {MAX_OUTPUTS} outputs (a pack's outputs are a 64-bit mask)");
        return Err(extra.error("", message));
    }
    chains(config)
}

/// The key a section's name comes from: `name`, or `type` when it has no `name`.
fn name_key(s: &Section) -> &'static str {
    if s.has_key("name") {
        "name"
    } else {
        "type"
    }
}

/// Names are unique across all sections and are not the engine's own stage names.
fn names(config: &Config) -> Result<(), ConfigError> {
    let mut seen: HashMap<&str, &Section> = HashMap::new();
    for s in config.sections() {
        if RESERVED_NAMES.contains(&s.name.as_str()) {
            let message = format!(
                "{:?} is the name of an engine stage: choose another",
                s.name
            );
            return Err(s.error(name_key(s), message));
        }
        if let Some(first) = seen.insert(&s.name, s) {
            let key = name_key(s);
            let hint = if key == "type" {
                "; give one of them a \"name\""
            } else {
                ""
            };
            let message = format!(
                "plugin name {:?} is already used by {} (line {}){hint}",
                s.name,
                first.path(),
                first.position.line
            );
            return Err(s.error(key, message));
        }
    }
    Ok(())
}

/// Common keys are only given to the kinds they apply to, with sound values, and at most
/// one decoder is the default.
fn common_keys(config: &Config) -> Result<(), ConfigError> {
    let mut default: Option<&Section> = None;
    for s in config.sections() {
        let c = &s.common;
        let misplaced = if c.default && s.kind != Kind::Decoder {
            Some(("default", "only a decoder can be the default"))
        } else if c.sockets.is_some() && s.kind != Kind::Input {
            Some(("sockets", "only inputs open sockets"))
        } else if c.message_matcher.is_some() && matches!(s.kind, Kind::Input | Kind::Decoder) {
            Some((
                "message_matcher",
                "only filters and outputs have a message matcher",
            ))
        } else if c.on_full != OnFull::Block && s.kind != Kind::Output {
            Some(("on_full", "only outputs may drop when full"))
        } else if c.ticker_interval_secs.is_some() && matches!(s.kind, Kind::Input | Kind::Decoder)
        {
            Some(("ticker_interval_secs", "only filters and outputs tick"))
        } else {
            None
        };
        if let Some((key, message)) = misplaced {
            return Err(s.error(key, message));
        }
        if c.sockets == Some(0) {
            return Err(s.error("sockets", "must be at least 1"));
        }
        if c.sockets.is_some_and(|n| n > MAX_SOCKETS) {
            let message = format!("must be at most {MAX_SOCKETS}");
            return Err(s.error("sockets", message));
        }
        if c.default {
            if let Some(first) = default {
                let message = format!(
                    "a second default decoder ({} {:?} is the default already)",
                    first.path(),
                    first.name
                );
                return Err(s.error("default", message));
            }
            default = Some(s);
        }
    }
    Ok(())
}

/// Chains name defined filters and outputs, and no message type is in two chains.
fn chains(config: &Config) -> Result<(), ConfigError> {
    let mut by_type: HashMap<&str, &Chain> = HashMap::new();
    for chain in &config.chains {
        let path = chain.path();
        for (key, kind, names) in [
            ("filters", Kind::Filter, &chain.filters),
            ("outputs", Kind::Output, &chain.outputs),
        ] {
            for (i, name) in names.iter().enumerate() {
                if !config.sections_of(kind).iter().any(|s| &s.name == name) {
                    let at = key_path::index(&key_path::key(&path, key), i);
                    return Err(config.error_at_path(&at, undefined(config, kind, name)));
                }
            }
        }
        for (i, message_type) in chain.message_types.iter().enumerate() {
            if let Some(other) = by_type.insert(message_type, chain) {
                let message = if other.name == chain.name {
                    format!("message type {message_type:?} is listed twice")
                } else {
                    format!(
                        "message type {message_type:?} is taken by chain {:?} already",
                        other.name
                    )
                };
                return Err(config.error_at_path(&message_type_path(config, &path, i), message));
            }
        }
    }
    Ok(())
}

/// `no output named "x"`, saying what `x` is when it names a section of another kind.
fn undefined(config: &Config, kind: Kind, name: &str) -> String {
    match config.section(name) {
        Some(other) => {
            let article = if matches!(other.kind, Kind::Input | Kind::Output) {
                "an"
            } else {
                "a"
            };
            format!(
                "no {kind} named {name:?} ({} is {article} {})",
                other.path(),
                other.kind
            )
        }
        None => format!("no {kind} named {name:?}"),
    }
}

/// The path of the `i`th message type of the chain at `chain_path`: `message_type[i]`, or
/// `message_type` when it is written as one string.
fn message_type_path(config: &Config, chain_path: &str, i: usize) -> String {
    let key = key_path::key(chain_path, "message_type");
    let indexed = key_path::index(&key, i);
    if raw::locate(&config.source.text, &indexed).1 {
        indexed
    } else {
        key
    }
}
