//! Forwarding between two hekad pipelines over loopback TCP, plain and TLS side by side:
//! an edge (an in-memory input of pre-encoded JSON messages → JsonDecoder → TcpOutput) and
//! an aggregator (TcpInput → ProtobufDecoder → an output that counts) in one process, the
//! edge's stages pinned to core 0, the aggregator's to core 1 (the TcpOutput's writer
//! thread is not pinned). Certificates are made with rcgen at start.
//!
//! ```text
//! cargo run --release -p benches --example forward [SECONDS_PER_ROUND] [ROUNDS]
//! ```
//! Each round runs every (size, transport) pair for SECONDS (default 2) after a 0.5 s
//! warm-up, in turn, so a busy host slows all of them alike; the table gives medians over
//! ROUNDS (default 5) of what the aggregator routed per second and of the process's CPU
//! time (user + system, every thread of both pipelines) per message. CPU per message is
//! the figure to trust on a shared box: it barely moves when other work takes the cores.

use std::path::Path;
use std::time::{Duration, Instant};

use benches::{MemoryInputConfig, NullOutputConfig};
use engine::config::Config;
use engine::{Pipeline, Registry};
use tests::Pki;

fn start(registry: &Registry, dir: &Path, config: &str) -> Pipeline {
    let cfg = Config::parse(config, dir.join("forward.json")).expect("config");
    engine::run_with(registry, &cfg).expect("start")
}

fn aggregator(registry: &Registry, dir: &Path, tls: &str) -> Pipeline {
    start(
        registry,
        dir,
        &format!(
            r#"{{"engine": {{"threads": [{{"cores": [1], "stages": ["tcp", "decode", "route", "out"]}}]}},
                "inputs": [{{"name": "tcp", "type": "TcpInput", "address": "127.0.0.1:0"{tls}}}],
                "decoders": [{{"type": "ProtobufDecoder", "default": true}}],
                "outputs": [{{"name": "out", "type": "NullOutput"}}],
                "chains": {{"default": {{"outputs": ["out"]}}}}}}"#
        ),
    )
}

fn edge(registry: &Registry, dir: &Path, to: &str, size: usize, tls: &str) -> Pipeline {
    start(
        registry,
        dir,
        &format!(
            r#"{{"engine": {{"threads": [{{"cores": [0], "stages": ["mem", "decode", "route", "fwd"]}}]}},
                "inputs": [{{"name": "mem", "type": "MemoryInput", "size": {size}}}],
                "decoders": [{{"type": "JsonDecoder", "default": true}}],
                "outputs": [{{"name": "fwd", "type": "TcpOutput", "address": "{to}"{tls}}}],
                "chains": {{"default": {{"outputs": ["fwd"]}}}}}}"#
        ),
    )
}

/// CPU time of this process so far (user + system), from /proc/self/stat.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse().expect("ticks"))
        .collect();
    // USER_HZ is 100 on Linux.
    Duration::from_millis((f[0] + f[1]) * 10)
}

/// (messages per second, CPU ns per message) of one run.
fn run(
    registry: &Registry,
    dir: &Path,
    size: usize,
    tls: Option<(&str, &str)>,
    secs: f64,
) -> (f64, f64) {
    let (input_tls, output_tls) = tls.unwrap_or(("", ""));
    let agg = aggregator(registry, dir, input_tls);
    let to = agg.listeners()[0].address.to_string();
    let e = edge(registry, dir, &to, size, output_tls);
    let routed = agg.counters().get("out", "routed");
    std::thread::sleep(Duration::from_millis(500));
    let (n0, c0, t0) = (routed.get(), cpu(), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (n1, c1, t1) = (routed.get(), cpu(), Instant::now());
    e.stop();
    e.wait();
    agg.stop();
    agg.wait();
    let n = (n1 - n0) as f64;
    (n / (t1 - t0).as_secs_f64(), (c1 - c0).as_nanos() as f64 / n)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().map_or(2.0, |a| a.parse().expect("SECONDS"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("ROUNDS"));
    let mut registry = Registry::new();
    plugins::register_all(&mut registry);
    registry.input::<MemoryInputConfig>("MemoryInput");
    registry.output::<NullOutputConfig>("NullOutput");
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::generate(dir.path());
    let input_tls = format!(r#", "tls": {}"#, pki.input_tls(None));
    let output_tls = format!(r#", "tls": {}"#, pki.output_tls(&pki.ca, None));
    let cases: Vec<(usize, bool)> = [200, 2048]
        .into_iter()
        .flat_map(|s| [(s, false), (s, true)])
        .collect();
    let mut results = vec![(Vec::new(), Vec::new()); cases.len()];
    for round in 0..rounds {
        for (i, &(size, tls)) in cases.iter().enumerate() {
            let t = tls.then_some((input_tls.as_str(), output_tls.as_str()));
            let (rate, ns) = run(&registry, dir.path(), size, t, secs);
            eprintln!(
                "round {round}: {size} B {}: {rate:.0} msg/s, {ns:.0} ns CPU/msg",
                if tls { "tls" } else { "plain" }
            );
            results[i].0.push(rate);
            results[i].1.push(ns);
        }
    }
    println!("| message | transport | msg/s (median) | MB/s | CPU ns/msg (median) |");
    println!("|---|---|---|---|---|");
    for (&(size, tls), (rates, ns)) in cases.iter().zip(&mut results) {
        let rate = median(rates);
        println!(
            "| {size} B | {} | {:.0} | {:.0} | {:.0} |",
            if tls { "tls" } else { "plain" },
            rate,
            rate * size as f64 / 1e6,
            median(ns)
        );
    }
}
