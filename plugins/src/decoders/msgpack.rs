//! MsgPackDecoder: a msgpack map with the keys of the JSON wire (DESIGN.md section 6), read
//! with rmp's low-level functions straight into the pack's reused buffers (no rmp-serde, no
//! intermediate values).
//!
//! | key | message | accepted value |
//! |---|---|---|
//! | `type` | `msg_type` | string |
//! | `timestamp` | `timestamp` | integer ns since epoch, or RFC 3339 string ([`rfc3339::parse`]) |
//! | `logger` | `logger` | string |
//! | `severity` | `severity` | integer (fits `i32`) |
//! | `payload` | `payload` | string |
//! | `env_version` | `env_version` | string |
//! | `metlog_pid`, `pid` | `pid` | integer (fits `i32`) |
//! | `metlog_hostname`, `hostname` | `hostname` | string |
//! | `uuid` | `uuid` | 16-byte bin, or a uuid string ([`uuid::parse`]) |
//! | `fields` | `fields` | map, flattened like JSON's (bin values become Bytes fields) |
//!
//! Lenient like the JSON decoder: a missing key keeps its zero value (severity 7); a known
//! key holding a value of the wrong type (or out of range, or a bad uuid) is treated as
//! missing; unknown keys (and keys that are not strings) are skipped whatever they hold; if
//! a key repeats the last one wins (a repeated `fields` adds to the earlier ones). A missing
//! or unreadable timestamp becomes the receive time ([`Decoded::TimestampDefaulted`]).
//! Msgpack carries no field `representation`, so it stays empty.
//!
//! Errors are only: malformed or truncated msgpack (trailing bytes included), invalid UTF-8
//! in a string that is read, a top level that is not a map, nesting deeper than
//! [`MAX_DEPTH`], and more than [`engine::MAX_FIELDS`] fields. Declared lengths are never
//! trusted past the bytes present, and nothing allocates once the pack's buffers have seen a
//! message of the size.

mod fields;
mod reader;
#[cfg(test)]
mod tests;

use engine::{BuildContext, BuildError, DecodeError, Decoded, Decoder, Message, PipelinePack};
use engine::{PluginConfig, DEFAULT_SEVERITY};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::wire_key::Key;

pub use self::reader::MAX_DEPTH;

use self::fields::Flattener;
use self::reader::{utf8, Reader, Value};
use crate::encoders::{rfc3339, uuid};

/// Config of the `MsgPackDecoder` plugin. It has no keys of its own yet: `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MsgPackDecoderConfig {}

impl PluginConfig for MsgPackDecoderConfig {
    type Plugin = MsgPack;

    fn build(&self, _ctx: &BuildContext) -> Result<MsgPack, BuildError> {
        Ok(MsgPack::default())
    }
}

/// The msgpack decoder (`MsgPackDecoder`); see the [module docs](self) for the format.
///
/// # Examples
///
/// ```
/// use engine::{BuildContext, Decoded, Decoder, Message, PipelinePack, PluginConfig};
/// use plugins::decoders::MsgPackDecoderConfig;
/// use plugins::encoders::msgpack::encode_msgpack;
///
/// let mut m = Message::default();
/// m.payload.push_str("hello heka");
/// let mut bytes = Vec::new();
/// encode_msgpack(&m, &mut bytes);
///
/// let mut decoder = MsgPackDecoderConfig::default().build(&BuildContext::standalone("mp"))?;
/// let mut pack = PipelinePack::new(1024);
/// pack.set_raw(&bytes);
/// assert_eq!(decoder.decode(&mut pack), Ok(Decoded::Clean));
/// assert!(pack.message.same_as(&m));
/// # Ok::<(), engine::BuildError>(())
/// ```
#[derive(Debug, Default)]
pub struct MsgPack {
    fields: Flattener,
    /// Remembers the last RFC 3339 timestamp's minute.
    timestamps: rfc3339::Parser,
}

impl MsgPack {
    /// Decodes `bytes` into `msg` (cleared first); `recv_time` stands in for a missing
    /// timestamp.
    fn decode_message(
        &mut self,
        bytes: &[u8],
        msg: &mut Message,
        recv_time: i64,
    ) -> Result<Decoded, DecodeError> {
        msg.clear();
        let mut r = Reader::new(bytes);
        let n = match r.next()? {
            Value::Map(n) => n,
            _ => return Err(DecodeError::NotAnObject),
        };
        let mut timestamp = None;
        for _ in 0..n {
            let key = r.next()?;
            let key = match key {
                Value::Str(b, offset) => {
                    let k = Key::of(b);
                    if k == Key::Unknown {
                        utf8(b, offset)?;
                    }
                    k
                }
                other => {
                    r.skip_items(other, 2)?;
                    Key::Unknown
                }
            };
            let v = r.next()?;
            if let (Key::Fields, Value::Map(n)) = (key, v) {
                self.fields.fields(&mut r, msg, n, 2)?;
                continue;
            }
            // Any other container is a wrong type (or an unknown key's value): skipped.
            r.skip_items(v, 2)?;
            match key {
                Key::Type => string(v, &mut msg.msg_type)?,
                Key::Logger => string(v, &mut msg.logger)?,
                Key::Payload => string(v, &mut msg.payload)?,
                Key::EnvVersion => string(v, &mut msg.env_version)?,
                Key::Hostname => string(v, &mut msg.hostname)?,
                Key::Severity => msg.severity = int32(v).unwrap_or(DEFAULT_SEVERITY),
                Key::Pid => msg.pid = int32(v).unwrap_or(0),
                Key::Timestamp => {
                    timestamp = match v {
                        Value::Int(ns) => Some(ns),
                        Value::Str(b, _) => self.timestamps.parse(b),
                        _ => None,
                    }
                }
                Key::Uuid => {
                    msg.uuid = match v {
                        Value::Bin(b) => b.try_into().ok(),
                        Value::Str(b, _) => uuid::parse(b),
                        _ => None,
                    }
                    .unwrap_or([0; 16]);
                }
                Key::Fields | Key::Unknown => {}
            }
        }
        if !r.at_end() {
            return Err(DecodeError::Malformed { offset: r.offset() });
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
}

/// Copies a string value into `dst` (replacing it); any other value leaves `dst` empty.
fn string(v: Value<'_>, dst: &mut String) -> Result<(), DecodeError> {
    dst.clear();
    match v {
        Value::Str(b, offset) => {
            let s = utf8(b, offset)?;
            dst.reserve_exact(s.len());
            dst.push_str(s);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// An integer that fits an `i32`.
fn int32(v: Value<'_>) -> Option<i32> {
    match v {
        Value::Int(i) => i32::try_from(i).ok(),
        _ => None,
    }
}

impl Decoder for MsgPack {
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
