//! The msgpack wire format, written: one map per message with the JSON wire's key names, the
//! inverse of [`crate::decoders::MsgPack`]. Used by heka-flood, the tests and the benches.
//!
//! What msgpack (as the decoder reads it) cannot carry: a field's `representation` (not
//! written), and a field with no values (written as an empty array, which the decoder
//! skips). Everything else round-trips exactly, bytes values and non-finite doubles
//! included: `decode(encode_msgpack(m))` is the same message as `m`.

use engine::{Field, Message, Values};
use rmp::encode;

/// Writing into a `Vec` cannot fail; rmp's signatures say it could.
fn done<T, E>(r: Result<T, E>) {
    if r.is_err() {
        unreachable!("writing msgpack into a Vec failed");
    }
}

/// Appends `msg` as one msgpack map, keys in this order: `uuid` (16-byte bin, omitted when
/// all zero), `timestamp` (integer ns), `type`, `logger`, `severity`, `payload`,
/// `env_version`, `metlog_pid`, `metlog_hostname`, `fields` (a map; one value as a scalar,
/// several as an array; bytes as bin, integers in their smallest encoding, doubles as f64).
///
/// # Examples
///
/// ```
/// let mut m = engine::Message::default();
/// m.payload.push_str("hi");
/// let mut out = Vec::new();
/// plugins::encoders::msgpack::encode_msgpack(&m, &mut out);
/// assert_eq!(out[0], 0x89); // a map of 9 entries: no uuid, no fields' entries
/// assert!(out.windows(3).any(|w| w == b"\xa2hi"));
/// ```
pub fn encode_msgpack(msg: &Message, out: &mut Vec<u8>) {
    let has_uuid = msg.uuid != [0; 16];
    done(encode::write_map_len(out, 9 + u32::from(has_uuid)));
    if has_uuid {
        done(encode::write_str(out, "uuid"));
        done(encode::write_bin(out, &msg.uuid));
    }
    done(encode::write_str(out, "timestamp"));
    done(encode::write_sint(out, msg.timestamp));
    for (key, value) in [("type", &msg.msg_type), ("logger", &msg.logger)] {
        done(encode::write_str(out, key));
        done(encode::write_str(out, value));
    }
    done(encode::write_str(out, "severity"));
    done(encode::write_sint(out, msg.severity.into()));
    for (key, value) in [("payload", &msg.payload), ("env_version", &msg.env_version)] {
        done(encode::write_str(out, key));
        done(encode::write_str(out, value));
    }
    done(encode::write_str(out, "metlog_pid"));
    done(encode::write_sint(out, msg.pid.into()));
    done(encode::write_str(out, "metlog_hostname"));
    done(encode::write_str(out, &msg.hostname));
    done(encode::write_str(out, "fields"));
    let fields = msg.fields.as_slice();
    done(encode::write_map_len(out, fields.len() as u32));
    for f in fields {
        push_field(out, f);
    }
}

fn push_field(out: &mut Vec<u8>, f: &Field) {
    done(encode::write_str(out, &f.name));
    let n = f.values.len();
    if n != 1 {
        done(encode::write_array_len(out, n as u32));
    }
    match f.values.get() {
        Values::String(v) => v.iter().for_each(|s| done(encode::write_str(out, s))),
        Values::Bytes(v) => v.iter().for_each(|b| done(encode::write_bin(out, b))),
        Values::Integer(v) => v.iter().for_each(|&i| done(encode::write_sint(out, i))),
        Values::Double(v) => v.iter().for_each(|&d| done(encode::write_f64(out, d))),
        Values::Bool(v) => v.iter().for_each(|&b| done(encode::write_bool(out, b))),
    }
}
