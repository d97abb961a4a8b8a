//! A custom binary with its own plugin type next to the built-ins (Heka's
//! `plugin_loader.go`, made explicit): a `Writer` that counts payload bytes, run as an
//! output with `runner(writer)`, registered as `ByteCountOutput`.
//!
//! `cargo run --example custom_plugin`: starts a pipeline on a free loopback port, sends it
//! three datagrams, stops it and prints the counts. For the whole daemon (flags, signals,
//! reload, reports) with `ByteCountOutput` registered, `main` would end in
//! `bins::main_with(registry)` instead (see `tests/src/bin/hekad-faults.rs`).

use std::net::UdpSocket;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engine::config::Config;
use engine::{
    runner, BuildContext, BuildError, DataRecycler, PipelinePack, PluginConfig, Registry,
    WriteError, Writer, WriterRunner,
};
use serde::{Deserialize, Serialize};

/// Config of the custom output: one key of its own.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ByteCountConfig {
    /// Print every N messages (0: never).
    #[serde(default)]
    print_every: u64,
}

/// Extracts the payload length (the recycler runs where packs are prepared).
struct PayloadLen;

impl DataRecycler for PayloadLen {
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

/// The writer: single-threaded, so no locks.
struct ByteCount {
    messages: u64,
    print_every: u64,
    total: Arc<AtomicU64>,
}

impl Writer for ByteCount {
    type Recycler = PayloadLen;
    fn recycler(&self) -> PayloadLen {
        PayloadLen
    }
    fn write(&mut self, out: &mut usize) -> Result<(), WriteError> {
        self.messages += 1;
        self.total.fetch_add(*out as u64, Ordering::Relaxed);
        if self.print_every > 0 && self.messages.is_multiple_of(self.print_every) {
            println!("{} messages so far", self.messages);
        }
        Ok(())
    }
}

static TOTAL: std::sync::OnceLock<Arc<AtomicU64>> = std::sync::OnceLock::new();

impl PluginConfig for ByteCountConfig {
    type Plugin = WriterRunner<ByteCount>;
    fn build(&self, _ctx: &BuildContext) -> Result<Self::Plugin, BuildError> {
        let total = TOTAL.get_or_init(Arc::default).clone();
        Ok(runner(ByteCount {
            messages: 0,
            print_every: self.print_every,
            total,
        }))
    }
}

const CONFIG: &str = r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "bytes", "type": "ByteCountOutput", "print_every": 1}],
  "chains":   {"default": {"outputs": ["bytes"]}}
}"#;

fn main() -> anyhow::Result<()> {
    let mut registry = Registry::new();
    plugins::register_all(&mut registry);
    registry.output::<ByteCountConfig>("ByteCountOutput");

    let config = Config::parse(CONFIG, Path::new("custom_plugin.json"))?;
    let pipeline = engine::run_with(&registry, &config)?;
    let addr = pipeline.listeners()[0].address;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    for i in 0..3 {
        sock.send_to(
            format!(r#"{{"type":"demo","payload":"hello {i}"}}"#).as_bytes(),
            addr,
        )?;
    }
    std::thread::sleep(Duration::from_millis(300));
    pipeline.stop();
    let report = pipeline.wait();
    print!("{report}");
    println!(
        "payload bytes: {}",
        TOTAL.get().map_or(0, |t| t.load(Ordering::Relaxed))
    );
    Ok(())
}
