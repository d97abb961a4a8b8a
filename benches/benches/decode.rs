//! Every decoder on 200-byte and 2 KiB messages, in messages/s and bytes/s, with
//! `serde_json::Value` as a baseline and a `base` bench for the loop's own cost.
//!
//! `cargo bench --bench decode`
//!
//! Each message is the same heka-flood-like message (type, logger, hostname, a `seq` and a
//! few other fields) with its payload padded so that its encoding in the format under test
//! is the named size. Protobuf is measured bare, framed, and framed with an HMAC-SHA1
//! signature that the decoder verifies.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::{BuildContext, Decoder, Message, PipelinePack, PluginConfig};
use plugins::decoders::{
    JsonDecoderConfig, MsgPackDecoderConfig, ProtobufDecoderConfig, SignerConfig,
};
use plugins::encoders::{encode_frame, encode_json, encode_message, encode_msgpack};
use plugins::framing::{HashFunction, SigningKey};

const SIZES: [(usize, &str); 2] = [(200, "200B"), (2048, "2KiB")];

/// The bench message with `pad` payload bytes after `seq=NNNNNNNNNN `.
fn message(pad: usize) -> Message {
    let mut m = Message {
        uuid: [0x42; 16],
        timestamp: 1_795_579_080_105_194_000,
        severity: 6,
        pid: 8531,
        ..Message::default()
    };
    m.msg_type.push_str("bench");
    m.logger.push_str("heka-flood");
    m.env_version.push_str("0.8");
    m.hostname.push_str("localhost");
    m.payload = format!("seq={:010} {}", 12345, "x".repeat(pad));
    let f = m.add_field().unwrap();
    f.name.push_str("seq");
    f.values.push_integer(12345);
    let f = m.add_field().unwrap();
    f.name.push_str("host");
    f.values.push_string().push_str("web-01");
    let f = m.add_field().unwrap();
    f.name.push_str("ratio");
    f.values.push_double(0.25);
    m
}

/// `encode(message)` padded to `size` bytes (or as close as the format allows).
fn encoded(size: usize, encode: impl Fn(&Message, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&message(0), &mut out);
    let pad = size.saturating_sub(out.len());
    out.clear();
    encode(&message(pad), &mut out);
    out
}

/// Writes a message in one format.
type Encode = Box<dyn Fn(&Message, &mut Vec<u8>)>;

/// Each decoder under test, with the encoder of its format.
fn decoders() -> Vec<(&'static str, Box<dyn Decoder>, Encode)> {
    let ctx = BuildContext::standalone("bench");
    let mut signed = ProtobufDecoderConfig::default();
    signed.signers.insert(
        "ops_1".into(),
        SignerConfig {
            hmac_key: "bench-key".into(),
        },
    );
    let key = SigningKey::new("ops", 1, HashFunction::Sha1, b"bench-key").unwrap();
    let protobuf = || ProtobufDecoderConfig::default().build(&ctx).unwrap();
    vec![
        (
            "json",
            Box::new(JsonDecoderConfig::default().build(&ctx).unwrap()),
            Box::new(encode_json),
        ),
        (
            "msgpack",
            Box::new(MsgPackDecoderConfig::default().build(&ctx).unwrap()),
            Box::new(encode_msgpack),
        ),
        ("protobuf", Box::new(protobuf()), Box::new(encode_message)),
        (
            "protobuf_framed",
            Box::new(protobuf()),
            Box::new(|m: &Message, out: &mut Vec<u8>| encode_frame(m, None, out)),
        ),
        (
            "protobuf_signed_sha1",
            Box::new(signed.build(&ctx).unwrap()),
            Box::new(move |m: &Message, out: &mut Vec<u8>| encode_frame(m, Some(&key), out)),
        ),
    ]
}

fn decode(c: &mut Criterion) {
    for (size, size_name) in SIZES {
        let mut g = c.benchmark_group(format!("decode_{size_name}"));
        g.measurement_time(Duration::from_secs(2));
        g.warm_up_time(Duration::from_millis(500));
        let mut pack = PipelinePack::new(65_507);
        g.throughput(Throughput::Elements(1));
        g.bench_function("base", |b| b.iter(|| black_box(&mut pack).recv_time += 1));
        for (name, mut decoder, encode) in decoders() {
            let bytes = encoded(size, encode);
            assert!(pack.set_raw(&bytes));
            decoder
                .decode(&mut pack)
                .expect("the bench message decodes");
            for (unit, throughput) in [
                ("msgs", Throughput::Elements(1)),
                ("bytes", Throughput::Bytes(bytes.len() as u64)),
            ] {
                g.throughput(throughput);
                g.bench_with_input(BenchmarkId::new(unit, name), &(), |b, ()| {
                    b.iter(|| decoder.decode(black_box(&mut pack)))
                });
            }
        }
        let json = encoded(size, encode_json);
        for (unit, throughput) in [
            ("msgs", Throughput::Elements(1)),
            ("bytes", Throughput::Bytes(json.len() as u64)),
        ] {
            g.throughput(throughput);
            g.bench_with_input(BenchmarkId::new(unit, "serde_json_value"), &(), |b, ()| {
                b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&json)).unwrap())
            });
        }
        g.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
