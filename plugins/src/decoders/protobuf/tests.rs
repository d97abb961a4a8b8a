//! Tests of the protobuf decoder and framing: golden bytes built by hand from Heka's
//! `message.proto`, signatures, round trips through [`crate::encoders::protobuf`], and
//! arbitrary or mutated input.

use engine::{
    BuildContext, DecodeError, Decoded, Decoder, Message, PipelinePack, PluginConfig, ValueType,
    Values, DEFAULT_SEVERITY,
};
use proptest::prelude::*;

use super::{Protobuf, ProtobufDecoderConfig, SignerConfig};
use crate::encoders::protobuf::{encode_frame, encode_message, message_len};
use crate::framing::{frame_len, parse_frame, HashFunction, SigningKey};
use crate::testing::{apply, assert_bounded, message, mutation, Carries};

/// The receive time the tests' packs carry.
const RECV: i64 = 1_234_567_890;

/// A heka-py style message, field by field (tag, length, value), as Heka's `message.proto`
/// lays it out. Built by hand, independently of the encoder.
const GOLDEN_MESSAGE: [&str; 14] = [
    // uuid = 1: 16 bytes
    "0a10550e8400e29b41d4a716446655440000",
    // timestamp = 2: varint 1795579080105194000 (2026-11-25T03:58:00.105194Z)
    "1090e4ab9e8fb5cbf518",
    // type = 3: "TEST"
    "1a0454455354",
    // logger = 4: "GoSpec"
    "2206476f53706563",
    // severity = 5: 6
    "2806",
    // payload = 6: "Test Payload"
    "320c54657374205061796c6f6164",
    // env_version = 7: "0.8"
    "3a03302e38",
    // pid = 8: 14098
    "40926e",
    // hostname = 9: "hostname"
    "4a08686f73746e616d65",
    // fields = 10: {name = 1 "foo", value_type = 2 STRING, value_string = 4 "bar"}
    "520c0a03666f6f10002203626172",
    // fields = 10: {name "number", INTEGER, representation = 3 "count",
    //               value_integer = 6 packed [64, -1 (ten bytes)]}
    "521e0a066e756d62657210021a05636f756e74320b40ffffffffffffffffff01",
    // fields = 10: {name "ratio", DOUBLE, value_double = 7 packed [0.5, 1.25] (LE f64)}
    "521b0a05726174696f10033a10000000000000e03f000000000000f43f",
    // fields = 10: {name "flags", BOOL, value_bool = 8 packed [true, false]}
    "520d0a05666c616773100442020100",
    // fields = 10: {name "raw", BYTES, value_bytes = 5 [00 ff]}
    "520b0a0372617710012a0200ff",
];

/// The frame around [`GOLDEN_MESSAGE`] (179 bytes): 0x1E, header length 3,
/// Header {message_length = 1: 179}, 0x1F.
const GOLDEN_UNSIGNED_HEAD: &str = "1e0308b3011f";

/// The HMAC key of the signed fixtures (from Heka's docs).
const KEY: &str = "4865ey9urgkidls xtb0[7lf9rzcivthkm";

/// Signed by `ops` key version 1 with HMAC-MD5: 0x1E, 30, Header {message_length 179,
/// hmac_hash_function = 3 MD5, hmac_signer = 4 "ops", hmac_key_version = 5 1,
/// hmac = 6 (16 bytes, computed with Python's `hmac` module)}, 0x1F.
const GOLDEN_MD5_HEAD: &str = "1e1e08b301180022036f7073280132100b94997f24c575bfd57faaa223c4f7351f";

/// As [`GOLDEN_MD5_HEAD`] with HMAC-SHA1 (hash function 1, 20-byte digest).
const GOLDEN_SHA1_HEAD: &str =
    "1e2208b301180122036f7073280132146fda3719a517336dd76045a743816c87ec7bb3641f";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn golden_message_bytes() -> Vec<u8> {
    GOLDEN_MESSAGE.iter().flat_map(|s| unhex(s)).collect()
}

fn framed(head: &str) -> Vec<u8> {
    let mut b = unhex(head);
    b.extend(golden_message_bytes());
    b
}

