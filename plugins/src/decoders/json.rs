//! JsonDecoder: the JSON wire format of metlog-py and Heka, read by a hand-written byte
//! scanner straight into the pack's reused buffers (DESIGN.md section 6).
//!
//! One JSON object per datagram, keys in any order:
//!
//! | key | message | accepted value |
//! |---|---|---|
//! | `type` | `msg_type` | string |
//! | `timestamp` | `timestamp` | RFC 3339 string ([`rfc3339::parse`]) or integer ns since epoch |
//! | `logger` | `logger` | string |
//! | `severity` | `severity` | integer (fits `i32`) |
//! | `payload` | `payload` | string |
//! | `env_version` | `env_version` | string |
//! | `metlog_pid`, `pid` | `pid` | integer (fits `i32`) |
//! | `metlog_hostname`, `hostname` | `hostname` | string |
//! | `uuid` | `uuid` | 36 hex characters with dashes, or 32 |
//! | `fields` | `fields` | object, flattened (see below) |
//!
//! Lenient like Heka: a missing key keeps its zero value (severity 7); a known key holding
//! a value of the wrong type (or an integer out of range, or a bad uuid) is treated as
//! missing; unknown keys are skipped whatever they hold; if a key repeats, the last one
//! wins (a repeated `fields` adds its fields to the earlier ones). A missing or unreadable
//! timestamp becomes the pack's receive time and the decode returns
//! [`Decoded::TimestampDefaulted`].
//!
//! `fields` values: a string, number or bool is a field with one value (a number without
//! fraction or exponent that fits an `i64` is an Integer, any other number a Double);
//! `null` is skipped; an array of scalars of one type is a repeated field (`null` elements
//! skipped, Integers mixed with Doubles become Doubles, other mixes or nested containers drop
//! the field, an empty array adds none); nested objects flatten to `a.b` names. JSON carries
//! no field `representation`, so it stays empty.
//!
//! Errors are only: malformed JSON (trailing bytes other than whitespace included), invalid
//! UTF-8 anywhere in the datagram (its offset is the first bad byte), a top level that is not an object, nesting deeper than
//! [`MAX_DEPTH`], and more than [`engine::MAX_FIELDS`] fields.
//!
//! Decoding allocates nothing once the pack's buffers have seen a message of the size, and
//! never grows a buffer past the input's length.

mod fields;
mod reader;
#[cfg(test)]
mod tests;

use engine::{BuildContext, BuildError, DecodeError, Decoded, Decoder, Message, PipelinePack};
use engine::{PluginConfig, DEFAULT_SEVERITY};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::wire_key::Key;

use self::fields::Flattener;
use self::reader::{Discard, Num, RawStr, Reader};
use crate::encoders::{rfc3339, uuid};

/// Deepest nesting of objects and arrays accepted, the top-level object included.
pub const MAX_DEPTH: usize = 32;

/// Config of the `JsonDecoder` plugin. It has no keys of its own yet: `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonDecoderConfig {}

impl PluginConfig for JsonDecoderConfig {
    type Plugin = Json;

    fn build(&self, _ctx: &BuildContext) -> Result<Json, BuildError> {
        Ok(Json::new())
    }
}

/// The JSON decoder (Heka's `JsonDecoder`); see the [module docs](self) for the format.
///
/// # Examples
///
/// ```
/// use engine::{BuildContext, Decoded, Decoder, PipelinePack, PluginConfig};
/// use plugins::decoders::JsonDecoderConfig;
///
/// let mut decoder = JsonDecoderConfig::default().build(&BuildContext::standalone("json"))?;
/// let mut pack = PipelinePack::new(1024);
/// pack.set_raw(br#"{"type": "t", "severity": 3, "fields": {"a": {"b": [1, 2]}}}"#);
/// pack.recv_time = 42;
/// assert_eq!(decoder.decode(&mut pack), Ok(Decoded::TimestampDefaulted));
/// assert_eq!(pack.message.msg_type, "t");
/// assert_eq!(pack.message.severity, 3);
/// assert_eq!(pack.message.timestamp, 42);
/// assert_eq!(pack.message.field("a.b").unwrap().values.get(), engine::Values::Integer(&[1, 2]));
/// # Ok::<(), engine::BuildError>(())
/// ```
#[derive(Debug)]
pub struct Json {
    /// Holds an escaped `timestamp`, `uuid` or key while it is examined.
    scratch: String,
    fields: Flattener,
    /// Remembers the last timestamp's minute.
    timestamps: rfc3339::Parser,
}

impl Json {
    pub(crate) fn new() -> Self {
        Json {
            scratch: String::new(),
            fields: Flattener::default(),
            timestamps: rfc3339::Parser::default(),
        }
    }

