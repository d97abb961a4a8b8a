//! The multi-producer sequencer: claims by CAS on a shared counter; each slot has an
//! availability flag holding the round (`seq >> log2(size)`) last published into it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use super::Claim;
use crate::sequence::{minimum, Sequence, INITIAL};
use crate::sync::AtomicI64;

/// State shared by every producer of a ring and read by its first barrier.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Highest claimed sequence.
    claimed: Sequence,
    /// Last known minimum of the gating sequences (only ever too low).
    gate_cache: CachePadded<AtomicI64>,
    gating: Vec<Arc<Sequence>>,
    /// Per slot: the round of the last sequence published into it.
    available: Box<[AtomicI64]>,
    size: i64,
    shift: u32,
}

impl Shared {
    pub(crate) fn new(size: usize, gating: Vec<Arc<Sequence>>) -> Self {
        assert!(
            size.is_power_of_two(),
            "ring size must be a power of two, got {size}"
        );
        Shared {
            claimed: Sequence::default(),
            gate_cache: CachePadded::new(AtomicI64::new(INITIAL)),
            gating,
            available: (0..size).map(|_| AtomicI64::new(-1)).collect(),
            size: size as i64,
            shift: size.trailing_zeros(),
        }
    }

    #[inline]
    fn flag(&self, seq: i64) -> &AtomicI64 {
        let i = (seq & (self.size - 1)) as usize;
        debug_assert!(i < self.available.len());
        &self.available[i]
    }

    /// See [`super::Published::highest`]. Loads flags with `Acquire`, pairing with the
    /// `Release` store in [`MultiProducer::publish`].
    pub(crate) fn highest_published(&self, next: i64) -> i64 {
        let claimed = self.claimed.get();
        let mut s = next;
        while s <= claimed {
            if self.flag(s).load(Ordering::Acquire) != s >> self.shift {
                return s - 1;
            }
            s += 1;
        }
        claimed
    }
}

/// One producer's handle on a multi-producer ring.
#[derive(Debug)]
pub(crate) struct MultiProducer {
    shared: Arc<Shared>,
}

impl MultiProducer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        MultiProducer { shared }
    }

    /// Claims up to `max` slots by CAS; `None` when the ring is full.
    pub(crate) fn try_claim(&mut self, max: usize) -> Option<Claim> {
        let sh = &*self.shared;
        let mut current = sh.claimed.get();
        loop {
            let mut hi = current + max as i64;
            // Acquire pairs with the Release store below by whichever producer refreshed
            // the cache, which itself acquired the consumers' sequences: their reads of the
            // slots we reuse happen before our writes.
            let cached = sh.gate_cache.load(Ordering::Acquire);
            if hi - sh.size > cached {
                let gate = minimum(&sh.gating, current);
                // Release: see the Acquire above.
                sh.gate_cache.store(gate, Ordering::Release);
                hi = hi.min(gate + sh.size);
                if hi <= current {
                    return None;
                }
            }
            match sh.claimed.compare_exchange(current, hi) {
                Ok(_) => {
                    return Some(Claim {
                        lo: current + 1,
                        len: (hi - current) as usize,
                    })
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Publishes every sequence of `claim` (unused ones must already be marked `Skip`).
    pub(crate) fn publish(&mut self, claim: Claim) {
        let sh = &*self.shared;
        for s in claim.lo..=claim.hi() {
            // Release: the slot's contents are visible to a barrier that loads this flag
            // with Acquire in `highest_published`.
            sh.flag(s).store(s >> sh.shift, Ordering::Release);
        }
    }
}
