//! The Runner (Heka's `RunnerMaker`): turns a [`Writer`] or [`BatchWriter`] into an output
//! that runs on one consumer thread. `prep_out_data` fills a recycled `OutData` per message;
//! `write`, or `batch` then `commit` on the writer's ticker, deliver it. `commit` never
//! overlaps `batch`: both run on the output's own thread.

use std::time::{Duration, Instant};

use crate::error::WriteError;
use crate::pack::PipelinePack;
use crate::plugin::{Event, Output};

mod filter;

pub use filter::{filter_runner, FilterRunner, FILTER_RUNNER_TICKER};

/// Makes, zeroes and fills the data a writer sends (Heka's `DataRecycler`). `Sync`: it is
/// used where packs are prepared, which may be another thread than the writer's.
pub trait DataRecycler: Send + Sync + 'static {
    /// What one message becomes before it is written.
    type OutData: Send + 'static;

    /// Makes one `OutData`, reused for the life of the pipeline.
    fn make_out_data(&self) -> Self::OutData;

    /// Resets a used `OutData` for reuse, keeping its allocations.
    fn zero_out_data(&self, out: &mut Self::OutData);

    /// Extracts what the writer needs from `pack` into a zeroed `out`.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when the message cannot be prepared; it is counted and skipped.
    fn prep_out_data(&self, pack: &PipelinePack, out: &mut Self::OutData)
        -> Result<(), WriteError>;
}

/// The recycler's data type, for brevity.
pub type OutData<R> = <R as DataRecycler>::OutData;

/// Writes each message as it comes (Heka's `Writer`).
pub trait Writer: Send + 'static {
    /// Prepares messages for this writer.
    type Recycler: DataRecycler;

    /// The recycler, used where packs are prepared.
    fn recycler(&self) -> Self::Recycler;

    /// Sends one prepared message.
    ///
    /// # Errors
    ///
    /// A [`WriteError`]; the message is counted as a write error.
    fn write(&mut self, out: &mut OutData<Self::Recycler>) -> Result<(), WriteError>;

    /// Handles a lifecycle event (Heka's writer is a `PluginGlobal`).
    fn event(&mut self, _event: Event) {}
}

/// Buffers messages and writes them out on a ticker (Heka's `BatchWriter`).
pub trait BatchWriter: Send + 'static {
    /// Prepares messages for this writer.
    type Recycler: DataRecycler;

    /// The recycler, used where packs are prepared.
    fn recycler(&self) -> Self::Recycler;

    /// Adds one prepared message to the current batch; does not send it yet.
    ///
    /// # Errors
    ///
    /// A [`WriteError`]; the message is counted as a write error.
    fn batch(&mut self, out: &mut OutData<Self::Recycler>) -> Result<(), WriteError>;

    /// Writes out everything batched so far (the flush + fsync point).
    ///
    /// # Errors
    ///
    /// A [`WriteError`]; the batch's messages are counted as write errors.
    fn commit(&mut self) -> Result<(), WriteError>;

    /// How often to commit (Heka's ticker channel from `Init`).
    fn commit_interval(&self) -> Duration;
}

/// A [`Writer`] run as an [`Output`].
pub struct WriterRunner<W: Writer> {
    writer: W,
    recycler: W::Recycler,
    out: OutData<W::Recycler>,
}

/// A [`BatchWriter`] run as an [`Output`], committing every `commit_interval`.
pub struct BatchRunner<W: BatchWriter> {
    writer: W,
    recycler: W::Recycler,
    out: OutData<W::Recycler>,
    interval: Duration,
    deadline: Instant,
    uncommitted: bool,
}

impl<W: Writer> std::fmt::Debug for WriterRunner<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterRunner").finish_non_exhaustive()
    }
}

impl<W: BatchWriter> std::fmt::Debug for BatchRunner<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRunner")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Marker for [`runner`] over a [`Writer`].
#[derive(Debug)]
pub enum WriterRole {}
/// Marker for [`runner`] over a [`BatchWriter`].
#[derive(Debug)]
pub enum BatchRole {}

/// Something [`runner`] can wrap. `Role` tells writers from batch writers.
pub trait IntoRunner<Role> {
    /// The runner type.
    type Runner: Output;
    /// Wraps `self`.
    fn into_runner(self) -> Self::Runner;
}

impl<W: Writer> IntoRunner<WriterRole> for W {
    type Runner = WriterRunner<W>;
    fn into_runner(self) -> WriterRunner<W> {
        let recycler = self.recycler();
        let out = recycler.make_out_data();
        WriterRunner {
            writer: self,
            recycler,
            out,
        }
    }
}

