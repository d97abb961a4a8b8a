//! An output stage: one consumer per output, behind route, delivering the packs that carry
//! its bit. Monomorphized over the output type, so delivery is a static call.
//!
//! Fault isolation (DESIGN.md section 10, "Panics"): every call into the plugin runs under
//! `catch_unwind`. A panic counts the pack in flight (and any delivered but uncommitted
//! ones) as write errors, drops the plugin, and rebuilds it from its config after a backoff
//! (`retries`: `delay_ms`, doubled per failure in a row, capped at `max_delay_ms`), holding
//! back-pressure meanwhile. A commit that delivers something ends the run of failures; a
//! rebuild that fails counts as one. After `max_retries` rebuilds in a row have failed,
//! the next failure disables the output and the packs routed to it are counted as `dropped`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Cursor, DoneFlag, Stage};
use crate::config::Retries;
use crate::counters::{Counter, Counters};
use crate::error::BuildError;
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
    /// How the plugin is rebuilt after a panic.
    pub(crate) retries: Retries,
    /// Set when the output may run: after a reload, once the old pipeline has drained and
    /// closed its files (no two writers on one path).
    pub(crate) gate: DoneFlag,
    /// The output's committed cursor (part of [`crate::Committed`]).
    pub(crate) committed: Arc<Sequence>,
    /// What inputs asked to have committed now ([`crate::Committed::request`]).
    pub(crate) demand: Arc<AtomicI64>,
}

/// Rebuilds an output's plugin from its config (after a panic).
pub(crate) type Rebuild<O> = Box<dyn FnMut() -> Result<O, BuildError> + Send>;

/// Counters of one output.
#[derive(Debug)]
struct OutputCounters {
    routed: Counter,
    delivered: Counter,
    write_errors: Counter,
    dropped: Counter,
    panics: Counter,
    restarts: Counter,
}

/// Where the output's plugin is in its life.
enum Health<O> {
    /// Running.
    Up(O),
    /// Panicked `failures` times in a row; rebuilt at `at`.
    Backoff { at: Instant, failures: u32 },
    /// Out of retries: packs routed to it are counted as dropped.
    Disabled,
}

/// Runs one [`Output`] on its own consumer sequence.
pub(crate) struct OutputStage<O> {
    name: String,
    cursor: Cursor,
    bit: usize,
    matcher: Option<Matcher>,
    health: Health<O>,
    gate: DoneFlag,
    rebuild: Rebuild<O>,
    retries: Retries,
    /// Consecutive failures (reset by a successful commit).
    failures: u32,
    /// Delivered but not yet committed.
    pending: u64,
    /// Every pack up to here is committed (or counted as a write error or a drop),
    /// published for inputs that ack their source (see [`crate::Committed`]).
    committed: Arc<Sequence>,
    demand: Arc<AtomicI64>,
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

/// The delay before the rebuild that follows failure number `failures` in a row (1: the
/// first): `delay_ms`, doubled per further failure, capped at `max_delay_ms`. `None` when
/// `failures` exceeds `max_retries`: `max_retries` rebuilds in a row have failed (panicked
/// or not built), and the output is disabled.
fn backoff(retries: &Retries, failures: u32) -> Option<Duration> {
    if retries.max_retries.is_some_and(|max| failures > max) {
        return None;
    }
    let shift = failures.saturating_sub(1).min(32);
    let ms = retries
        .delay_ms
        .saturating_mul(1u64 << shift)
        .min(retries.max_delay_ms);
    Some(Duration::from_millis(ms))
}

/// The panic payload as text, for the log.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string payload)")
}

impl<O: Output> OutputStage<O> {
    pub(crate) fn new(
        output: O,
        rebuild: Rebuild<O>,
        wiring: OutputWiring,
        counters: &Counters,
    ) -> Self {
        let c = OutputCounters {
            routed: counters.get(&wiring.name, "routed"),
            delivered: counters.get(&wiring.name, "delivered"),
            write_errors: counters.get(&wiring.name, "write_errors"),
            dropped: counters.get(&wiring.name, "dropped"),
            panics: counters.get(&wiring.name, "panics"),
            restarts: counters.get(&wiring.name, "restarts"),
        };
        let error_log = RateLimited::named(format!("output {}", wiring.name));
        OutputStage {
            name: wiring.name,
            cursor: wiring.cursor,
            bit: wiring.bit,
            matcher: wiring.matcher,
            health: Health::Up(output),
            gate: wiring.gate,
            rebuild,
            retries: wiring.retries,
            failures: 0,
            pending: 0,
            committed_at: wiring.committed.get(),
            committed: wiring.committed,
            demand: wiring.demand,
            waiting: false,
            counters: c,
            error_log,
        }
    }

