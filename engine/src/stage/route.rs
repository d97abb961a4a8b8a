//! The route stage: picks each message's filter chain by type, sets its outputs, and runs
//! the chain's filters (Heka's router plus filter chains).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rustc_hash::FxBuildHasher;

use super::{Cursor, DoneFlag, Stage};
use crate::clock::now_ns;
use crate::counters::Counter;
use crate::generator::Generator;
use crate::matcher::Matcher;
use crate::pack::{PackState, PipelinePack};
use crate::plugin::Filter;
use crate::ring::RingBuffer;
use crate::sequencer::{Producer, Published};

/// `chain_of` value for a pack that has no chain (not decoded, or no chain matched).
pub(crate) const NO_CHAIN: u16 = u16::MAX;

/// One filter over a range of the ring: one dynamic call per chain per batch.
pub(crate) trait FilterRange: Send {
    /// Runs the filter on every still-decoded pack of `lo..=hi` whose chain is `chain` and
    /// that its matcher accepts.
    ///
    /// # Safety
    ///
    /// The caller must own `lo..=hi` as the route stage (see [`RingBuffer::get_mut`]).
    unsafe fn filter_range(
        &mut self,
        ring: &RingBuffer<PipelinePack>,
        lo: i64,
        hi: i64,
        chain_of: &[u16],
        chain: u16,
        generator: &mut Generator,
    );

    /// Calls the filter's `tick` when its ticker is due.
    fn tick(&mut self, now: Instant, now_ns: i64, generator: &mut Generator);

    /// Sets the filter's `message_matcher` and `ticker_interval_secs`.
    fn configure(&mut self, matcher: Option<Matcher>, ticker: Option<Duration>, panics: Counter);
}

/// Wraps a concrete [`Filter`] as a [`FilterRange`].
#[derive(Debug)]
pub(crate) struct FilterLoop<F> {
    pub(crate) filter: F,
    matcher: Option<Matcher>,
    ticker: Option<(Duration, Instant)>,
    /// Messages the filter panicked on (each then blocked, so the counts still balance).
    panics: Counter,
}

impl<F> FilterLoop<F> {
    pub(crate) fn new(filter: F) -> Self {
        FilterLoop {
            filter,
            matcher: None,
            ticker: None,
            panics: Counter::default(),
        }
    }
}

impl<F: Filter> FilterRange for FilterLoop<F> {
    unsafe fn filter_range(
        &mut self,
        ring: &RingBuffer<PipelinePack>,
        lo: i64,
        hi: i64,
        chain_of: &[u16],
        chain: u16,
        generator: &mut Generator,
    ) {
        for (i, s) in (lo..=hi).enumerate() {
            if chain_of[i] != chain {
                continue;
            }
            // SAFETY: the caller owns `lo..=hi` as the route stage.
            let pack = unsafe { ring.get_mut(s) };
            if pack.state != PackState::Decoded
                || self
                    .matcher
                    .as_ref()
                    .is_some_and(|m| !m.matches(&pack.message))
            {
                continue;
            }
            generator.set_hops(pack.chain_count);
            let filtered = catch_unwind(AssertUnwindSafe(|| self.filter.filter(pack, generator)));
            if filtered.is_err() {
                // Contained: the message in flight is blocked (and counted as such).
                pack.state = PackState::Blocked;
                self.panics.add(1);
            }
        }
        generator.set_hops(0);
    }

    fn tick(&mut self, now: Instant, now_ns: i64, generator: &mut Generator) {
        if let Some((interval, next)) = &mut self.ticker {
            if now >= *next {
                *next = now + *interval;
                let ticked = catch_unwind(AssertUnwindSafe(|| self.filter.tick(now_ns, generator)));
                if ticked.is_err() {
                    self.panics.add(1);
                }
            }
        }
    }

    fn configure(&mut self, matcher: Option<Matcher>, ticker: Option<Duration>, panics: Counter) {
        self.matcher = matcher;
        self.panics = panics;
        let ticker = ticker.or_else(|| self.filter.default_ticker());
        self.ticker = ticker.map(|d| (d, Instant::now() + d));
    }
}

/// A filter chain at run time.
#[derive(Clone, Debug, Default)]
pub(crate) struct RouteChain {
    /// Bitmask of the chain's outputs.
    pub(crate) outputs: u64,
    /// Indices into the route stage's filters, in chain order.
    pub(crate) filters: Vec<usize>,
}

/// The chains and how to pick one.
#[derive(Debug)]
pub(crate) struct Routing {
    pub(crate) chains: Vec<RouteChain>,
    /// Message type → chain index.
    pub(crate) by_type: Vec<(String, u16)>,
    /// The `default` chain, or `NO_CHAIN`.
    pub(crate) default_chain: u16,
    /// The feeds of the `on_full: drop` outputs.
    pub(crate) feeds: Vec<DropFeed>,
}

