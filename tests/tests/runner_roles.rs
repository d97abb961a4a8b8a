//! `runner(writer)` in its other roles, in real pipelines: a BatchWriter run as a filter
//! (`filter_runner`), and an input whose stop produces a final message (as StatsdUdpInput's
//! final flush) that must still be published and delivered.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engine::config::Config;
use engine::{
    filter_runner, Batch, BatchRunner, BatchWriter, BuildContext, BuildError, DataRecycler, Fill,
    FilterRunner, Input, PackState, PipelinePack, PluginConfig, Registry, RunError, WriteError,
};
use serde::{Deserialize, Serialize};
use tests::{input_addr, wait_for};

/// Counts payload bytes per batch; commit adds the batch to a shared total.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TallyConfig {}

struct Lengths;
impl DataRecycler for Lengths {
    type OutData = usize;
    fn make_out_data(&self) -> usize {
        0
    }
    fn zero_out_data(&self, out: &mut usize) {
        *out = 0;
    }
    fn prep_out_data(&self, pack: &PipelinePack, out: &mut usize) -> Result<(), WriteError> {
        *out = pack.message.payload.len();
        Ok(())
    }
}

/// Messages committed by every Tally (the test reads it after the pipeline stops).
static COMMITTED: AtomicU64 = AtomicU64::new(0);

struct Tally {
    batched: u64,
}

impl BatchWriter for Tally {
    type Recycler = Lengths;
    fn recycler(&self) -> Lengths {
        Lengths
    }
    fn batch(&mut self, out: &mut usize) -> Result<(), WriteError> {
        assert!(*out > 0);
        self.batched += 1;
        Ok(())
    }
    fn commit(&mut self) -> Result<(), WriteError> {
        COMMITTED.fetch_add(std::mem::take(&mut self.batched), Ordering::Relaxed);
        Ok(())
    }
    fn commit_interval(&self) -> Duration {
        Duration::from_millis(10)
    }
}

impl PluginConfig for TallyConfig {
    type Plugin = FilterRunner<BatchRunner<Tally>>;
    fn build(&self, ctx: &BuildContext) -> Result<Self::Plugin, BuildError> {
        Ok(filter_runner(Tally { batched: 0 }, ctx))
    }
}

/// An input that reads nothing and publishes one "farewell" message when stopped.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FarewellConfig {}

struct Farewell {
    pending: Arc<AtomicU64>,
}

impl PluginConfig for FarewellConfig {
    type Plugin = Farewell;
    fn build(&self, _ctx: &BuildContext) -> Result<Farewell, BuildError> {
        Ok(Farewell {
            pending: Arc::default(),
        })
    }
}

impl Input for Farewell {
    fn register(&mut self, _r: &mio::Registry, _t: mio::Token) -> io::Result<()> {
        Ok(())
    }
    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        let mut n = 0;
        if self.pending.load(Ordering::Relaxed) > 0 && !batch.is_empty() {
            let p = batch.get_mut(0);
            p.message.payload.push_str("farewell");
            p.state = PackState::Decoded;
            self.pending.store(0, Ordering::Relaxed);
            n = 1;
        }
        batch.set_filled(n);
        Ok(Fill::Drained)
    }
    fn tick(&mut self, _now: std::time::Instant) -> bool {
        self.pending.load(Ordering::Relaxed) > 0
    }
    fn stop(&mut self) {
        self.pending.store(1, Ordering::Relaxed);
    }
}

fn start(dir: &std::path::Path, config: &str) -> engine::Pipeline {
    let mut r: Registry = tests::registry();
    r.filter::<TallyConfig>("TallyFilter");
    r.input::<FarewellConfig>("FarewellInput");
    let config = Config::parse(config, dir.join("test.json")).expect("config");
    engine::run_with(&r, &config).expect("start")
}

#[test]
fn a_batch_writer_runs_as_a_filter_and_commits_on_its_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "filters":  [{"name": "tally", "type": "TallyFilter"}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 20}],
      "chains":   {"default": {"filters": ["tally"], "outputs": ["out"]}}
    }"#,
    );
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..20 {
        let d = format!(r#"{{"payload":"m{i}"}}"#);
        sock.send_to(d.as_bytes(), input_addr(&p, "udp")).unwrap();
    }
    let delivered = p.counters().get("out", "delivered");
    assert_eq!(wait_for(&delivered, 20, Duration::from_secs(20)), 20);
    // The default ticker (1 s) checks the writer's 10 ms commit interval.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while COMMITTED.load(Ordering::Relaxed) < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(COMMITTED.load(Ordering::Relaxed), 20);
    p.stop();
    assert!(p.wait().balances());
}

#[test]
fn what_an_input_produces_when_stopped_is_still_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "bye", "type": "FarewellInput"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 20}],
      "chains":   {"default": {"outputs": ["out"]}}
    }"#,
    );
    std::thread::sleep(Duration::from_millis(100));
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.delivered("out"), 1, "{report}");
    let text = std::fs::read_to_string(dir.path().join("out.log")).unwrap();
    assert_eq!(text, "farewell\n");
}