    /// Decodes `bytes` into `msg` (cleared first); `recv_time` stands in for a missing
    /// timestamp.
    fn decode_message(
        &mut self,
        bytes: &[u8],
        msg: &mut Message,
        recv_time: i64,
    ) -> Result<Decoded, DecodeError> {
        msg.clear();
        // One UTF-8 check for the whole datagram (a JSON text must be UTF-8): every string
        // is then a slice of it, never validated again.
        let text = engine::scan::utf8(bytes).map_err(|e| DecodeError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        let mut r = Reader::new(text);
        match r.peek()? {
            b'{' => {}
            b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9' => {
                return Err(DecodeError::NotAnObject)
            }
            _ => return Err(r.malformed()),
        }
        let mut timestamp = None;
        if r.open(b'{', b'}', 0)? {
            loop {
                let key = self.key(&mut r)?;
                r.colon()?;
                match key {
                    Key::Type => string(&mut r, &mut msg.msg_type)?,
                    Key::Logger => string(&mut r, &mut msg.logger)?,
                    Key::Payload => string(&mut r, &mut msg.payload)?,
                    Key::EnvVersion => string(&mut r, &mut msg.env_version)?,
                    Key::Hostname => string(&mut r, &mut msg.hostname)?,
                    Key::Severity => {
                        msg.severity = int32(&mut r)?.unwrap_or(DEFAULT_SEVERITY);
                    }
                    Key::Pid => msg.pid = int32(&mut r)?.unwrap_or(0),
                    Key::Timestamp => timestamp = self.timestamp(&mut r)?,
                    Key::Uuid => msg.uuid = self.uuid(&mut r)?.unwrap_or([0; 16]),
                    Key::Fields if r.peek()? == b'{' => self.fields.fields(&mut r, msg, 1)?,
                    Key::Fields | Key::Unknown => r.skip_value(1)?,
                }
                if !r.more(b'}')? {
                    break;
                }
            }
        }
        if !r.at_end() {
            return Err(r.malformed());
        }
        Ok(match timestamp {
            Some(ns) => {
                msg.timestamp = ns;
                Decoded::Clean
            }
            None => {
                msg.timestamp = recv_time;
                Decoded::TimestampDefaulted
            }
        })
    }

    /// Reads a member's key.
    fn key(&mut self, r: &mut Reader<'_>) -> Result<Key, DecodeError> {
        let raw = r.raw_string()?;
        let key = with_text(&mut self.scratch, raw, Key::of)?;
        if key == Key::Unknown && !raw.escaped {
            raw.decode_into(&mut Discard)?; // checks UTF-8
        }
        Ok(key)
    }

    /// Reads a `timestamp` value: `None` (after skipping it) when it is not a valid RFC 3339
    /// string or an integer.
    fn timestamp(&mut self, r: &mut Reader<'_>) -> Result<Option<i64>, DecodeError> {
        match r.peek()? {
            b'"' => parse_string(&mut self.scratch, r, |t| self.timestamps.parse(t)),
            b'-' | b'0'..=b'9' => Ok(match r.number()? {
                Num::Int(ns) => Some(ns),
                Num::Float(_) => None,
            }),
            _ => r.skip_value(1).map(|()| None),
        }
    }

    /// Reads a `uuid` value: `None` (after skipping it) when it is not a uuid string.
    fn uuid(&mut self, r: &mut Reader<'_>) -> Result<Option<[u8; 16]>, DecodeError> {
        if r.peek()? != b'"' {
            return r.skip_value(1).map(|()| None);
        }
        parse_string(&mut self.scratch, r, uuid::parse)
    }
}

/// Reads a string and parses its text with `parse`, which accepts only ASCII: the string's
/// UTF-8 is checked only when `parse` fails. `scratch` holds the text if it has escapes.
fn parse_string<T>(
    scratch: &mut String,
    r: &mut Reader<'_>,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<Option<T>, DecodeError> {
    let raw = r.raw_string()?;
    let parsed = with_text(scratch, raw, parse)?;
    if parsed.is_none() {
        raw.decode_into(&mut Discard)?;
    }
    Ok(parsed)
}

/// Applies `f` to the string's text: its raw bytes when it has no escapes (the caller
/// checks UTF-8 where it matters), else its decoded form in `scratch`.
#[inline]
fn with_text<T>(
    scratch: &mut String,
    raw: RawStr<'_>,
    f: impl FnOnce(&[u8]) -> T,
) -> Result<T, DecodeError> {
    if !raw.escaped {
        return Ok(f(raw.body()));
    }
    scratch.clear();
    raw.decode_into(scratch)?;
    Ok(f(scratch.as_bytes()))
}

/// Reads a string member into `dst` (replacing it); a value of another type is skipped and
/// leaves `dst` empty.
fn string(r: &mut Reader<'_>, dst: &mut String) -> Result<(), DecodeError> {
    dst.clear();
    if r.peek()? == b'"' {
        r.string_into(dst)
    } else {
        r.skip_value(1)
    }
}

/// Reads an integer that fits an `i32`; `None` (after skipping it) for any other value.
fn int32(r: &mut Reader<'_>) -> Result<Option<i32>, DecodeError> {
    match r.peek()? {
        b'-' | b'0'..=b'9' => Ok(match r.number()? {
            Num::Int(i) => i32::try_from(i).ok(),
            Num::Float(_) => None,
        }),
        _ => r.skip_value(1).map(|()| None),
    }
}

impl Decoder for Json {
    /// Decodes `pack.msg_bytes` into `pack.message`, clearing the message first.
    fn decode(&mut self, pack: &mut PipelinePack) -> Result<Decoded, DecodeError> {
        let PipelinePack {
            msg_bytes,
            message,
            recv_time,
            ..
        } = pack;
        self.decode_message(msg_bytes, message, *recv_time)
    }
}
