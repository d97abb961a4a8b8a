//! statsd lines per second: split and parsed (`plugins::statsd::parse_line`), and parsed and
//! aggregated into existing buckets (`Aggregator::ingest`, the input's steady state), against
//! splitting alone as the base; plus one flush of 1,000 and 10,000 buckets (per bucket).
//!
//! `cargo bench --bench statsd`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use plugins::statsd::{lines, parse_line, Aggregator, AggregatorConfig};

const LINES_PER_DATAGRAM: usize = 32;
const DATAGRAMS: usize = 64;

/// A mix like a busy application sends: mostly counters and timers, some sampled, some
/// gauges and sets, 200 distinct names, 32 lines (about 1 KB) per datagram.
fn datagrams() -> Vec<Vec<u8>> {
    let mut n = 0usize;
    (0..DATAGRAMS)
        .map(|_| {
            let mut d = Vec::new();
            for _ in 0..LINES_PER_DATAGRAM {
                let name = n % 200;
                let line = match n % 8 {
                    0..=2 => format!("app.web{}.requests:1|c", name % 50),
                    3 => format!("app.web{}.errors:1|c|@0.1", name % 50),
                    4 | 5 => format!("app.api.latency.{}:{}|ms", name % 40, (n * 37) % 1000),
                    6 => format!("app.queue.depth.{}:{}|g", name % 20, n % 500),
                    _ => format!("app.users.{}:{}|s", name % 10, n % 3000),
                };
                d.extend_from_slice(line.as_bytes());
                d.push(b'\n');
                n += 1;
            }
            d
        })
        .collect()
}

fn parse_and_aggregate(c: &mut Criterion) {
    let data = datagrams();
    let total = (DATAGRAMS * LINES_PER_DATAGRAM) as u64;
    let mut group = c.benchmark_group("statsd");
    group.throughput(Throughput::Elements(total));
    group.bench_function("base_split", |b| {
        b.iter(|| {
            let mut n = 0;
            for d in &data {
                n += lines(black_box(d)).count();
            }
            n
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for d in &data {
                for line in lines(black_box(d)) {
                    if let Ok(m) = parse_line(line) {
                        for s in m.samples().flatten() {
                            sum += s.value;
                        }
                    }
                }
            }
            sum
        })
    });
    let mut agg = Aggregator::new(AggregatorConfig::default(), 0).expect("valid config");
    let mut out = String::new();
    let mut rounds = 0u32;
    group.bench_function("parse_aggregate", |b| {
        b.iter(|| {
            for d in &data {
                agg.ingest(black_box(d));
            }
            // Flush every 256 rounds (half a million lines), as the input's timer would, so
            // timers do not grow without bound; its cost is part of the figure.
            rounds += 1;
            if rounds == 256 {
                rounds = 0;
                out.clear();
                agg.flush(10, Duration::from_secs(10), &mut out);
            }
        })
    });
    group.finish();
}

fn flush(c: &mut Criterion) {
    let mut group = c.benchmark_group("statsd_flush");
    for buckets in [1_000usize, 10_000] {
        group.throughput(Throughput::Elements(buckets as u64));
        let mut datagram = Vec::new();
        for i in 0..buckets {
            let line = match i % 4 {
                0 => format!("c.{i}:1|c\n"),
                1 => format!("t.{i}:{}|ms\nt.{i}:{}|ms\n", i % 100, i % 7),
                2 => format!("g.{i}:{i}|g\n"),
                _ => format!("s.{i}:{i}|s\n"),
            };
            datagram.extend_from_slice(line.as_bytes());
        }
        let mut agg = Aggregator::new(AggregatorConfig::default(), 0).expect("valid config");
        let mut out = String::new();
        group.bench_with_input(BenchmarkId::from_parameter(buckets), &datagram, |b, d| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    agg.ingest(d);
                    out.clear();
                    let started = Instant::now();
                    agg.flush(10, Duration::from_secs(10), &mut out);
                    spent += started.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_and_aggregate, flush);
criterion_main!(benches);
