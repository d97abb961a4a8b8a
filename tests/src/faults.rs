//! Fault-injection plugins for tests (issue 7), built on the public plugin API only:
//! `SlowOutput` (sleeps per batch, or takes nothing while a file exists), `PanicOutput` (a
//! [`Writer`] run with [`runner`] that panics on every `panic_every`th message) and
//! `PanicFilter`. [`register`] adds them to a registry; the `hekad-faults` binary is hekad
//! ([`bins::main_with`]) with them next to the built-ins. They are never in `hekad`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use engine::{
    runner, BuildContext, BuildError, Counter, DataRecycler, Filter, Generator, Output,
    PipelinePack, PluginConfig, Registry, WriteError, Writer, WriterRunner,
};
use serde::{Deserialize, Serialize};

/// Adds `SlowOutput`, `PanicOutput` and `PanicFilter` to `registry`.
pub fn register(registry: &mut Registry) {
    registry.output::<SlowOutputConfig>("SlowOutput");
    registry.output::<PanicOutputConfig>("PanicOutput");
    registry.filter::<PanicFilterConfig>("PanicFilter");
}

/// A slow or stuck output: every commit with something to commit (one per batch) sleeps
/// `sleep_ms`; while `stuck_while_exists` exists it takes nothing at all (capacity 0: the
/// ring fills behind it). Counts its non-empty commits as `batches`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowOutputConfig {
    /// Sleep per batch, in ms.
    #[serde(default)]
    pub sleep_ms: u64,
    /// Take nothing while this file exists (relative to the config file's directory).
    #[serde(default)]
    pub stuck_while_exists: Option<PathBuf>,
}

/// How often a stuck [`Slow`] looks at its file again.
const STUCK_CHECK: Duration = Duration::from_millis(10);

/// The runtime `SlowOutput`.
#[derive(Debug)]
pub struct Slow {
    sleep: Duration,
    uncommitted: bool,
    batches: Counter,
    stuck_while: Option<PathBuf>,
    /// When the file was last looked at, and whether it was there.
    checked: Option<(Instant, bool)>,
}

impl PluginConfig for SlowOutputConfig {
    type Plugin = Slow;
    fn build(&self, ctx: &BuildContext) -> Result<Slow, BuildError> {
        Ok(Slow {
            sleep: Duration::from_millis(self.sleep_ms),
            uncommitted: false,
            batches: ctx.counter("batches"),
            stuck_while: self
                .stuck_while_exists
                .as_deref()
                .map(|p| ctx.resolve_path(p)),
            checked: None,
        })
    }
}

impl Output for Slow {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        self.uncommitted = true;
        Ok(())
    }

    fn commit(&mut self, _now: Instant, _force: bool) -> Result<bool, WriteError> {
        if std::mem::take(&mut self.uncommitted) {
            std::thread::sleep(self.sleep);
            self.batches.add(1);
        }
        Ok(true)
    }

    fn capacity(&mut self) -> usize {
        let Some(path) = &self.stuck_while else {
            return usize::MAX;
        };
        let now = Instant::now();
        let stuck = match self.checked {
            Some((at, stuck)) if now.duration_since(at) < STUCK_CHECK => stuck,
            _ => {
                let stuck = path.exists();
                self.checked = Some((now, stuck));
                stuck
            }
        };
        if stuck {
            0
        } else {
            usize::MAX
        }
    }
}

/// An output that panics on every `panic_every`th message it is handed, counted across
/// the rebuilds that follow (its `calls` counter). Everything else it takes, it delivers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PanicOutputConfig {
    /// Panic on message `panic_every`, `2 * panic_every`...; 0: never.
    #[serde(default)]
    pub panic_every: u64,
}

/// Prepares nothing: [`Panicking`] looks at no message.
#[derive(Debug)]
pub struct NoData;

impl DataRecycler for NoData {
    type OutData = ();
    fn make_out_data(&self) {}
    fn zero_out_data(&self, _out: &mut ()) {}
    fn prep_out_data(&self, _pack: &PipelinePack, _out: &mut ()) -> Result<(), WriteError> {
        Ok(())
    }
}

/// The `PanicOutput` writer.
#[derive(Debug)]
pub struct Panicking {
    every: u64,
    calls: Counter,
}

impl PluginConfig for PanicOutputConfig {
    type Plugin = WriterRunner<Panicking>;
    fn build(&self, ctx: &BuildContext) -> Result<Self::Plugin, BuildError> {
        Ok(runner(Panicking {
            every: self.panic_every,
            calls: ctx.counter("calls"),
        }))
    }
}

impl Writer for Panicking {
    type Recycler = NoData;
    fn recycler(&self) -> NoData {
        NoData
    }

    fn write(&mut self, _out: &mut ()) -> Result<(), WriteError> {
        // The count lives in the pipeline's counter, not in the writer, so that it survives
        // the rebuild after each panic (one atomic add per message: a test plugin's price).
        self.calls.add(1);
        let n = self.calls.get();
        assert!(
            self.every == 0 || !n.is_multiple_of(self.every),
            "deliberate panic on message {n}"
        );
        Ok(())
    }
}

/// A filter that panics on every `panic_every`th message it sees (the engine blocks that
/// message and keeps the filter).
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PanicFilterConfig {
    /// Panic on message `panic_every`, `2 * panic_every`...; 0: never.
    #[serde(default)]
    pub panic_every: u64,
}

/// The runtime `PanicFilter`.
#[derive(Debug)]
pub struct PanicFilter {
    every: u64,
    seen: u64,
}

impl PluginConfig for PanicFilterConfig {
    type Plugin = PanicFilter;
    fn build(&self, _ctx: &BuildContext) -> Result<PanicFilter, BuildError> {
        Ok(PanicFilter {
            every: self.panic_every,
            seen: 0,
        })
    }
}

impl Filter for PanicFilter {
    fn filter(&mut self, _pack: &mut PipelinePack, _generator: &mut Generator) {
        self.seen += 1;
        assert!(
            self.every == 0 || !self.seen.is_multiple_of(self.every),
            "deliberate filter panic on message {}",
            self.seen
        );
    }
}
