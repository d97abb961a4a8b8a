//! Test support shared by the decoder tests: proptest strategies for messages and for edits
//! of valid input, and a check that decoded buffers stay within the input's size.

use engine::{Message, Values};
use proptest::prelude::*;

/// A string with a share of bytes the wire formats treat specially.
pub(crate) fn text() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => any::<char>(),
        1 => Just('"'),
        1 => Just('\\'),
        1 => (0u8..0x20).prop_map(char::from),
        1 => Just('.'),
        1 => Just('\u{1e}'),
    ];
    prop::collection::vec(c, 0..12).prop_map(String::from_iter)
}

/// The values of one field.
#[derive(Clone, Debug)]
pub(crate) enum FieldValue {
    String(Vec<String>),
    Bytes(Vec<Vec<u8>>),
    Integer(Vec<i64>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
}

/// What a wire format can carry, so one strategy serves every format.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Carries {
    /// Field representations.
    pub(crate) representation: bool,
    /// Bytes values.
    pub(crate) bytes: bool,
    /// Fields with no values.
    pub(crate) empty: bool,
}

fn field_value(carries: Carries) -> impl Strategy<Value = FieldValue> {
    let min = usize::from(!carries.empty);
    let n = min..4usize;
    // NaN never compares equal, so `same_as` could not tell a good round trip from a bad.
    let double = any::<f64>().prop_filter("not NaN", |d| !d.is_nan());
    let bytes = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), n.clone());
    let bytes = if carries.bytes {
        bytes.prop_map(FieldValue::Bytes).boxed()
    } else {
        prop::collection::vec(text(), n.clone())
            .prop_map(FieldValue::String)
            .boxed()
    };
    prop_oneof![
        prop::collection::vec(text(), n.clone()).prop_map(FieldValue::String),
        bytes,
        prop::collection::vec(any::<i64>(), n.clone()).prop_map(FieldValue::Integer),
        prop::collection::vec(double, n.clone()).prop_map(FieldValue::Double),
        prop::collection::vec(any::<bool>(), n).prop_map(FieldValue::Bool),
    ]
}

/// Arbitrary messages of what `carries` allows: every string, every value type, repeated
/// values, up to 6 fields.
pub(crate) fn message(carries: Carries) -> impl Strategy<Value = Message> {
    let repr = if carries.representation {
        text().boxed()
    } else {
        Just(String::new()).boxed()
    };
    (
        any::<[u8; 16]>(),
        any::<i64>(),
        prop::array::uniform5(text()),
        any::<i32>(),
        any::<i32>(),
        prop::collection::vec((text(), repr, field_value(carries)), 0..6),
    )
        .prop_map(|(uuid, timestamp, strings, severity, pid, fields)| {
            let [msg_type, logger, payload, env_version, hostname] = strings;
            let mut m = Message {
                uuid,
                timestamp,
                msg_type,
                logger,
                severity,
                payload,
                env_version,
                pid,
                hostname,
                ..Message::default()
            };
            for (name, representation, value) in fields {
                let f = m.add_field().unwrap();
                f.name = name;
                f.representation = representation;
                let v = &mut f.values;
                match value {
                    FieldValue::String(x) => {
                        v.reset(engine::ValueType::String);
                        x.iter().for_each(|s| v.push_string().push_str(s));
                    }
                    FieldValue::Bytes(x) => {
                        v.reset(engine::ValueType::Bytes);
                        x.iter().for_each(|b| v.push_bytes().extend_from_slice(b));
                    }
                    FieldValue::Integer(x) => {
                        v.reset(engine::ValueType::Integer);
                        x.into_iter().for_each(|i| v.push_integer(i));
                    }
                    FieldValue::Double(x) => {
                        v.reset(engine::ValueType::Double);
                        x.into_iter().for_each(|d| v.push_double(d));
                    }
                    FieldValue::Bool(x) => {
                        v.reset(engine::ValueType::Bool);
                        x.into_iter().for_each(|b| v.push_bool(b));
                    }
                }
            }
            m
        })
}

/// An edit of valid input: overwrite, insert or delete a byte, or truncate.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(&[0u8, 1, 0x1e, 0x1f, 0x7f, 0x80, 0xff, 0xc0, 0xdc, 0xdf][..]),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

pub(crate) fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len().max(1);
    match *m {
        Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % n] = b,
        Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::Delete(i) if !bytes.is_empty() => {
            bytes.remove(i % n);
        }
        Mutation::Truncate(i) => bytes.truncate(i % n),
        _ => {}
    }
}

/// Asserts that no string or byte buffer of `m` (each freshly decoded into a new message)
/// is larger than the input it came from, and that numeric lists hold at most one value
/// per input byte: what a decoder allocates is bounded by what it was given.
pub(crate) fn assert_bounded(m: &Message, input_len: usize) {
    let strings = [
        &m.msg_type,
        &m.logger,
        &m.payload,
        &m.env_version,
        &m.hostname,
    ];
    for s in strings {
        assert!(s.capacity() <= input_len, "{} > {input_len}", s.capacity());
    }
    for f in m.fields.as_slice() {
        assert!(f.name.capacity() <= input_len);
        assert!(f.representation.capacity() <= input_len);
        let n = f.values.len();
        assert!(n <= input_len, "{n} values from {input_len} bytes");
        match f.values.get() {
            Values::String(v) => v.iter().for_each(|s| assert!(s.capacity() <= input_len)),
            Values::Bytes(v) => v.iter().for_each(|b| assert!(b.capacity() <= input_len)),
            _ => {}
        }
    }
}
