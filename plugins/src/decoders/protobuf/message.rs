//! Reading a protobuf `Message` (and its `Field`s) into a reused [`Message`].

use engine::{DecodeError, Decoded, Field, Message, ValueType, MAX_FIELDS};

use crate::protobuf::{Reader, WireType};

/// Decodes the protobuf `Message` in `bytes` into `msg` (cleared first); `bytes` sit at
/// offset `base` of the pack (for error offsets) and `recv_time` stands in for a missing
/// timestamp. See [`crate::decoders::protobuf`] for what is accepted.
///
/// # Errors
///
/// A [`DecodeError`] for bad protobuf, invalid UTF-8 or too many fields.
///
/// # Examples
///
/// ```
/// let mut m = engine::Message::default();
/// // severity = 3, payload = "hi"
/// let d = plugins::decoders::protobuf::decode_message(b"\x28\x03\x32\x02hi", 0, &mut m, 42);
/// assert_eq!(d, Ok(engine::Decoded::TimestampDefaulted));
/// assert_eq!((m.severity, m.payload.as_str(), m.timestamp), (3, "hi", 42));
/// ```
pub fn decode_message(
    bytes: &[u8],
    base: usize,
    msg: &mut Message,
    recv_time: i64,
) -> Result<Decoded, DecodeError> {
    use WireType::{Len, Varint};
    msg.clear();
    let mut timestamp = None;
    let mut r = Reader::new(bytes, base);
    while !r.is_empty() {
        let at = r.offset();
        match r.tag()? {
            (1, Len) => msg.uuid = r.len_delimited()?.0.try_into().unwrap_or([0; 16]),
            (2, Varint) => timestamp = Some(r.varint()? as i64),
            (3, Len) => string(&mut r, &mut msg.msg_type)?,
            (4, Len) => string(&mut r, &mut msg.logger)?,
            (5, Varint) => msg.severity = r.varint()? as i32,
            (6, Len) => string(&mut r, &mut msg.payload)?,
            (7, Len) => string(&mut r, &mut msg.env_version)?,
            (8, Varint) => msg.pid = r.varint()? as i32,
            (9, Len) => string(&mut r, &mut msg.hostname)?,
            (10, Len) => {
                let (body, offset) = r.len_delimited()?;
                let f = msg
                    .add_field()
                    .ok_or(DecodeError::TooManyFields { limit: MAX_FIELDS })?;
                field(body, offset, f)?;
            }
            (1..=10, _) => return Err(Reader::malformed_at(at)),
            (_, wire) => r.skip(wire)?,
        }
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

/// Reads a length-delimited UTF-8 string into `dst`, replacing it and growing it at most
/// to the string's length.
fn string(r: &mut Reader<'_>, dst: &mut String) -> Result<(), DecodeError> {
    let (b, offset) = r.len_delimited()?;
    let s = std::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { offset })?;
    dst.clear();
    dst.reserve_exact(s.len());
    dst.push_str(s);
    Ok(())
}

fn value_type(v: u64) -> Option<ValueType> {
    Some(match v {
        0 => ValueType::String,
        1 => ValueType::Bytes,
        2 => ValueType::Integer,
        3 => ValueType::Double,
        4 => ValueType::Bool,
        _ => return None,
    })
}

/// Reads a `Field` message into `f` in two passes: name, representation and `value_type`
/// first (fields may come in any order), then the values of that type.
fn field(bytes: &[u8], base: usize, f: &mut Field) -> Result<(), DecodeError> {
    use WireType::{Fixed64, Len, Varint};
    let mut kind = ValueType::String;
    let mut r = Reader::new(bytes, base);
    while !r.is_empty() {
        let at = r.offset();
        match r.tag()? {
            (1, Len) => string(&mut r, &mut f.name)?,
            (2, Varint) => kind = value_type(r.varint()?).ok_or(Reader::malformed_at(at))?,
            (3, Len) => string(&mut r, &mut f.representation)?,
            (4 | 5, wire @ Len) | (6 | 8, wire @ (Varint | Len)) | (7, wire @ (Fixed64 | Len)) => {
                r.skip(wire)?
            }
            (1..=8, _) => return Err(Reader::malformed_at(at)),
            (_, wire) => r.skip(wire)?,
        }
    }
    f.values.reset(kind);
    let mut r = Reader::new(bytes, base);
    while !r.is_empty() {
        let (number, wire) = r.tag()?;
        let v = &mut f.values;
        match (number, wire, kind) {
            (4, Len, ValueType::String) => string(&mut r, v.push_string())?,
            (5, Len, ValueType::Bytes) => {
                let b = r.len_delimited()?.0;
                let dst = v.push_bytes();
                dst.reserve_exact(b.len());
                dst.extend_from_slice(b);
            }
            (6, Varint, ValueType::Integer) => v.push_integer(r.varint()? as i64),
            (7, Fixed64, ValueType::Double) => v.push_double(f64::from_bits(r.fixed64()?)),
            (8, Varint, ValueType::Bool) => v.push_bool(r.varint()? != 0),
            (6, Len, ValueType::Integer) | (8, Len, ValueType::Bool) => {
                let (body, offset) = r.len_delimited()?;
                let mut p = Reader::new(body, offset);
                while !p.is_empty() {
                    let x = p.varint()?;
                    if kind == ValueType::Integer {
                        v.push_integer(x as i64);
                    } else {
                        v.push_bool(x != 0);
                    }
                }
            }
            (7, Len, ValueType::Double) => {
                let (body, offset) = r.len_delimited()?;
                if body.len() % 8 != 0 {
                    return Err(DecodeError::Malformed {
                        offset: offset + body.len() / 8 * 8,
                    });
                }
                for c in body.chunks_exact(8) {
                    let mut le = [0u8; 8];
                    le.copy_from_slice(c);
                    v.push_double(f64::from_le_bytes(le));
                }
            }
            (_, wire, _) => r.skip(wire)?,
        }
    }
    Ok(())
}