    /// The plugin panicked: count what it held, drop it, and schedule its rebuild (or
    /// disable it when out of retries).
    fn panicked(&mut self, what: &str, payload: &(dyn std::any::Any + Send)) {
        self.counters.panics.add(1);
        self.counters.write_errors.add(self.pending);
        self.pending = 0;
        let old = std::mem::replace(&mut self.health, Health::Disabled);
        // A plugin whose drop panics too is gone either way.
        catch_unwind(AssertUnwindSafe(move || drop(old))).unwrap_or(());
        match self.failed() {
            None => crate::log::warn(format_args!(
                "output {}: panicked in {what}: {}; out of retries ({} in a row): disabled, \
                 its messages are counted as dropped",
                self.name,
                panic_message(payload),
                self.failures
            )),
            Some(delay) if self.error_log.allow() => crate::log::warn(format_args!(
                "output {}: panicked in {what}: {}; rebuilding in {delay:?}",
                self.name,
                panic_message(payload)
            )),
            Some(_) => {}
        }
    }

    /// One more failure in a row (a panic, or a rebuild that failed): schedules the next
    /// rebuild after [`backoff`]'s delay, which it returns, or disables the output when it
    /// is out of retries (`None`).
    fn failed(&mut self) -> Option<Duration> {
        self.failures += 1;
        let delay = backoff(&self.retries, self.failures);
        self.health = match delay {
            Some(d) => Health::Backoff {
                at: Instant::now() + d,
                failures: self.failures,
            },
            None => Health::Disabled,
        };
        delay
    }

    /// In backoff: rebuilds the plugin when due (at `now` or later). Whether the output is
    /// up.
    fn heal(&mut self, now: Instant) -> bool {
        let Health::Backoff { at, failures } = self.health else {
            return matches!(self.health, Health::Up(_));
        };
        if now < at {
            return false;
        }
        match catch_unwind(AssertUnwindSafe(|| (self.rebuild)())) {
            Ok(Ok(o)) => {
                self.counters.restarts.add(1);
                if self.error_log.allow() {
                    crate::log::info(format_args!(
                        "output {}: rebuilt after {failures} failure(s) in a row",
                        self.name
                    ));
                }
                self.health = Health::Up(o);
                true
            }
            Ok(Err(e)) => {
                match self.failed() {
                    Some(delay) => crate::log::warn(format_args!(
                        "output {}: rebuild failed: {e}; next try in {delay:?}",
                        self.name
                    )),
                    None => crate::log::warn(format_args!(
                        "output {}: rebuild failed: {e}; out of retries ({} in a row): \
                         disabled, its messages are counted as dropped",
                        self.name, self.failures
                    )),
                }
                false
            }
            Err(p) => {
                self.panicked("build", p.as_ref());
                false
            }
        }
    }

