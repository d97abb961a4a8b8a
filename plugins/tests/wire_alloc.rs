//! The msgpack and protobuf decoders and encoders (a signed frame included) allocate nothing
//! once warm, counted by a global allocator. One test per binary, so no other test's
//! allocations are counted.

use engine::testing::{thread_allocations, CountingAllocator};
use engine::{BuildContext, Decoder, Message, PipelinePack, PluginConfig};
use plugins::decoders::{MsgPackDecoderConfig, ProtobufDecoderConfig, SignerConfig};
use plugins::encoders::{encode_frame, encode_message, encode_msgpack};
use plugins::framing::{HashFunction, SigningKey};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn messages() -> Vec<Message> {
    let mut big = Message {
        uuid: [7; 16],
        timestamp: 1_795_579_080_105_194_000,
        severity: 6,
        pid: 8531,
        ..Message::default()
    };
    big.msg_type.push_str("mytype");
    big.logger.push_str("myapp");
    big.payload.push_str(&"hello heka ".repeat(100));
    big.env_version.push_str("0.8");
    big.hostname.push_str("vm");
    let f = big.add_field().unwrap();
    f.name.push_str("seq");
    f.representation.push_str("count");
    f.values.push_integer(42);
    let f = big.add_field().unwrap();
    f.name.push_str("names");
    f.values.push_string().push('a');
    f.values.push_string().push('é');
    let f = big.add_field().unwrap();
    f.name.push_str("ratios");
    f.values.push_double(0.5);
    f.values.push_double(-1e300);
    let f = big.add_field().unwrap();
    f.name.push_str("raw");
    f.values.push_bytes().extend_from_slice(&[0, 1, 2]);
    let f = big.add_field().unwrap();
    f.name.push_str("ok");
    f.values.push_bool(true);
    let mut small = Message::default();
    small.payload.push_str("short");
    vec![big, small]
}

#[test]
fn steady_state_decode_and_encode_allocate_nothing() {
    let sanity = thread_allocations();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert!(
        thread_allocations() > sanity,
        "the counting allocator is installed"
    );

    let ctx = BuildContext::standalone("decoder");
    let mut msgpack = MsgPackDecoderConfig::default().build(&ctx).unwrap();
    let mut config = ProtobufDecoderConfig::default();
    config.signers.insert(
        "ops_1".into(),
        SignerConfig {
            hmac_key: "key".into(),
        },
    );
    let mut protobuf = config.build(&ctx).unwrap();
    let key = SigningKey::new("ops", 1, HashFunction::Sha1, b"key").unwrap();
    let messages = messages();
    let mut pack = PipelinePack::new(65_507);
    let mut out = Vec::with_capacity(65_507);
    let mut round = |pack: &mut PipelinePack, out: &mut Vec<u8>| {
        for m in &messages {
            out.clear();
            encode_msgpack(m, out);
            pack.reset();
            assert!(pack.set_raw(out));
            msgpack.decode(pack).unwrap();
            assert_eq!(pack.message.payload, m.payload); // msgpack drops representations

            out.clear();
            encode_message(m, out);
            pack.reset();
            assert!(pack.set_raw(out));
            protobuf.decode(pack).unwrap();
            assert!(pack.message.same_as(m));

            out.clear();
            encode_frame(m, Some(&key), out);
            pack.reset();
            assert!(pack.set_raw(out));
            protobuf.decode(pack).unwrap();
            assert!(pack.message.same_as(m));
        }
    };
    round(&mut pack, &mut out); // warm: buffers grow to the largest message
                                // Only this thread's allocations: the harness's own threads may allocate meanwhile.
    let before = thread_allocations();
    for _ in 0..1000 {
        round(&mut pack, &mut out);
    }
    assert_eq!(
        thread_allocations() - before,
        0,
        "allocations in steady state"
    );
}
