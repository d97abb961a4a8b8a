//! The engine's back-pressure and commit hooks for outputs that hand messages to another
//! thread (NatsOutput) and inputs that ack their source (NatsInput), in a real pipeline:
//! an output never gets more than its `capacity()`, and `Committed` stays behind every
//! pack an output has not committed.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use engine::config::Config;
use engine::{
    Batch, BuildContext, BuildError, Committed, Fill, Input, Output, PackState, PipelinePack,
    PluginConfig, RunError, WriteError,
};
use serde::{Deserialize, Serialize};

const MESSAGES: usize = 10;
const LIMIT: u64 = 4;

/// What a test's `Once` input saw: the pipeline's committed cursor and the ring sequence
/// of its last message (one per test: tests run in parallel).
struct Probe {
    committed: OnceLock<Committed>,
    last_seq: AtomicI64,
}

impl Probe {
    const fn new() -> Self {
        Probe {
            committed: OnceLock::new(),
            last_seq: AtomicI64::new(-1),
        }
    }
}

/// `PROBES[0]` for `OnceInput`, `PROBES[1]` for `AskingOnceInput`.
static PROBES: [Probe; 2] = [Probe::new(), Probe::new()];
static OPEN: AtomicBool = AtomicBool::new(false);
static OVERFILLED: AtomicU64 = AtomicU64::new(0);

/// Publishes MESSAGES decoded messages once, remembering the last one's ring sequence in
/// `PROBES[ASK]`; with `ASK`, then asks the outputs to commit them now (as NatsInput does at
/// half its max_ack_pending).
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OnceConfig<const ASK: bool> {}

struct Once {
    done: bool,
    committed: Committed,
    probe: &'static Probe,
    ask: bool,
}

impl<const ASK: bool> PluginConfig for OnceConfig<ASK> {
    type Plugin = Once;
    fn build(&self, ctx: &BuildContext) -> Result<Once, BuildError> {
        let probe = &PROBES[usize::from(ASK)];
        probe.committed.set(ctx.committed()).ok();
        Ok(Once {
            done: false,
            committed: ctx.committed(),
            probe,
            ask: ASK,
        })
    }
}

impl Input for Once {
    fn register(&mut self, _r: &mio::Registry, _t: mio::Token) -> io::Result<()> {
        Ok(())
    }
    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        let mut n = 0;
        if !self.done && batch.len() >= MESSAGES {
            for i in 0..MESSAGES {
                let p = batch.get_mut(i);
                p.message.payload.push('m');
                p.state = PackState::Decoded;
            }
            let last = batch.sequence(MESSAGES - 1);
            self.probe.last_seq.store(last, Ordering::SeqCst);
            if self.ask {
                self.committed.request(last);
            }
            self.done = true;
            n = MESSAGES;
        }
        batch.set_filled(n);
        Ok(Fill::Drained)
    }
    fn tick(&mut self, _now: Instant) -> bool {
        !self.done
    }
}

/// Takes at most LIMIT uncommitted messages; commits only when OPEN.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GateConfig {}

struct Gate {
    uncommitted: u64,
}

impl PluginConfig for GateConfig {
    type Plugin = Gate;
    fn build(&self, _ctx: &BuildContext) -> Result<Gate, BuildError> {
        Ok(Gate { uncommitted: 0 })
    }
}

impl Output for Gate {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        if self.uncommitted >= LIMIT {
            OVERFILLED.fetch_add(1, Ordering::SeqCst);
        }
        self.uncommitted += 1;
        Ok(())
    }
    fn commit(&mut self, _now: Instant, _force: bool) -> Result<bool, WriteError> {
        if OPEN.load(Ordering::SeqCst) {
            self.uncommitted = 0;
        }
        Ok(self.uncommitted == 0)
    }
    fn capacity(&mut self) -> usize {
        (LIMIT - self.uncommitted) as usize
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn outputs_get_at_most_their_capacity_and_committed_waits_for_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = tests::registry();
    r.input::<OnceConfig<false>>("OnceInput");
    r.output::<GateConfig>("GateOutput");
    let config = Config::parse(
        r#"{
      "inputs":   [{"name": "once", "type": "OnceInput"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "gate", "type": "GateOutput"},
                   {"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 10}],
      "chains":   {"default": {"outputs": ["gate", "file"]}}
    }"#,
        dir.path().join("test.json"),
    )
    .unwrap();
    let p = engine::run_with(&r, &config).unwrap();
    let routed = p.counters().get("gate", "routed");
    let file_delivered = p.counters().get("file", "delivered");
    let probe = &PROBES[0];
    wait_until("the input's batch", || {
        probe.last_seq.load(Ordering::SeqCst) >= 0
    });
    wait_until("LIMIT messages at the gate", || routed.get() == LIMIT);
    wait_until("the file output's commit", || {
        file_delivered.get() == MESSAGES as u64
    });
    // The gate holds back the rest, and no message counts as committed while the gate
    // has not committed: the file output alone is not enough.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(routed.get(), LIMIT);
    let committed = probe.committed.get().expect("built");
    assert!(committed.get() < probe.last_seq.load(Ordering::SeqCst));
    assert_eq!(p.counters().get("gate", "delivered").get(), 0);

    OPEN.store(true, Ordering::SeqCst);
    let last = probe.last_seq.load(Ordering::SeqCst);
    wait_until("every message committed", || committed.get() >= last);
    assert_eq!(routed.get(), MESSAGES as u64);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.delivered("gate"), MESSAGES as u64);
    assert_eq!(
        OVERFILLED.load(Ordering::SeqCst),
        0,
        "deliver beyond capacity"
    );
}

#[test]
fn an_input_that_asks_gets_its_messages_committed_before_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = tests::registry();
    r.input::<OnceConfig<true>>("AskingOnceInput");
    // A commit interval far longer than the wait below: only the request commits in time.
    let config = Config::parse(
        r#"{
      "inputs":   [{"name": "asker", "type": "AskingOnceInput"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "file", "type": "FileOutput", "path": "out.log",
                    "flush_interval_ms": 600000}],
      "chains":   {"default": {"outputs": ["file"]}}
    }"#,
        dir.path().join("test.json"),
    )
    .unwrap();
    let p = engine::run_with(&r, &config).unwrap();
    let probe = &PROBES[1];
    wait_until("the input's batch", || {
        probe.last_seq.load(Ordering::SeqCst) >= 0
    });
    let committed = probe.committed.get().expect("built");
    let last = probe.last_seq.load(Ordering::SeqCst);
    wait_until("the requested commit", || committed.get() >= last);
    assert_eq!(p.counters().get("file", "delivered").get(), MESSAGES as u64);
    assert_eq!(tests::lines(&dir.path().join("out.log")).len(), MESSAGES);
    p.stop();
    assert!(p.wait().balances());
}
