//! Heka's protobuf `Message` and stream framing, written: the inverse of
//! [`crate::decoders::Protobuf`], used by FileOutput `format: protobuf`, heka-flood, the
//! tests and the benches.
//!
//! Field numbers and wire types are those of Heka's `message.proto` (DESIGN.md section 6):
//! `uuid` = 1 (16 bytes), `timestamp` = 2, `type` = 3, `logger` = 4, `severity` = 5,
//! `payload` = 6, `env_version` = 7, `pid` = 8, `hostname` = 9, `fields` = 10; a Field
//! has `name` = 1, `value_type` = 2, `representation` = 3, `value_string` = 4 and
//! `value_bytes` = 5 (one entry per value), and packed `value_integer` = 6,
//! `value_double` = 7, `value_bool` = 8. `uuid`, `timestamp`, `severity`, and a field's
//! `name` and `value_type` are always written; the other scalars only when not empty or 0.
//!
//! Everything round-trips, representation and bytes values included, except a field with no
//! values of another type than String, which reads back as empty of its type all the same.

use engine::{Field, Message, Values};

use crate::framing::{Header, SigningKey, FRAMING_LEN, MAX_DIGEST_LEN, RECORD_SEPARATOR};
use crate::framing::{MAX_HEADER_LEN, UNIT_SEPARATOR};
use crate::protobuf::{
    bytes_field_len, put_bytes_field, put_tag, put_varint, put_varint_field, varint_len, WireType,
};

/// Appends `msg` as a bare protobuf `Message`.
///
/// # Examples
///
/// ```
/// let mut m = engine::Message::default();
/// m.timestamp = 1;
/// m.severity = 6;
/// let mut out = Vec::new();
/// plugins::encoders::protobuf::encode_message(&m, &mut out);
/// let mut want = vec![0x0a, 16];
/// want.extend([0; 16]);
/// want.extend([0x10, 1, 0x28, 6]);
/// assert_eq!(out, want);
/// ```
pub fn encode_message(msg: &Message, out: &mut Vec<u8>) {
    out.reserve(message_len(msg));
    put_bytes_field(out, 1, &msg.uuid);
    put_varint_field(out, 2, msg.timestamp as u64);
    put_str(out, 3, &msg.msg_type);
    put_str(out, 4, &msg.logger);
    put_varint_field(out, 5, i64::from(msg.severity) as u64);
    put_str(out, 6, &msg.payload);
    put_str(out, 7, &msg.env_version);
    if msg.pid != 0 {
        put_varint_field(out, 8, i64::from(msg.pid) as u64);
    }
    put_str(out, 9, &msg.hostname);
    for f in msg.fields.as_slice() {
        put_tag(out, 10, WireType::Len);
        put_varint(out, field_len(f) as u64);
        put_field(out, f);
    }
}

/// The number of bytes [`encode_message`] appends for `msg`.
pub fn message_len(msg: &Message) -> usize {
    let str_len = |s: &str| {
        if s.is_empty() {
            0
        } else {
            bytes_field_len(s.len())
        }
    };
    let mut n = bytes_field_len(16)
        + 1
        + varint_len(msg.timestamp as u64)
        + 1
        + varint_len(i64::from(msg.severity) as u64)
        + str_len(&msg.msg_type)
        + str_len(&msg.logger)
        + str_len(&msg.payload)
        + str_len(&msg.env_version)
        + str_len(&msg.hostname);
    if msg.pid != 0 {
        n += 1 + varint_len(i64::from(msg.pid) as u64);
    }
    for f in msg.fields.as_slice() {
        n += bytes_field_len(field_len(f));
    }
    n
}

