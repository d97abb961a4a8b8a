//! A typed, safe front to the ring for benchmarks, tests and plugins that want a bounded
//! queue: the same sequencers and barrier the pipeline uses, with one consumer.

use std::sync::Arc;

use crate::barrier::Barrier;
use crate::ring::RingBuffer;
use crate::sequence::Sequence;
use crate::sequencer::{self, Producer};

/// Producer end: claims slots, fills them in place, publishes them as one batch.
#[derive(Debug)]
pub struct QueueProducer<T> {
    ring: Arc<RingBuffer<T>>,
    producer: Producer,
}

/// Consumer end: processes every published slot in batches.
#[derive(Debug)]
pub struct QueueConsumer<T> {
    ring: Arc<RingBuffer<T>>,
    barrier: Barrier,
    sequence: Arc<Sequence>,
    next: i64,
}

/// A ring queue of `size` slots (a power of two) made by `make`, with `producers`
/// producers (the single-producer sequencer when 1) and one consumer.
///
/// # Panics
///
/// If `size` is not a power of two or `producers` is 0.
///
/// # Examples
///
/// ```
/// let (mut producers, mut consumer) = engine::queue(8, 1, || 0u64);
/// assert_eq!(producers[0].try_publish(3, |i, slot| *slot = i as u64 * 10), 3);
/// let mut seen = Vec::new();
/// consumer.poll(16, |v| seen.push(*v));
/// assert_eq!(seen, [0, 10, 20]);
/// ```
pub fn queue<T: Send + Sync>(
    size: usize,
    producers: usize,
    make: impl FnMut() -> T,
) -> (Vec<QueueProducer<T>>, QueueConsumer<T>) {
    assert!(producers > 0, "a queue needs at least one producer");
    let ring = Arc::new(RingBuffer::new(size, make));
    let sequence = Arc::new(Sequence::default());
    let (ps, published) = sequencer::producers(producers, size, vec![sequence.clone()]);
    let ps = ps
        .into_iter()
        .map(|producer| QueueProducer {
            ring: ring.clone(),
            producer,
        })
        .collect();
    (
        ps,
        QueueConsumer {
            ring,
            barrier: Barrier::Producers(published),
            sequence,
            next: 0,
        },
    )
}

impl<T: Send + Sync> QueueProducer<T> {
    /// Claims up to `max` free slots without waiting, calls `fill(i, slot)` for each, and
    /// publishes them together. Returns how many were published (0 when full).
    pub fn try_publish(&mut self, max: usize, mut fill: impl FnMut(usize, &mut T)) -> usize {
        let Some(claim) = self.producer.try_claim(max) else {
            return 0;
        };
        for i in 0..claim.len {
            // SAFETY: the claimed range is exclusively ours until `publish` below.
            fill(i, unsafe { self.ring.get_mut(claim.lo + i as i64) });
        }
        self.producer.publish(claim, claim.len);
        claim.len
    }
}

impl<T: Send + Sync> QueueConsumer<T> {
    /// Calls `f` on up to `budget` published slots in order, then releases them together.
    /// Returns how many it processed (0 when none was published).
    pub fn poll(&mut self, budget: usize, mut f: impl FnMut(&T)) -> usize {
        let avail = self.barrier.available(self.next);
        if avail < self.next {
            return 0;
        }
        let hi = avail.min(self.next + budget as i64 - 1);
        for s in self.next..=hi {
            // SAFETY: `s` is published (barrier) and not yet released by us, so producers
            // cannot reuse the slot; we only read it.
            f(unsafe { self.ring.get(s) });
        }
        self.sequence.set(hi);
        let n = (hi - self.next + 1) as usize;
        self.next = hi + 1;
        n
    }
}