    /// Commits if due (or now if `force`); returns whether nothing is left uncommitted,
    /// and then publishes the committed cursor.
    fn commit(&mut self, force: bool) -> bool {
        // An input waiting for commits asked for one up to a sequence we have not
        // committed: commit what we hold now rather than at the interval.
        if self.pending > 0 && self.demand.load(Ordering::Acquire) > self.committed_at {
            if let Health::Up(output) = &mut self.health {
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| output.hurry())) {
                    self.panicked("hurry", p.as_ref());
                }
            }
        }
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
        let Health::Up(output) = &mut self.health else {
            // A panic counted what was pending.
            return true;
        };
        let pending = self.pending;
        let settled = catch_unwind(AssertUnwindSafe(|| {
            output.settle(Instant::now(), force, pending)
        }));
        let s = match settled {
            Ok(s) => s,
            Err(p) => {
                self.panicked("commit", p.as_ref());
                return true;
            }
        };
        self.counters.delivered.add(s.delivered);
        self.counters.write_errors.add(s.write_errors);
        self.counters.dropped.add(s.dropped);
        self.pending = self.pending.saturating_sub(s.total());
        if s.delivered > 0 {
            // Proven healthy: the next panic starts the backoff afresh.
            self.failures = 0;
        }
        if let Some(e) = s.error {
            if self.error_log.allow() {
                crate::log::warn(format_args!("output {}: commit failed: {e}", self.name));
            }
        }
        self.pending == 0
    }

    /// How many messages the plugin can take now (see [`Output::capacity`]); `None` when
    /// asking panicked.
    fn capacity(&mut self) -> Option<usize> {
        let Health::Up(output) = &mut self.health else {
            return Some(usize::MAX);
        };
        match catch_unwind(AssertUnwindSafe(|| output.capacity())) {
            Ok(c) => Some(c),
            Err(p) => {
                self.panicked("capacity", p.as_ref());
                None
            }
        }
    }

    /// Whether the pack at `s` is for this output.
    fn wants(&self, pack: &crate::pack::PipelinePack) -> bool {
        pack.routed_to(self.bit)
            && match &self.matcher {
                Some(m) => m.matches(&pack.message),
                None => true,
            }
    }
}

impl<O: Output> Stage for OutputStage<O> {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, budget: usize) -> usize {
        if !self.gate.get() {
            return 0;
        }
        let disabled = matches!(self.health, Health::Disabled);
        if !disabled && !self.heal(Instant::now()) {
            // In backoff: hold back-pressure until the rebuild is due.
            return 0;
        }
        // Every sequence carries at most one message for us, so a batch no longer than the
        // output's capacity never overfills it.
        let Some(capacity) = self.capacity() else {
            return 0;
        };
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
        // Counted in this order: `routed` first, then what became of the packs (see
        // `crate::counters`), so a report never sees more settled than taken.
        let (mut routed, mut errors, mut dropped) = (0u64, 0u64, 0u64);
        let mut last_error = None;
        let mut end = hi;
        for s in lo..=hi {
            // SAFETY: route released `s` and producers gate on our sequence, so the pack is
            // immutable until we release it; other outputs only read it too.
            let pack = unsafe { self.cursor.ring.get(s) };
            if !self.wants(pack) {
                continue;
            }
            routed += 1;
            let Health::Up(output) = &mut self.health else {
                dropped += 1;
                continue;
            };
            match catch_unwind(AssertUnwindSafe(|| output.deliver(pack))) {
                Ok(Ok(())) => self.pending += 1,
                Ok(Err(e)) => {
                    errors += 1;
                    last_error = Some(e);
                }
                Err(p) => {
                    // The pack in flight is counted and skipped; the rest of the batch
                    // waits for the rebuilt plugin. What it held is counted as failed by
                    // `panicked`, after it is counted as routed.
                    errors += 1;
                    self.counters.routed.add(std::mem::take(&mut routed));
                    self.panicked("deliver", p.as_ref());
                    end = s;
                    break;
                }
            }
        }
        self.cursor.release(end);
        self.counters.routed.add(routed);
        self.counters.write_errors.add(errors);
        self.counters.dropped.add(dropped);
        if let Some(e) = last_error {
            if self.error_log.allow() {
                crate::log::warn(format_args!("output {}: {e}", self.name));
            }
        }
        self.commit(false);
        (end - lo + 1) as usize
    }

    fn finish(&mut self) -> bool {
        if self.cursor.done.get() || !self.gate.get() || !self.cursor.drained() {
            return self.cursor.done.get();
        }
        if matches!(self.health, Health::Backoff { .. }) {
            // Packs still wait for the rebuilt plugin; `poll` rebuilds it when due.
            return false;
        }
        if !self.commit(true) {
            // Waiting for acknowledgements (NatsOutput): come back later, bounded by the
            // engine's drain timeout.
            return false;
        }
        if let Health::Up(output) = &mut self.health {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| output.event(Event::Stop))) {
                crate::log::warn(format_args!(
                    "output {}: panicked in Stop: {}",
                    self.name,
                    panic_message(p.as_ref())
                ));
            }
        }
        self.cursor.done.set();
        true
    }

    fn backlogged(&self) -> bool {
        self.waiting
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
