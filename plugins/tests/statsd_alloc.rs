//! The statsd aggregator's steady state allocates nothing: existing counters, timers (their
//! value buffers are reused across flushes) and gauges, and the flush itself. Sets are the
//! exception by nature: each distinct member allocates once per flush interval.

use std::time::Duration;

use engine::testing::{thread_allocations, CountingAllocator};
use plugins::statsd::{Aggregator, AggregatorConfig};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const DATAGRAMS: [&[u8]; 3] = [
    b"app.requests:1|c\napp.errors:1|c|@0.1\napp.latency:320|ms\napp.latency:12.5|ms|@0.5",
    b"queue.depth:42|g\nqueue.depth:-2|g\nqueue.depth:+7|g\napp.latency:1e3|ms:7|ms",
    b"my app/req:1|c|#env:prod\nbad line\nuniques:1|s\nuniques:1|s",
];

#[test]
fn steady_state_ingest_and_flush_allocate_nothing() {
    let sanity = thread_allocations();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert!(
        thread_allocations() > sanity,
        "the counting allocator is installed"
    );

    let mut agg = Aggregator::new(AggregatorConfig::default(), 1_700_000_000).unwrap();
    let mut out = String::with_capacity(64 * 1024);
    let mut now = 1_700_000_000;
    // One flush interval: 150 datagrams, then the flush. Returns the allocations made after
    // the first datagram (whose set member is new in each interval).
    let mut interval = |agg: &mut Aggregator, out: &mut String| {
        agg.ingest(DATAGRAMS[2]);
        let after_set_member = thread_allocations();
        for _ in 0..50 {
            agg.ingest(DATAGRAMS[0]);
            agg.ingest(DATAGRAMS[1]);
            agg.ingest(DATAGRAMS[2]);
        }
        now += 10;
        out.clear();
        agg.flush(now, Duration::from_secs(10), out);
        thread_allocations() - after_set_member
    };
    // Warm: buckets, key buffers, timer value buffers, the flush's scratch.
    interval(&mut agg, &mut out);
    let mut fields = 0usize;
    agg.flush_each(1_700_000_015, Duration::from_secs(10), |_, _| fields += 1);
    let before = thread_allocations();
    for _ in 0..200 {
        assert_eq!(
            interval(&mut agg, &mut out),
            0,
            "allocations in an interval"
        );
    }
    assert_eq!(
        thread_allocations() - before,
        200,
        "one per set member per interval"
    );
    let c = agg.counters();
    assert_eq!(c.lines, c.ok + c.malformed + c.refused);
    assert!(fields > 0 && out.contains("stats.timers.app.latency.upper_90 "));
}
