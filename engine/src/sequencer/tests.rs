//! Sequencer and barrier tests on real threads (loom models are in `engine/tests/loom.rs`).

use std::sync::Arc;
use std::thread;

use super::*;
use crate::barrier::Barrier;
use crate::ring::RingBuffer;
use crate::sequence::Sequence;

#[test]
fn single_producer_gates_on_the_consumer_and_hands_back_unused_slots() {
    let consumer = Arc::new(Sequence::default());
    let (mut ps, published) = producers(1, 4, vec![consumer.clone()]);
    let p = &mut ps[0];
    let c = p.try_claim(3).unwrap();
    assert_eq!(c, Claim { lo: 0, len: 3 });
    p.publish(c, 2); // slot 2 handed back
    assert_eq!(published.highest(0), 1);
    let c = p.try_claim(8).unwrap();
    assert_eq!(
        c,
        Claim { lo: 2, len: 2 },
        "only 4 slots exist and none was consumed"
    );
    p.publish(c, 2);
    assert!(
        p.try_claim(1).is_none(),
        "the ring is full until the consumer moves"
    );
    consumer.set(0);
    assert_eq!(p.try_claim(8).unwrap(), Claim { lo: 4, len: 1 });
}

#[test]
fn multi_producer_publishes_only_contiguous_ranges() {
    let consumer = Arc::new(Sequence::default());
    let (mut ps, published) = producers(2, 8, vec![consumer]);
    let a = ps[0].try_claim(2).unwrap();
    let b = ps[1].try_claim(2).unwrap();
    assert_eq!((a.lo, b.lo), (0, 2));
    ps[1].publish(b, 2);
    assert_eq!(
        published.highest(0),
        -1,
        "0..2 is claimed but not published"
    );
    ps[0].publish(a, 2);
    assert_eq!(published.highest(0), 3);
    assert_eq!(published.highest(2), 3);
}

/// Several producers each publish a numbered sequence through a small ring, many times
/// around it; one consumer checks that every producer's values arrive once, in order.
fn ordering_stress(producers_n: usize, per_producer: u64, ring: usize, batch: usize) {
    let consumer_seq = Arc::new(Sequence::default());
    let (ps, published) = producers(producers_n, ring, vec![consumer_seq.clone()]);
    // Slot value: (producer id, counter) packed; u64::MAX marks a skipped slot.
    let ring = Arc::new(RingBuffer::new(ring, || u64::MAX));
    let total = producers_n as u64 * per_producer;
    let handles: Vec<_> = ps
        .into_iter()
        .enumerate()
        .map(|(id, mut p)| {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut n = 0u64;
                while n < per_producer {
                    let Some(claim) = p.try_claim(batch) else {
                        // Yield, not spin: five threads share two cores in CI, and a
                        // spinning producer would starve the consumer it waits for.
                        thread::yield_now();
                        continue;
                    };
                    // Fill a varying number of the claimed slots to exercise hand-back/skip.
                    let want = ((n as usize % batch) + 1).min(claim.len);
                    let used = want.min((per_producer - n) as usize);
                    for i in 0..claim.len {
                        let v = if i < used {
                            (id as u64) << 40 | (n + i as u64)
                        } else {
                            u64::MAX
                        };
                        if i < used || p.publishes_unused() {
                            // SAFETY: sequences of `claim` are ours until published.
                            unsafe { *ring.get_mut(claim.lo + i as i64) = v };
                        }
                    }
                    n += used as u64;
                    p.publish(claim, used);
                }
            })
        })
        .collect();
    let barrier = Barrier::Producers(published);
    let mut next_expected = vec![0u64; producers_n];
    let mut seen = 0u64;
    let mut next = 0i64;
    // A stall is no progress for 30 s (a lost wake-up or a hole that is never published),
    // not a slow run: the whole suite shares two cores in CI.
    let stall = std::time::Duration::from_secs(30);
    let mut last_progress = std::time::Instant::now();
    while seen < total {
        let avail = barrier.available(next);
        if avail < next {
            assert!(last_progress.elapsed() < stall, "stalled at {seen}/{total}");
            thread::yield_now();
            continue;
        }
        last_progress = std::time::Instant::now();
        for s in next..=avail {
            // SAFETY: `s <= avail` was published and our sequence is below it.
            let v = unsafe { *ring.get(s) };
            if v == u64::MAX {
                continue;
            }
            let (id, n) = ((v >> 40) as usize, v & ((1 << 40) - 1));
            assert_eq!(
                n, next_expected[id],
                "producer {id} out of order or duplicated"
            );
            next_expected[id] += 1;
            seen += 1;
        }
        next = avail + 1;
        consumer_seq.set(avail);
    }
    for h in handles {
        h.join().unwrap();
    }
    assert!(next_expected.iter().all(|&n| n == per_producer));
}

#[test]
fn single_producer_delivers_everything_in_order_across_wraps() {
    ordering_stress(1, 200_000, 64, 16);
}

#[test]
fn multi_producer_delivers_every_producers_sequence_once_in_order() {
    ordering_stress(4, 100_000, 64, 8);
}

#[test]
fn multi_producer_with_batch_one_and_tiny_ring() {
    ordering_stress(3, 50_000, 4, 1);
}
