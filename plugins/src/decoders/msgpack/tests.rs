//! Tests of the msgpack decoder, and of the round trip through
//! [`crate::encoders::msgpack::encode_msgpack`].

use engine::{
    BuildContext, DecodeError, Decoded, Decoder, Message, PipelinePack, PluginConfig, Values,
    DEFAULT_SEVERITY, MAX_FIELDS,
};
use proptest::prelude::*;
use rmp::encode;

use super::{MsgPack, MsgPackDecoderConfig, MAX_DEPTH};
use crate::encoders::msgpack::encode_msgpack;
use crate::testing::{apply, assert_bounded, message, mutation, Carries};

const RECV: i64 = 1_234_567_890;

fn decode(bytes: &[u8]) -> Result<(Decoded, Message), DecodeError> {
    let mut pack = PipelinePack::new(bytes.len().max(1));
    assert!(pack.set_raw(bytes));
    pack.recv_time = RECV;
    let d = MsgPack::default().decode(&mut pack)?;
    Ok((d, pack.message))
}

/// Builds msgpack with rmp's writers (infallible into a Vec).
struct W(Vec<u8>);

impl W {
    fn map(mut self, n: u32) -> Self {
        encode::write_map_len(&mut self.0, n).unwrap();
        self
    }
    fn array(mut self, n: u32) -> Self {
        encode::write_array_len(&mut self.0, n).unwrap();
        self
    }
    fn s(mut self, s: &str) -> Self {
        encode::write_str(&mut self.0, s).unwrap();
        self
    }
    fn i(mut self, i: i64) -> Self {
        encode::write_sint(&mut self.0, i).unwrap();
        self
    }
    fn u(mut self, u: u64) -> Self {
        encode::write_u64(&mut self.0, u).unwrap();
        self
    }
    fn f(mut self, d: f64) -> Self {
        encode::write_f64(&mut self.0, d).unwrap();
        self
    }
    fn f32(mut self, d: f32) -> Self {
        encode::write_f32(&mut self.0, d).unwrap();
        self
    }
    fn b(mut self, b: bool) -> Self {
        encode::write_bool(&mut self.0, b).unwrap();
        self
    }
    fn bin(mut self, b: &[u8]) -> Self {
        encode::write_bin(&mut self.0, b).unwrap();
        self
    }
    fn nil(mut self) -> Self {
        encode::write_nil(&mut self.0).unwrap();
        self
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}

fn w() -> W {
    W(Vec::new())
}

fn fields(m: &Message) -> Vec<(&str, Values<'_>)> {
    m.fields
        .as_slice()
        .iter()
        .map(|f| (f.name.as_str(), f.values.get()))
        .collect()
}

#[test]
fn config_builds_and_round_trips() {
    let c = MsgPackDecoderConfig::default();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v, serde_json::json!({}));
    assert_eq!(
        serde_json::from_value::<MsgPackDecoderConfig>(v).unwrap(),
        c
    );
    assert!(serde_json::from_value::<MsgPackDecoderConfig>(serde_json::json!({"x": 1})).is_err());
    let mut d = c
        .build(&BuildContext::standalone("MsgPackDecoder"))
        .unwrap();
    let mut pack = PipelinePack::new(8);
    pack.set_raw(&[0x80]);
    assert_eq!(d.decode(&mut pack), Ok(Decoded::TimestampDefaulted));
}

/// The DESIGN.md example datagram, as msgpack with the same keys in the same order.
#[test]
fn design_example_as_msgpack() {
    let b = w()
        .map(9)
        .s("severity")
        .i(6)
        .s("timestamp")
        .s("2026-11-25T03:58:00.105194Z")
        .s("metlog_hostname")
        .s("vm")
        .s("fields")
        .map(1)
        .s("foo")
        .s("bar")
        .s("metlog_pid")
        .i(8531)
        .s("logger")
        .s("myapp")
        .s("type")
        .s("mytype")
        .s("payload")
        .s("hello heka")
        .s("env_version")
        .s("0.8")
        .0;
    let (d, m) = decode(&b).unwrap();
    assert_eq!(d, Decoded::Clean);
    assert_eq!(m.timestamp, 1_795_579_080_105_194_000);
    assert_eq!(
        (m.severity, m.pid, m.hostname.as_str(), m.logger.as_str()),
        (6, 8531, "vm", "myapp")
    );
    assert_eq!(
        (
            m.msg_type.as_str(),
            m.payload.as_str(),
            m.env_version.as_str()
        ),
        ("mytype", "hello heka", "0.8")
    );
    let bar = ["bar".to_string()];
    assert_eq!(fields(&m), [("foo", Values::String(&bar))]);
}

