//! `Pipeline::gauges()` under a stuck output: the ring fills behind it (occupancy and the
//! output's lag grow, decode and route keep up), and drains to zero when it moves again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use engine::config::Config;
use engine::{BuildContext, BuildError, Output, PipelinePack, PluginConfig, Snapshot, WriteError};
use serde::{Deserialize, Serialize};
use tests::{input_addr, json_datagram, send_paced};

/// Closed: the gate output waits (at most 30 s) inside `deliver`.
static OPEN: AtomicBool = AtomicBool::new(false);

/// An output that holds its first pack until [`OPEN`]: a stuck plugin.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GateConfig {}

#[derive(Debug)]
struct Gate;

impl Output for Gate {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !OPEN.load(Ordering::Relaxed) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

impl PluginConfig for GateConfig {
    type Plugin = Gate;
    fn build(&self, _ctx: &BuildContext) -> Result<Gate, BuildError> {
        Ok(Gate)
    }
}

fn stage<'a>(s: &'a Snapshot, name: &str) -> &'a engine::StageGauge {
    s.stages.iter().find(|g| g.name == name).expect(name)
}

/// Takes snapshots until `done` holds (at most 20 s); returns the last.
fn wait_until(take: impl Fn() -> Snapshot, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = take();
        if done(&s) || Instant::now() > deadline {
            return s;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_stuck_output_shows_as_lag_and_occupancy_and_both_drain() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = tests::registry();
    registry.output::<GateConfig>("GateOutput");
    // The gate on a thread of its own, so decode and route keep running while it waits.
    let config = Config::parse(
        r#"{
      "engine":   {"pool_size": 64,
                   "threads": [{"cores": [], "stages": ["udp"]},
                               {"cores": [], "stages": ["decode", "route"]},
                               {"cores": [], "stages": ["gate"]}]},
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "gate", "type": "GateOutput"}],
      "chains":   {"default": {"outputs": ["gate"]}}
    }"#,
        dir.path().join("gauges.json"),
    )
    .unwrap();
    let p = engine::run_with(&registry, &config).unwrap();
    let gauges = p.gauges();
    let before = gauges.snapshot();
    assert_eq!(before.ring.size, 64);
    assert_eq!(before.ring.published, -1, "nothing published yet");
    assert_eq!(before.ring.occupancy, 0);
    let names: Vec<&str> = before.stages.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["udp", "decode", "route", "gate"]);
    assert_eq!(stage(&before, "udp").lag, None, "inputs have no sequence");

    const N: u64 = 20;
    send_paced(input_addr(&p, "udp"), N, 10_000, json_datagram);
    let stuck = wait_until(
        || gauges.snapshot(),
        |s| stage(s, "route").sequence == Some(N as i64 - 1),
    );
    assert_eq!(stuck.ring.published, N as i64 - 1, "{stuck:#?}");
    assert_eq!(stuck.ring.occupancy, N, "every message waits for the gate");
    assert_eq!(stage(&stuck, "gate").sequence, Some(-1));
    assert_eq!(stage(&stuck, "gate").lag, Some(N));
    assert_eq!(stage(&stuck, "decode").lag, Some(0));
    assert_eq!(stage(&stuck, "route").lag, Some(0));
    assert!(!stuck.stopping);

    OPEN.store(true, Ordering::Relaxed);
    let drained = wait_until(
        || gauges.snapshot(),
        |s| stage(s, "gate").sequence == Some(N as i64 - 1),
    );
    assert_eq!(drained.ring.occupancy, 0, "{drained:#?}");
    assert_eq!(stage(&drained, "gate").lag, Some(0));
    assert_eq!(drained.report.value("gate", "delivered"), N);
    assert!(
        drained.rate("gate", "delivered", Some(&stuck)) > 0.0,
        "delivered since the stuck snapshot"
    );

    p.stop();
    assert!(gauges.snapshot().stopping);
    let report = p.wait();
    assert!(report.balances(), "{report}");
    // The gauges outlive the pipeline's threads.
    assert_eq!(gauges.snapshot().report.accepted(), N);
}