/// The route stage.
pub(crate) struct RouteStage {
    cursor: Cursor,
    chains: Vec<RouteChain>,
    by_type: HashMap<Box<str>, u16, FxBuildHasher>,
    default_chain: u16,
    filters: Vec<Box<dyn FilterRange>>,
    chain_of: Vec<u16>,
    injection: Option<Injection>,
    /// Outputs with `on_full: drop`, fed copies through rings of their own.
    feeds: Vec<DropFeed>,
    max_loops: u8,
    routed: Counter,
    blocked: Counter,
    unrouted: Counter,
    loops_dropped: Counter,
}

/// The route stage's side as the message generator's producer (present when the config
/// has filters).
/// Feeds an `on_full: drop` output (DESIGN.md section 10): such an output does not gate the
/// producers of the main ring (a lapped consumer would read a slot being rewritten), so
/// route copies the packs routed to it into a bounded ring of its own; when that ring is
/// full, the pack is counted as routed and dropped for this output only.
#[derive(Debug)]
pub(crate) struct DropFeed {
    pub(crate) bit: usize,
    pub(crate) ring: std::sync::Arc<RingBuffer<PipelinePack>>,
    pub(crate) producer: Producer,
    pub(crate) routed: Counter,
    pub(crate) dropped: Counter,
}

impl DropFeed {
    /// Copies the packs of `lo..=hi` routed to this output into its ring, as far as it has
    /// room; counts the rest as dropped.
    ///
    /// # Safety
    ///
    /// Route owns `lo..=hi` of `ring` (claimed from its barrier, not yet released).
    unsafe fn forward(&mut self, ring: &RingBuffer<PipelinePack>, lo: i64, hi: i64) {
        let mut wanted = 0;
        for s in lo..=hi {
            // SAFETY: the caller owns `lo..=hi`.
            wanted += usize::from(unsafe { ring.get(s) }.routed_to(self.bit));
        }
        if wanted == 0 {
            return;
        }
        let mut copied = 0;
        if let Some(claim) = self.producer.try_claim(wanted) {
            for s in lo..=hi {
                if copied == claim.len {
                    break;
                }
                // SAFETY: the caller owns `lo..=hi`.
                let src = unsafe { ring.get(s) };
                if !src.routed_to(self.bit) {
                    continue;
                }
                // SAFETY: the claim gives us `claim.lo + copied` until we publish it.
                let dst = unsafe { self.ring.get_mut(claim.lo + copied as i64) };
                dst.reset();
                dst.message.copy_from(&src.message);
                dst.recv_time = src.recv_time;
                dst.chain_count = src.chain_count;
                dst.outputs = 1u64 << self.bit;
                dst.state = PackState::Decoded;
                copied += 1;
            }
            self.producer.publish(claim, copied);
        }
        let lost = (wanted - copied) as u64;
        if lost > 0 {
            self.routed.add(lost);
            self.dropped.add(lost);
        }
    }
}

pub(crate) struct Injection {
    pub(crate) generator: Generator,
    pub(crate) producer: Producer,
    /// What every producer published, to know when the ring is empty at shutdown.
    pub(crate) published: Published,
    /// The inputs' done flags: no injection can be triggered after they are all done and
    /// the ring is drained.
    pub(crate) inputs_done: Vec<DoneFlag>,
    /// Set when the generator will publish nothing more (decode waits for it).
    pub(crate) done: DoneFlag,
    pub(crate) injected: Counter,
    pub(crate) refused: Counter,
}

impl std::fmt::Debug for RouteStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteStage")
            .field("chains", &self.chains)
            .finish()
    }
}

impl RouteStage {
    pub(crate) fn new(
        cursor: Cursor,
        routing: Routing,
        filters: Vec<Box<dyn FilterRange>>,
        injection: Option<Injection>,
        max_loops: u8,
        budget: usize,
        counters: &crate::counters::Counters,
    ) -> Self {
        RouteStage {
            cursor,
            chains: routing.chains,
            by_type: routing
                .by_type
                .into_iter()
                .map(|(t, c)| (t.into_boxed_str(), c))
                .collect(),
            default_chain: routing.default_chain,
            filters,
            chain_of: Vec::with_capacity(budget),
            injection,
            feeds: routing.feeds,
            max_loops,
            routed: counters.get("route", "routed"),
            blocked: counters.get("route", "blocked"),
            unrouted: counters.get("route", "unrouted"),
            loops_dropped: counters.get("route", "loops_dropped"),
        }
    }

