//! The ring (engine::queue, the pipeline's sequencers) against crossbeam-channel (bounded)
//! and std's sync_channel: SPSC and 2 producers, batch sizes 1/16/256, producer(s) pinned
//! to core 0 and the consumer to core 1. Waiting sides yield (as the engine's `yield` wait
//! strategy does), so a shared or busy host does not turn spinning into lost time slices.
//!
//! `cargo bench --bench ring`

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use benches::pin;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZE: usize = 4096;
const BATCHES: [usize; 3] = [1, 16, 256];

fn ours(iters: u64, producers: usize, batch: usize) -> Duration {
    let (ps, mut consumer) = engine::queue(SIZE, producers, || 0u64);
    let per = iters / producers as u64;
    let total = per * producers as u64;
    let handles: Vec<_> = ps
        .into_iter()
        .map(|mut p| {
            thread::spawn(move || {
                pin(0);
                let mut sent = 0u64;
                while sent < per {
                    let want = batch.min((per - sent) as usize);
                    let n = p.try_publish(want, |i, slot| *slot = sent + i as u64);
                    if n == 0 {
                        thread::yield_now();
                    }
                    sent += n as u64;
                }
            })
        })
        .collect();
    pin(1);
    let start = Instant::now();
    let mut got = 0u64;
    let mut sum = 0u64;
    while got < total {
        let n = consumer.poll(batch.max(256), |v| sum = sum.wrapping_add(*v));
        if n == 0 {
            thread::yield_now();
        }
        got += n as u64;
    }
    let elapsed = start.elapsed();
    black_box(sum);
    handles.into_iter().for_each(|h| h.join().unwrap());
    elapsed
}

fn crossbeam(iters: u64, producers: usize) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(SIZE);
    let per = iters / producers as u64;
    let handles: Vec<_> = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            thread::spawn(move || {
                pin(0);
                for i in 0..per {
                    tx.send(i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    pin(1);
    let start = Instant::now();
    let mut sum = 0u64;
    for v in rx.iter() {
        sum = sum.wrapping_add(v);
    }
    let elapsed = start.elapsed();
    black_box(sum);
    handles.into_iter().for_each(|h| h.join().unwrap());
    elapsed
}

fn std_mpsc(iters: u64, producers: usize) -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(SIZE);
    let per = iters / producers as u64;
    let handles: Vec<_> = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            thread::spawn(move || {
                pin(0);
                for i in 0..per {
                    tx.send(i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    pin(1);
    let start = Instant::now();
    let mut sum = 0u64;
    for v in rx.iter() {
        sum = sum.wrapping_add(v);
    }
    let elapsed = start.elapsed();
    black_box(sum);
    handles.into_iter().for_each(|h| h.join().unwrap());
    elapsed
}

/// One message per iteration; criterion picks the iteration count.
fn bench(c: &mut Criterion, name: &str, producers: usize) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_millis(500));
    g.bench_function("base", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut sum = 0u64;
            for i in 0..iters {
                sum = sum.wrapping_add(black_box(i));
            }
            black_box(sum);
            start.elapsed()
        })
    });
    for batch in BATCHES {
        g.bench_with_input(BenchmarkId::new("ring", batch), &batch, |b, &batch| {
            b.iter_custom(|iters| ours(iters.max(producers as u64), producers, batch))
        });
    }
    g.bench_function("crossbeam_bounded", |b| {
        b.iter_custom(|iters| crossbeam(iters.max(producers as u64), producers))
    });
    g.bench_function("std_sync_channel", |b| {
        b.iter_custom(|iters| std_mpsc(iters.max(producers as u64), producers))
    });
    g.finish();
}

fn spsc(c: &mut Criterion) {
    bench(c, "spsc", 1);
}

fn two_producers(c: &mut Criterion) {
    bench(c, "mpsc2", 2);
}

criterion_group!(benches, spsc, two_producers);
criterion_main!(benches);
