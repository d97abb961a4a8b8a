//! The engine's own ceiling: pre-encoded JSON messages (200 B and 2 KiB) pushed by an
//! in-memory input through decode → route → an output, with no sockets. Compare with
//! `benches/ring.rs` (the ring alone) and `perf/` (end to end over loopback UDP).
//!
//! Variants: `null` (the output only counts), `file` (FileOutput text to /dev/null:
//! formatting and batched writes); plans `fused` (one thread, like hekad pinned to one core)
//! and `split` (input | decode+route+output on two cores).
//!
//! `cargo bench --bench pipeline`

use std::time::{Duration, Instant};

use benches::{MemoryInputConfig, NullOutputConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::config::Config;
use engine::Registry;

fn config(size: usize, output: &str, plan: &str) -> String {
    let out = match output {
        "null" => r#"{"name": "out", "type": "NullOutput"}"#.to_string(),
        _ => r#"{"name": "out", "type": "FileOutput", "path": "/dev/null"}"#.to_string(),
    };
    let threads = match plan {
        "fused" => r#"[{"cores": [1], "stages": ["mem", "decode", "route", "out"]}]"#,
        _ => {
            r#"[{"cores": [0], "stages": ["mem"]}, {"cores": [1], "stages": ["decode", "route", "out"]}]"#
        }
    };
    format!(
        r#"{{"engine": {{"threads": {threads}, "wait": "yield"}},
            "inputs": [{{"name": "mem", "type": "MemoryInput", "size": {size}}}],
            "decoders": [{{"type": "JsonDecoder", "default": true}}],
            "outputs": [{out}],
            "chains": {{"default": {{"outputs": ["out"]}}}}}}"#
    )
}

fn pipeline(c: &mut Criterion) {
    let mut registry = Registry::new();
    plugins::register_all(&mut registry);
    registry.input::<MemoryInputConfig>("MemoryInput");
    registry.output::<NullOutputConfig>("NullOutput");
    let two_cores = engine::available_cores().len() >= 2;
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_millis(500));
    for size in [200, 2048] {
        for output in ["null", "file"] {
            for plan in ["fused", "split"] {
                if plan == "split" && !two_cores {
                    continue;
                }
                let cfg = Config::parse(&config(size, output, plan), "bench.json").unwrap();
                let p = engine::run_with(&registry, &cfg).unwrap();
                let routed = p.counters().get("out", "routed");
                let id = BenchmarkId::new(format!("{output}/{plan}"), size);
                g.bench_with_input(id, &size, |b, _| {
                    b.iter_custom(|iters| {
                        let start_count = routed.get();
                        let start = Instant::now();
                        while routed.get() < start_count + iters {
                            std::thread::yield_now();
                        }
                        start.elapsed()
                    })
                });
                p.stop();
                p.wait();
            }
        }
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
