//! Filter chains, the message generator and matchers, in real pipelines over loopback UDP.

use std::net::UdpSocket;
use std::time::Duration;

use engine::config::Config;
use engine::{
    BuildContext, BuildError, Filter, Generator, PackState, PipelinePack, PluginConfig, Registry,
};
use serde::{Deserialize, Serialize};
use tests::{input_addr, wait_for};

/// Injects `copies` messages of type "copy" for every message it sees (of any type).
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AmplifyConfig {
    copies: usize,
    /// Re-inject every message, copies included (a loop).
    #[serde(default)]
    loop_forever: bool,
}

struct Amplify(AmplifyConfig);

impl PluginConfig for AmplifyConfig {
    type Plugin = Amplify;
    fn build(&self, _ctx: &BuildContext) -> Result<Amplify, BuildError> {
        Ok(Amplify(self.clone()))
    }
}

impl Filter for Amplify {
    fn filter(&mut self, pack: &mut PipelinePack, generator: &mut Generator) {
        if pack.message.msg_type == "copy" && !self.0.loop_forever {
            return;
        }
        for _ in 0..self.0.copies {
            let Some(mut h) = generator.retrieve() else {
                return;
            };
            h.message.msg_type.push_str("copy");
            h.message.payload.push_str(&pack.message.payload);
            generator.inject(h);
        }
    }
}

/// Blocks messages of severity above 4 and sends the rest to output bit 1 only.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TriageConfig {}

struct Triage;

impl PluginConfig for TriageConfig {
    type Plugin = Triage;
    fn build(&self, _ctx: &BuildContext) -> Result<Triage, BuildError> {
        Ok(Triage)
    }
}

impl Filter for Triage {
    fn filter(&mut self, pack: &mut PipelinePack, _generator: &mut Generator) {
        if pack.message.severity > 4 {
            pack.state = PackState::Blocked;
        } else {
            pack.outputs = 1 << 1;
        }
    }
}

fn registry() -> Registry {
    let mut r = tests::registry();
    r.filter::<AmplifyConfig>("AmplifyFilter");
    r.filter::<TriageConfig>("TriageFilter");
    r
}

fn start(dir: &std::path::Path, config: &str) -> engine::Pipeline {
    let config = Config::parse(config, dir.join("test.json")).expect("config");
    engine::run_with(&registry(), &config).expect("start")
}

fn send(addr: std::net::SocketAddr, datagrams: impl IntoIterator<Item = String>) -> u64 {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut n = 0;
    for d in datagrams {
        sock.send_to(d.as_bytes(), addr).unwrap();
        n += 1;
        if n % 64 == 0 {
            std::thread::sleep(Duration::from_micros(300));
        }
    }
    n
}

