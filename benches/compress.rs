//! Cold segments: `compact` (zstd level 9, 32 KiB frames, the defaults) of about three sealed
//! 4 MiB segments, each iteration on a fresh copy of the directory (the copy is not timed), with
//! throughput in hot bytes; then random `get`s on the compacted log, each decompressing a
//! frame. Run with `cargo bench --bench compress`.

mod common;

use auditlog::lifecycle::CompactOptions;
use auditlog::{AuditLog, Durability};
use common::{copy_dir, sample_log, temp_dir};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

/// Enough sample events for about three 4 MiB segments.
const EVENTS: u64 = 40_000;
const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;

fn open(dir: &std::path::Path) -> AuditLog {
    AuditLog::builder(dir)
        .durability(Durability::OsBuffered)
        .segment_max_bytes(SEGMENT_BYTES)
        .open()
        .unwrap_or_else(|e| panic!("open {}: {e}", dir.display()))
}

fn compression(c: &mut Criterion) {
    let original = temp_dir();
    {
        let log = sample_log(original.path(), EVENTS as usize, SEGMENT_BYTES);
        // Seal the last segment too, so that every record ends up in a cold segment.
        log.seal().unwrap_or_else(|e| panic!("seal: {e}"));
        log.close().unwrap_or_else(|e| panic!("close: {e}"));
    }
    let compacted = temp_dir();
    copy_dir(original.path(), compacted.path());
    let log = open(compacted.path());
    let report = log
        .compact(&CompactOptions::default())
        .unwrap_or_else(|e| panic!("compact: {e}"));
    println!(
        "compress setup: {} hot bytes in {} sealed segments -> {} cold bytes ({:.2}x)",
        report.hot_bytes,
        report.compressed.len(),
        report.cold_bytes,
        report.hot_bytes as f64 / report.cold_bytes.max(1) as f64
    );

    let mut group = c.benchmark_group("compress");
    group.throughput(Throughput::Bytes(report.hot_bytes));
    group.bench_function("compact_default", |b| {
        b.iter_batched(
            || {
                let copy = temp_dir();
                copy_dir(original.path(), copy.path());
                (open(copy.path()), copy)
            },
            // The log and its directory are returned so they are dropped outside the timing.
            |(log, copy)| {
                let report = log
                    .compact(&CompactOptions::default())
                    .unwrap_or_else(|e| panic!("compact: {e}"));
                (log, copy, report)
            },
            BatchSize::PerIteration,
        )
    });

    // Random point reads on the compacted log: every record is in a cold segment, so each
    // `get` finds and decompresses one frame.
    group.throughput(Throughput::Elements(1));
    let mut seq = 0u64;
    group.bench_function("get_random_cold", |b| {
        b.iter(|| {
            seq = (seq + 7919) % EVENTS;
            log.get(seq).unwrap_or_else(|e| panic!("get: {e}"))
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = compression
}
criterion_main!(benches);
