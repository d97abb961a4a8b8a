//! Instructions per message through the whole engine, for callgrind (noise-free on a busy
//! host, unlike a timing): one fused thread, an in-memory input of `COUNT` pre-encoded
//! JSON messages of `SIZE` bytes → JsonDecoder → route → FileOutput text to /dev/null.
//!
//! ```text
//! cargo build --release -p benches --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!     target/release/examples/instructions 200000 200
//! callgrind_annotate /tmp/cg.out | head -40
//! ```
//! Divide the total `Ir` by the count (start-up is a few million instructions: compare runs
//! of the same count, or difference two counts). Instructions miss stalls (a store-forwarding
//! stall cost a quarter of the decoder's time with no extra instruction): `perf/fused.sh`
//! times the same program in CPU nanoseconds per message on an idle box.

use std::time::Duration;

use benches::MemoryInputConfig;
use engine::config::Config;
use engine::Registry;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(200_000, |a| a.parse().expect("COUNT"));
    let size: usize = args.next().map_or(200, |a| a.parse().expect("SIZE"));
    let mut registry = Registry::new();
    plugins::register_all(&mut registry);
    registry.input::<MemoryInputConfig>("MemoryInput");
    let text = format!(
        r#"{{"engine": {{"threads": [{{"cores": [], "stages": ["mem", "decode", "route", "out"]}}]}},
            "inputs": [{{"name": "mem", "type": "MemoryInput", "size": {size}, "count": {count}}}],
            "decoders": [{{"type": "JsonDecoder", "default": true}}],
            "outputs": [{{"name": "out", "type": "FileOutput", "path": "/dev/null"}}],
            "chains": {{"default": {{"outputs": ["out"]}}}}}}"#
    );
    let config = Config::parse(&text, "instructions.json").expect("config");
    let p = engine::run_with(&registry, &config).expect("start");
    let routed = p.counters().get("out", "routed");
    while routed.get() < count {
        std::thread::sleep(Duration::from_millis(1));
    }
    p.stop();
    let report = p.wait();
    assert_eq!(report.delivered("out"), count, "{report}");
    eprintln!("{count} messages of {size} B delivered");
}
