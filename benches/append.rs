//! Append throughput and latency: event size × durability for one producer, producer threads
//! for `Immediate` durability, and pipelined batches of 1,000 for every durability mode.
//!
//! Each append is encoded and hashed by its producer, as in production: the figures include
//! validation and encoding, not just the writer. Run with `cargo bench --bench append`.

mod common;

use auditlog::Durability;
use common::{durabilities, open_log, sized_events, temp_dir};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const SIZES: [(&str, usize); 3] = [("200B", 200), ("600B", 600), ("4KiB", 4096)];
const EVENTS: usize = 1024;

/// One producer appending one event at a time and waiting for each acknowledgement: the
/// mean time per iteration is the append latency.
fn single_producer(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_one_producer");
    group.throughput(Throughput::Elements(1));
    for (size_label, size) in SIZES {
        let events = sized_events(EVENTS, size);
        for (mode, durability) in durabilities() {
            let dir = temp_dir();
            let log = open_log(dir.path(), durability);
            let mut i = 0usize;
            group.bench_function(BenchmarkId::new(mode, size_label), |b| {
                b.iter(|| {
                    i = (i + 1) % EVENTS;
                    log.append(&events[i])
                        .and_then(|h| h.wait())
                        .unwrap_or_else(|e| panic!("append: {e}"))
                })
            });
        }
    }
    group.finish();
}

/// Many producer threads, each appending and waiting, sharing group commits: iteration count
/// is split across the threads, so time per iteration is the inverse of total throughput.
fn concurrent_producers(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_concurrent_immediate_600B");
    group.throughput(Throughput::Elements(1));
    let events = sized_events(EVENTS, 600);
    for threads in [1usize, 4, 16, 64] {
        let dir = temp_dir();
        let log = open_log(dir.path(), Durability::Immediate);
        group.bench_function(BenchmarkId::from_parameter(threads), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..threads as u64 {
                        let share = iters / threads as u64 + u64::from(t < iters % threads as u64);
                        let (log, events) = (&log, &events);
                        s.spawn(move || {
                            for k in 0..share {
                                let e = &events[((t * 7919 + k) as usize) % EVENTS];
                                log.append(e)
                                    .and_then(|h| h.wait())
                                    .unwrap_or_else(|e| panic!("append: {e}"));
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
}

/// One producer submitting batches of 1,000 events, keeping up to 8 batches in flight
/// (sustained throughput, not one round trip per batch).
fn batches(c: &mut Criterion) {
    const BATCH: usize = 1000;
    const IN_FLIGHT: usize = 8;
    let mut group = c.benchmark_group("append_batch_1000_600B");
    group.throughput(Throughput::Elements(BATCH as u64));
    let events = sized_events(BATCH, 600);
    for (mode, durability) in durabilities() {
        let dir = temp_dir();
        let log = open_log(dir.path(), durability);
        group.bench_function(mode, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let mut pending = VecDeque::new();
                for _ in 0..iters {
                    if pending.len() == IN_FLIGHT
                        && let Some(h) = pending.pop_front()
                    {
                        let h: auditlog::BatchHandle = h;
                        h.wait().unwrap_or_else(|e| panic!("batch: {e}"));
                    }
                    let handle = log
                        .append_batch(&events)
                        .unwrap_or_else(|e| panic!("batch: {e}"));
                    pending.push_back(handle);
                }
                for h in pending {
                    h.wait().unwrap_or_else(|e| panic!("batch: {e}"));
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = single_producer, concurrent_producers, batches
}
criterion_main!(benches);
