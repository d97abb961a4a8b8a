//! Routing with the real `hekad`: filter chains by type with a matcher-gated output,
//! LogOutput on stdout, CountFilter and HeartbeatFilter injections. Every wait is bounded.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use tests::{lines, wait_line, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

fn send(addr: SocketAddr, datagrams: &[String]) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        sock.send_to(d.as_bytes(), addr).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn json(msg_type: &str, severity: u8, payload: &str) -> String {
    format!(
        r#"{{"type":"{msg_type}","severity":{severity},"payload":"{payload}","logger":"app","hostname":"h1"}}"#
    )
}

#[test]
fn two_chains_and_a_matcher_gated_output_route_each_type_to_its_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let hekad = {
        let mut h = Hekad::start_with_config(
            BIN,
            dir.path(),
            r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "outputs":  [
    {"name": "a_out", "type": "FileOutput", "path": "a.log", "flush_interval_ms": 50},
    {"name": "b_out", "type": "FileOutput", "path": "b.log", "flush_interval_ms": 50},
    {"name": "urgent", "type": "FileOutput", "path": "urgent.log", "flush_interval_ms": 50,
     "message_matcher": "severity <= 3 && type == \"beta\" && payload =~ /^b/"},
    {"name": "log", "type": "LogOutput"}
  ],
  "chains": {
    "alpha":   {"message_type": "alpha", "outputs": ["a_out"]},
    "beta":    {"message_type": ["beta"], "outputs": ["b_out", "urgent"]},
    "default": {"outputs": ["log"]}
  }
}"#,
        );
        let addr = h.udp_addr("udp");
        let mut d = Vec::new();
        for i in 0..30 {
            d.push(json("alpha", 2, &format!("a{i}")));
            d.push(json(
                "beta",
                if i % 2 == 0 { 2 } else { 6 },
                &format!("b{i}"),
            ));
        }
        for i in 0..5 {
            d.push(json("other", 2, &format!("o{i}")));
        }
        send(addr, &d);
        std::thread::sleep(Duration::from_millis(300));
        h.stop_gracefully()
    };
    let a = lines(&dir.path().join("a.log"));
    let b = lines(&dir.path().join("b.log"));
    let urgent = lines(&dir.path().join("urgent.log"));
    assert_eq!(a.len(), 30, "{a:?}");
    assert!(a.iter().all(|l| l.starts_with('a')), "{a:?}");
    assert_eq!(b.len(), 30, "{b:?}");
    assert!(b.iter().all(|l| l.starts_with('b')), "{b:?}");
    let even: Vec<String> = (0..30).step_by(2).map(|i| format!("b{i}")).collect();
    assert_eq!(urgent, even, "only beta with severity <= 3");
    let out: Vec<String> = hekad
        .stdout()
        .into_iter()
        .filter(|l| l.starts_with('o'))
        .collect();
    assert_eq!(
        out,
        ["o0", "o1", "o2", "o3", "o4"],
        "LogOutput: one line each"
    );
    assert!(!hekad
        .stdout()
        .iter()
        .any(|l| l.starts_with('a') || l.starts_with('b')));
}

#[test]
fn count_filter_counts_per_type_and_heartbeat_alerts_on_silence_and_return() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("meta.log");
    let mut h = Hekad::start_with_config(
        BIN,
        dir.path(),
        r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "filters":  [
    {"name": "counts", "type": "CountFilter", "ticker_interval_secs": 1},
    {"name": "hb", "type": "HeartbeatFilter", "timeout_secs": 1, "ticker_interval_secs": 1}
  ],
  "outputs":  [{"name": "meta", "type": "FileOutput", "path": "meta.log",
                "flush_interval_ms": 50}],
  "chains": {
    "meta":    {"message_type": ["heka.counts", "heka.alert"], "outputs": ["meta"]},
    "default": {"filters": ["counts", "hb"]}
  }
}"#,
    );
    let addr = h.udp_addr("udp");
    let burst: Vec<String> = ["alpha", "beta", "alpha", "beta", "alpha"]
        .iter()
        .map(|t| json(t, 6, "x"))
        .collect();
    send(addr, &burst);
    let quiet = wait_line(&meta, "source app@h1 quiet since", Duration::from_secs(10));
    assert!(quiet.is_some(), "no quiet alert: {:?}", lines(&meta));
    send(addr, &[json("alpha", 6, "back")]);
    let back = wait_line(
        &meta,
        "source app@h1 back (quiet since",
        Duration::from_secs(10),
    );
    assert!(back.is_some(), "no back alert: {:?}", lines(&meta));
    assert!(
        wait_line(&meta, "alpha 1", Duration::from_secs(10)).is_some(),
        "the returning message is counted in a later interval: {:?}",
        lines(&meta)
    );
    h = h.stop_gracefully();
    // A count line is `<type> <n>`; an interval may split the burst, so sum them.
    let total = |t: &str| -> u64 {
        lines(&meta)
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{t} ")))
            .map(|n| n.parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(total("alpha"), 4, "{:?}", lines(&meta));
    assert_eq!(total("beta"), 2, "{:?}", lines(&meta));
    let alerts = lines(&meta)
        .iter()
        .filter(|l| l.starts_with("source app@h1 "))
        .count();
    assert!(alerts >= 2, "{:?}", lines(&meta));
    assert_eq!(h.final_count("route", "inject_refused"), Some(0));
}
