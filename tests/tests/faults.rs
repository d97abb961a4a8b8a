//! Fault isolation and back-pressure in real pipelines (issue 7): a panicking output is
//! contained and rebuilt, an output out of retries is disabled with its drops counted, a slow
//! output slows intake without losing an accepted message, and an `on_full: drop` output
//! cannot hold the others back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine::config::Config;
use engine::{BuildContext, BuildError, Output, PipelinePack, PluginConfig, Report, WriteError};
use serde::{Deserialize, Serialize};
use tests::{input_addr, json_datagram, send_paced, seqs_in};

/// Panics on every `every`th message it is handed (counted across rebuilds).
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PanickyConfig {
    every: u64,
}

static PANICKY_CALLS: AtomicU64 = AtomicU64::new(0);
static DISABLED_CALLS: AtomicU64 = AtomicU64::new(0);

struct Panicky {
    every: u64,
    calls: &'static AtomicU64,
}

impl PluginConfig for PanickyConfig {
    type Plugin = Panicky;
    fn build(&self, ctx: &BuildContext) -> Result<Panicky, BuildError> {
        let calls = match ctx.name() {
            "disabled" => &DISABLED_CALLS,
            _ => &PANICKY_CALLS,
        };
        Ok(Panicky {
            every: self.every,
            calls,
        })
    }
}

impl Output for Panicky {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(
            !n.is_multiple_of(self.every),
            "deliberate panic on message {n}"
        );
        Ok(())
    }
}

/// Sleeps `sleep_ms` in every commit that has something to commit (once per batch).
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SlowConfig {
    sleep_ms: u64,
}

struct Slow {
    sleep: Duration,
    uncommitted: bool,
}

impl PluginConfig for SlowConfig {
    type Plugin = Slow;
    fn build(&self, _ctx: &BuildContext) -> Result<Slow, BuildError> {
        Ok(Slow {
            sleep: Duration::from_millis(self.sleep_ms),
            uncommitted: false,
        })
    }
}

impl Output for Slow {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        self.uncommitted = true;
        Ok(())
    }
    fn commit(&mut self, _now: Instant, _force: bool) -> Result<bool, WriteError> {
        if std::mem::take(&mut self.uncommitted) {
            std::thread::sleep(self.sleep);
        }
        Ok(true)
    }
}

/// A filter that panics on every `every`th message it sees.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PanickyFilterConfig {
    every: u64,
}

struct PanickyFilter {
    every: u64,
    seen: u64,
}

impl PluginConfig for PanickyFilterConfig {
    type Plugin = PanickyFilter;
    fn build(&self, _ctx: &BuildContext) -> Result<PanickyFilter, BuildError> {
        Ok(PanickyFilter {
            every: self.every,
            seen: 0,
        })
    }
}

impl engine::Filter for PanickyFilter {
    fn filter(&mut self, _pack: &mut PipelinePack, _generator: &mut engine::Generator) {
        self.seen += 1;
        assert!(
            !self.seen.is_multiple_of(self.every),
            "deliberate filter panic"
        );
    }
}

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

/// One pipeline at a time: the slow-output test measures this process's RSS, which other
/// tests' rings would inflate.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn start(dir: &std::path::Path, config: &str) -> engine::Pipeline {
    let mut r = tests::registry();
    r.filter::<PanickyFilterConfig>("PanickyFilter");
    r.decoder::<BoomDecoderConfig>("BoomDecoder");
    r.output::<PanickyConfig>("PanickyOutput");
    r.output::<SlowConfig>("SlowOutput");
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

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

#[test]
fn an_output_that_panics_is_rebuilt_and_the_rest_runs_on() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "panicky", "type": "PanickyOutput", "every": 1000,
                    "retries": {"delay_ms": 1, "max_delay_ms": 10}},
                   {"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 20}],
      "chains":   {"default": {"outputs": ["panicky", "file"]}}
    }"#,
    );
    let report = run(p, 20_000, 40_000, "file");
    let accepted = report.accepted();
    let v = |o: &str, c: &str| report.value(o, c);
    assert!(report.balances(), "{report}");
    assert!(accepted > 10_000, "{report}");
    // Every accepted message reached the healthy output, exactly once.
    assert_eq!(v("file", "delivered"), accepted, "{report}");
    let mut seqs = seqs_in(&dir.path().join("out.log"));
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len() as u64, accepted);
    // The panicky one panicked once per 1000 calls and was rebuilt each time; the message
    // it panicked on, and those it had taken but not committed, are counted write errors.
    let calls = PANICKY_CALLS.load(Ordering::Relaxed);
    assert_eq!(calls, accepted, "{report}");
    assert_eq!(v("panicky", "panics"), calls / 1000, "{report}");
    assert_eq!(v("panicky", "restarts"), calls / 1000, "{report}");
    assert_eq!(v("panicky", "routed"), accepted, "{report}");
    assert!(v("panicky", "write_errors") >= calls / 1000, "{report}");
    assert_eq!(
        v("panicky", "delivered") + v("panicky", "write_errors"),
        accepted,
        "{report}"
    );
    assert_eq!(v("panicky", "dropped"), 0, "{report}");
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
      "outputs":  [{"name": "disabled", "type": "PanickyOutput", "every": 100,
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
    assert_eq!(DISABLED_CALLS.load(Ordering::Relaxed), 100);
    assert_eq!(v("delivered") + v("write_errors"), 100, "{report}");
    assert_eq!(v("dropped"), accepted - 100, "{report}");
}

/// The slow output has a thread of its own so that its sleeps stall nothing but itself.
const SLOW_THREADS: &str = r#""threads": [{"stages": ["udp"]},
                             {"stages": ["decode", "route", "file"]},
                             {"stages": ["slow"]}]"#;

#[test]
fn a_slow_output_slows_intake_but_loses_nothing_accepted() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let before = rss_bytes();
    let p = start(
        dir.path(),
        &format!(
            r#"{{
      "engine":   {{"pool_size": 1024, "max_message_size": 2048, {SLOW_THREADS}}},
      "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0",
                    "recv_buffer_bytes": 262144}}],
      "decoders": [{{"type": "JsonDecoder", "default": true}}],
      "outputs":  [{{"name": "slow", "type": "SlowOutput", "sleep_ms": 10}},
                   {{"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 20}}],
      "chains":   {{"default": {{"outputs": ["slow", "file"]}}}}
    }}"#
        ),
    );
    let sent = 30_000;
    let report = run(p, sent, 150_000, "slow");
    let grown = rss_bytes().saturating_sub(before);
    let accepted = report.accepted();
    let v = |o: &str, c: &str| report.value(o, c);
    assert!(report.balances(), "{report}");
    // Losses happen at the socket only, and are counted there.
    assert_eq!(
        accepted + v("udp", "kernel_drops") + v("udp", "truncated"),
        sent,
        "{report}"
    );
    assert_eq!(v("slow", "delivered"), accepted, "{report}");
    assert_eq!(v("file", "delivered"), accepted, "{report}");
    let seqs = seqs_in(&dir.path().join("out.log"));
    assert_eq!(seqs.len() as u64, accepted);
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates"
    );
    // Memory is bounded by the ring (1024 slots of 2 KiB) plus a constant, however far
    // behind the slow output falls.
    assert!(grown < 48 << 20, "RSS grew by {grown} bytes");
}

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
      "filters":  [{"name": "panicky", "type": "PanickyFilter", "every": 1000}],
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