/// The message the golden bytes carry.
fn golden() -> Message {
    let mut m = Message {
        uuid: [
            0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44,
            0x00, 0x00,
        ],
        timestamp: 1_795_579_080_105_194_000,
        severity: 6,
        pid: 14098,
        ..Message::default()
    };
    m.msg_type.push_str("TEST");
    m.logger.push_str("GoSpec");
    m.payload.push_str("Test Payload");
    m.env_version.push_str("0.8");
    m.hostname.push_str("hostname");
    let f = m.add_field().unwrap();
    f.name.push_str("foo");
    f.values.push_string().push_str("bar");
    let f = m.add_field().unwrap();
    f.name.push_str("number");
    f.representation.push_str("count");
    f.values.push_integer(64);
    f.values.push_integer(-1);
    let f = m.add_field().unwrap();
    f.name.push_str("ratio");
    f.values.push_double(0.5);
    f.values.push_double(1.25);
    let f = m.add_field().unwrap();
    f.name.push_str("flags");
    f.values.push_bool(true);
    f.values.push_bool(false);
    let f = m.add_field().unwrap();
    f.name.push_str("raw");
    f.values.push_bytes().extend_from_slice(&[0x00, 0xff]);
    m
}

fn decoder(config: &ProtobufDecoderConfig) -> Protobuf {
    config
        .build(&BuildContext::standalone("ProtobufDecoder"))
        .unwrap()
}

fn signed_config(require_signature: bool) -> ProtobufDecoderConfig {
    let mut c = ProtobufDecoderConfig {
        require_signature,
        ..ProtobufDecoderConfig::default()
    };
    c.signers.insert(
        "ops_1".into(),
        SignerConfig {
            hmac_key: KEY.into(),
        },
    );
    c
}

fn decode_with(d: &mut Protobuf, bytes: &[u8]) -> Result<(Decoded, Message), DecodeError> {
    let mut pack = PipelinePack::new(bytes.len().max(1));
    assert!(pack.set_raw(bytes));
    pack.recv_time = RECV;
    let r = d.decode(&mut pack)?;
    Ok((r, pack.message))
}

fn decode(bytes: &[u8]) -> Result<(Decoded, Message), DecodeError> {
    decode_with(&mut decoder(&ProtobufDecoderConfig::default()), bytes)
}

#[test]
fn config_defaults_round_trip_and_heka_spelling() {
    let c = ProtobufDecoderConfig::default();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"signers": {}, "require_signature": false})
    );
    assert_eq!(
        serde_json::from_value::<ProtobufDecoderConfig>(v).unwrap(),
        c
    );
    let heka: ProtobufDecoderConfig =
        serde_json::from_value(serde_json::json!({"signer": {"ops_1": {"hmac_key": KEY}}}))
            .unwrap();
    assert_eq!(heka, signed_config(false));
    assert!(serde_json::from_value::<ProtobufDecoderConfig>(
        serde_json::json!({"signers": {"ops_1": {"key": "k"}}})
    )
    .is_err());
}

#[test]
fn config_errors_are_build_errors() {
    let ctx = BuildContext::standalone("ProtobufDecoder");
    let mut c = signed_config(false);
    c.signers.insert("ops".into(), SignerConfig::default());
    let e = c.build(&ctx).unwrap_err().to_string();
    assert!(e.contains("\"ops\""), "{e}");
    let c = ProtobufDecoderConfig {
        require_signature: true,
        ..ProtobufDecoderConfig::default()
    };
    assert!(c.build(&ctx).is_err());
}