/// Appends `msg` as one frame: `0x1E`, header length, Header, `0x1F`, Message. With `key`,
/// the header carries the HMAC of the message bytes, its hash function, signer and key
/// version; without, only `message_length`.
///
/// # Examples
///
/// ```
/// use plugins::framing::{parse_frame, HashFunction, Signers, SigningKey};
///
/// let key = SigningKey::new("ops", 1, HashFunction::Sha1, b"secret").unwrap();
/// let mut out = Vec::new();
/// plugins::encoders::protobuf::encode_frame(&engine::Message::default(), Some(&key), &mut out);
/// let frame = parse_frame(&out, 65_507)?;
/// let mut signers = Signers::default();
/// signers.add("ops_1", b"secret").unwrap();
/// assert_eq!(signers.verify(&frame.header, frame.message), Ok(true));
/// # Ok::<(), engine::DecodeError>(())
/// ```
pub fn encode_frame(msg: &Message, key: Option<&SigningKey>, out: &mut Vec<u8>) {
    let len = message_len(msg);
    let zeros = [0u8; MAX_DIGEST_LEN];
    let header = match key {
        Some(k) => Header {
            message_length: len as u32,
            hmac_hash_function: k.hash(),
            hmac_signer: k.name().as_bytes(),
            hmac_key_version: k.version(),
            hmac: Some(&zeros[..k.hash().digest_len()]),
        },
        None => Header {
            message_length: len as u32,
            ..Header::default()
        },
    };
    out.reserve(FRAMING_LEN + MAX_HEADER_LEN + len);
    let start = out.len();
    out.extend_from_slice(&[RECORD_SEPARATOR, 0]);
    header.encode(out);
    let header_end = out.len();
    let header_len = header_end - start - 2;
    debug_assert!(
        header_len <= MAX_HEADER_LEN,
        "signer names are at most 127 bytes"
    );
    out[start + 1] = header_len as u8;
    out.push(UNIT_SEPARATOR);
    encode_message(msg, out);
    debug_assert_eq!(out.len() - header_end - 1, len);
    if let Some(k) = key {
        // The HMAC is the header's last field: overwrite the placeholder digest.
        let mut digest = [0u8; MAX_DIGEST_LEN];
        let n = k.sign(&out[header_end + 1..], &mut digest);
        out[header_end - n..header_end].copy_from_slice(&digest[..n]);
    }
}

fn put_str(out: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        put_bytes_field(out, field, s.as_bytes());
    }
}

/// Bytes of a Field's body (without its tag and length).
fn field_len(f: &Field) -> usize {
    let mut n = bytes_field_len(f.name.len()) + 2;
    if !f.representation.is_empty() {
        n += bytes_field_len(f.representation.len());
    }
    let packed = |body: usize| {
        if body == 0 {
            0
        } else {
            bytes_field_len(body)
        }
    };
    n + match f.values.get() {
        Values::String(v) => v.iter().map(|s| bytes_field_len(s.len())).sum(),
        Values::Bytes(v) => v.iter().map(|b| bytes_field_len(b.len())).sum(),
        Values::Integer(v) => packed(v.iter().map(|&i| varint_len(i as u64)).sum()),
        Values::Double(v) => packed(v.len() * 8),
        Values::Bool(v) => packed(v.len()),
    }
}

fn put_field(out: &mut Vec<u8>, f: &Field) {
    put_bytes_field(out, 1, f.name.as_bytes());
    put_varint_field(out, 2, f.values.value_type() as u64);
    put_str(out, 3, &f.representation);
    let packed = |out: &mut Vec<u8>, field: u32, body: usize| {
        put_tag(out, field, WireType::Len);
        put_varint(out, body as u64);
    };
    match f.values.get() {
        Values::String(v) => v.iter().for_each(|s| put_bytes_field(out, 4, s.as_bytes())),
        Values::Bytes(v) => v.iter().for_each(|b| put_bytes_field(out, 5, b)),
        Values::Integer(v) if !v.is_empty() => {
            packed(out, 6, v.iter().map(|&i| varint_len(i as u64)).sum());
            v.iter().for_each(|&i| put_varint(out, i as u64));
        }
        Values::Double(v) if !v.is_empty() => {
            packed(out, 7, v.len() * 8);
            v.iter()
                .for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
        }
        Values::Bool(v) if !v.is_empty() => {
            packed(out, 8, v.len());
            out.extend(v.iter().map(|&b| u8::from(b)));
        }
        Values::Integer(_) | Values::Double(_) | Values::Bool(_) => {}
    }
}
