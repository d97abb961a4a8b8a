//! The input stage: waits for readiness holding no slot, then claims, fills and publishes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{DoneFlag, Stage};
use crate::batch::Batch;
use crate::clock::now_ns;
use crate::counters::Counter;
use crate::log::RateLimited;
use crate::pack::{PackState, PipelinePack};
use crate::plugin::{Fill, Input};
use crate::ring::RingBuffer;
use crate::sequencer::Producer;

/// Runs one [`Input`] as a producer of the ring.
pub(crate) struct InputStage {
    name: String,
    input: Box<dyn Input>,
    producer: Producer,
    ring: Arc<RingBuffer<PipelinePack>>,
    batch: usize,
    /// How many slots to claim next: twice what the last fill used (at least
    /// [`MIN_CLAIM`], at most `batch`). A trickle then claims a few slots, not a whole batch
    /// that would be reset and (multi-producer) published as skips for every datagram;
    /// a flood doubles back to `batch` within a few polls.
    claim_hint: usize,
    ready: bool,
    backlogged: bool,
    stop: Arc<AtomicBool>,
    /// `Input::stop` was called.
    stopped: bool,
    /// After `stop`, the input has more to publish (a final flush): fill until drained.
    final_fill: bool,
    done: DoneFlag,
    /// Set when the input may read (see [`InputStage::with_gate`]).
    gate: Option<DoneFlag>,
    accepted: Counter,
    errors: Counter,
    panics: Counter,
    error_log: RateLimited,
}

impl std::fmt::Debug for InputStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputStage")
            .field("name", &self.name)
            .finish()
    }
}

/// The fewest slots an input claims at once.
const MIN_CLAIM: usize = 8;

impl InputStage {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: String,
        input: Box<dyn Input>,
        producer: Producer,
        ring: Arc<RingBuffer<PipelinePack>>,
        batch: usize,
        stop: Arc<AtomicBool>,
        done: DoneFlag,
        counters: &crate::counters::Counters,
    ) -> Self {
        InputStage {
            accepted: counters.get(&name, "accepted"),
            errors: counters.get(&name, "read_errors"),
            panics: counters.get(&name, "panics"),
            error_log: RateLimited::named(format!("input {name}")),
            name,
            input,
            producer,
            ring,
            batch,
            claim_hint: batch,
            ready: true,
            backlogged: false,
            stop,
            stopped: false,
            final_fill: false,
            done,
            gate: None,
        }
    }

    /// Holds the input until `gate` is set (a reload's new input waits for the old one to
    /// stop reading the shared socket, so messages of one sender stay in order).
    pub(crate) fn with_gate(mut self, gate: DoneFlag) -> Self {
        self.gate = Some(gate);
        self
    }
}

impl InputStage {
    /// Calls `Input::stop` once, and asks the input whether stopping left something to
    /// publish (see [`Input::stop`]).
    fn stop_input(&mut self) {
        if !self.stopped {
            self.stopped = true;
            self.input.stop();
            self.final_fill = self.input.tick(std::time::Instant::now());
        }
    }
}

impl Stage for InputStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, budget: usize) -> usize {
        if self.done.get() || self.gate.as_ref().is_some_and(|g| !g.get()) {
            return 0;
        }
        if self.stop.load(Ordering::Relaxed) {
            self.stop_input();
            if !self.final_fill {
                return 0;
            }
        } else if !self.ready && !self.input.tick(std::time::Instant::now()) {
            return 0;
        }
        let want = self.batch.min(budget).min(self.claim_hint).max(1);
        let Some(claim) = self.producer.try_claim(want) else {
            self.backlogged = true;
            return 0;
        };
        self.backlogged = false;
        let now = now_ns();
        for i in 0..claim.len {
            // SAFETY: `claim` is ours until published below; nobody else touches it.
            let pack = unsafe { self.ring.get_mut(claim.lo + i as i64) };
            pack.reset();
            pack.recv_time = now;
        }
        // SAFETY: the claimed range is owned by this stage until `publish` below, and the
        // batch does not outlive this call.
        let mut batch = unsafe { Batch::new(&self.ring, claim.lo, claim.len) };
        // A panicking input is contained: what it was reading is lost (counted as a panic),
        // the claimed slots go out as skips so no consumer waits on them, and the input is
        // called again at the next poll.
        let result = match catch_unwind(AssertUnwindSafe(|| self.input.fill(&mut batch))) {
            Ok(r) => r,
            Err(_) => {
                batch.set_filled(0);
                self.panics.add(1);
                if self.error_log.allow() {
                    crate::log::warn(format_args!(
                        "input {}: panicked while reading; what it was reading is lost, \
                         reading on",
                        self.name
                    ));
                }
                Ok(Fill::More)
            }
        };
        let filled = batch.filled();
        self.claim_hint = (filled * 2).clamp(MIN_CLAIM, self.batch.max(MIN_CLAIM));
        let mut accepted = 0u64;
        for i in 0..claim.len {
            let pack = batch.get_mut(i);
            if i < filled && matches!(pack.state, PackState::Raw | PackState::Decoded) {
                accepted += 1;
            } else if i < filled || self.producer.publishes_unused() {
                pack.state = PackState::Skip;
            }
        }
        let used = if self.producer.publishes_unused() {
            claim.len
        } else {
            filled
        };
        // Counted before the packs are published, so no later stage counts one first (the
        // report's in-flight term is never negative; see `crate::counters`).
        self.accepted.add(accepted);
        self.producer.publish(claim, used);
        if self.stopped {
            self.final_fill =
                matches!(result, Ok(Fill::More)) && self.input.tick(std::time::Instant::now());
        }
        match result {
            Ok(Fill::More) => {}
            Ok(Fill::Drained) => self.ready = false,
            Err(e) => {
                self.errors.add(1);
                self.ready = false;
                if self.error_log.allow() {
                    crate::log::warn(format_args!("input {}: {e}", self.name));
                }
            }
        }
        filled
    }

    fn finish(&mut self) -> bool {
        if self.gate.as_ref().is_some_and(|g| !g.get()) {
            return false;
        }
        if !self.done.get() && self.stop.load(Ordering::Relaxed) {
            self.stop_input();
            if !self.final_fill {
                self.done.set();
            }
        }
        self.done.get()
    }

    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> std::io::Result<()> {
        self.input.register(registry, token)
    }

    fn set_ready(&mut self, token: mio::Token) {
        self.input.ready(token);
        self.ready = true;
    }

    fn backlogged(&self) -> bool {
        self.backlogged && self.ready
    }
}