#[test]
fn golden_bare_and_unsigned_framed_messages() {
    let bare = golden_message_bytes();
    assert_eq!(bare.len(), 179);
    let (d, m) = decode(&bare).unwrap();
    assert_eq!(d, Decoded::Clean);
    assert!(m.same_as(&golden()), "{m:?}");
    let (_, m) = decode(&framed(GOLDEN_UNSIGNED_HEAD)).unwrap();
    assert!(m.same_as(&golden()), "{m:?}");
    let fields: Vec<(&str, &str, Values<'_>)> = m
        .fields
        .as_slice()
        .iter()
        .map(|f| (f.name.as_str(), f.representation.as_str(), f.values.get()))
        .collect();
    let bar = ["bar".to_string()];
    let raw = [vec![0x00, 0xff]];
    assert_eq!(
        fields,
        [
            ("foo", "", Values::String(&bar)),
            ("number", "count", Values::Integer(&[64, -1])),
            ("ratio", "", Values::Double(&[0.5, 1.25])),
            ("flags", "", Values::Bool(&[true, false])),
            ("raw", "", Values::Bytes(&raw)),
        ]
    );
}

#[test]
fn the_encoder_writes_the_golden_bytes() {
    let mut out = Vec::new();
    encode_message(&golden(), &mut out);
    assert_eq!(out, golden_message_bytes());
    assert_eq!(message_len(&golden()), out.len());
    out.clear();
    encode_frame(&golden(), None, &mut out);
    assert_eq!(out, framed(GOLDEN_UNSIGNED_HEAD));
    for (hash, head) in [
        (HashFunction::Md5, GOLDEN_MD5_HEAD),
        (HashFunction::Sha1, GOLDEN_SHA1_HEAD),
    ] {
        let key = SigningKey::new("ops", 1, hash, KEY.as_bytes()).unwrap();
        out.clear();
        encode_frame(&golden(), Some(&key), &mut out);
        assert_eq!(out, framed(head), "{hash:?}");
    }
}

#[test]
fn golden_signed_frames_verify_with_the_right_key_only() {
    for head in [GOLDEN_MD5_HEAD, GOLDEN_SHA1_HEAD] {
        let bytes = framed(head);
        let mut d = decoder(&signed_config(false));
        let (_, m) = decode_with(&mut d, &bytes).unwrap();
        assert!(m.same_as(&golden()));
        assert_eq!(d.bad_signature.get() + d.unknown_signer.get(), 0);

        // Without signers the signer is unknown.
        let mut none = decoder(&ProtobufDecoderConfig::default());
        assert_eq!(
            decode_with(&mut none, &bytes).map(|_| ()),
            Err(DecodeError::UnknownSigner)
        );
        assert_eq!(none.unknown_signer.get(), 1);

        // The wrong key.
        let mut c = signed_config(false);
        c.signers.get_mut("ops_1").unwrap().hmac_key = "not the key".into();
        let mut wrong = decoder(&c);
        assert_eq!(
            decode_with(&mut wrong, &bytes).map(|_| ()),
            Err(DecodeError::BadSignature)
        );
        assert_eq!(wrong.bad_signature.get(), 1);

        // The right key under another version.
        let mut c = ProtobufDecoderConfig::default();
        c.signers.insert(
            "ops_2".into(),
            SignerConfig {
                hmac_key: KEY.into(),
            },
        );
        assert_eq!(
            decode_with(&mut decoder(&c), &bytes).map(|_| ()),
            Err(DecodeError::UnknownSigner)
        );

        // One flipped payload bit.
        let mut tampered = bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            decode_with(&mut d, &tampered).map(|_| ()),
            Err(DecodeError::BadSignature)
        );
        assert_eq!(d.bad_signature.get(), 1);
    }
}

#[test]
fn require_signature_refuses_unsigned_and_bare_messages() {
    let mut d = decoder(&signed_config(true));
    for bytes in [framed(GOLDEN_UNSIGNED_HEAD), golden_message_bytes()] {
        assert_eq!(
            decode_with(&mut d, &bytes).map(|_| ()),
            Err(DecodeError::UnknownSigner)
        );
    }
    assert_eq!(d.unsigned.get(), 2);
    assert!(decode_with(&mut d, &framed(GOLDEN_SHA1_HEAD)).is_ok());
}

#[test]
fn defaults_for_missing_values() {
    let (d, m) = decode(&[]).unwrap();
    assert_eq!(d, Decoded::TimestampDefaulted);
    assert_eq!(m.timestamp, RECV);
    assert_eq!(m.severity, DEFAULT_SEVERITY);
    // A uuid of the wrong length is treated as missing; unknown fields are skipped.
    let (_, m) = decode(&unhex("0a03010203" /* uuid */)).unwrap();
    assert_eq!(m.uuid, [0; 16]);
    let (d, m) = decode(&unhex("10057a0378797a5d01020304")).unwrap();
    assert_eq!((d, m.timestamp), (Decoded::Clean, 5));
    // severity = -1 as a sign-extended int32.
    let (_, m) = decode(&unhex("28ffffffffffffffffff01")).unwrap();
    assert_eq!(m.severity, -1);
    // A field with no values keeps its type.
    let (_, m) = decode(&unhex("52050a01781002")).unwrap();
    assert_eq!(
        m.fields.as_slice()[0].values.value_type(),
        ValueType::Integer
    );
    assert!(m.fields.as_slice()[0].values.is_empty());
}

#[test]
fn unpacked_numbers_mismatched_values_and_any_field_order() {
    // value_integer unpacked twice, a value_string the INTEGER type ignores, and value_type
    // after the values.
    let (_, m) = decode(&unhex("520f0a016e300730ff0122036261721002")).unwrap();
    let f = &m.fields.as_slice()[0];
    assert_eq!(f.values.get(), Values::Integer(&[7, 255]));
    // value_double unpacked (fixed64) and value_bool unpacked.
    let mut body = unhex("0a0164100339");
    body.extend(2.5f64.to_le_bytes());
    let mut bytes = vec![0x52, body.len() as u8];
    bytes.extend(&body);
    bytes.extend(unhex("52070a016210044001"));
    let (_, m) = decode(&bytes).unwrap();
    assert_eq!(m.fields.as_slice()[0].values.get(), Values::Double(&[2.5]));
    assert_eq!(m.fields.as_slice()[1].values.get(), Values::Bool(&[true]));
}

