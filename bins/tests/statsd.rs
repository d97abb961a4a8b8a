//! StatsdUdpInput with the real `hekad`, fed by a real statsd client: the python `statsd`
//! package (`python3 -m pip install statsd`, done by `.ci/run`). Without it the tests fail
//! and say so; they never skip. Every wait is bounded.

use std::process::Command;
use std::time::Duration;

use tests::{lines, wait_line, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// The python `statsd` client, or a failure that says how to install it.
fn python_statsd(port: u16, script: &str) {
    let probe = Command::new("python3")
        .args(["-c", "import statsd"])
        .output()
        .expect("python3 must be installed for the statsd end-to-end test");
    assert!(
        probe.status.success(),
        "the python `statsd` package is missing: run `python3 -m pip install statsd` \
         (.ci/run installs it); {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let code = format!(
        "import statsd\nc = statsd.StatsClient('127.0.0.1', {port}, prefix=None)\n{script}"
    );
    let out = Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python statsd client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const STATSD_SCRIPT: &str = "\
for i in range(10):
    c.incr('e2e.hits')
c.incr('e2e.hits', 5)
for v in range(100, 1001, 100):
    c.timing('e2e.latency', v)
c.gauge('e2e.temp', 42)
c.gauge('e2e.temp', 3, delta=True)
for u in ('alice', 'bob', 'alice'):
    c.set('e2e.users', u)
";

fn statsd_config(flush_interval_secs: u64) -> String {
    format!(
        r#"{{
  "inputs":   [{{"name": "statsd", "type": "StatsdUdpInput", "address": "127.0.0.1:0",
                 "flushInterval": {flush_interval_secs}, "percentThreshold": [90]}}],
  "outputs":  [{{"name": "stats", "type": "FileOutput", "path": "stats.log",
                 "flush_interval_ms": 50}}],
  "chains":   {{"stats": {{"message_type": "statmetric", "outputs": ["stats"]}}}}
}}"#
    )
}

#[test]
fn statsd_from_a_real_client_becomes_a_statmetric_payload_at_the_final_flush() {
    let dir = tempfile::tempdir().unwrap();
    // An hour-long interval: the only flush is the one at SIGTERM, with the real interval.
    let mut h = Hekad::start_with_config(BIN, dir.path(), &statsd_config(3600));
    let addr = h.udp_addr("statsd");
    python_statsd(addr.port(), STATSD_SCRIPT);
    std::thread::sleep(Duration::from_millis(300));
    let h = h.stop_gracefully();
    let stats = lines(&dir.path().join("stats.log"));
    let value = |key: &str| -> Option<String> {
        let l = stats.iter().find(|l| l.starts_with(&format!("{key} ")))?;
        let parts: Vec<&str> = l.split(' ').collect();
        assert_eq!(parts.len(), 3, "graphite line {l:?}");
        assert!(parts[2].parse::<i64>().unwrap() > 1_700_000_000, "{l:?}");
        Some(parts[1].to_string())
    };
    let expect = [
        ("stats_counts.e2e.hits", "15"),
        ("stats.timers.e2e.latency.count", "10"),
        ("stats.timers.e2e.latency.upper_90", "900"),
        ("stats.timers.e2e.latency.mean_90", "500"),
        ("stats.timers.e2e.latency.upper", "1000"),
        ("stats.timers.e2e.latency.lower", "100"),
        ("stats.timers.e2e.latency.sum", "5500"),
        ("stats.timers.e2e.latency.mean", "550"),
        ("stats.gauges.e2e.temp", "45"),
        ("stats.sets.e2e.users.count", "2"),
    ];
    for (key, v) in expect {
        assert_eq!(value(key).as_deref(), Some(v), "{key} in {stats:#?}");
    }
    assert!(value("stats.e2e.hits").is_some(), "the per-second rate");
    assert!(value("statsd.numStats").is_some());
    // FileOutput adds a newline after the payload, which ends with one: skip empty lines.
    let ts: Vec<&str> = stats
        .iter()
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    assert!(
        ts.windows(2).all(|w| w[0] == w[1]),
        "one flush, one timestamp"
    );
    let lines_count = h.final_count("statsd", "lines").expect("lines counter");
    let ok = h.final_count("statsd", "ok").expect("ok counter");
    assert_eq!(lines_count, 10 + 1 + 10 + 2 + 3);
    assert_eq!(ok, lines_count);
}

#[test]
fn statsd_flushes_on_its_interval_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Hekad::start_with_config(BIN, dir.path(), &statsd_config(1));
    let addr = h.udp_addr("statsd");
    python_statsd(addr.port(), "c.incr('e2e.tick', 7)\n");
    let line = wait_line(
        &dir.path().join("stats.log"),
        "stats_counts.e2e.tick 7 ",
        Duration::from_secs(10),
    );
    assert!(line.is_some(), "no flush within 10 s");
    h.stop_gracefully();
}
