//! Tests of the JSON decoder, and of the round trip through [`crate::encoders::encode_json`].

use engine::{
    BuildContext, DecodeError, Decoded, Decoder, Message, PipelinePack, PluginConfig, Values,
    DEFAULT_SEVERITY, MAX_FIELDS,
};
use proptest::prelude::*;

use super::{Json, JsonDecoderConfig, MAX_DEPTH};
use crate::encoders::encode_json;

/// The receive time the tests' packs carry.
const RECV: i64 = 1_234_567_890;

/// The example datagram of DESIGN.md section 6, byte for byte.
const EXAMPLE: &str = concat!(
    r#"{"severity": 6, "timestamp": "2026-11-25T03:58:00.105194Z", "metlog_hostname": "vm", "#,
    r#""fields": {"foo": "bar"}, "metlog_pid": 8531, "logger": "myapp", "type": "mytype", "#,
    r#""payload": "hello heka", "env_version": "0.8"}"#,
);

fn decode_bytes(json: &[u8]) -> Result<(Decoded, Message), DecodeError> {
    let mut pack = PipelinePack::new(json.len());
    assert!(pack.set_raw(json));
    pack.recv_time = RECV;
    let d = Json::new().decode(&mut pack)?;
    Ok((d, pack.message))
}

fn decode(json: &str) -> Result<(Decoded, Message), DecodeError> {
    decode_bytes(json.as_bytes())
}

/// Decodes `json`, which must succeed.
fn ok(json: &str) -> Message {
    match decode(json) {
        Ok((_, m)) => m,
        Err(e) => panic!("{json}: {e:?}"),
    }
}

fn err(json: &str) -> DecodeError {
    match decode(json) {
        Ok(_) => panic!("{json}: decoded"),
        Err(e) => e,
    }
}

fn malformed(offset: usize) -> DecodeError {
    DecodeError::Malformed { offset }
}

const TRUNCATED: DecodeError = DecodeError::Truncated { needed: 0 };

/// The fields of `m` as (name, values) pairs.
fn fields(m: &Message) -> Vec<(&str, Values<'_>)> {
    m.fields
        .as_slice()
        .iter()
        .map(|f| (f.name.as_str(), f.values.get()))
        .collect()
}

#[test]
fn config_builds_and_round_trips() {
    let c = JsonDecoderConfig::default();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v, serde_json::json!({}));
    assert_eq!(serde_json::from_value::<JsonDecoderConfig>(v).unwrap(), c);
    assert!(serde_json::from_value::<JsonDecoderConfig>(serde_json::json!({"x": 1})).is_err());
    let mut json = c.build(&BuildContext::standalone("JsonDecoder")).unwrap();
    let mut pack = PipelinePack::new(64);
    pack.set_raw(b"{}");
    assert_eq!(json.decode(&mut pack), Ok(Decoded::TimestampDefaulted));
}

#[test]
fn design_example_datagram() {
    let (d, m) = decode(EXAMPLE).unwrap();
    assert_eq!(d, Decoded::Clean);
    // `date -u -d 2026-11-25T03:58:00.105194Z +%s%N`
    assert_eq!(m.timestamp, 1_795_579_080_105_194_000);
    assert_eq!(m.severity, 6);
    assert_eq!(m.hostname, "vm");
    assert_eq!(m.pid, 8531);
    assert_eq!(m.logger, "myapp");
    assert_eq!(m.msg_type, "mytype");
    assert_eq!(m.payload, "hello heka");
    assert_eq!(m.env_version, "0.8");
    assert_eq!(m.uuid, [0; 16]);
    assert_eq!(fields(&m), [("foo", Values::String(&["bar".to_string()]))]);
    assert_eq!(m.fields.as_slice()[0].representation, "");
}

