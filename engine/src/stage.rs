//! Stages: the units a worker thread polls. Inputs produce into the ring; decode, route and
//! outputs consume it, each processing the whole available range (up to a budget) as one
//! batch and publishing its own sequence once per batch.

mod decode;
mod input;
mod output;
mod route;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(crate) use decode::{DecodeLoop, DecodeRange, DecodeStage};
pub(crate) use input::InputStage;
pub(crate) use output::{OutputStage, OutputWiring};
pub(crate) use route::{
    DropFeed, FilterLoop, FilterRange, Injection, RouteChain, RouteStage, Routing, NO_CHAIN,
};

use crate::barrier::Barrier;
use crate::pack::PipelinePack;
use crate::ring::RingBuffer;
use crate::sequence::Sequence;

/// A unit of work on a worker thread. `poll` never blocks (DESIGN.md section 10): it returns
/// how much it did, and the thread waits only when none of its stages progressed.
pub(crate) trait Stage: Send {
    /// The stage's plan name (`udp`, `decode`, `route`, an output name...).
    fn name(&self) -> &str;

    /// Does up to `budget` packs of work; returns how many it handled (0 = no progress).
    fn poll(&mut self, budget: usize) -> usize;

    /// Whether the stage is done for good (stopped and drained). Finishing work (a final
    /// commit, the Stop event) happens inside the call that first returns `true`.
    fn finish(&mut self) -> bool;

    /// Registers the stage's sources with its thread's poll (inputs only).
    fn register(&mut self, _registry: &mio::Registry, _token: mio::Token) -> io::Result<()> {
        Ok(())
    }

    /// Marks the stage's source `token` readable after a readiness event (inputs only).
    fn set_ready(&mut self, _token: mio::Token) {}

    /// Whether the stage has work it could not do yet for lack of ring space, so its thread
    /// must come back soon instead of waiting for a readiness event.
    fn backlogged(&self) -> bool {
        false
    }
}

/// A stage's "I am done" flag, read by the stages after it.
#[derive(Clone, Debug, Default)]
pub(crate) struct DoneFlag(Arc<AtomicBool>);

impl DoneFlag {
    /// Sets the flag with `Release`, after the stage's final publication, so a reader that
    /// sees it with `Acquire` also sees the final sequence.
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Reads with `Acquire` (see [`DoneFlag::set`]).
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The consumer side shared by decode, route and output stages: where it is, what it
/// waits on, and how it knows its upstream will publish nothing more.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) ring: Arc<RingBuffer<PipelinePack>>,
    pub(crate) barrier: Barrier,
    pub(crate) upstream: Vec<DoneFlag>,
    pub(crate) sequence: Arc<Sequence>,
    pub(crate) done: DoneFlag,
    /// Next sequence to process.
    pub(crate) next: i64,
}

impl Cursor {
    pub(crate) fn new(
        ring: Arc<RingBuffer<PipelinePack>>,
        barrier: Barrier,
        upstream: Vec<DoneFlag>,
        sequence: Arc<Sequence>,
        done: DoneFlag,
    ) -> Self {
        let next = sequence.get() + 1;
        Cursor {
            ring,
            barrier,
            upstream,
            sequence,
            done,
            next,
        }
    }

    /// The next batch, `next..=hi`, at most `budget` long; `None` when nothing is available.
    #[inline]
    pub(crate) fn next_batch(&self, budget: usize) -> Option<(i64, i64)> {
        let avail = self.barrier.available(self.next);
        if avail < self.next {
            return None;
        }
        Some((self.next, avail.min(self.next + budget as i64 - 1)))
    }

    /// Publishes that everything up to `hi` is processed (one `Release` store per batch).
    #[inline]
    pub(crate) fn release(&mut self, hi: i64) {
        self.sequence.set(hi);
        self.next = hi + 1;
    }

    /// Whether every upstream stage is done and this cursor has caught up with them.
    /// Reads the done flags before the barrier, so the barrier value read is final.
    pub(crate) fn drained(&self) -> bool {
        self.upstream.iter().all(DoneFlag::get) && self.barrier.available(self.next) < self.next
    }
}