impl<W: BatchWriter> IntoRunner<BatchRole> for W {
    type Runner = BatchRunner<W>;
    fn into_runner(self) -> BatchRunner<W> {
        let recycler = self.recycler();
        let out = recycler.make_out_data();
        let interval = self.commit_interval();
        BatchRunner {
            writer: self,
            recycler,
            out,
            interval,
            deadline: Instant::now() + interval,
            uncommitted: false,
        }
    }
}

/// Wraps a [`Writer`] or [`BatchWriter`] as an output (Heka's `RunnerMaker(writer)`).
///
/// # Examples
///
/// ```
/// use engine::{runner, DataRecycler, PipelinePack, WriteError, Writer};
///
/// struct Payloads;
/// impl DataRecycler for Payloads {
///     type OutData = Vec<u8>;
///     fn make_out_data(&self) -> Vec<u8> { Vec::with_capacity(1024) }
///     fn zero_out_data(&self, out: &mut Vec<u8>) { out.clear() }
///     fn prep_out_data(&self, pack: &PipelinePack, out: &mut Vec<u8>) -> Result<(), WriteError> {
///         out.extend_from_slice(pack.message.payload.as_bytes());
///         Ok(())
///     }
/// }
/// struct Count(usize);
/// impl Writer for Count {
///     type Recycler = Payloads;
///     fn recycler(&self) -> Payloads { Payloads }
///     fn write(&mut self, out: &mut Vec<u8>) -> Result<(), WriteError> {
///         self.0 += out.len();
///         Ok(())
///     }
/// }
/// let _output = runner(Count(0));
/// ```
pub fn runner<Role, W: IntoRunner<Role>>(writer: W) -> W::Runner {
    writer.into_runner()
}

impl<W: Writer> Output for WriterRunner<W> {
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError> {
        self.recycler.zero_out_data(&mut self.out);
        self.recycler.prep_out_data(pack, &mut self.out)?;
        self.writer.write(&mut self.out)
    }

    fn event(&mut self, event: Event) {
        self.writer.event(event);
    }
}

impl<W: BatchWriter> Output for BatchRunner<W> {
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError> {
        self.recycler.zero_out_data(&mut self.out);
        self.recycler.prep_out_data(pack, &mut self.out)?;
        self.writer.batch(&mut self.out)?;
        self.uncommitted = true;
        Ok(())
    }

    fn commit(&mut self, now: Instant, force: bool) -> Result<bool, WriteError> {
        if !force && now < self.deadline {
            return Ok(!self.uncommitted);
        }
        self.deadline = now + self.interval;
        if self.uncommitted || force {
            self.uncommitted = false;
            self.writer.commit()?;
        }
        Ok(true)
    }

    fn hurry(&mut self) {
        self.deadline = Instant::now();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Debug)]
    pub(super) struct Payloads;
    impl DataRecycler for Payloads {
        type OutData = String;
        fn make_out_data(&self) -> String {
            String::new()
        }
        fn zero_out_data(&self, out: &mut String) {
            out.clear();
        }
        fn prep_out_data(&self, pack: &PipelinePack, out: &mut String) -> Result<(), WriteError> {
            out.push_str(&pack.message.payload);
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    pub(super) struct Collect {
        pub(super) batch: Vec<String>,
        pub(super) committed: Vec<String>,
    }
    impl BatchWriter for Collect {
        type Recycler = Payloads;
        fn recycler(&self) -> Payloads {
            Payloads
        }
        fn batch(&mut self, out: &mut String) -> Result<(), WriteError> {
            self.batch.push(out.clone());
            Ok(())
        }
        fn commit(&mut self) -> Result<(), WriteError> {
            self.committed.append(&mut self.batch);
            Ok(())
        }
        fn commit_interval(&self) -> Duration {
            Duration::from_secs(3600)
        }
    }

    #[test]
    fn batch_runner_commits_on_its_ticker_or_when_forced() {
        let mut r = runner(Collect::default());
        let mut pack = PipelinePack::new(16);
        for p in ["a", "b"] {
            pack.message.payload.clear();
            pack.message.payload.push_str(p);
            r.deliver(&pack).unwrap();
        }
        assert_eq!(
            r.commit(Instant::now(), false),
            Ok(false),
            "not due: nothing committed"
        );
        assert!(r.writer.committed.is_empty());
        assert_eq!(
            r.commit(Instant::now() + Duration::from_secs(7200), false),
            Ok(true)
        );
        assert_eq!(r.writer.committed, ["a", "b"]);
        r.deliver(&pack).unwrap();
        assert_eq!(r.commit(Instant::now(), true), Ok(true));
        assert_eq!(r.writer.committed.len(), 3);
    }
}