#[test]
fn a_filter_injecting_into_a_full_ring_cannot_deadlock_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    // 8 slots, 4 holders: the ring is full almost all the time and `retrieve` runs dry.
    let p = start(
        dir.path(),
        r#"{
      "engine":   {"pool_size": 8, "batch": 4, "budget": 4},
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "filters":  [{"name": "amp", "type": "AmplifyFilter", "copies": 8}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 20}],
      "chains":   {"default": {"filters": ["amp"], "outputs": ["out"]}}
    }"#,
    );
    let addr = input_addr(&p, "udp");
    let n = send(
        addr,
        (0..2000).map(|i| format!(r#"{{"type":"orig","payload":"m{i}"}}"#)),
    );
    let accepted = p.counters().get("udp", "accepted");
    let kdrops = p.counters().get("udp", "kernel_drops");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while accepted.get() + kdrops.get() < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    p.stop();
    assert!(
        p.wait_timeout(Duration::from_secs(30)),
        "the pipeline did not drain: deadlock"
    );
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(
        report.accepted() + report.value("udp", "kernel_drops"),
        n,
        "{report}"
    );
    let injected = report.value("route", "injected");
    let refused = report.value("route", "inject_refused");
    assert!(injected > 0, "{report}");
    assert!(
        refused > 0,
        "holders ran out: the test exercised a full generator\n{report}"
    );
    let lines = std::fs::read_to_string(dir.path().join("out.log"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines as u64, report.delivered("out"));
    assert_eq!(
        report.delivered("out"),
        report.accepted() + injected,
        "{report}"
    );
}

#[test]
fn a_message_that_loops_through_the_generator_is_dropped_after_max_loops() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "filters":  [{"name": "amp", "type": "AmplifyFilter", "copies": 1, "loop_forever": true}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 20}],
      "chains":   {"default": {"filters": ["amp"], "outputs": ["out"]}}
    }"#,
    );
    let n = send(
        input_addr(&p, "udp"),
        (0..10).map(|i| format!(r#"{{"payload":"m{i}"}}"#)),
    );
    let dropped = p.counters().get("route", "loops_dropped");
    assert_eq!(wait_for(&dropped, n, Duration::from_secs(20)), n);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    // Hops 1..=4 are routed, hop 5 exceeds max_message_loops (4): five injections each.
    assert_eq!(report.value("route", "injected"), 5 * n, "{report}");
    assert_eq!(report.value("route", "loops_dropped"), n, "{report}");
    assert_eq!(report.delivered("out"), 5 * n, "{report}");
}

#[test]
fn filters_block_and_reroute_and_output_matchers_gate_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "filters":  [{"name": "triage", "type": "TriageFilter", "message_matcher": "Logger == 'app'"}],
      "outputs":  [{"name": "all", "type": "FileOutput", "path": "all.log", "flush_interval_ms": 20},
                   {"name": "urgent", "type": "FileOutput", "path": "urgent.log", "flush_interval_ms": 20,
                    "message_matcher": "Severity <= 2 || Fields[page] == TRUE"}],
      "chains":   {"default": {"filters": ["triage"], "outputs": ["all", "urgent"]}}
    }"#,
    );
    let datagrams = [
        r#"{"logger":"app","severity":6,"payload":"blocked"}"#,
        r#"{"logger":"app","severity":1,"payload":"urgent-by-severity"}"#,
        r#"{"logger":"app","severity":4,"payload":"triaged-not-urgent"}"#,
        r#"{"logger":"app","severity":4,"payload":"urgent-by-field","fields":{"page":true}}"#,
        r#"{"logger":"other","severity":6,"payload":"untouched"}"#,
    ];
    let n = send(
        input_addr(&p, "udp"),
        datagrams.iter().map(|s| s.to_string()),
    );
    let routed = p.counters().get("route", "routed");
    let blocked = p.counters().get("route", "blocked");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while routed.get() + blocked.get() < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("route", "blocked"), 1);
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    // The triage filter (matched on logger "app") sent its messages to "urgent" only;
    // "other" kept the chain's outputs.
    assert_eq!(read("all.log"), "untouched\n");
    assert_eq!(read("urgent.log"), "urgent-by-severity\nurgent-by-field\n");
}

#[test]
fn a_bad_message_matcher_is_a_config_error_naming_the_column() {
    let config = Config::parse(
        r#"{"outputs": [{"type": "FileOutput", "path": "x.log", "message_matcher": "Type == 'a' &&& 1"}]}"#,
        "bad.json",
    )
    .unwrap();
    let err = engine::validate(&registry(), &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("outputs[0].message_matcher"), "{err}");
    assert!(err.contains("column"), "{err}");
}

#[test]
fn injected_messages_get_a_uuid_of_their_own_and_the_time_of_injection() {
    // A message leaving hekad through NATS needs a uuid (its `Nats-Msg-Id`): injected ones
    // with none, or all with the same, would be taken by JetStream for copies and dropped.
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::SystemTime::now();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "filters":  [{"name": "amp", "type": "AmplifyFilter", "copies": 2}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "format": "json",
                    "flush_interval_ms": 20}],
      "chains":   {"default": {"filters": ["amp"], "outputs": ["out"]}}
    }"#,
    );
    let n = send(
        input_addr(&p, "udp"),
        (0..50).map(|i| format!(r#"{{"type":"orig","payload":"m{i}"}}"#)),
    );
    let delivered = p.counters().get("out", "delivered");
    assert_eq!(wait_for(&delivered, 3 * n, Duration::from_secs(20)), 3 * n);
    p.stop();
    let report = p.wait();
    assert_eq!(report.value("route", "injected"), 2 * n, "{report}");
    let ns = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64
    };
    let (earliest, latest) = (ns(started), ns(std::time::SystemTime::now()));
    let text = std::fs::read_to_string(dir.path().join("out.log")).unwrap();
    let mut uuids = std::collections::HashSet::new();
    let mut copies = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let uuid = v["uuid"]
            .as_str()
            .unwrap_or_else(|| panic!("no uuid: {line}"));
        // Version 4, variant 10xx: made at intake, not left zero.
        assert_eq!(&uuid[14..15], "4", "{line}");
        assert!("89ab".contains(&uuid[19..20]), "{line}");
        assert!(uuids.insert(uuid.to_string()), "uuid seen twice: {line}");
        copies += u64::from(v["type"] == "copy");
        // No timestamp set by the filter: stamped when injected, as Heka did.
        let ts = v["timestamp"].as_str().unwrap_or_else(|| panic!("{line}"));
        let ts = plugins::encoders::rfc3339::parse(ts.as_bytes()).expect("RFC 3339");
        assert!(
            (earliest..=latest).contains(&ts),
            "{ts} not in {earliest}..={latest}"
        );
    }
    assert_eq!((uuids.len() as u64, copies), (3 * n, 2 * n));
}
