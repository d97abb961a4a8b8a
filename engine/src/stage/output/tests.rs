//! The output stage's restart policy, at the function level: [`backoff`]'s table, and an
//! [`OutputStage`] driven by hand through panics, rebuilds and failed rebuilds. Rebuilds
//! are made due by passing the scheduled instant to `heal`: nothing here sleeps or times.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::barrier::Barrier;
use crate::error::WriteError;
use crate::pack::{PackState, PipelinePack};
use crate::ring::RingBuffer;

fn retries(delay_ms: u64, max_delay_ms: u64, max_retries: Option<u32>) -> Retries {
    Retries {
        delay_ms,
        max_delay_ms,
        max_retries,
    }
}

#[test]
fn backoff_doubles_from_delay_up_to_max_delay() {
    let r = retries(250, 30_000, None);
    let ms: Vec<u64> = (1..=10)
        .map(|f| backoff(&r, f).unwrap().as_millis() as u64)
        .collect();
    assert_eq!(
        ms,
        [250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
    );
    // No overflow however long the run of failures.
    assert_eq!(backoff(&r, 64), Some(Duration::from_millis(30_000)));
    assert_eq!(backoff(&r, u32::MAX), Some(Duration::from_millis(30_000)));
    // A cap below the first delay wins.
    assert_eq!(
        backoff(&retries(500, 100, None), 1),
        Some(Duration::from_millis(100))
    );
}

#[test]
fn backoff_gives_up_after_max_retries_failures_in_a_row() {
    let r = retries(10, 1000, Some(3));
    for failures in 1..=3 {
        assert!(backoff(&r, failures).is_some(), "failure {failures}");
    }
    assert_eq!(backoff(&r, 4), None);
    assert_eq!(backoff(&retries(10, 1000, Some(0)), 1), None);
    assert!(backoff(&retries(10, 1000, None), u32::MAX).is_some());
}

/// An output that panics on the packs whose `recv_time` (set to their sequence by
/// [`output_stage`]) is in `panic_at`.
struct Flaky {
    panic_at: &'static [i64],
}

impl Output for Flaky {
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError> {
        assert!(!self.panic_at.contains(&pack.recv_time), "deliberate panic");
        Ok(())
    }
}

/// A stage over a 16-slot ring whose packs 0..16 are all published, decoded and routed to it;
/// `rebuild` makes its plugin after a panic.
fn output_stage(
    first: Flaky,
    rebuild: Rebuild<Flaky>,
    retries: Retries,
) -> (OutputStage<Flaky>, Counters) {
    let mut seq = 0;
    let ring = Arc::new(RingBuffer::new(16, || {
        let mut p = PipelinePack::new(64);
        p.state = PackState::Decoded;
        p.outputs = 1;
        p.recv_time = seq;
        seq += 1;
        p
    }));
    let upstream = Arc::new(Sequence::new(15));
    let done = DoneFlag::default();
    done.set();
    let gate = DoneFlag::default();
    gate.set();
    let cursor = Cursor::new(
        ring,
        Barrier::Stages(vec![upstream]),
        vec![done],
        Arc::default(),
        DoneFlag::default(),
    );
    let wiring = OutputWiring {
        name: "out".into(),
        cursor,
        bit: 0,
        matcher: None,
        retries,
        gate,
        committed: Arc::default(),
        demand: Arc::new(std::sync::atomic::AtomicI64::new(-1)),
    };
    let counters = Counters::default();
    (
        OutputStage::new(first, rebuild, wiring, &counters),
        counters,
    )
}

/// Asserts that the stage is in backoff, its rebuild scheduled `expected_ms` after some
/// instant between `before` and now; returns when the rebuild is due.
fn assert_scheduled(stage: &OutputStage<Flaky>, before: Instant, expected_ms: u64) -> Instant {
    let Health::Backoff { at, .. } = stage.health else {
        panic!("not in backoff");
    };
    // `at = t + delay` with `before <= t <= now`, so `at - now <= delay <= at - before`.
    let expected = Duration::from_millis(expected_ms);
    let (lo, hi) = (at.duration_since(Instant::now()), at.duration_since(before));
    assert!(
        lo <= expected && expected <= hi,
        "delay in {lo:?}..={hi:?}, expected {expected:?}"
    );
    at
}

#[test]
fn rebuilds_back_off_doubling_to_the_cap_then_the_output_is_disabled() {
    const ALWAYS: &[i64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    let builds = Arc::new(AtomicU32::new(0));
    let b = builds.clone();
    let rebuild: Rebuild<Flaky> = Box::new(move || {
        b.fetch_add(1, Ordering::Relaxed);
        Ok(Flaky { panic_at: ALWAYS })
    });
    let (mut stage, counters) = output_stage(
        Flaky { panic_at: ALWAYS },
        rebuild,
        retries(100, 300, Some(3)),
    );
    // 100 ms, doubled, then capped at 300 ms.
    for expected_ms in [100, 200, 300] {
        let before = Instant::now();
        // The first pack panics; the rest of the batch waits for the rebuilt plugin.
        assert_eq!(stage.poll(16), 1);
        let at = assert_scheduled(&stage, before, expected_ms);
        assert_eq!(
            stage.poll(16),
            0,
            "holds back-pressure until the rebuild is due"
        );
        assert!(stage.heal(at), "rebuilt when due");
    }
    // The fourth failure in a row is one past max_retries (3): disabled.
    assert_eq!(stage.poll(16), 1);
    assert!(matches!(stage.health, Health::Disabled));
    assert_eq!(builds.load(Ordering::Relaxed), 3);
    // What is routed to a disabled output is counted as dropped.
    assert_eq!(stage.poll(16), 12);
    let v = |n| counters.value("out", n);
    assert_eq!(
        (v("panics"), v("restarts"), v("write_errors"), v("dropped")),
        (4, 3, 4, 12)
    );
    assert_eq!((v("routed"), v("delivered")), (16, 0));
}

#[test]
fn a_commit_that_delivers_ends_the_run_of_failures() {
    // Panics at 0 and 1 (two in a row), delivers and commits 2, panics at 3: a first
    // failure again, so max_retries 2 is never exceeded.
    const SCRIPT: &[i64] = &[0, 1, 3];
    let rebuild: Rebuild<Flaky> = Box::new(|| Ok(Flaky { panic_at: SCRIPT }));
    let (mut stage, counters) = output_stage(
        Flaky { panic_at: SCRIPT },
        rebuild,
        retries(100, 10_000, Some(2)),
    );
    // One pack per poll, so each delivered one is committed before the next is handed.
    for (pack, expected_ms) in [(0, Some(100)), (1, Some(200)), (2, None), (3, Some(100))] {
        let before = Instant::now();
        assert_eq!(stage.poll(1), 1, "pack {pack}");
        match expected_ms {
            Some(ms) => {
                let at = assert_scheduled(&stage, before, ms);
                assert!(stage.heal(at));
            }
            None => assert!(matches!(stage.health, Health::Up(_))),
        }
    }
    assert_eq!(stage.poll(16), 12);
    let v = |n| counters.value("out", n);
    assert_eq!(
        (
            v("panics"),
            v("restarts"),
            v("write_errors"),
            v("delivered")
        ),
        (3, 3, 3, 13)
    );
}

#[test]
fn failed_rebuilds_count_toward_max_retries() {
    let builds = Arc::new(AtomicU32::new(0));
    let b = builds.clone();
    let rebuild: Rebuild<Flaky> = Box::new(move || {
        b.fetch_add(1, Ordering::Relaxed);
        Err(BuildError::Invalid("cannot build".into()))
    });
    let (mut stage, counters) = output_stage(
        Flaky { panic_at: &[0] },
        rebuild,
        retries(100, 300, Some(2)),
    );
    let before = Instant::now();
    assert_eq!(stage.poll(16), 1);
    let at = assert_scheduled(&stage, before, 100);
    // The first rebuild fails: failure 2, another try in 200 ms.
    let before = Instant::now();
    assert!(!stage.heal(at));
    let at = assert_scheduled(&stage, before, 200);
    // The second fails too: failure 3, one past max_retries.
    assert!(!stage.heal(at));
    assert!(matches!(stage.health, Health::Disabled));
    assert_eq!(builds.load(Ordering::Relaxed), 2);
    assert_eq!(stage.poll(16), 15);
    let v = |n| counters.value("out", n);
    assert_eq!(
        (v("panics"), v("restarts"), v("write_errors"), v("dropped")),
        (1, 0, 1, 15)
    );
}
