//! The plugin API: the seed's Input, Decoder, Filter, Output and PluginGlobal, in Rust
//! (DESIGN.md section 4). Writers and the Runner are in [`crate::runner`].

use std::fmt::Debug;
use std::io;
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};

use crate::batch::Batch;
use crate::context::BuildContext;
use crate::error::{BuildError, DecodeError, Decoded, RunError, WriteError};
use crate::generator::Generator;
use crate::pack::PipelinePack;

/// A plugin's typed config (Heka's `HasConfigStruct` + `Init`): serde, `Default`, and a
/// `build` that does all validation, so a built plugin cannot be misconfigured.
///
/// `JsonSchema` (`#[derive(schemars::JsonSchema)]`) gives the plugin reference
/// (`hekad doc`) every key with its type and doc comment; defaults come from `Default`.
pub trait PluginConfig:
    DeserializeOwned
    + Serialize
    + schemars::JsonSchema
    + Default
    + Clone
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The runtime plugin this config builds.
    type Plugin;

    /// Builds one instance. Called once per stage (several times with `sockets: N`).
    ///
    /// # Errors
    ///
    /// A [`BuildError`] naming what could not be set up.
    fn build(&self, ctx: &BuildContext) -> Result<Self::Plugin, BuildError>;
}

/// Plugin lifecycle events (Heka's `PluginGlobal.Event` with `STOP` / `RELOAD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The pipeline has drained and is stopping: release shared resources.
    Stop,
    /// The config was reloaded and this section kept.
    Reload,
}

/// State shared by every instance built from one config section (Heka's `PluginGlobal`).
/// Register it in `build` with [`BuildContext::global`]; the engine delivers events to it.
pub trait Global: Send + Sync + 'static {
    /// Handles a lifecycle event.
    fn event(&self, event: Event);
}

/// What [`Input::fill`] found when it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// The source returned WouldBlock: wait for the next readiness event.
    Drained,
    /// The batch filled up before the source drained: poll again without waiting
    /// (mio is edge-triggered, so no new event will come for data already queued).
    More,
}

/// Brings messages into the pipeline (Heka's `Input.Read(pack, timeout)`, made safe: an
/// input waits for readiness holding no slot, then fills claimed slots without blocking).
pub trait Input: Send + 'static {
    /// Registers the input's sources with its thread's `mio::Poll` under `token`. An input
    /// with several sources (a TCP listener and its connections) keeps a clone of the
    /// registry and registers source `k` under `mio::Token(token.0 | k << 16)`, `k >= 1`.
    ///
    /// # Errors
    ///
    /// The registration's I/O error.
    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> io::Result<()>;

    /// Fills packs of `batch` from the source without blocking and says how many with
    /// [`Batch::set_filled`]. Each filled pack is `Raw` (bytes for a decoder), `Decoded`,
    /// or `Skip`.
    ///
    /// # Errors
    ///
    /// An I/O error other than WouldBlock or Interrupted.
    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError>;

    /// Notes that source `token` (as registered) is readable. Called before `fill`.
    fn ready(&mut self, _token: mio::Token) {}

    /// Called on every poll of the input's stage, readable or not; returns `true` when the
    /// input has something to publish anyway (a timer fired: a statsd flush), so `fill`
    /// is called. An input's thread polls at least every `engine.read_timeout_ms`.
    fn tick(&mut self, _now: Instant) -> bool {
        false
    }

    /// Stops reading; called once, before the pipeline drains. If [`Input::tick`] returns
    /// `true` right after, `fill` is called (with `tick` re-checked between calls) until it
    /// returns [`Fill::Drained`], so what stopping produced (statsd's final flush) is
    /// published before the input is done.
    fn stop(&mut self) {}
}

/// Turns raw bytes into a message (Heka's `Decoder.Decode`). Reuse the pack's buffers.
pub trait Decoder: Send + 'static {
    /// Decodes `pack.msg_bytes` into `pack.message`.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`]: the pack is counted and dropped.
    fn decode(&mut self, pack: &mut PipelinePack) -> Result<Decoded, DecodeError>;
}