#[test]
fn every_key() {
    let m = ok(
        r#"{"type":"t","logger":"l","payload":"p","env_version":"e","hostname":"h",
        "pid":-3,"severity":0,"uuid":"550e8400-e29b-41d4-a716-446655440000"}"#,
    );
    assert_eq!(
        (
            &*m.msg_type,
            &*m.logger,
            &*m.payload,
            &*m.env_version,
            &*m.hostname
        ),
        ("t", "l", "p", "e", "h")
    );
    assert_eq!((m.pid, m.severity), (-3, 0));
    assert_eq!(m.uuid[..4], [0x55, 0x0e, 0x84, 0x00]);
    assert_eq!(m.uuid[15], 0);
    let m = ok(r#"{"metlog_hostname":"a","metlog_pid":2147483647,"severity":-2147483648}"#);
    assert_eq!((&*m.hostname, m.pid, m.severity), ("a", i32::MAX, i32::MIN));
    let m = ok(r#"{"uuid":"550E8400E29B41D4A716446655440001"}"#);
    assert_eq!((m.uuid[0], m.uuid[15]), (0x55, 0x01));
}

#[test]
fn missing_keys_are_zero_values() {
    let (d, m) = decode(" {} ").unwrap();
    assert_eq!(d, Decoded::TimestampDefaulted);
    assert!(m.same_as(&Message {
        timestamp: RECV,
        ..Message::default()
    }));
    assert_eq!(m.severity, DEFAULT_SEVERITY);
}

#[test]
fn timestamps() {
    let cases: &[(&str, Option<i64>)] = &[
        (r#""2026-11-25T03:58:00Z""#, Some(1_795_579_080_000_000_000)),
        (
            r#""2026-11-25T04:58:00.5+01:00""#,
            Some(1_795_579_080_500_000_000),
        ),
        (
            r#""1970-01-01T00:00:00.000000001-00:30""#,
            Some(1_800_000_000_001),
        ),
        (r#""\u0031970-01-01T00:00:00Z""#, Some(0)),
        ("1795579080105194000", Some(1_795_579_080_105_194_000)),
        ("-5", Some(-5)),
        ("0", Some(0)),
        ("1.5", None),
        ("1e9", None),
        ("99999999999999999999", None),
        (r#""2026-11-25T03:58:00""#, None),
        (r#""2026-02-30T03:58:00Z""#, None),
        (r#""yesterday""#, None),
        (r#""""#, None),
        ("null", None),
        ("true", None),
        (r#"["2026-11-25T03:58:00Z"]"#, None),
        (r#"{"t": "2026-11-25T03:58:00Z"}"#, None),
    ];
    for &(value, want) in cases {
        let json = format!(r#"{{"timestamp": {value}, "type": "after"}}"#);
        let (d, m) = decode(&json).unwrap();
        assert_eq!(m.msg_type, "after", "{json}");
        match want {
            Some(ns) => assert_eq!((d, m.timestamp), (Decoded::Clean, ns), "{json}"),
            None => assert_eq!(
                (d, m.timestamp),
                (Decoded::TimestampDefaulted, RECV),
                "{json}"
            ),
        }
    }
}

#[test]
fn wrong_types_are_treated_as_missing_and_skipped() {
    let json = r#"{"severity": "x", "pid": 1.5, "type": 5, "logger": null,
        "payload": [1, {"a": "}"}],
        "env_version": {"x": [true]}, "hostname": false, "fields": [1, 2], "uuid": 7,
        "timestamp": {}, "metlog_pid": 99999999999, "env_version": -1e3, "end": "yes"}"#;
    let (d, m) = decode(json).unwrap();
    assert_eq!(d, Decoded::TimestampDefaulted);
    assert!(m.same_as(&Message {
        timestamp: RECV,
        ..Message::default()
    }));
    assert_eq!((m.severity, m.pid), (DEFAULT_SEVERITY, 0));
    assert!(m.msg_type.is_empty() && m.payload.is_empty() && m.env_version.is_empty());
    assert_eq!(ok(r#"{"severity": 2147483648}"#).severity, DEFAULT_SEVERITY);
    assert_eq!(ok(r#"{"severity": 6.0}"#).severity, DEFAULT_SEVERITY);
    for bad in [
        "\"\"",
        "\"550e8400-e29b-41d4-a716-44665544000g\"",
        "\"550e8400\"",
        "null",
    ] {
        assert_eq!(ok(&format!(r#"{{"uuid": {bad}}}"#)).uuid, [0; 16], "{bad}");
    }
}

#[test]
fn repeated_keys_last_wins() {
    let m = ok(r#"{"type":"a","type":"b","severity":1,"severity":2,"pid":1,"metlog_pid":3}"#);
    assert_eq!((&*m.msg_type, m.severity, m.pid), ("b", 2, 3));
    let m = ok(r#"{"type":"a","type":5,"severity":1,"severity":"x"}"#);
    assert_eq!((&*m.msg_type, m.severity), ("", DEFAULT_SEVERITY));
    let (d, _) = decode(r#"{"timestamp":"2026-11-25T03:58:00Z","timestamp":"bad"}"#).unwrap();
    assert_eq!(d, Decoded::TimestampDefaulted);
    let m = ok(r#"{"fields":{"a":1},"fields":{"b":2}}"#);
    assert_eq!(
        fields(&m),
        [("a", Values::Integer(&[1])), ("b", Values::Integer(&[2]))]
    );
}

#[test]
fn unknown_keys_are_skipped_whatever_they_hold() {
    let m = ok(
        r#"{"x": {"a": [1, {"b": null}, "s\"}"], "c": {}}, "y": [], "z": -0.5e-3,
        "w": "\uD83D\uDE00", "v": true, "u": null, "caf\u00e9": 1, "payload": "kept"}"#,
    );
    assert_eq!(m.payload, "kept");
    assert!(m.fields.is_empty());
}

#[test]
fn string_escapes() {
    let m = ok(r#"{"payload": "a\"b\\c\/d\b\f\n\r\te\u00e9\u20AC\uD83D\uDE00\u0000 raw é☃😀"}"#);
    assert_eq!(m.payload, "a\"b\\c/d\u{8}\u{c}\n\r\teé€😀\0 raw é☃😀");
    let m = ok(r#"{"\u0074ype": "escaped key", "fields": {"k\n\u00e9": "v\t"}}"#);
    assert_eq!(m.msg_type, "escaped key");
    assert_eq!(fields(&m), [("k\né", Values::String(&["v\t".to_string()]))]);
}

#[test]
fn field_scalars() {
    let m = ok(
        r#"{"fields": {"s": "x", "i": -42, "big": 9223372036854775807,
        "over": 9223372036854775808, "d": 1.5, "e": 1e3, "z": 0.0, "t": true, "f": false,
        "n": null, "": "empty name"}}"#,
    );
    assert_eq!(
        fields(&m),
        [
            ("s", Values::String(&["x".to_string()])),
            ("i", Values::Integer(&[-42])),
            ("big", Values::Integer(&[i64::MAX])),
            ("over", Values::Double(&[9_223_372_036_854_775_808.0])),
            ("d", Values::Double(&[1.5])),
            ("e", Values::Double(&[1000.0])),
            ("z", Values::Double(&[0.0])),
            ("t", Values::Bool(&[true])),
            ("f", Values::Bool(&[false])),
            ("", Values::String(&["empty name".to_string()])),
        ]
    );
}

#[test]
fn field_arrays() {
    let m = ok(
        r#"{"fields": {"s": ["a", null, "b"], "i": [1, 2, 3], "d": [0.5, 2],
        "p": [1, 2.5, 3], "b": [true, false], "one": [7], "empty": [], "nulls": [null, null],
        "mixed": [1, "a"], "mixed2": ["a", true, {"x": 1}], "nested": [[1]], "obj": [{"a": 1}],
        "after": 1}}"#,
    );
    assert_eq!(
        fields(&m),
        [
            ("s", Values::String(&["a".to_string(), "b".to_string()])),
            ("i", Values::Integer(&[1, 2, 3])),
            ("d", Values::Double(&[0.5, 2.0])),
            ("p", Values::Double(&[1.0, 2.5, 3.0])),
            ("b", Values::Bool(&[true, false])),
            ("one", Values::Integer(&[7])),
            ("after", Values::Integer(&[1])),
        ]
    );
}

#[test]
fn dropped_arrays_leave_no_trace() {
    for json in [
        r#"{"fields": {"m": [1, "a", 2, 3]}}"#,
        r#"{"fields": {"m": ["a", 1, "b", [2], {"c": 3}]}}"#,
        r#"{"fields": {"m": [[1], 1, 2]}}"#,
        r#"{"fields": {"m": [null, true, 1, false]}}"#,
    ] {
        assert!(ok(json).fields.is_empty(), "{json}");
    }
    let m = ok(r#"{"fields": {"a": 1, "m": [1, "a", 2], "b": [true, false]}}"#);
    assert_eq!(
        fields(&m),
        [
            ("a", Values::Integer(&[1])),
            ("b", Values::Bool(&[true, false]))
        ]
    );
}

#[test]
fn nested_fields_flatten() {
    let m = ok(
        r#"{"fields": {"a": {"b": {"c": 1, "d": [true]}, "e": "x", "f": {}}, "g": 2,
        "h": {"i": null}, "j.k": 3}}"#,
    );
    assert_eq!(
        fields(&m),
        [
            ("a.b.c", Values::Integer(&[1])),
            ("a.b.d", Values::Bool(&[true])),
            ("a.e", Values::String(&["x".to_string()])),
            ("g", Values::Integer(&[2])),
            ("j.k", Values::Integer(&[3])),
        ]
    );
}

#[test]
fn top_level_must_be_an_object() {
    for json in [
        "[]",
        "[1, 2]",
        "\"x\"",
        "5",
        "-1",
        "true",
        "false",
        "null",
        " [garbage",
    ] {
        assert_eq!(err(json), DecodeError::NotAnObject, "{json}");
    }
    assert_eq!(err("x"), malformed(0));
    assert_eq!(err("  }"), malformed(2));
    assert_eq!(err(""), TRUNCATED);
    assert_eq!(err(" \n\t\r "), TRUNCATED);
}

#[test]
fn malformed_json() {
    let cases: &[(&str, DecodeError)] = &[
        ("{", TRUNCATED),
        (r#"{"a""#, TRUNCATED),
        (r#"{"a":"#, TRUNCATED),
        (r#"{"a":1"#, TRUNCATED),
        (r#"{"a":1,"#, TRUNCATED),
        (r#"{"payload":"abc"#, TRUNCATED),
        (r#"{"a":tru"#, TRUNCATED),
        (r#"{"a":tru}"#, malformed(5)),
        (r#"{"a":1,}"#, malformed(7)),
        (r#"{,}"#, malformed(1)),
        (r#"{"a" 1}"#, malformed(5)),
        (r#"{"a":1 "b":2}"#, malformed(7)),
        (r#"{a:1}"#, malformed(1)),
        (r#"{"a":01}"#, malformed(6)),
        (r#"{"a":1.}"#, malformed(7)),
        (r#"{"a":.5}"#, malformed(5)),
        (r#"{"a":+1}"#, malformed(5)),
        (r#"{"a":[1,]}"#, malformed(8)),
        (r#"{"a":[1}"#, malformed(7)),
        (r#"{"a":'x'}"#, malformed(5)),
        (r#"{"severity":6,}"#, malformed(14)),
        (r#"{"fields":{"a":}}"#, malformed(15)),
        (r#"{"fields":{"a":[1,]}}"#, malformed(18)),
        (r#"{"fields":{"a":[1 2]}}"#, malformed(18)),
        (r#"{"fields":{"a":x}}"#, malformed(15)),
        (r#"{"payload":"a\qb"}"#, malformed(13)),
        (r#"{"payload":"\uD800"}"#, malformed(12)),
        (r#"{"payload":"\uDC00\uD800"}"#, malformed(12)),
        (r#"{"payload":"\uD800\uD800"}"#, malformed(12)),
        (r#"{"payload":"\u00G0"}"#, malformed(12)),
        ("{\"payload\":\"a\nb\"}", malformed(13)),
        ("{\"fields\":{\"k\u{1}\":1}}", malformed(13)),
        ("{} x", malformed(3)),
        ("{}{}", malformed(2)),
        ("{}\0", malformed(2)),
    ];
    for (json, want) in cases {
        assert_eq!(err(json), *want, "{json}");
    }
    // Trailing whitespace is fine.
    ok("{} \n\t\r");
}

#[test]
fn invalid_utf8_in_strings() {
    // The offset is the first byte that is not UTF-8.
    let cases: &[(&[u8], usize)] = &[
        (b"{\"payload\":\"a\xffb\"}", 13),
        (b"{\"payload\":\"\\n\xc3\"}", 14),
        (b"{\"type\":\"\xed\xa0\x80\"}", 9),
        (b"{\"k\xff\":1}", 3),
        (b"{\"x\":[\"\xc0\xaf\"]}", 7),
        (b"{\"timestamp\":\"2026-11-25T03:58:00\xffZ\"}", 33),
        (b"{\"uuid\":\"\xff\"}", 9),
        (b"{\"fields\":{\"\xfe\":1}}", 12),
        (b"{\"fields\":{\"a\":[\"\xfe\"]}}", 17),
    ];
    for &(json, offset) in cases {
        let got = decode_bytes(json).map(|_| ());
        assert_eq!(
            got,
            Err(DecodeError::InvalidUtf8 { offset }),
            "{}",
            json.escape_ascii()
        );
    }
    // Outside strings too: a JSON text must be UTF-8 as a whole.
    assert_eq!(
        decode_bytes(b"{\"a\":\xff}").map(|_| ()),
        Err(DecodeError::InvalidUtf8 { offset: 5 })
    );
}

/// `{"<key>": <n - 1 opens> 1 <n - 1 closes>}`: `n` levels, the top-level object included.
fn nested(key: &str, n: usize, open: &str, close: &str) -> String {
    format!(
        "{{\"{key}\":{}1{}}}",
        open.repeat(n - 1),
        close.repeat(n - 1)
    )
}

#[test]
fn nesting_is_limited() {
    let too_deep = DecodeError::TooDeep { limit: MAX_DEPTH };
    for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
        // Skipped under an unknown key.
        ok(&nested("x", MAX_DEPTH, open, close));
        assert_eq!(err(&nested("x", MAX_DEPTH + 1, open, close)), too_deep);
        // Read by the fields flattener.
        let in_fields = |n| format!("{{\"fields\":{}}}", nested("x", n - 1, open, close));
        ok(&in_fields(MAX_DEPTH));
        assert_eq!(err(&in_fields(MAX_DEPTH + 1)), too_deep);
    }
    let deepest = nested("fields", MAX_DEPTH, "{\"k\":", "}");
    let name = vec!["k"; MAX_DEPTH - 1].join(".");
    assert_eq!(
        fields(&ok(&deepest)),
        [(name.as_str(), Values::Integer(&[1]))]
    );
    assert_eq!(err(&"[".repeat(100_000)), DecodeError::NotAnObject);
    assert_eq!(err(&format!("{{\"x\":{}", "[".repeat(100_000))), too_deep);
}

#[test]
fn field_count_is_limited() {
    let json = |n: usize| {
        let body: Vec<String> = (0..n).map(|i| format!("\"f{i}\":{i}")).collect();
        format!("{{\"fields\":{{{}}}}}", body.join(","))
    };
    assert_eq!(ok(&json(MAX_FIELDS)).fields.len(), MAX_FIELDS);
    assert_eq!(
        err(&json(MAX_FIELDS + 1)),
        DecodeError::TooManyFields { limit: MAX_FIELDS }
    );
    // Skipped values (null, empty and mixed arrays) do not count.
    let full = json(MAX_FIELDS);
    let inner = &full[r#"{"fields":"#.len()..full.len() - 1];
    let skipped = format!(r#"{{"fields":{{"n":null,"e":[],"m":[1,"a"],"rest":{inner}}}}}"#);
    assert_eq!(ok(&skipped).fields.len(), MAX_FIELDS);
}

#[test]
fn decode_clears_the_previous_message() {
    let mut json = Json::new();
    let mut pack = PipelinePack::new(1024);
    pack.set_raw(EXAMPLE.as_bytes());
    json.decode(&mut pack).unwrap();
    pack.set_raw(br#"{"fields":{"other":1}}"#);
    pack.recv_time = RECV;
    assert_eq!(json.decode(&mut pack), Ok(Decoded::TimestampDefaulted));
    assert_eq!(pack.message.severity, DEFAULT_SEVERITY);
    assert!(pack.message.payload.is_empty());
    assert_eq!(fields(&pack.message), [("other", Values::Integer(&[1]))]);
}

/// Every buffer capacity in `m`, in a fixed order.
fn capacities(m: &Message) -> Vec<usize> {
    let mut caps = vec![
        m.msg_type.capacity(),
        m.logger.capacity(),
        m.payload.capacity(),
        m.env_version.capacity(),
        m.hostname.capacity(),
    ];
    for f in m.fields.as_slice() {
        caps.push(f.name.capacity());
        if let Values::String(v) = f.values.get() {
            caps.extend(v.iter().map(String::capacity));
        }
    }
    caps
}

const ESCAPED: &str = concat!(
    r#"{"type":"t","timestamp":"2026-11-25T03:58:00.105194Z","logger":"app\tx","severity":6,"#,
    r#""payload":"seq=0000000001 caf\u00e9 \"quoted\" \\ tab\t","fields":{"seq":1,"#,
    r#""name":"n\u00e9","ratio":0.5,"ok":true,"nested":{"k":"v"},"xs":[1,2.5],"#,
    r#""ss":["a","\u00e9"]},"metlog_pid":42,"metlog_hostname":"h","#,
    r#""uuid":"550e8400-e29b-41d4-a716-446655440000"}"#,
);

#[test]
fn second_decode_grows_nothing() {
    let mut json = Json::new();
    let mut pack = PipelinePack::new(1024);
    for input in [EXAMPLE, ESCAPED] {
        pack.reset();
        pack.set_raw(input.as_bytes());
        json.decode(&mut pack).unwrap();
        let first = (capacities(&pack.message), json.scratch.capacity());
        for c in &first.0 {
            assert!(*c <= input.len(), "a buffer grew past the input length");
        }
        pack.reset();
        pack.set_raw(input.as_bytes());
        json.decode(&mut pack).unwrap();
        assert_eq!((capacities(&pack.message), json.scratch.capacity()), first);
    }
}

// ---- properties ----

/// A string with a good share of the characters JSON must escape.
fn text() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => any::<char>(),
        1 => Just('"'),
        1 => Just('\\'),
        1 => (0u8..0x20).prop_map(char::from),
        1 => Just('.'),
    ];
    prop::collection::vec(c, 0..12).prop_map(String::from_iter)
}

#[derive(Clone, Debug)]
enum FieldValue {
    String(Vec<String>),
    Integer(Vec<i64>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    let n = 1..4usize;
    let finite = any::<f64>().prop_filter("finite", |d| d.is_finite());
    prop_oneof![
        prop::collection::vec(text(), n.clone()).prop_map(FieldValue::String),
        prop::collection::vec(any::<i64>(), n.clone()).prop_map(FieldValue::Integer),
        prop::collection::vec(finite, n.clone()).prop_map(FieldValue::Double),
        prop::collection::vec(any::<bool>(), n).prop_map(FieldValue::Bool),
    ]
}

prop_compose! {
    fn message()(
        uuid in any::<[u8; 16]>(),
        timestamp in any::<i64>(),
        strings in prop::array::uniform5(text()),
        severity in any::<i32>(),
        pid in any::<i32>(),
        fields in prop::collection::vec((text(), field_value()), 0..6),
    ) -> Message {
        let [msg_type, logger, payload, env_version, hostname] = strings;
        let mut m = Message {
            uuid, timestamp, msg_type, logger, severity, payload, env_version, pid, hostname,
            ..Message::default()
        };
        for (name, value) in fields {
            let f = m.add_field().unwrap();
            f.name = name;
            match value {
                FieldValue::String(v) => v.iter().for_each(|s| f.values.push_string().push_str(s)),
                FieldValue::Integer(v) => v.into_iter().for_each(|i| f.values.push_integer(i)),
                FieldValue::Double(v) => v.into_iter().for_each(|d| f.values.push_double(d)),
                FieldValue::Bool(v) => v.into_iter().for_each(|b| f.values.push_bool(b)),
            }
        }
        m
    }
}

/// An edit of a valid document: overwrite, insert or delete a byte, or truncate.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(&b"{}[]\",:\\u0-9.eE+ \ttfn"[..]),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
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

/// A JSON value as serde_json sees it, biased to the keys the decoder knows.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |d| d.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
        Just(Value::from("2026-11-25T03:58:00.105194Z")),
        Just(Value::from("550e8400-e29b-41d4-a716-446655440000")),
    ];
    let key = prop_oneof![
        text(),
        prop::sample::select(vec![
            "type",
            "timestamp",
            "logger",
            "severity",
            "payload",
            "fields",
            "env_version",
            "metlog_pid",
            "pid",
            "metlog_hostname",
            "hostname",
            "uuid",
        ])
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Raw JSON string contents, with every kind of escape, good and bad.
fn raw_string_body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"a"[..],
        "é".as_bytes(),
        "😀".as_bytes(),
        b"\\n",
        b"\\\"",
        b"\\\\",
        b"\\/",
        b"\\u00e9",
        b"\\u0000",
        b"\\uD83D\\uDE00",
        b"\\uD83D",
        b"\\uDE00",
        b"\\uD83D\\u0041",
        b"\\u12",
        b"\\x",
        b"\\",
        b"\t",
        b"\xff",
        b"\xc3",
        b"\"",
    ]);
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

/// Our verdict agrees with serde_json's on `bytes` (modulo our limits and its float range).
fn agrees_with_serde_json(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = decode_bytes(bytes).map(|_| ());
    let theirs = serde_json::from_slice::<serde_json::Value>(bytes);
    match (&ours, &theirs) {
        (Ok(()), Ok(v)) if v.is_object() => {}
        (Err(DecodeError::NotAnObject), Ok(v)) if !v.is_object() => {}
        (Err(_), Err(_)) => {}
        (Ok(()), Err(e)) if e.to_string().contains("number out of range") => {}
        _ => prop_assert!(
            false,
            "ours {:?}, serde_json {:?}",
            ours,
            theirs.as_ref().map(|_| ())
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn round_trip(m in message()) {
        let mut out = Vec::new();
        encode_json(&m, &mut out);
        let (d, back) = decode_bytes(&out).map_err(|e| {
            TestCaseError::fail(format!("{e:?} on {}", String::from_utf8_lossy(&out)))
        })?;
        prop_assert_eq!(d, Decoded::Clean);
        prop_assert!(back.same_as(&m), "{:?}\n!=\n{:?}", back, m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_bytes(&bytes).ok();
    }

    #[test]
    fn mutated_documents_never_panic(
        m in message(),
        edits in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut bytes = Vec::new();
        encode_json(&m, &mut bytes);
        for e in &edits {
            apply(&mut bytes, e);
        }
        if let Ok((_, back)) = decode_bytes(&bytes) {
            prop_assert!(back.fields.len() <= MAX_FIELDS);
        }
    }

    #[test]
    fn validity_agrees_with_serde_json(
        v in json_value(),
        edits in prop::collection::vec(mutation(), 0..3),
    ) {
        let mut bytes = serde_json::to_vec(&v).unwrap();
        agrees_with_serde_json(&bytes)?;
        // The same value as `fields`, where the flattener reads it.
        let as_fields = serde_json::to_vec(&serde_json::json!({ "fields": v })).unwrap();
        agrees_with_serde_json(&as_fields)?;
        for e in &edits {
            apply(&mut bytes, e);
        }
        agrees_with_serde_json(&bytes)?;
    }

    #[test]
    fn escapes_agree_with_serde_json(body in raw_string_body()) {
        let mut doc = b"{\"payload\":\"".to_vec();
        doc.extend_from_slice(&body);
        doc.extend_from_slice(b"\"}");
        agrees_with_serde_json(&doc)?;
        if let (Ok((_, m)), Ok(v)) =
            (decode_bytes(&doc), serde_json::from_slice::<serde_json::Value>(&doc))
        {
            prop_assert_eq!(Some(m.payload.as_str()), v["payload"].as_str());
        }
    }
}
