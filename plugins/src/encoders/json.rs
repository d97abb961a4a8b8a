//! The JSON wire format, written: one compact object per message with metlog's key names,
//! the inverse of [`crate::decoders::Json`].
//!
//! What JSON cannot carry:
//! - a field's `representation` (it is not written; the decoder leaves it empty);
//! - bytes values: written as base64 strings, so they decode back as strings (one-way);
//! - non-finite doubles: written as `null`, which the decoder skips;
//! - a field's value type when it has no values (written as `[]`, which the decoder skips).
//!
//! Everything else round-trips: `decode(encode_json(m))` is the same message as `m`.

use std::fmt::Write as _;

use engine::{Field, Message, Values};

use super::{base64, rfc3339, uuid};

/// Appends `msg` as one compact JSON object, keys in this order: `uuid` (omitted when all
/// zero), `timestamp` (RFC 3339 UTC with nanoseconds), `type`, `logger`, `severity`,
/// `payload`, `env_version`, `metlog_pid`, `metlog_hostname`, `fields`.
///
/// A field with one value is written as a scalar, with several (or none) as an array. Doubles
/// always carry a `.` or an exponent so they read back as doubles. No trailing newline.
///
/// # Examples
///
/// ```
/// let mut m = engine::Message::default();
/// m.payload.push_str("hi \"there\"");
/// m.severity = 6;
/// let f = m.add_field().unwrap();
/// f.name.push_str("n");
/// f.values.push_double(2.0);
/// let mut out = Vec::new();
/// plugins::encoders::json::encode_json(&m, &mut out);
/// assert_eq!(
///     std::str::from_utf8(&out).unwrap(),
///     r#"{"timestamp":"1970-01-01T00:00:00.000000000Z","type":"","logger":"","severity":6,"#
///         .to_owned()
///         + r#""payload":"hi \"there\"","env_version":"","metlog_pid":0,"#
///         + r#""metlog_hostname":"","fields":{"n":2.0}}"#
/// );
/// ```
pub fn encode_json(msg: &Message, out: &mut Vec<u8>) {
    out.push(b'{');
    if msg.uuid != [0; 16] {
        out.extend_from_slice(b"\"uuid\":\"");
        uuid::format(&msg.uuid, out);
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"\"timestamp\":\"");
    rfc3339::format(msg.timestamp, out);
    out.push(b'"');
    out.extend_from_slice(b",\"type\":");
    push_string(out, &msg.msg_type);
    out.extend_from_slice(b",\"logger\":");
    push_string(out, &msg.logger);
    out.extend_from_slice(b",\"severity\":");
    push_integer(out, msg.severity.into());
    out.extend_from_slice(b",\"payload\":");
    push_string(out, &msg.payload);
    out.extend_from_slice(b",\"env_version\":");
    push_string(out, &msg.env_version);
    out.extend_from_slice(b",\"metlog_pid\":");
    push_integer(out, msg.pid.into());
    out.extend_from_slice(b",\"metlog_hostname\":");
    push_string(out, &msg.hostname);
    out.extend_from_slice(b",\"fields\":{");
    for (i, field) in msg.fields.as_slice().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_field(out, field);
    }
    out.extend_from_slice(b"}}");
}

fn push_field(out: &mut Vec<u8>, field: &Field) {
    push_string(out, &field.name);
    out.push(b':');
    let n = field.values.len();
    if n != 1 {
        out.push(b'[');
    }
    match field.values.get() {
        Values::String(v) => list(out, v, |out, s| push_string(out, s)),
        Values::Bytes(v) => list(out, v, |out, b| {
            out.push(b'"');
            base64::encode(b, out);
            out.push(b'"');
        }),
        Values::Integer(v) => list(out, v, |out, &i| push_integer(out, i)),
        Values::Double(v) => list(out, v, |out, &d| push_double(out, d)),
        Values::Bool(v) => list(out, v, |out, &b| {
            out.extend_from_slice(if b { b"true" } else { b"false" });
        }),
    }
    if n != 1 {
        out.push(b']');
    }
}

/// Writes `items` separated by commas.
fn list<T>(out: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item);
    }
}

