//! The route stage: picks each message's filter chain by type, sets its outputs, and runs
//! the chain's filters (Heka's router plus filter chains).

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::{Cursor, Stage};
use crate::counters::Counter;
use crate::pack::{PackState, PipelinePack};
use crate::plugin::Filter;
use crate::ring::RingBuffer;

/// `chain_of` value for a pack that has no chain (not decoded, or no chain matched).
pub(crate) const NO_CHAIN: u16 = u16::MAX;

/// One filter over a range of the ring: one dynamic call per chain per batch.
pub(crate) trait FilterRange: Send {
    /// Runs the filter on every still-decoded pack of `lo..=hi` whose chain is `chain`.
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
    );
}

/// Wraps a concrete [`Filter`] as a [`FilterRange`].
#[derive(Debug)]
pub(crate) struct FilterLoop<F>(pub(crate) F);

impl<F: Filter> FilterRange for FilterLoop<F> {
    unsafe fn filter_range(
        &mut self,
        ring: &RingBuffer<PipelinePack>,
        lo: i64,
        hi: i64,
        chain_of: &[u16],
        chain: u16,
    ) {
        for (i, s) in (lo..=hi).enumerate() {
            if chain_of[i] != chain {
                continue;
            }
            // SAFETY: the caller owns `lo..=hi` as the route stage.
            let pack = unsafe { ring.get_mut(s) };
            if pack.state == PackState::Decoded {
                self.0.filter(pack);
            }
        }
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

/// The route stage.
pub(crate) struct RouteStage {
    cursor: Cursor,
    chains: Vec<RouteChain>,
    by_type: HashMap<Box<str>, u16, FxBuildHasher>,
    default_chain: u16,
    filters: Vec<Box<dyn FilterRange>>,
    chain_of: Vec<u16>,
    routed: Counter,
    blocked: Counter,
    unrouted: Counter,
}

impl std::fmt::Debug for RouteStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteStage")
            .field("chains", &self.chains)
            .finish()
    }
}

impl RouteStage {
    /// `by_type` maps message types to chain indices; `default_chain` is `NO_CHAIN` when
    /// there is no `default` chain.
    pub(crate) fn new(
        cursor: Cursor,
        chains: Vec<RouteChain>,
        by_type: Vec<(String, u16)>,
        default_chain: u16,
        filters: Vec<Box<dyn FilterRange>>,
        budget: usize,
        counters: &crate::counters::Counters,
    ) -> Self {
        RouteStage {
            cursor,
            chains,
            by_type: by_type
                .into_iter()
                .map(|(t, c)| (t.into_boxed_str(), c))
                .collect(),
            default_chain,
            filters,
            chain_of: Vec::with_capacity(budget),
            routed: counters.get("route", "routed"),
            blocked: counters.get("route", "blocked"),
            unrouted: counters.get("route", "unrouted"),
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
        let Some((lo, hi)) = self.cursor.next_batch(budget) else {
            return 0;
        };
        let ring = &*self.cursor.ring;
        self.chain_of.clear();
        for s in lo..=hi {
            // SAFETY: route owns `lo..=hi`: decode released it, outputs wait on our sequence.
            let pack = unsafe { ring.get_mut(s) };
            let chain = if pack.state == PackState::Decoded {
                self.chain_for(&pack.message.msg_type)
            } else {
                NO_CHAIN
            };
            pack.outputs = self.chains.get(chain as usize).map_or(0, |c| c.outputs);
            self.chain_of.push(chain);
        }
        for (ci, chain) in self.chains.iter().enumerate() {
            for &f in &chain.filters {
                // SAFETY: as above.
                unsafe { self.filters[f].filter_range(ring, lo, hi, &self.chain_of, ci as u16) };
            }
        }
        let (mut routed, mut blocked, mut unrouted) = (0, 0, 0);
        for s in lo..=hi {
            // SAFETY: as above.
            let pack = unsafe { ring.get(s) };
            match pack.state {
                PackState::Decoded if pack.outputs != 0 => routed += 1,
                PackState::Decoded => unrouted += 1,
                PackState::Blocked => blocked += 1,
                _ => {}
            }
        }
        self.cursor.release(hi);
        self.routed.add(routed);
        self.blocked.add(blocked);
        self.unrouted.add(unrouted);
        (hi - lo + 1) as usize
    }

    fn finish(&mut self) -> bool {
        if !self.cursor.done.get() && self.cursor.drained() {
            self.cursor.done.set();
        }
        self.cursor.done.get()
    }
}