#[test]
fn fields_flatten_and_arrays_follow_the_json_rules() {
    let b = w()
        .map(1)
        .s("fields")
        .map(10)
        .s("a")
        .map(2)
        .s("b")
        .i(1)
        .s("c")
        .map(1)
        .s("d")
        .f32(0.5)
        .s("ints")
        .array(3)
        .i(1)
        .nil()
        .i(-2)
        .s("promoted")
        .array(3)
        .i(1)
        .f(2.5)
        .i(3)
        .s("mixed")
        .array(2)
        .i(1)
        .s("x")
        .s("nested")
        .array(1)
        .array(0)
        .s("empty")
        .array(0)
        .s("nil")
        .nil()
        .s("raw")
        .bin(b"\x00\xff")
        .s("big")
        .u(u64::MAX)
        .s("ok")
        .b(true)
        .0;
    let (_, m) = decode(&b).unwrap();
    let raw = [vec![0u8, 0xff]];
    assert_eq!(
        fields(&m),
        [
            ("a.b", Values::Integer(&[1])),
            ("a.c.d", Values::Double(&[0.5])),
            ("ints", Values::Integer(&[1, -2])),
            ("promoted", Values::Double(&[1.0, 2.5, 3.0])),
            ("raw", Values::Bytes(&raw)),
            ("big", Values::Double(&[u64::MAX as f64])),
            ("ok", Values::Bool(&[true])),
        ]
    );
}

#[test]
fn lenient_about_types_and_keys() {
    // Wrong types are treated as missing; unknown and non-string keys are skipped.
    let b = w()
        .map(8)
        .s("severity")
        .s("high")
        .s("pid")
        .i(i64::from(i32::MAX) + 1)
        .s("type")
        .array(2)
        .i(1)
        .map(0)
        .s("timestamp")
        .f(1.5)
        .s("uuid")
        .bin(b"short")
        .i(7)
        .s("non-string key")
        .s("unknown")
        .map(1)
        .s("k")
        .array(1)
        .nil()
        .s("payload")
        .s("kept")
        .0;
    let (d, m) = decode(&b).unwrap();
    assert_eq!(d, Decoded::TimestampDefaulted);
    assert_eq!(m.timestamp, RECV);
    assert_eq!((m.severity, m.pid), (DEFAULT_SEVERITY, 0));
    assert_eq!((m.msg_type.as_str(), m.payload.as_str()), ("", "kept"));
    assert_eq!(m.uuid, [0; 16]);
    // A uuid string, an integer timestamp, a repeated key (last wins).
    let b = w()
        .map(3)
        .s("uuid")
        .s("550e8400-e29b-41d4-a716-446655440000")
        .s("timestamp")
        .i(5)
        .s("timestamp")
        .i(6)
        .0;
    let (d, m) = decode(&b).unwrap();
    assert_eq!((d, m.timestamp, m.uuid[0]), (Decoded::Clean, 6, 0x55));
}

#[test]
fn errors() {
    let e = |b: &[u8]| decode(b).map(|_| ()).unwrap_err();
    assert_eq!(e(&w().array(0).0), DecodeError::NotAnObject);
    assert_eq!(e(&w().s("x").0), DecodeError::NotAnObject);
    assert_eq!(e(&[]), DecodeError::Truncated { needed: 0 });
    assert_eq!(e(&[0x81]), DecodeError::Truncated { needed: 0 });
    assert_eq!(
        e(&w().map(0).raw(&[0]).0),
        DecodeError::Malformed { offset: 1 }
    );
    assert_eq!(
        e(&w().map(1).raw(&[0xc1]).0),
        DecodeError::Malformed { offset: 1 }
    );
    // A string claiming more bytes than there are (never allocated).
    assert_eq!(
        e(&w()
            .map(1)
            .s("payload")
            .raw(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'])
            .0),
        DecodeError::Truncated {
            needed: u32::MAX as usize - 1
        }
    );
    // A map claiming 2^32 - 1 entries.
    assert_eq!(
        e(&[0xdf, 0xff, 0xff, 0xff, 0xff]),
        DecodeError::Truncated { needed: 0 }
    );
    assert_eq!(
        e(&w().map(1).s("payload").raw(&[0xa2, 0xff, 0xfe]).0),
        DecodeError::InvalidUtf8 { offset: 10 }
    );
    let mut deep = w().map(1).s("x");
    for _ in 0..MAX_DEPTH {
        deep = deep.array(1);
    }
    assert_eq!(e(&deep.i(1).0), DecodeError::TooDeep { limit: MAX_DEPTH });
    let mut many = w().map(1).s("fields").map(MAX_FIELDS as u32 + 1);
    for _ in 0..=MAX_FIELDS {
        many = many.s("f").i(1);
    }
    assert_eq!(e(&many.0), DecodeError::TooManyFields { limit: MAX_FIELDS });
}

const MSGPACK: Carries = Carries {
    representation: false,
    bytes: true,
    empty: false,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn round_trip(m in message(MSGPACK)) {
        let mut out = Vec::new();
        encode_msgpack(&m, &mut out);
        let (d, back) = decode(&out).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(d, Decoded::Clean);
        prop_assert!(back.same_as(&m), "{:?}\n!=\n{:?}", back, m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok((_, m)) = decode(&bytes) {
            assert_bounded(&m, bytes.len());
        }
    }

    #[test]
    fn mutated_maps_never_panic(
        m in message(MSGPACK),
        edits in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut bytes = Vec::new();
        encode_msgpack(&m, &mut bytes);
        for e in &edits {
            apply(&mut bytes, e);
        }
        if let Ok((_, back)) = decode(&bytes) {
            assert_bounded(&back, bytes.len());
        }
    }
}