/// Works on decoded messages in a chain (Heka's `Filter.FilterMsg`): may edit the message,
/// block it (`pack.state = PackState::Blocked`), change `pack.outputs` (a bitmask of output
/// indices), and inject new messages through the [`Generator`].
pub trait Filter: Send + 'static {
    /// Processes one pack of the filter's chains (that its `message_matcher`, if any,
    /// accepted).
    fn filter(&mut self, pack: &mut PipelinePack, generator: &mut Generator);

    /// Called every `ticker_interval_secs` (when configured) with the wall-clock time in ns
    /// since the Unix epoch, e.g. to inject a roll-up.
    fn tick(&mut self, _now_ns: i64, _generator: &mut Generator) {}

    /// The ticker to use when the config sets no `ticker_interval_secs`; `None` (the
    /// default): no ticks. A filter that needs ticks (CountFilter) names its default here.
    fn default_ticker(&self) -> Option<Duration> {
        None
    }
}

/// What became of messages an output had accepted (see [`Output::settle`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Committed to the destination.
    pub delivered: u64,
    /// Failed for good.
    pub write_errors: u64,
    /// Dropped by the output's own bounded buffer (`on_full: drop`).
    pub dropped: u64,
    /// The error behind `write_errors`, for the log.
    pub error: Option<WriteError>,
}

impl Settled {
    /// Messages settled in any way.
    pub fn total(&self) -> u64 {
        self.delivered + self.write_errors + self.dropped
    }
}

/// Delivers messages to the outside world (Heka's `Output.Deliver`), on its own consumer.
pub trait Output: Send + 'static {
    /// Delivers one message routed to this output.
    ///
    /// # Errors
    ///
    /// A [`WriteError`]: the message is counted as a write error.
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError>;

    /// Called after each batch and when idle: commit what was delivered if it is due, or
    /// now if `force` (at stop). Returns `true` when everything delivered so far is committed.
    /// At stop the stage calls it with `force` until it returns `true` (or an error), so an
    /// output waiting for acknowledgements finishes without blocking its thread; the
    /// engine's `drain_timeout_ms` bounds the wait.
    ///
    /// # Errors
    ///
    /// A [`WriteError`]: the uncommitted messages are counted as write errors.
    fn commit(&mut self, _now: Instant, _force: bool) -> Result<bool, WriteError> {
        Ok(true)
    }

    /// Commits (as [`Output::commit`]) and says what became of the `pending` messages
    /// delivered since the last settlement. The default maps `commit`: `Ok(true)` settles
    /// all of them as delivered, `Ok(false)` none, an error all as write errors.
    ///
    /// An output that hands messages to a thread of its own (TcpOutput) overrides it to
    /// report exact counts as its thread makes progress, including messages it `dropped`
    /// (`on_full: drop`); the stage keeps `routed = delivered + write_errors + dropped`.
    fn settle(&mut self, now: Instant, force: bool, pending: u64) -> Settled {
        match self.commit(now, force) {
            Ok(true) => Settled {
                delivered: pending,
                ..Settled::default()
            },
            Ok(false) => Settled::default(),
            Err(e) => Settled {
                write_errors: pending,
                error: Some(e),
                ..Settled::default()
            },
        }
    }

    /// Handles a lifecycle event on the output's own thread.
    fn event(&mut self, _event: Event) {}

    /// An input is waiting for commits ([`crate::Committed::request`]): make the next
    /// [`Output::commit`] due now rather than at the end of the interval. Default: nothing
    /// (an output that commits as it goes, or whose commits are not timed).
    fn hurry(&mut self) {}

    /// How many more messages `deliver` can take right now without blocking (the room left
    /// in a bounded buffer); the stage hands it at most this many before asking again. 0
    /// is back-pressure: the stage makes no progress and the ring fills behind it, so an
    /// output that hands messages to another thread (NatsOutput) never blocks its stage.
    /// Default: unbounded.
    fn capacity(&mut self) -> usize {
        usize::MAX
    }
}
