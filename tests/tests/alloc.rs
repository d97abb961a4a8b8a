//! Zero allocations per message in steady state: UDP receive → JSON decode (with escaped
//! strings) → route → FileOutput text and JSON formatting, counted by a global allocator
//! on every thread but the test's own.

use std::io::Write as _;
use std::net::UdpSocket;
use std::time::Duration;

use engine::testing::{allocations, ignore_this_thread, CountingAllocator};
use tests::{input_addr, start, wait_for};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn datagram(seq: u64, out: &mut Vec<u8>) {
    out.clear();
    write!(
        out,
        r#"{{"type":"t","timestamp":"2026-11-25T03:58:00.105194Z","logger":"app\tx","severity":6,"payload":"seq={seq:010} caf\u00e9 \"quoted\" \\ tab\t","fields":{{"seq":{seq},"name":"n\u00e9","ratio":0.5,"ok":true,"nested":{{"k":"v"}}}},"metlog_pid":42,"metlog_hostname":"h"}}"#
    )
    .unwrap();
}

#[test]
fn steady_state_allocates_nothing_per_message() {
    ignore_this_thread();
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "engine":   {"pool_size": 256},
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "text", "type": "FileOutput", "path": "t.log", "prefix_ts": true},
                   {"name": "json", "type": "FileOutput", "path": "j.log", "format": "json"}],
      "chains":   {"default": {"outputs": ["text", "json"]}}
    }"#,
    );
    let addr = input_addr(&p, "udp");
    let routed = p.counters().get("json", "routed");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = Vec::with_capacity(1024);
    let mut send = |from: u64, n: u64| {
        for seq in from..from + n {
            datagram(seq, &mut buf);
            sock.send_to(&buf, addr).unwrap();
            if seq % 64 == 0 {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    };
    const WARM: u64 = 5_000;
    const N: u64 = 20_000;
    send(0, WARM);
    assert_eq!(wait_for(&routed, WARM, Duration::from_secs(20)), WARM);
    std::thread::sleep(Duration::from_millis(1200)); // one commit cycle happens while warming
    let before = allocations();
    send(WARM, N);
    assert_eq!(
        wait_for(&routed, WARM + N, Duration::from_secs(30)),
        WARM + N
    );
    let during = allocations() - before;
    p.stop();
    let report = p.wait();
    assert_eq!(report.value("udp", "kernel_drops"), 0, "{report}");
    assert_eq!(
        during, 0,
        "{during} allocations for {N} messages in steady state"
    );
    assert!(report.balances(), "{report}");
}
