//! Fault isolation in in-process pipelines (issue 7), with the plugins of `tests::faults`:
//! an output out of retries is disabled with its drops counted, an `on_full: drop` output
//! cannot hold the others back, and a panicking decoder or filter costs only its message.
//! The slow-output and panicking-output promises are tested against a real daemon in
//! `faults_process.rs`, the restart backoff in the engine's output stage.

use std::time::{Duration, Instant};

use engine::config::Config;
use engine::{BuildContext, BuildError, PipelinePack, PluginConfig, Report};
use serde::{Deserialize, Serialize};
use tests::{input_addr, json_datagram, send_paced};

/// A decoder that panics on payloads containing "boom" and decodes JSON otherwise.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct BoomDecoderConfig {}

struct BoomDecoder(<plugins::decoders::JsonDecoderConfig as PluginConfig>::Plugin);

impl PluginConfig for BoomDecoderConfig {
    type Plugin = BoomDecoder;
    fn build(&self, ctx: &BuildContext) -> Result<BoomDecoder, BuildError> {
        Ok(BoomDecoder(
            plugins::decoders::JsonDecoderConfig::default().build(ctx)?,
        ))
    }
}

impl engine::Decoder for BoomDecoder {
    fn decode(&mut self, pack: &mut PipelinePack) -> Result<engine::Decoded, engine::DecodeError> {
        assert!(
            !pack.msg_bytes.windows(4).any(|w| w == b"boom"),
            "deliberate decoder panic"
        );
        self.0.decode(pack)
    }
}

/// One pipeline at a time, so the timing of one (how fast a slow output falls behind)
/// does not depend on the others.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn start(dir: &std::path::Path, config: &str) -> engine::Pipeline {
    let mut r = tests::registry();
    tests::faults::register(&mut r);
    r.decoder::<BoomDecoderConfig>("BoomDecoder");
    let config = Config::parse(config, dir.join("test.json")).expect("config");
    engine::run_with(&r, &config).expect("start")
}

/// Sends `count` numbered datagrams at `rate`/s, waits (bounded) until `output` has
/// delivered everything the input accepted, then stops the pipeline; returns the report.
fn run(p: engine::Pipeline, count: u64, rate: u64, output: &str) -> Report {
    let sent = send_paced(input_addr(&p, "udp"), count, rate, json_datagram);
    assert_eq!(sent, count);
    let accepted = p.counters().get("udp", "accepted");
    let delivered = p.counters().get(output, "delivered");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (u64::MAX, 0);
    // Settled: the input took nothing new for 300 ms and the output caught up.
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        let now = (accepted.get(), delivered.get());
        if now == last && now.0 == now.1 {
            break;
        }
        last = now;
    }
    p.stop();
    p.wait()
}

#[test]
fn an_output_out_of_retries_is_disabled_and_its_drops_are_counted() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "disabled", "type": "PanicOutput", "panic_every": 100,
                    "retries": {"delay_ms": 1, "max_retries": 0}},
                   {"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 20}],
      "chains":   {"default": {"outputs": ["disabled", "file"]}}
    }"#,
    );
    let report = run(p, 5_000, 40_000, "file");
    let accepted = report.accepted();
    let v = |c: &str| report.value("disabled", c);
    assert!(report.balances(), "{report}");
    assert_eq!(report.delivered("file"), accepted, "{report}");
    assert_eq!(v("panics"), 1, "{report}");
    assert_eq!(v("restarts"), 0, "{report}");
    assert_eq!(v("calls"), 100, "{report}");
    assert_eq!(v("delivered") + v("write_errors"), 100, "{report}");
    assert_eq!(v("dropped"), accepted - 100, "{report}");
}

/// The slow output has a thread of its own so that its sleeps stall nothing but itself.
const SLOW_THREADS: &str = r#""threads": [{"stages": ["udp"]},
                             {"stages": ["decode", "route", "file"]},
                             {"stages": ["slow"]}]"#;

#[test]
fn an_output_that_may_drop_cannot_hold_the_others_back() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        &format!(
            r#"{{
      "engine":   {{"pool_size": 1024, {SLOW_THREADS}}},
      "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
      "decoders": [{{"type": "JsonDecoder", "default": true}}],
      "outputs":  [{{"name": "slow", "type": "SlowOutput", "sleep_ms": 10, "on_full": "drop"}},
                   {{"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 20}}],
      "chains":   {{"default": {{"outputs": ["slow", "file"]}}}}
    }}"#
        ),
    );
    let report = run(p, 30_000, 100_000, "file");
    let accepted = report.accepted();
    let v = |o: &str, c: &str| report.value(o, c);
    assert!(report.balances(), "{report}");
    assert_eq!(v("file", "delivered"), accepted, "{report}");
    assert_eq!(v("slow", "routed"), accepted, "{report}");
    assert_eq!(
        v("slow", "delivered") + v("slow", "dropped"),
        accepted,
        "{report}"
    );
    // 30,000 messages in 0.3 s against at most 256 per 10 ms: the slow one must drop.
    assert!(v("slow", "dropped") > 0, "{report}");
}

#[test]
fn a_panicking_filter_or_decoder_costs_only_its_message() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "BoomDecoder", "default": true}],
      "filters":  [{"name": "panicky", "type": "PanicFilter", "panic_every": 1000}],
      "outputs":  [{"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 20}],
      "chains":   {"default": {"filters": ["panicky"], "outputs": ["file"]}}
    }"#,
    );
    // Every 100th datagram makes the decoder panic.
    let sent = send_paced(input_addr(&p, "udp"), 10_000, 40_000, |i, b| {
        json_datagram(i, b);
        if i % 100 == 99 {
            b.extend_from_slice(b" boom");
        }
    });
    assert_eq!(sent, 10_000);
    let accepted = p.counters().get("udp", "accepted");
    let settled = p.counters().get("route", "routed");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let done = settled.get()
            + p.counters().value("route", "blocked")
            + p.counters().value("decode", "decode_errors");
        if done == accepted.get() && done > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    p.stop();
    let report = p.wait();
    let v = |o: &str, c: &str| report.value(o, c);
    let accepted = report.accepted();
    assert!(report.balances(), "{report}");
    assert_eq!(v("decode", "panics"), accepted / 100, "{report}");
    assert_eq!(v("decode", "decode_errors"), accepted / 100, "{report}");
    let decoded = accepted - accepted / 100;
    assert_eq!(v("panicky", "panics"), decoded / 1000, "{report}");
    assert_eq!(v("route", "blocked"), decoded / 1000, "{report}");
    assert_eq!(
        report.delivered("file"),
        decoded - decoded / 1000,
        "{report}"
    );
}