/// Appends `s` as a quoted JSON string: `"` and `\` escaped, control characters as `\n`,
/// `\r`, `\t`, `\b`, `\f` or `\u00XX`; everything else verbatim (UTF-8).
fn push_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if short.is_empty() {
            let hex = [HEX[usize::from(c >> 4)], HEX[usize::from(c & 0xf)]];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

fn push_integer(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a finite double in its shortest round-trip form (plain decimal for magnitudes
/// in `[1e-5, 1e16)`, else exponent form), with `.0` added when it would otherwise read as
/// an integer. Non-finite values become `null`.
fn push_double(out: &mut Vec<u8>, d: f64) {
    if !d.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let start = out.len();
    let abs = d.abs();
    let mut w = VecWriter(out);
    // Writing into a Vec cannot fail.
    if abs == 0.0 || (1e-5..1e16).contains(&abs) {
        write!(w, "{d}").unwrap_or_default();
    } else {
        write!(w, "{d:e}").unwrap_or_default();
    }
    if !out[start..].iter().any(|&c| c == b'.' || c == b'e') {
        out.extend_from_slice(b".0");
    }
}

/// `fmt::Write` into a byte vector.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn string(s: &str) -> String {
        let mut out = Vec::new();
        push_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn double(d: f64) -> String {
        let mut out = Vec::new();
        push_double(&mut out, d);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string(""), r#""""#);
        assert_eq!(string("plain café ☃"), "\"plain café ☃\"");
        assert_eq!(string("a\"b\\c/d"), r#""a\"b\\c/d""#);
        assert_eq!(string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(
            string("\0\u{1}\u{1f} \u{7f}"),
            "\"\\u0000\\u0001\\u001f \u{7f}\""
        );
    }

    #[test]
    fn integers() {
        for v in [0, 7, -1, 10, 8531, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_integer(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }

    #[test]
    fn doubles_always_read_back_as_doubles() {
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(-0.0), "-0.0");
        assert_eq!(double(1.0), "1.0");
        assert_eq!(double(-2.5), "-2.5");
        assert_eq!(double(0.1), "0.1");
        assert_eq!(double(1e15), "1000000000000000.0");
        assert_eq!(double(1e16), "1e16");
        assert_eq!(double(1e300), "1e300");
        assert_eq!(double(1.5e-7), "1.5e-7");
        assert_eq!(double(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(double(f64::NAN), "null");
        assert_eq!(double(f64::INFINITY), "null");
        assert_eq!(double(f64::NEG_INFINITY), "null");
    }

    fn full_message() -> Message {
        let mut m = Message {
            uuid: [0x11; 16],
            timestamp: 1_795_579_080_105_194_000,
            ..Message::default()
        };
        m.msg_type.push_str("mytype");
        m.logger.push_str("myapp");
        m.severity = 6;
        m.payload.push_str("hello\nheka");
        m.env_version.push_str("0.8");
        m.pid = 8531;
        m.hostname.push_str("vm");
        let f = m.add_field().unwrap();
        f.name.push_str("foo");
        f.values.push_string().push_str("bar");
        let f = m.add_field().unwrap();
        f.name.push_str("xs");
        f.representation.push_str("ms");
        f.values.push_integer(1);
        f.values.push_integer(-2);
        let f = m.add_field().unwrap();
        f.name.push_str("raw");
        f.values.push_bytes().extend_from_slice(b"foob");
        let f = m.add_field().unwrap();
        f.name.push_str("flags");
        f.values.push_bool(true);
        f.values.push_bool(false);
        let f = m.add_field().unwrap();
        f.name.push_str("none");
        f.values.reset(engine::ValueType::Double);
        m
    }

    #[test]
    fn whole_message() {
        let mut out = b"prefix ".to_vec();
        encode_json(&full_message(), &mut out);
        let want = concat!(
            r#"prefix {"uuid":"11111111-1111-1111-1111-111111111111","#,
            r#""timestamp":"2026-11-25T03:58:00.105194000Z","type":"mytype","logger":"myapp","#,
            r#""severity":6,"payload":"hello\nheka","env_version":"0.8","metlog_pid":8531,"#,
            r#""metlog_hostname":"vm","fields":{"foo":"bar","xs":[1,-2],"raw":"Zm9vYg==","#,
            r#""flags":[true,false],"none":[]}}"#,
        );
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
    }

    #[test]
    fn zero_uuid_and_no_fields() {
        let mut out = Vec::new();
        encode_json(&Message::default(), &mut out);
        let want = concat!(
            r#"{"timestamp":"1970-01-01T00:00:00.000000000Z","type":"","logger":"","#,
            r#""severity":7,"payload":"","env_version":"","metlog_pid":0,"#,
            r#""metlog_hostname":"","fields":{}}"#,
        );
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
    }

    proptest! {
        /// Whatever the message, serde_json reads the output as the same strings and numbers.
        #[test]
        fn output_is_valid_json(
            s in ".*",
            d in any::<f64>(),
            i in any::<i64>(),
            b in prop::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut m = Message::default();
            m.payload.push_str(&s);
            let f = m.add_field().unwrap();
            f.name.push('d');
            f.name.push_str(&s);
            f.values.push_double(d);
            let f = m.add_field().unwrap();
            f.name.push('i');
            f.values.push_integer(i);
            let f = m.add_field().unwrap();
            f.name.push('b');
            f.values.push_bytes().extend_from_slice(&b);
            let mut out = Vec::new();
            encode_json(&m, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(v["payload"].as_str(), Some(s.as_str()));
            prop_assert_eq!(v["fields"]["i"].as_i64(), Some(i));
            let fd = &v["fields"][format!("d{s}")];
            if d.is_finite() {
                // serde_json's default float parsing may be one ulp off; the exact round trip
                // is checked against our own decoder in `decoders::json::tests`.
                let back = fd.as_f64().unwrap();
                prop_assert!(fd.is_f64());
                prop_assert!((back - d).abs() <= d.abs() * 1e-15, "{} vs {}", back, d);
            } else {
                prop_assert!(fd.is_null());
            }
        }
    }
}
