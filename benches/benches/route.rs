//! Routing throughput: decoded messages from an in-memory input (no sockets, no decoding)
//! spread over 1, 4 or 16 chains by type, with or without a 3-clause `message_matcher` on
//! the output, all on one fused thread. `base` is one chain and no matcher: the engine's
//! per-message cost without chain selection work beyond one lookup.
//!
//! `cargo bench --bench route`

use std::io;
use std::time::{Duration, Instant};

use benches::NullOutputConfig;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::config::Config;
use engine::{
    Batch, BuildContext, BuildError, Fill, Input, PackState, PluginConfig, Registry, RunError,
};
use serde::{Deserialize, Serialize};

/// The output's matcher: three clauses that every generated message passes, so the
/// output's `delivered` counts every message.
const MATCHER: &str = r#"type =~ /^t\d+$/ && severity <= 6 && Fields[n] > 0"#;

/// An input that fills every claimed pack with a decoded message, its type cycling over
/// `t0 .. t<types-1>`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
struct TypedInputConfig {
    types: usize,
}

struct TypedInput {
    types: Vec<String>,
    next: usize,
}

impl PluginConfig for TypedInputConfig {
    type Plugin = TypedInput;
    fn build(&self, _ctx: &BuildContext) -> Result<TypedInput, BuildError> {
        Ok(TypedInput {
            types: (0..self.types).map(|i| format!("t{i}")).collect(),
            next: 0,
        })
    }
}

impl Input for TypedInput {
    fn register(&mut self, _r: &mio::Registry, _t: mio::Token) -> io::Result<()> {
        Ok(())
    }
    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        for i in 0..batch.len() {
            let pack = batch.get_mut(i);
            let m = &mut pack.message;
            m.msg_type.push_str(&self.types[self.next]);
            m.severity = 6;
            m.payload.push_str("routed message");
            if let Some(f) = m.add_field() {
                f.name.push('n');
                f.values.push_integer(1);
            }
            pack.state = PackState::Decoded;
            self.next = (self.next + 1) % self.types.len();
        }
        batch.set_filled(batch.len());
        Ok(Fill::More)
    }
}

fn config(chains: usize, matcher: bool) -> String {
    let chain_list: Vec<String> = (0..chains)
        .map(|i| format!(r#""c{i}": {{"message_type": "t{i}", "outputs": ["out"]}}"#))
        .collect();
    let matcher = if matcher {
        format!(
            r#", "message_matcher": {}"#,
            serde_json::to_string(MATCHER).unwrap()
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"engine": {{"threads": [{{"stages": ["mem", "decode", "route", "out"]}}],
                        "wait": "yield"}},
            "inputs": [{{"name": "mem", "type": "TypedInput", "types": {chains}}}],
            "decoders": [{{"type": "JsonDecoder", "default": true}}],
            "outputs": [{{"name": "out", "type": "NullOutput"{matcher}}}],
            "chains": {{{}}}}}"#,
        chain_list.join(", ")
    )
}

fn run(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    registry: &Registry,
    id: BenchmarkId,
    cfg: &str,
) {
    let cfg = Config::parse(cfg, "bench.json").unwrap();
    let p = engine::run_with(registry, &cfg).unwrap();
    let delivered = p.counters().get("out", "routed");
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let start_count = delivered.get();
            let start = Instant::now();
            while delivered.get() < start_count + iters {
                std::thread::yield_now();
            }
            start.elapsed()
        })
    });
    p.stop();
    p.wait();
}

fn route(c: &mut Criterion) {
    let mut registry = Registry::new();
    plugins::register_all(&mut registry);
    registry.input::<TypedInputConfig>("TypedInput");
    registry.output::<NullOutputConfig>("NullOutput");
    let mut g = c.benchmark_group("route");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_millis(500));
    run(
        &mut g,
        &registry,
        BenchmarkId::new("base", 1),
        &config(1, false),
    );
    for chains in [1, 4, 16] {
        let id = BenchmarkId::new("matcher3", chains);
        run(&mut g, &registry, id, &config(chains, true));
    }
    for chains in [4, 16] {
        let id = BenchmarkId::new("no_matcher", chains);
        run(&mut g, &registry, id, &config(chains, false));
    }
    g.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
