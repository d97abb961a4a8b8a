//! The daemon's own log, on stderr: never per message, warnings and errors rate-limited
//! per call site ([`warn`], [`error`]; hot stages keep a [`RateLimited`] of their own).
//!
//! Two formats, chosen once at start with [`init`] (`hekad --log-format`):
//!
//! - `text` (the default): `hekad: <msg> key=value...`, `hekad: warning: ...`,
//!   `hekad: error: ...`, `hekad: debug: ...`. A multi-line message (a report) keeps its
//!   lines; a field whose value spans several lines (the plan) follows the line as a
//!   block. No timestamp: journald adds one.
//! - `json`: one object per line, `{"ts": "<RFC 3339 UTC>", "level": "info", "msg": "...",
//!   "fields": {...}}` (`fields` only when there are some).
//!
//! Lines below the level set by [`init`] (`hekad --log-level`, default `info`) are dropped.
//!
//! # Examples
//!
//! ```
//! use engine::log::{self, Level};
//!
//! log::info(format_args!("listening udp udp 127.0.0.1:5565"));
//! log::log(Level::Warn, format_args!("receive buffer capped"), &[("bytes", &212992)]);
//! assert!(log::enabled(Level::Error));
//! ```

use std::fmt::{self, Arguments, Display};
use std::io::Write as _;
use std::panic::Location;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

mod rate_limited;
mod sites;
mod timestamp;

pub use rate_limited::RateLimited;

/// How important a log line is; a line is written when its level is at most the level set
/// by [`init`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The daemon cannot do something it was asked to.
    Error = 0,
    /// Something went wrong and was handled (rate-limited where it can repeat).
    Warn = 1,
    /// Start banner, listen addresses, stop and final counts. The default level.
    Info = 2,
    /// Detail for debugging the daemon itself (never per message).
    Debug = 3,
}

impl Level {
    /// The level's name, as `--log-level` and the json `level` key spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Error,
            1 => Level::Warn,
            2 => Level::Info,
            _ => Level::Debug,
        }
    }
}

impl Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `--log-level` or `--log-format` value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of {expected})")]
pub struct ParseLogOptionError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl FromStr for Level {
    type Err = ParseLogOptionError;

    fn from_str(s: &str) -> Result<Level, ParseLogOptionError> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            _ => Err(ParseLogOptionError {
                what: "log level",
                value: s.to_string(),
                expected: "error, warn, info, debug",
            }),
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `hekad: ...` lines for people (the default).
    #[default]
    Text,
    /// One JSON object per line for log collectors.
    Json,
}

impl FromStr for Format {
    type Err = ParseLogOptionError;

    fn from_str(s: &str) -> Result<Format, ParseLogOptionError> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            _ => Err(ParseLogOptionError {
                what: "log format",
                value: s.to_string(),
                expected: "text, json",
            }),
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static FORMAT: AtomicU8 = AtomicU8::new(Format::Text as u8);

/// Sets the level and format of every later line (process-wide; call once at start).
/// Ordering: `Relaxed` stores; each line reads them independently.
pub fn init(level: Level, format: Format) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    FORMAT.store(format as u8, Ordering::Relaxed);
}

/// The level set by [`init`] (default [`Level::Info`]). Ordering: `Relaxed` load.
pub fn level() -> Level {
    Level::from_u8(LEVEL.load(Ordering::Relaxed))
}

/// Whether a line of `level` would be written. Ordering: `Relaxed` load.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

fn format() -> Format {
    if FORMAT.load(Ordering::Relaxed) == Format::Json as u8 {
        Format::Json
    } else {
        Format::Text
    }
}

/// Writes one line of `level` with `msg` and structured `fields` (name, value), if the
/// level is enabled.
pub fn log(level: Level, msg: Arguments<'_>, fields: &[(&str, &dyn Display)]) {
    if !enabled(level) {
        return;
    }
    let line = render(format(), level, now_ns(), msg, fields);
    // Nothing to report a failed write to stderr to.
    std::io::stderr()
        .lock()
        .write_all(line.as_bytes())
        .unwrap_or(());
}

/// Writes one `error` line, at most a burst per call site (see [`warn`]).
#[track_caller]
pub fn error(args: Arguments<'_>) {
    if enabled(Level::Error) && sites::allow(Location::caller()) {
        log(Level::Error, args, &[]);
    }
}

/// Writes one `warn` line, at most a burst per call site: each place in the code that
/// warns gets its own [`RateLimited`] (5 lines per 10 s), so a condition that repeats
/// (a destination refusing every reconnect, a file that cannot be reopened at every
/// commit) cannot flood the log. What was held back is reported as `<file:line>:
/// suppressed N similar messages` when that place next logs, and by
/// [`flush_suppressed`] (called when a supervisor's pipeline has finished).
#[track_caller]
pub fn warn(args: Arguments<'_>) {
    if enabled(Level::Warn) && sites::allow(Location::caller()) {
        log(Level::Warn, args, &[]);
    }
}

/// Reports every call site's suppressed count not yet reported (see [`warn`]), and the
/// panics [`install_panic_hook`]'s hook held back.
pub fn flush_suppressed() {
    sites::flush();
    sites::flush_panics();
}

