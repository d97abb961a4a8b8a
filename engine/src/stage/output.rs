//! An output stage: one consumer per output, behind route, delivering the packs that carry
//! its bit. Monomorphized over the output type, so delivery is a static call.

use std::time::Instant;

use super::{Cursor, Stage};
use crate::counters::{Counter, Counters};
use crate::log::RateLimited;
use crate::matcher::Matcher;
use crate::plugin::{Event, Output};

/// Everything an output stage needs from the pipeline besides its plugin.
#[derive(Debug)]
pub(crate) struct OutputWiring {
    pub(crate) name: String,
    pub(crate) cursor: Cursor,
    pub(crate) bit: usize,
    /// The output's `message_matcher`, ANDed with its bit.
    pub(crate) matcher: Option<Matcher>,
}

/// Counters of one output.
#[derive(Debug)]
struct OutputCounters {
    routed: Counter,
    delivered: Counter,
    write_errors: Counter,
    dropped: Counter,
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
            dropped: counters.get(&wiring.name, "dropped"),
        };
        OutputStage {
            name: wiring.name,
            cursor: wiring.cursor,
            bit: wiring.bit,
            matcher: wiring.matcher,
            output,
            pending: 0,
            counters: c,
            error_log: RateLimited::new(),
        }
    }

    fn commit(&mut self, force: bool) {
        if self.pending == 0 && !force {
            return;
        }
        let s = self.output.settle(Instant::now(), force, self.pending);
        self.counters.delivered.add(s.delivered);
        self.counters.write_errors.add(s.write_errors);
        self.counters.dropped.add(s.dropped);
        self.pending = self.pending.saturating_sub(s.total());
        if let Some(e) = s.error {
            if self.error_log.allow() {
                crate::log::warn(format_args!("output {}: commit failed: {e}", self.name));
            }
        }
    }
}

impl<O: Output> Stage for OutputStage<O> {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, budget: usize) -> usize {
        let room = self.output.capacity();
        if room == 0 {
            // Back-pressure: take nothing until the output has room (it settles meanwhile).
            self.commit(false);
            return 0;
        }
        let Some((lo, hi)) = self.cursor.next_batch(budget.min(room)) else {
            self.commit(false);
            return 0;
        };
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
        if !self.cursor.done.get() && self.cursor.drained() {
            self.commit(true);
            self.output.event(Event::Stop);
            self.cursor.done.set();
        }
        self.cursor.done.get()
    }
}