#[test]
fn errors() {
    let m = |offset| Err(DecodeError::Malformed { offset });
    let e = |hex: &str| decode(&unhex(hex)).map(|_| ());
    assert_eq!(e("0810"), m(0), "uuid as a varint");
    assert_eq!(e("2a0106"), m(0), "severity as bytes");
    assert_eq!(e("0b"), m(0), "start group");
    assert_eq!(e("3203ffffff"), Err(DecodeError::InvalidUtf8 { offset: 2 }));
    assert_eq!(e("3205616263"), Err(DecodeError::Truncated { needed: 2 }));
    assert_eq!(e("52031005"), Err(DecodeError::Truncated { needed: 1 }));
    assert_eq!(e("5202100a"), m(2), "value_type 10");
    assert_eq!(e("520410033a01"), Err(DecodeError::Truncated { needed: 1 }));
    assert_eq!(
        e("520510033a0100"),
        m(6),
        "packed doubles not a multiple of 8"
    );
    let mut many = Vec::new();
    for _ in 0..=engine::MAX_FIELDS {
        many.extend([0x52, 0x00]);
    }
    assert_eq!(
        decode(&many).map(|_| ()),
        Err(DecodeError::TooManyFields {
            limit: engine::MAX_FIELDS
        })
    );
    // Frames: a header without message_length, a short or long frame, a size over the limit.
    assert!(decode(&unhex("1e001f")).is_err());
    let good = framed(GOLDEN_UNSIGNED_HEAD);
    assert_eq!(
        decode(&good[..good.len() - 1]).map(|_| ()),
        Err(DecodeError::Truncated { needed: 1 })
    );
    let mut small = decoder(&ProtobufDecoderConfig::default());
    small.max_message_size = 100;
    assert_eq!(
        decode_with(&mut small, &good).map(|_| ()),
        Err(DecodeError::TooLarge { len: 179 })
    );
}

fn arbitrary_input_is_an_error_or_a_bounded_message(bytes: &[u8]) {
    for config in [ProtobufDecoderConfig::default(), signed_config(false)] {
        if let Ok((_, m)) = decode_with(&mut decoder(&config), bytes) {
            assert_bounded(&m, bytes.len());
        }
    }
}

const PROTOBUF: Carries = Carries {
    representation: true,
    bytes: true,
    empty: true,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn round_trip_bare_and_framed(m in message(PROTOBUF)) {
        let mut bare = Vec::new();
        encode_message(&m, &mut bare);
        prop_assert_eq!(bare.len(), message_len(&m));
        let (d, back) = decode(&bare).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(d, Decoded::Clean);
        prop_assert!(back.same_as(&m), "{:?}\n!=\n{:?}", back, m);

        let mut frame = Vec::new();
        encode_frame(&m, None, &mut frame);
        prop_assert_eq!(frame_len(&frame, 65_507), Ok(Some(frame.len())));
        let (_, back) = decode(&frame).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert!(back.same_as(&m));
    }

    #[test]
    fn round_trip_signed(m in message(PROTOBUF), sha1 in any::<bool>()) {
        let hash = if sha1 { HashFunction::Sha1 } else { HashFunction::Md5 };
        let key = SigningKey::new("ops", 1, hash, KEY.as_bytes()).unwrap();
        let mut frame = Vec::new();
        encode_frame(&m, Some(&key), &mut frame);
        let mut d = decoder(&signed_config(true));
        let (_, back) = decode_with(&mut d, &frame)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert!(back.same_as(&m));
        let f = parse_frame(&frame, 65_507).unwrap();
        prop_assert_eq!(f.header.hmac.map(<[u8]>::len), Some(hash.digest_len()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        arbitrary_input_is_an_error_or_a_bounded_message(&bytes);
        let mut framed = vec![0x1e];
        framed.extend(&bytes);
        arbitrary_input_is_an_error_or_a_bounded_message(&framed);
        frame_len(&framed, 200).ok();
    }

    #[test]
    fn mutated_frames_never_panic(
        m in message(PROTOBUF),
        signed in any::<bool>(),
        edits in prop::collection::vec(mutation(), 1..5),
    ) {
        let key = SigningKey::new("ops", 1, HashFunction::Md5, KEY.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        encode_frame(&m, signed.then_some(&key), &mut bytes);
        for e in &edits {
            apply(&mut bytes, e);
        }
        arbitrary_input_is_an_error_or_a_bounded_message(&bytes);
        if let Ok(Some(n)) = frame_len(&bytes, 65_507) {
            prop_assert!(n <= crate::framing::max_frame_len(65_507));
        }
        let mut bare = Vec::new();
        encode_message(&m, &mut bare);
        for e in &edits {
            apply(&mut bare, e);
        }
        arbitrary_input_is_an_error_or_a_bounded_message(&bare);
    }
}
