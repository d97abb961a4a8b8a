//! LogOutput: one line per message on stdout (Heka's LogOutput).
//!
//! Lines are formatted into one buffer as messages are delivered and written to stdout with
//! a single `write_all` per batch (at the output's commit, which the engine calls after every
//! batch and when idle), never a syscall per message. A line never contains a raw newline:
//! `\n`, `\r` and `\\` in the payload are written as the two-character escapes `\n`, `\r`
//! and `\\`, so one message is always exactly one line.
//!
//! Formats (`format`):
//! - `payload` (the default, as Heka's): the payload.
//! - `summary`: `<timestamp RFC 3339> <type> <logger>@<hostname> sev=<severity> <payload>`,
//!   e.g. `2026-11-25T03:58:00.105194000Z mytype myapp@vm sev=6 hello heka`.

use std::io::Write as _;
use std::time::Instant;

use engine::{BuildContext, BuildError, Output, PipelinePack, PluginConfig, WriteError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::encoders::rfc3339;

/// Written out before the batch ends once the buffer holds this much.
const WRITE_THRESHOLD: usize = 1 << 20;

/// What one message becomes on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// The payload (escaped to one line).
    #[default]
    Payload,
    /// Timestamp, type, logger@hostname, severity, then the payload.
    Summary,
}

/// Config of `LogOutput`: prints each message on stdout, one line per message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogOutputConfig {
    /// How each message is printed: `payload` (default) or `summary`.
    #[serde(default)]
    pub format: LogFormat,
}

/// The running LogOutput: formats into `buf`, writes `buf` to stdout once per batch.
#[derive(Debug)]
pub struct Log {
    format: LogFormat,
    buf: Vec<u8>,
}

impl PluginConfig for LogOutputConfig {
    type Plugin = Log;

    fn build(&self, _ctx: &BuildContext) -> Result<Log, BuildError> {
        Ok(Log {
            format: self.format,
            buf: Vec::with_capacity(64 << 10),
        })
    }
}

/// Appends `text` to `out` with `\n`, `\r` and `\\` escaped, so it stays on one line.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\\' => b"\\\\",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

impl Log {
    /// Appends the line for `pack`'s message to the buffer.
    fn format_line(&mut self, pack: &PipelinePack) {
        let m = &pack.message;
        if self.format == LogFormat::Summary {
            rfc3339::format(m.timestamp, &mut self.buf);
            self.buf.push(b' ');
            push_escaped(&mut self.buf, &m.msg_type);
            self.buf.push(b' ');
            push_escaped(&mut self.buf, &m.logger);
            self.buf.push(b'@');
            push_escaped(&mut self.buf, &m.hostname);
            // `write!` into a Vec cannot fail.
            write!(self.buf, " sev={} ", m.severity).unwrap_or(());
        }
        push_escaped(&mut self.buf, &m.payload);
        self.buf.push(b'\n');
    }

    /// Writes the buffer to `out` in one `write_all`, then empties it (keeping capacity).
    fn flush_to(&mut self, out: &mut impl std::io::Write) -> Result<(), WriteError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = out.write_all(&self.buf).and_then(|()| out.flush());
        self.buf.clear();
        Ok(r?)
    }
}

impl Output for Log {
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError> {
        self.format_line(pack);
        if self.buf.len() >= WRITE_THRESHOLD {
            self.flush_to(&mut std::io::stdout().lock())?;
        }
        Ok(())
    }

    fn commit(&mut self, _now: Instant, _force: bool) -> Result<bool, WriteError> {
        self.flush_to(&mut std::io::stdout().lock())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(format: LogFormat) -> Log {
        LogOutputConfig { format }
            .build(&BuildContext::standalone("log"))
            .unwrap()
    }

    fn pack(payload: &str) -> PipelinePack {
        let mut p = PipelinePack::new(16);
        p.message.payload.push_str(payload);
        p.message.msg_type.push_str("mytype");
        p.message.logger.push_str("myapp");
        p.message.hostname.push_str("vm");
        p.message.severity = 6;
        p.message.timestamp = 1_764_043_080_105_194_000;
        p
    }

    #[test]
    fn payload_lines_are_escaped_and_written_once_per_batch() {
        let mut l = log(LogFormat::Payload);
        l.deliver(&pack("hello heka")).unwrap();
        l.deliver(&pack("two\nlines \\ here")).unwrap();
        let mut out = Vec::new();
        l.flush_to(&mut out).unwrap();
        assert_eq!(out, b"hello heka\ntwo\\nlines \\\\ here\n");
        assert!(l.buf.is_empty() && l.buf.capacity() > 0);
        l.flush_to(&mut out).unwrap();
        assert_eq!(out.len(), 30, "an empty buffer writes nothing");
    }

    #[test]
    fn summary_lines_carry_the_envelope() {
        let mut l = log(LogFormat::Summary);
        l.deliver(&pack("hi")).unwrap();
        let mut out = Vec::new();
        l.flush_to(&mut out).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(line.ends_with(" mytype myapp@vm sev=6 hi\n"), "{line}");
        assert!(line.starts_with("2025-11-25T"), "{line}");
    }

    #[test]
    fn config_defaults_round_trip() {
        let c = LogOutputConfig::default();
        let back: LogOutputConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let s: LogOutputConfig = serde_json::from_str(r#"{"format": "summary"}"#).unwrap();
        assert_eq!(s.format, LogFormat::Summary);
        assert!(serde_json::from_str::<LogOutputConfig>(r#"{"fmt": "x"}"#).is_err());
    }
}
