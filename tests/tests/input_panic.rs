//! A panicking input is contained: the pipeline runs on, the input is called again, every
//! message it did publish is delivered, and its panics are counted.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine::config::Config;
use engine::{Batch, BuildContext, BuildError, Fill, Input, PackState, PluginConfig, RunError};
use serde::{Deserialize, Serialize};

/// Messages per fill that does not panic.
const PER_FILL: usize = 5;
/// Fills in all; every third panics (after writing into its batch).
const FILLS: u64 = 300;

static CALLS: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FlakyConfig {}

struct Flaky;

impl PluginConfig for FlakyConfig {
    type Plugin = Flaky;
    fn build(&self, _ctx: &BuildContext) -> Result<Flaky, BuildError> {
        Ok(Flaky)
    }
}

impl Input for Flaky {
    fn register(&mut self, _r: &mio::Registry, _t: mio::Token) -> io::Result<()> {
        Ok(())
    }
    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        if batch.len() < PER_FILL || CALLS.load(Ordering::SeqCst) >= FILLS {
            batch.set_filled(0);
            return Ok(Fill::Drained);
        }
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        for i in 0..PER_FILL {
            let p = batch.get_mut(i);
            p.message
                .payload
                .push_str(&format!("fill {call} message {i}"));
            p.state = PackState::Decoded;
        }
        batch.set_filled(PER_FILL);
        if call.is_multiple_of(3) {
            panic!("flaky input: fill {call}");
        }
        Ok(Fill::More)
    }
    fn tick(&mut self, _now: Instant) -> bool {
        CALLS.load(Ordering::SeqCst) < FILLS
    }
}

#[test]
fn a_panicking_input_loses_only_its_batch_and_reads_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = tests::registry();
    r.input::<FlakyConfig>("FlakyInput");
    let config = Config::parse(
        r#"{
      "inputs":   [{"name": "flaky", "type": "FlakyInput"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "file", "type": "FileOutput", "path": "out.log",
                    "format": "text", "flush_interval_ms": 10}],
      "chains":   {"default": {"outputs": ["file"]}}
    }"#,
        dir.path().join("test.json"),
    )
    .unwrap();
    let p = engine::run_with(&r, &config).unwrap();
    let delivered = p.counters().get("file", "delivered");
    let want = (FILLS - FILLS / 3) * PER_FILL as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.get() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    p.stop();
    let report = p.wait();
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        FILLS,
        "called again after each panic"
    );
    assert_eq!(report.value("flaky", "panics"), FILLS / 3);
    assert_eq!(report.accepted(), want);
    assert_eq!(report.delivered("file"), want);
    assert!(report.balances(), "{report}");
    let lines = tests::lines(&dir.path().join("out.log"));
    assert_eq!(lines.len() as u64, want);
    assert!(
        lines.iter().all(|l| !l.starts_with("fill 3 ")),
        "a panicked fill's messages are not published"
    );
}