    /// Publishes pending injections into the ring as decoded packs; never waits.
    fn publish_injections(&mut self, budget: usize) -> usize {
        let Some(inj) = &mut self.injection else {
            return 0;
        };
        let mut published = 0;
        while inj.generator.pending() > 0 && published < budget {
            let want = inj.generator.pending().min(budget - published);
            let Some(claim) = inj.producer.try_claim(want) else {
                break; // the ring is full: try again on the next poll
            };
            let now = now_ns();
            for i in 0..claim.len {
                // SAFETY: the claimed range is ours until published below.
                let pack = unsafe { self.cursor.ring.get_mut(claim.lo + i as i64) };
                pack.reset();
                pack.recv_time = now;
                match inj.generator.front() {
                    Some((msg, hops)) => {
                        pack.message.copy_from(msg);
                        if pack.message.timestamp == 0 {
                            // As Heka's generator stamped new messages: a filter that
                            // sets no timestamp gets the time of injection, not 1970.
                            pack.message.timestamp = now;
                        }
                        pack.chain_count = hops;
                        pack.state = PackState::Decoded;
                        inj.generator.pop_front();
                    }
                    None => pack.state = PackState::Skip,
                }
            }
            inj.producer.publish(claim, claim.len);
            published += claim.len;
        }
        // Counted when injected (every injection is published before the generator is
        // done, so at stop `injected` equals what was published).
        inj.injected.add(inj.generator.injected);
        inj.refused.add(inj.generator.refused);
        inj.generator.injected = 0;
        inj.generator.refused = 0;
        published
    }

    /// Runs due filter ticks (they may inject).
    fn tick(&mut self) {
        let Some(inj) = &mut self.injection else {
            return;
        };
        if inj.done.get() {
            return;
        }
        let now = Instant::now();
        let wall = now_ns();
        for f in &mut self.filters {
            f.tick(now, wall, &mut inj.generator);
        }
    }

    #[inline]
    fn chain_for(&self, msg_type: &str) -> u16 {
        if self.by_type.is_empty() {
            return self.default_chain;
        }
        self.by_type
            .get(msg_type)
            .copied()
            .unwrap_or(self.default_chain)
    }
}

impl Stage for RouteStage {
    fn name(&self) -> &str {
        "route"
    }

    fn poll(&mut self, budget: usize) -> usize {
        self.tick();
        let injected = self.publish_injections(budget);
        let Some((lo, hi)) = self.cursor.next_batch(budget) else {
            return injected;
        };
        let ring = &*self.cursor.ring;
        self.chain_of.clear();
        for s in lo..=hi {
            // SAFETY: route owns `lo..=hi`: decode released it, outputs wait on our sequence.
            let pack = unsafe { ring.get_mut(s) };
            if pack.state == PackState::Decoded && pack.chain_count > self.max_loops {
                pack.state = PackState::LoopDropped;
            }
            let chain = if pack.state == PackState::Decoded {
                self.chain_for(&pack.message.msg_type)
            } else {
                NO_CHAIN
            };
            pack.outputs = self.chains.get(chain as usize).map_or(0, |c| c.outputs);
            self.chain_of.push(chain);
        }
        if let Some(inj) = &mut self.injection {
            for (ci, chain) in self.chains.iter().enumerate() {
                for &f in &chain.filters {
                    // SAFETY: as above.
                    unsafe {
                        self.filters[f].filter_range(
                            ring,
                            lo,
                            hi,
                            &self.chain_of,
                            ci as u16,
                            &mut inj.generator,
                        )
                    };
                }
            }
        }
        let (mut routed, mut blocked, mut unrouted, mut looped) = (0, 0, 0, 0);
        for s in lo..=hi {
            // SAFETY: as above.
            let pack = unsafe { ring.get(s) };
            match pack.state {
                PackState::Decoded if pack.outputs != 0 => routed += 1,
                PackState::Decoded => unrouted += 1,
                PackState::Blocked => blocked += 1,
                PackState::LoopDropped => looped += 1,
                _ => {}
            }
        }
        for feed in &mut self.feeds {
            // SAFETY: we hold `lo..=hi` until the release below.
            unsafe { feed.forward(ring, lo, hi) };
        }
        self.cursor.release(hi);
        self.routed.add(routed);
        self.blocked.add(blocked);
        self.unrouted.add(unrouted);
        self.loops_dropped.add(looped);
        (hi - lo + 1) as usize + injected
    }

    fn finish(&mut self) -> bool {
        if let Some(inj) = &mut self.injection {
            inj.injected
                .add(std::mem::take(&mut inj.generator.injected));
            inj.refused.add(std::mem::take(&mut inj.generator.refused));
            // The generator is done once the inputs are, nothing is pending, and every
            // published pack has been routed (so no filter call can inject any more).
            if !inj.done.get()
                && inj.inputs_done.iter().all(DoneFlag::get)
                && inj.generator.pending() == 0
                && inj.published.highest(self.cursor.next) < self.cursor.next
            {
                inj.done.set();
            }
        }
        if !self.cursor.done.get() && self.cursor.drained() {
            self.cursor.done.set();
        }
        self.cursor.done.get()
    }
}
