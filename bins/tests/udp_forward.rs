//! hekad → UdpOutput (framed protobuf) → hekad: two real daemons on loopback. A message with
//! every header field and fields of every value type arrives field for field, and numbered
//! messages are all counted through both. Every wait is bounded.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use engine::Message;
use plugins::decoders::protobuf::decode_message;
use plugins::encoders::encode_frame;
use plugins::framing::{frame_len, parse_frame};
use tests::{json_datagram, send_paced, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// A message using every header field, and fields of every value type (lists too).
fn full_message() -> Message {
    let mut m = Message {
        uuid: *b"0123456789abcdef",
        timestamp: 1_795_579_080_105_194_123,
        severity: 3,
        pid: 8531,
        ..Message::default()
    };
    m.msg_type.push_str("forwarded");
    m.logger.push_str("edge-app");
    m.payload.push_str("hello \"heka\"\nline two ✓");
    m.env_version.push_str("0.8");
    m.hostname.push_str("edge-1");
    let f = m.add_field().unwrap();
    f.name.push_str("ss");
    f.representation.push_str("text");
    f.values.push_string().push_str("one");
    f.values.push_string().push_str("two");
    let f = m.add_field().unwrap();
    f.name.push_str("bb");
    f.values.reset(engine::ValueType::Bytes);
    f.values.push_bytes().extend_from_slice(&[0, 1, 0xfe, 0xff]);
    let f = m.add_field().unwrap();
    f.name.push_str("ii");
    f.representation.push_str("count");
    f.values.push_integer(-5);
    f.values.push_integer(i64::MAX);
    let f = m.add_field().unwrap();
    f.name.push_str("dd");
    f.values.push_double(2.5);
    f.values.push_double(-1e300);
    let f = m.add_field().unwrap();
    f.name.push_str("tt");
    f.values.push_bool(true);
    f.values.push_bool(false);
    m
}

/// The messages in a file of back-to-back frames.
fn frames_in(path: &Path) -> Vec<Message> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let n = frame_len(&bytes[at..], 1 << 20)
            .expect("well-formed frames")
            .expect("whole frames");
        let frame = parse_frame(&bytes[at..at + n], 1 << 20).unwrap();
        let mut m = Message::default();
        decode_message(frame.message, 0, &mut m, 0).unwrap();
        out.push(m);
        at += n;
    }
    out
}

fn wait_frames(path: &Path, n: usize, timeout: Duration) -> Vec<Message> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = frames_in(path);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(addr: SocketAddr, datagram: &[u8]) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(datagram, addr).unwrap();
}

#[test]
fn udp_output_forwards_protobuf_field_for_field_to_another_hekad() {
    let dir_b = tempfile::tempdir().unwrap();
    let mut b = Hekad::start_with_config(
        BIN,
        dir_b.path(),
        r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"type": "JsonDecoder", "default": true}, {"type": "ProtobufDecoder"}],
  "outputs":  [{"name": "file", "type": "FileOutput", "path": "out.pb", "format": "protobuf",
                "flush_interval_ms": 50}],
  "chains":   {"default": {"outputs": ["file"]}}
}"#,
    );
    let b_addr = b.udp_addr("udp");
    let dir_a = tempfile::tempdir().unwrap();
    let mut a = Hekad::start_with_config(
        BIN,
        dir_a.path(),
        &format!(
            r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "JsonDecoder", "default": true}}, {{"type": "ProtobufDecoder"}}],
  "outputs":  [{{"name": "fwd", "type": "UdpOutput", "address": "{b_addr}",
                 "format": "protobuf", "max_datagram_bytes": 1472, "flush_interval_ms": 20}}],
  "chains":   {{"default": {{"outputs": ["fwd"]}}}}
}}"#
        ),
    );
    let a_addr = a.udp_addr("udp");

    let original = full_message();
    let mut frame = Vec::new();
    encode_frame(&original, None, &mut frame);
    send(a_addr, &frame);
    let got = wait_frames(&dir_b.path().join("out.pb"), 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "b stderr: {:#?}", b.stderr());
    assert!(
        got[0].same_as(&original),
        "field for field:\n sent {original:?}\n  got {:?}",
        got[0]
    );

    // Numbered JSON messages, and one too big for a 1472-byte datagram: a counted write error.
    const N: u64 = 2000;
    let sent = send_paced(a_addr, N, 20_000, json_datagram);
    let big = format!("{{\"type\":\"big\",\"payload\":\"{}\"}}", "x".repeat(2000));
    send(a_addr, big.as_bytes());
    let got = wait_frames(
        &dir_b.path().join("out.pb"),
        1 + N as usize,
        Duration::from_secs(30),
    );
    let a = a.stop_gracefully();
    let b = b.stop_gracefully();
    let got_after = frames_in(&dir_b.path().join("out.pb"));
    assert_eq!(got.len(), got_after.len(), "nothing more arrived after");
    let mut seqs: Vec<i64> = got[1..]
        .iter()
        .map(|m| match m.field("seq").map(|f| f.values.get()) {
            Some(engine::Values::Integer(v)) => v[0],
            other => panic!("no seq field: {other:?}"),
        })
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len() as u64, N, "every numbered message once");
    assert_eq!(a.final_count("fwd", "routed"), Some(sent + 2));
    assert_eq!(a.final_count("fwd", "delivered"), Some(sent + 1));
    assert_eq!(a.final_count("fwd", "write_errors"), Some(1), "the big one");
    assert_eq!(b.final_count("udp", "accepted"), Some(sent + 1));
    assert_eq!(b.final_count("file", "delivered"), Some(sent + 1));
    tests::assert_balanced(&a);
    tests::assert_balanced(&b);
}
