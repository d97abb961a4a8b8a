//! An output stage: one consumer per output, behind route, delivering the packs that carry
//! its bit. Monomorphized over the output type, so delivery is a static call.

use std::sync::Arc;
use std::time::Instant;

use super::{Cursor, Stage};
use crate::counters::{Counter, Counters};
use crate::log::RateLimited;
use crate::matcher::Matcher;
use crate::plugin::{Event, Output};
use crate::sequence::Sequence;

/// Everything an output stage needs from the pipeline besides its plugin.
#[derive(Debug)]
pub(crate) struct OutputWiring {
    pub(crate) name: String,
    pub(crate) cursor: Cursor,
    pub(crate) bit: usize,
    /// The output's `message_matcher`, ANDed with its bit.
    pub(crate) matcher: Option<Matcher>,
    /// The output's committed cursor (part of [`crate::Committed`]).
    pub(crate) committed: Arc<Sequence>,
}

/// Counters of one output.
#[derive(Debug)]
struct OutputCounters {
    routed: Counter,
    delivered: Counter,
    write_errors: Counter,
}

/// Runs one [`Output`] on its own consumer sequence.
pub(crate) struct OutputStage<O> {
    name: String,
    cursor: Cursor,
    bit: usize,
    matcher: Option<Matcher>,
    output: O,
    /// Delivered but not yet committed.
    pending: u64,
    /// Every pack up to here is committed (or counted as a write error), published for
    /// inputs that ack their source (see [`crate::Committed`]).
    committed: Arc<Sequence>,
    committed_at: i64,
    /// The output had no capacity at the last poll: come back soon (its room frees up on
    /// another thread, with no readiness event to wake us).
    waiting: bool,
    counters: OutputCounters,
    error_log: RateLimited,
}

impl<O> std::fmt::Debug for OutputStage<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputStage")
            .field("name", &self.name)
            .finish()
    }
}

impl<O: Output> OutputStage<O> {
    pub(crate) fn new(output: O, wiring: OutputWiring, counters: &Counters) -> Self {
        let c = OutputCounters {
            routed: counters.get(&wiring.name, "routed"),
            delivered: counters.get(&wiring.name, "delivered"),
            write_errors: counters.get(&wiring.name, "write_errors"),
        };
        OutputStage {
            name: wiring.name,
            cursor: wiring.cursor,
            bit: wiring.bit,
            matcher: wiring.matcher,
            output,
            pending: 0,
            committed_at: wiring.committed.get(),
            committed: wiring.committed,
            waiting: false,
            counters: c,
            error_log: RateLimited::new(),
        }
    }

    /// Commits if due (or now if `force`); returns whether nothing is left uncommitted,
    /// and then publishes the committed cursor.
    fn commit(&mut self, force: bool) -> bool {
        let done = self.try_commit(force);
        let at = self.cursor.next - 1;
        if done && at != self.committed_at {
            self.committed_at = at;
            self.committed.set(at);
        }
        done
    }

    fn try_commit(&mut self, force: bool) -> bool {
        if self.pending == 0 && !force {
            return true;
        }
        match self.output.commit(Instant::now(), force) {
            Ok(true) => {
                self.counters.delivered.add(self.pending);
                self.pending = 0;
                true
            }
            Ok(false) => false,
            Err(e) => {
                self.counters.write_errors.add(self.pending);
                self.pending = 0;
                if self.error_log.allow() {
                    crate::log::warn(format_args!("output {}: commit failed: {e}", self.name));
                }
                true
            }
        }
    }
}

impl<O: Output> Stage for OutputStage<O> {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, budget: usize) -> usize {
        // Every sequence carries at most one message for us, so a batch no longer than the
        // output's capacity never overfills it.
        let capacity = self.output.capacity();
        let next = if capacity == 0 {
            None
        } else {
            self.cursor.next_batch(budget.min(capacity))
        };
        let Some((lo, hi)) = next else {
            self.commit(false);
            self.waiting = capacity == 0;
            return 0;
        };
        self.waiting = false;
        let (mut routed, mut errors) = (0u64, 0u64);
        let mut last_error = None;
        for s in lo..=hi {
            // SAFETY: route released `s` and producers gate on our sequence, so the pack is
            // immutable until we release it; other outputs only read it too.
            let pack = unsafe { self.cursor.ring.get(s) };
            if !pack.routed_to(self.bit)
                || self
                    .matcher
                    .as_ref()
                    .is_some_and(|m| !m.matches(&pack.message))
            {
                continue;
            }
            routed += 1;
            match self.output.deliver(pack) {
                Ok(()) => self.pending += 1,
                Err(e) => {
                    errors += 1;
                    last_error = Some(e);
                }
            }
        }
        self.cursor.release(hi);
        self.counters.routed.add(routed);
        self.counters.write_errors.add(errors);
        if let Some(e) = last_error {
            if self.error_log.allow() {
                crate::log::warn(format_args!("output {}: {e}", self.name));
            }
        }
        self.commit(false);
        (hi - lo + 1) as usize
    }

    fn finish(&mut self) -> bool {
        if !self.cursor.done.get() && self.cursor.drained() && self.commit(true) {
            self.output.event(Event::Stop);
            self.cursor.done.set();
        }
        self.cursor.done.get()
    }

    fn backlogged(&self) -> bool {
        self.waiting
    }
}
