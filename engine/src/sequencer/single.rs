//! The single-producer sequencer: plain loads and stores, no CAS.

use std::sync::Arc;

use super::Claim;
use crate::sequence::{minimum, Sequence, INITIAL};

/// Claims and publishes for the only producer of a ring.
#[derive(Debug)]
pub(crate) struct SingleProducer {
    cursor: Arc<Sequence>,
    gating: Vec<Arc<Sequence>>,
    /// Next sequence to claim (producer-local).
    next: i64,
    /// Last known minimum of the gating sequences (producer-local; only ever too low).
    gate_cache: i64,
    size: i64,
}

impl SingleProducer {
    pub(crate) fn new(size: usize, gating: Vec<Arc<Sequence>>) -> Self {
        SingleProducer {
            cursor: Arc::new(Sequence::default()),
            gating,
            next: INITIAL + 1,
            gate_cache: INITIAL,
            size: size as i64,
        }
    }

    pub(crate) fn cursor(&self) -> Arc<Sequence> {
        self.cursor.clone()
    }

    /// Claims up to `max` slots that every gating consumer has finished with.
    pub(crate) fn try_claim(&mut self, max: usize) -> Option<Claim> {
        let want_hi = self.next + max as i64 - 1;
        let mut hi = want_hi;
        if want_hi - self.size > self.gate_cache {
            // `minimum` loads with Acquire, pairing with each consumer's Release in
            // `Sequence::set`: their reads of the slots we are about to reuse are done.
            self.gate_cache = minimum(&self.gating, self.next - 1);
            hi = hi.min(self.gate_cache + self.size);
        }
        if hi < self.next {
            return None;
        }
        let claim = Claim {
            lo: self.next,
            len: (hi - self.next + 1) as usize,
        };
        self.next = hi + 1;
        Some(claim)
    }

    /// Publishes `claim.lo .. claim.lo + used` and hands the rest of the claim back.
    pub(crate) fn publish(&mut self, claim: Claim, used: usize) {
        debug_assert!(used <= claim.len && self.next == claim.hi() + 1);
        self.next = claim.lo + used as i64;
        if used > 0 {
            // Release (in `set`): the slot writes above are visible to any consumer that
            // reads this cursor with Acquire.
            self.cursor.set(self.next - 1);
        }
    }
}