/// Replaces the default panic hook (a line per panic, straight to stderr) with one that
/// logs `error: thread <name> panicked at <file:line:col>: <message>` through this log,
/// at most 5 per 10 s: a plugin that panics every thousandth message is contained by the
/// engine (counted, restarted) and must not flood the log either. For daemons: a test
/// harness wants every panic's message.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if !sites::allow_panic() {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(not a string)");
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" at {l}"));
        log(
            Level::Error,
            format_args!("thread {name} panicked{at}: {message}"),
            &[],
        );
    }));
}

/// Writes one `info` line.
pub fn info(args: Arguments<'_>) {
    log(Level::Info, args, &[]);
}

/// Writes one `debug` line.
pub fn debug(args: Arguments<'_>) {
    log(Level::Debug, args, &[]);
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// One rendered line (or, in text, a line and the blocks of multi-line fields), with its
/// final newline.
fn render(
    format: Format,
    level: Level,
    ts_ns: i64,
    msg: Arguments<'_>,
    fields: &[(&str, &dyn Display)],
) -> String {
    // A multi-line message (a report) keeps its lines; its final newline is the line's.
    let msg = msg.to_string();
    let msg = msg.trim_end_matches('\n');
    match format {
        Format::Text => {
            let mut line = match level {
                Level::Info => format!("hekad: {msg}"),
                Level::Warn => format!("hekad: warning: {msg}"),
                Level::Error | Level::Debug => format!("hekad: {level}: {msg}"),
            };
            let mut blocks = String::new();
            for (k, v) in fields {
                let v = v.to_string();
                if v.contains('\n') {
                    blocks.push_str(&v);
                    if !v.ends_with('\n') {
                        blocks.push('\n');
                    }
                } else if v.is_empty() || v.contains([' ', '"', '=']) {
                    line.push_str(&format!(" {k}={v:?}"));
                } else {
                    line.push_str(&format!(" {k}={v}"));
                }
            }
            line.push('\n');
            line.push_str(&blocks);
            line
        }
        Format::Json => {
            let s = |v: &str| serde_json::Value::from(v).to_string();
            let mut line = format!(
                "{{\"ts\":\"{}\",\"level\":\"{level}\",\"msg\":{}",
                timestamp::rfc3339_millis(ts_ns),
                s(msg)
            );
            for (i, (k, v)) in fields.iter().enumerate() {
                line.push_str(if i == 0 { ",\"fields\":{" } else { "," });
                let v = v.to_string();
                // Integers stay numbers; everything else is a string.
                let v = match v.parse::<i64>() {
                    Ok(n) => n.to_string(),
                    Err(_) => s(&v),
                };
                line.push_str(&format!("{}:{v}", s(k)));
            }
            if !fields.is_empty() {
                line.push('}');
            }
            line.push_str("}\n");
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_keep_their_prefixes_and_put_blocks_after() {
        let plan = "plan: 1 thread\nudp 0 any\n";
        let line = render(
            Format::Text,
            Level::Info,
            0,
            format_args!("starting"),
            &[
                ("version", &"0.1.0"),
                ("config", &"embedded default"),
                ("plan", &plan),
            ],
        );
        assert_eq!(
            line,
            "hekad: starting version=0.1.0 config=\"embedded default\"\nplan: 1 thread\nudp 0 any\n"
        );
        let w = render(Format::Text, Level::Warn, 0, format_args!("x"), &[]);
        assert_eq!(w, "hekad: warning: x\n");
        let e = render(Format::Text, Level::Error, 0, format_args!("x"), &[]);
        assert_eq!(e, "hekad: error: x\n");
        let report = "counts after 1.0 s:\n  udp: accepted=3\n";
        let r = render(Format::Text, Level::Info, 0, format_args!("{report}"), &[]);
        assert_eq!(r, "hekad: counts after 1.0 s:\n  udp: accepted=3\n");
    }

    #[test]
    fn json_lines_are_one_object_each() {
        let line = render(
            Format::Json,
            Level::Warn,
            1_795_579_080_105_194_000,
            format_args!("decode \"error\""),
            &[("n", &3), ("plan", &"a\nb")],
        );
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ts"], "2026-11-25T03:58:00.105Z");
        assert_eq!(v["level"], "warn");
        assert_eq!(v["msg"], "decode \"error\"");
        assert!(line.starts_with("{\"ts\":"));
        assert_eq!(v["fields"]["n"], 3);
        assert_eq!(v["fields"]["plan"], "a\nb");
        let bare = render(Format::Json, Level::Info, 0, format_args!("x"), &[]);
        let v: serde_json::Value = serde_json::from_str(&bare).unwrap();
        assert!(v.get("fields").is_none());
    }

    #[test]
    fn options_parse_and_refuse_unknown_values() {
        assert_eq!("warn".parse::<Level>(), Ok(Level::Warn));
        assert_eq!("DEBUG".parse::<Level>(), Ok(Level::Debug));
        assert_eq!("json".parse::<Format>(), Ok(Format::Json));
        let e = "loud".parse::<Level>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown log level \"loud\" (expected one of error, warn, info, debug)"
        );
        assert!("xml".parse::<Format>().is_err());
        assert!(Level::Error < Level::Warn && Level::Info < Level::Debug);
    }
}
