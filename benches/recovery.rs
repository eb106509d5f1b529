//! Opening a log: after a crash (the active segment is scanned, every record's CRC checked and
//! leaf hashed to rebuild the frontier), and with many sealed segments under `OpenCheck::Quick`
//! and `OpenCheck::Full`. Run with `cargo bench --bench recovery`.
//!
//! The crash image is a copy of the directory taken while the writer is live. The first open
//! repairs it; later opens of the same directory do the same work again (the format keeps no
//! clean-shutdown marker, so every open scans the active segment), so one image serves every
//! iteration and only the `open` call is timed.

mod common;

use auditlog::{AuditLog, Durability, OpenCheck};
use common::{copy_dir, open_log, sized_events, temp_dir};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;
use std::time::{Duration, Instant};

/// Times `open` alone; closing happens outside the measurement.
fn time_opens(dir: &Path, check: OpenCheck, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let log = AuditLog::builder(dir)
            .open_check(check)
            .open()
            .unwrap_or_else(|e| panic!("open: {e}"));
        total += start.elapsed();
        log.close().unwrap_or_else(|e| panic!("close: {e}"));
    }
    total
}

fn open_after_crash(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_after_crash_600B");
    for records in [10_000u64, 50_000] {
        let live = temp_dir();
        let image = temp_dir();
        let log = open_log(live.path(), Durability::OsBuffered);
        for chunk in sized_events(records as usize, 600).chunks(1000) {
            let h = log.append_batch(chunk).unwrap_or_else(|e| panic!("{e}"));
            h.wait().unwrap_or_else(|e| panic!("{e}"));
        }
        copy_dir(live.path(), &image.path().join("log"));
        drop(log);
        let dir = image.path().join("log");
        group.throughput(Throughput::Elements(records));
        group.bench_function(BenchmarkId::new("active_segment_records", records), |b| {
            b.iter_custom(|iters| time_opens(&dir, OpenCheck::Quick, iters))
        });
    }
    group.finish();
}

fn open_sealed(c: &mut Criterion) {
    const SEGMENTS: usize = 20;
    const PER_SEGMENT: usize = 2_000;
    let dir = temp_dir();
    {
        let log = open_log(dir.path(), Durability::OsBuffered);
        let events = sized_events(PER_SEGMENT, 600);
        for _ in 0..SEGMENTS {
            for chunk in events.chunks(1000) {
                let h = log.append_batch(chunk).unwrap_or_else(|e| panic!("{e}"));
                h.wait().unwrap_or_else(|e| panic!("{e}"));
            }
            log.seal().unwrap_or_else(|e| panic!("{e}"));
        }
        log.close().unwrap_or_else(|e| panic!("{e}"));
    }
    let mut group = c.benchmark_group("open_20_sealed_segments_40k_records");
    for (label, check) in [("quick", OpenCheck::Quick), ("full", OpenCheck::Full)] {
        group.bench_function(label, |b| {
            b.iter_custom(|iters| time_opens(dir.path(), check, iters))
        });
    }
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
    targets = open_after_crash, open_sealed
}
criterion_main!(benches);
