//! The JSON decoder and encoder allocate nothing once warm, counted by a global allocator.
//! Only the test thread's own allocations are counted.

use engine::testing::{thread_allocations, CountingAllocator};
use engine::{BuildContext, Decoder, PipelinePack, PluginConfig};
use plugins::decoders::JsonDecoderConfig;
use plugins::encoders::encode_json;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Escaped strings, nested fields, arrays (with an Integer→Double promotion), a uuid.
const DATAGRAMS: [&str; 3] = [
    concat!(
        r#"{"severity": 6, "timestamp": "2026-11-25T03:58:00.105194Z", "metlog_hostname": "vm", "#,
        r#""fields": {"foo": "bar"}, "metlog_pid": 8531, "logger": "myapp", "type": "mytype", "#,
        r#""payload": "hello heka", "env_version": "0.8"}"#,
    ),
    concat!(
        r#"{"type":"t","timestamp":"2026-11-25T03:58:00.105194Z","logger":"app\tx","#,
        r#""severity":6,"payload":"caf\u00e9 \"quoted\" \\ tab\t \uD83D\uDE00","#,
        r#""fields":{"seq":1,"name":"n\u00e9","ratio":0.5,"ok":true,"#,
        r#""nested":{"k":"v","deeper":{"x":[1,2.5]}},"ss":["a","\u00e9"]},"#,
        r#""metlog_pid":42,"metlog_hostname":"h","uuid":"550e8400-e29b-41d4-a716-446655440000","#,
        r#""unknown":{"a":[1,{"b":"c"}]}}"#,
    ),
    r#"{"payload": "short", "fields": {}}"#,
];

#[test]
fn steady_state_decode_and_encode_allocate_nothing() {
    let sanity = thread_allocations();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert!(
        thread_allocations() > sanity,
        "the counting allocator is installed"
    );
    let mut json = JsonDecoderConfig::default()
        .build(&BuildContext::standalone("json"))
        .unwrap();
    let mut pack = PipelinePack::new(4096);
    let mut out = Vec::with_capacity(4096);
    let mut round = |pack: &mut PipelinePack, out: &mut Vec<u8>| {
        for d in DATAGRAMS {
            pack.reset();
            assert!(pack.set_raw(d.as_bytes()));
            json.decode(pack).unwrap();
            out.clear();
            encode_json(&pack.message, out);
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
