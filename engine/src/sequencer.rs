//! Claiming and publishing ring slots: the single-producer sequencer (no CAS) and the
//! multi-producer one (claim by CAS, per-slot availability as in LMAX).
//!
//! Producers gate on the slowest terminal consumer: a claim never reaches a slot that a
//! consumer has not finished with, so a full ring is back-pressure, never loss.

mod multi;
mod single;

use std::sync::Arc;

pub(crate) use multi::MultiProducer;
pub(crate) use single::SingleProducer;

use crate::sequence::Sequence;

/// A claimed, not yet published, range of sequences: `lo..lo + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) lo: i64,
    pub(crate) len: usize,
}

impl Claim {
    pub(crate) fn hi(&self) -> i64 {
        self.lo + self.len as i64 - 1
    }
}

/// The part of a sequencer that barriers read: what has been published.
#[derive(Clone, Debug)]
pub(crate) enum Published {
    /// One producer: everything up to the cursor is published.
    Single(Arc<Sequence>),
    /// Several producers: a slot is published when its availability flag says so.
    Multi(Arc<multi::Shared>),
}

impl Published {
    /// The highest sequence `>= next - 1` such that every sequence from `next` to it is
    /// published. Reads use `Acquire`, pairing with the producers' `Release` publication.
    #[inline]
    pub(crate) fn highest(&self, next: i64) -> i64 {
        match self {
            Published::Single(cursor) => cursor.get(),
            Published::Multi(shared) => shared.highest_published(next),
        }
    }
}

/// A producer's handle: claims and publishes for one producing thread.
#[derive(Debug)]
pub(crate) enum Producer {
    /// The only producer of its ring.
    Single(SingleProducer),
    /// One of several producers.
    Multi(MultiProducer),
}

impl Producer {
    /// Claims up to `max` slots without waiting; `None` when the ring is full.
    #[inline]
    pub(crate) fn try_claim(&mut self, max: usize) -> Option<Claim> {
        match self {
            Producer::Single(p) => p.try_claim(max),
            Producer::Multi(p) => p.try_claim(max),
        }
    }

    /// Publishes the first `used` sequences of `claim`. The rest are handed back (single
    /// producer) or must already be marked `Skip` by the caller (multi-producer: published too).
    #[inline]
    pub(crate) fn publish(&mut self, claim: Claim, used: usize) {
        match self {
            Producer::Single(p) => p.publish(claim, used),
            Producer::Multi(p) => p.publish(claim),
        }
    }

    /// Whether unused claimed slots must be published as `Skip` (multi-producer) rather
    /// than handed back.
    pub(crate) fn publishes_unused(&self) -> bool {
        matches!(self, Producer::Multi(_))
    }
}

/// Builds the producers of one ring: a single-producer sequencer iff there is exactly one.
pub(crate) fn producers(
    count: usize,
    size: usize,
    gating: Vec<Arc<Sequence>>,
) -> (Vec<Producer>, Published) {
    if count == 1 {
        let p = SingleProducer::new(size, gating);
        let published = Published::Single(p.cursor());
        (vec![Producer::Single(p)], published)
    } else {
        let shared = Arc::new(multi::Shared::new(size, gating));
        let ps = (0..count)
            .map(|_| Producer::Multi(MultiProducer::new(shared.clone())))
            .collect();
        (ps, Published::Multi(shared))
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
