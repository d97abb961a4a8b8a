//! The ring through its public queue front: back-pressure without loss or duplication.

use std::thread;
use std::time::{Duration, Instant};

#[test]
fn a_full_ring_blocks_producers_without_losing_or_duplicating() {
    const N: u64 = 200_000;
    let (mut ps, mut consumer) = engine::queue(8, 2, || 0u64);
    let producers: Vec<_> = ps
        .drain(..)
        .enumerate()
        .map(|(id, mut p)| {
            thread::spawn(move || {
                let mut next = 0u64;
                let mut refused = 0u64;
                while next < N {
                    let n =
                        p.try_publish(4, |i, slot| *slot = (id as u64) << 32 | (next + i as u64));
                    if n == 0 {
                        refused += 1;
                        thread::yield_now();
                    }
                    next += n as u64;
                }
                refused
            })
        })
        .collect();
    // A slow consumer: the ring (8 slots) is full most of the time.
    let mut expect = [0u64; 2];
    let deadline = Instant::now() + Duration::from_secs(60);
    while expect.iter().sum::<u64>() < 2 * N {
        assert!(Instant::now() < deadline, "stalled at {expect:?}");
        consumer.poll(3, |&v| {
            let (id, n) = ((v >> 32) as usize, v & 0xffff_ffff);
            assert_eq!(n, expect[id], "producer {id}: lost or duplicated");
            expect[id] += 1;
        });
    }
    let refused: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(
        refused > 0,
        "the ring was never full: the test did not exercise back-pressure"
    );
}
