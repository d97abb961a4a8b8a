//! A Runner used as a filter (Heka's `RunnerMaker(writer)` in the filter role): every pack
//! of the filter's chains (that its `message_matcher` accepts) goes through the writer's
//! `prep_out_data` and `write` or `batch`; a batch writer commits on the filter's ticks.
//! The pack goes on down the chain unchanged.

use std::time::{Duration, Instant};

use crate::context::BuildContext;
use crate::counters::Counter;
use crate::generator::Generator;
use crate::pack::PipelinePack;
use crate::plugin::{Filter, Output};

use super::IntoRunner;

/// How often a filter runner's ticker checks the writer's commit deadline when the config
/// sets no `ticker_interval_secs`. A [`super::BatchWriter`] still commits on its own
/// `commit_interval`; this only bounds how late.
pub const FILTER_RUNNER_TICKER: Duration = Duration::from_secs(1);

/// A [`super::Writer`] or [`super::BatchWriter`] run as a [`Filter`] on the route stage.
/// Write errors are counted in the filter's `write_errors` counter (a filter has no one to
/// return them to).
pub struct FilterRunner<R> {
    runner: R,
    write_errors: Counter,
}

impl<R> std::fmt::Debug for FilterRunner<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterRunner").finish_non_exhaustive()
    }
}

/// Wraps a [`super::Writer`] or [`super::BatchWriter`] as a filter; call it from the
/// filter config's `build` with its context (for the `write_errors` counter).
///
/// # Examples
///
/// ```
/// use engine::{filter_runner, BuildContext, DataRecycler, PipelinePack, WriteError, Writer};
///
/// struct Payloads;
/// impl DataRecycler for Payloads {
///     type OutData = Vec<u8>;
///     fn make_out_data(&self) -> Vec<u8> { Vec::new() }
///     fn zero_out_data(&self, out: &mut Vec<u8>) { out.clear() }
///     fn prep_out_data(&self, pack: &PipelinePack, out: &mut Vec<u8>) -> Result<(), WriteError> {
///         out.extend_from_slice(pack.message.payload.as_bytes());
///         Ok(())
///     }
/// }
/// struct Bytes(usize);
/// impl Writer for Bytes {
///     type Recycler = Payloads;
///     fn recycler(&self) -> Payloads { Payloads }
///     fn write(&mut self, out: &mut Vec<u8>) -> Result<(), WriteError> {
///         self.0 += out.len();
///         Ok(())
///     }
/// }
/// let _filter = filter_runner(Bytes(0), &BuildContext::standalone("bytes"));
/// ```
pub fn filter_runner<Role, W: IntoRunner<Role>>(
    writer: W,
    ctx: &BuildContext,
) -> FilterRunner<W::Runner> {
    FilterRunner {
        runner: writer.into_runner(),
        write_errors: ctx.counter("write_errors"),
    }
}

impl<R> FilterRunner<R> {
    /// The wrapped runner (a [`super::WriterRunner`] or [`super::BatchRunner`]).
    pub fn runner(&self) -> &R {
        &self.runner
    }
}

impl<R: Output> Filter for FilterRunner<R> {
    fn filter(&mut self, pack: &mut PipelinePack, _generator: &mut Generator) {
        if self.runner.deliver(pack).is_err() {
            self.write_errors.add(1);
        }
    }

    fn tick(&mut self, _now_ns: i64, _generator: &mut Generator) {
        if self.runner.commit(Instant::now(), false).is_err() {
            self.write_errors.add(1);
        }
    }

    fn default_ticker(&self) -> Option<Duration> {
        Some(FILTER_RUNNER_TICKER)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Collect;
    use super::*;

    #[test]
    fn a_batch_writer_as_a_filter_batches_per_pack_and_commits_on_ticks() {
        let mut f = filter_runner(Collect::default(), &BuildContext::standalone("collect"));
        assert_eq!(f.default_ticker(), Some(FILTER_RUNNER_TICKER));
        let mut g = Generator::new(1);
        let mut pack = PipelinePack::new(16);
        pack.message.payload.push('a');
        f.filter(&mut pack, &mut g);
        assert_eq!(f.runner().writer.batch, ["a"]);
        f.tick(0, &mut g);
        assert!(
            f.runner().writer.committed.is_empty(),
            "the writer's own interval (an hour) is not due"
        );
        assert_eq!(pack.message.payload, "a", "the pack goes on unchanged");
    }
}
